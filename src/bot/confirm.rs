//! The one pending-question store. Anything that needs a Yes first (a helper
//! action such as a unit restart or a restore, or a long run such as apt or
//! git) is a [`Confirmable`]; [`ask`] sends the question with `c:<id>:y|n`
//! buttons, and a press is decided by [`Questions::decide`]: within
//! [`CONFIRM_TTL_S`], from the admin who asked, once. A second press on an
//! answered question says so instead of "expired".

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use teloxide::RequestError;
use teloxide::types::ReplyMarkup;

use super::callback::Callback;
use super::command::CONFIRM_TTL_S;
use super::i18n;
use super::job::OpsJob;
use super::lock;
use super::plan::HelperAction;
use super::req::Req;
use super::send::inline_row;
use super::text::fill;
use crate::config::Lang;

/// What a Yes starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Confirmable {
    /// One `potion-helper` call (restore included).
    Helper(HelperAction),
    /// A long run shown in place (apt, pip, git).
    Job(OpsJob),
    /// `/smart_ack`: accept this disk's counts as its baseline (`bot/smart.rs`).
    SmartAck(String),
}

impl Confirmable {
    /// What it does, in the reply language (HTML), for the question.
    pub fn describe(&self, lang: Lang) -> String {
        match self {
            Confirmable::Helper(a) => a.describe(i18n::texts(lang)),
            Confirmable::Job(j) => j.what(lang),
            Confirmable::SmartAck(dev) => fill(
                i18n::texts(lang).senses.ack_action,
                &[("dev", &super::text::esc(dev))],
            ),
        }
    }

    /// The audit line's action.
    pub fn audit_name(&self) -> String {
        match self {
            Confirmable::Helper(a) => a.audit_name(),
            Confirmable::Job(j) => j.audit_name().to_string(),
            Confirmable::SmartAck(_) => "smart_ack".to_string(),
        }
    }
}

/// A question waiting for Yes/No.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub what: Confirmable,
    pub user_id: u64,
    /// Seconds since the Unix epoch after which the question is void.
    pub expires_at: u64,
}

/// What a Yes/No press leads to.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Run(Confirmable),
    Cancelled,
    /// Too late, or unknown: nothing happens.
    Expired,
    /// Answered before: the message already shows the outcome.
    Answered,
    /// Someone else's question; it stays open for them.
    NotYours,
}

/// Decides a Yes/No press against the pending question (pure).
pub fn answer(pending: Option<&Pending>, user_id: u64, yes: bool, now: u64) -> Answer {
    match pending {
        None => Answer::Expired,
        Some(p) if now > p.expires_at => Answer::Expired,
        Some(p) if p.user_id != user_id => Answer::NotYours,
        Some(_) if !yes => Answer::Cancelled,
        Some(p) => Answer::Run(p.what.clone()),
    }
}

/// The open questions of this run (they do not survive a restart).
#[derive(Default)]
pub struct Questions {
    pending: Mutex<HashMap<u64, Pending>>,
    next: AtomicU64,
    /// Ids answered lately, to tell "already answered" from "expired".
    answered: Mutex<VecDeque<u64>>,
}

/// How many answered ids are remembered.
const ANSWERED_KEPT: usize = 256;

impl Questions {
    /// Opens a question for `user_id`; returns its id.
    pub fn open(&self, what: Confirmable, user_id: u64, now: u64) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut p = lock(&self.pending);
        p.retain(|_, v| v.expires_at >= now);
        p.insert(
            id,
            Pending {
                what,
                user_id,
                expires_at: now + CONFIRM_TTL_S,
            },
        );
        id
    }

    /// Decides a press on question `id`, taking the question when it is
    /// answered (Yes or No) and leaving it for its owner otherwise. The audit
    /// name is the question's action, or `confirm` for an unknown id.
    pub fn decide(&self, id: u64, user_id: u64, yes: bool, now: u64) -> (String, Answer) {
        let mut pending = lock(&self.pending);
        let Some(p) = pending.remove(&id) else {
            let answered = lock(&self.answered).contains(&id);
            let a = if answered {
                Answer::Answered
            } else {
                Answer::Expired
            };
            return ("confirm".into(), a);
        };
        let name = p.what.audit_name();
        let decided = answer(Some(&p), user_id, yes, now);
        match decided {
            Answer::NotYours => {
                pending.insert(id, p);
            }
            Answer::Run(_) | Answer::Cancelled => {
                let mut a = lock(&self.answered);
                if a.len() == ANSWERED_KEPT {
                    a.pop_front();
                }
                a.push_back(id);
            }
            Answer::Expired | Answer::Answered => {}
        }
        (name, decided)
    }
}

/// Asks the requester Yes/No about `what`; the press comes back as
/// [`Callback::Confirm`].
pub async fn ask(req: &Req, what: Confirmable) -> Result<(), RequestError> {
    let t = req.texts();
    let html = fill(
        t.confirm_question,
        &[
            ("what", &what.describe(req.lang())),
            ("secs", &CONFIRM_TTL_S.to_string()),
        ],
    );
    let id = req.shared.questions.open(what, req.user_id(), now_s());
    let buttons = [
        (t.btn_yes.to_string(), Callback::Confirm { id, yes: true }),
        (t.btn_no.to_string(), Callback::Confirm { id, yes: false }),
    ]
    .map(|(l, c)| (l, c.data().unwrap_or_default()));
    let markup = ReplyMarkup::InlineKeyboard(inline_row(&buttons));
    req.send(&html, Some(markup)).await?;
    Ok(())
}

/// Seconds since the Unix epoch.
pub fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn restart() -> Confirmable {
        Confirmable::Helper(HelperAction::Svc {
            verb: super::super::command::SvcVerb::Restart,
            unit: "ollama.service".into(),
        })
    }

    #[test]
    fn a_yes_counts_once_within_the_time_from_the_asker() {
        let q = Questions::default();
        let id = q.open(restart(), 7, 1000);
        // Someone else's press leaves the question open.
        assert_eq!(q.decide(id, 8, true, 1001).1, Answer::NotYours);
        let (name, a) = q.decide(id, 7, true, 1002);
        assert_eq!((name.as_str(), a), ("svc restart", Answer::Run(restart())));
        // Pressed again: already answered, not expired.
        assert_eq!(q.decide(id, 7, true, 1003).1, Answer::Answered);
        assert_eq!(q.decide(id + 100, 7, true, 1003).1, Answer::Expired);
    }

    #[test]
    fn late_and_no_answers() {
        let q = Questions::default();
        let id = q.open(Confirmable::Job(OpsJob::AptUpdate), 7, 1000);
        assert_eq!(
            q.decide(id, 7, true, 1000 + CONFIRM_TTL_S + 1).1,
            Answer::Expired
        );
        let id = q.open(Confirmable::Job(OpsJob::AptUpdate), 7, 2000);
        let (name, a) = q.decide(id, 7, false, 2001);
        assert_eq!((name.as_str(), a), ("apt update", Answer::Cancelled));
    }
}
