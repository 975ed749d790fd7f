//! Button presses: the [`Callback`] data under the bot's own buttons, the
//! pending Yes/No questions and what a press leads to, decided without I/O.

use crate::config::{Config, Lang};
use crate::validate;

use super::command::{CALLBACK_MAX, MAX_MUTE_MIN};
use super::i18n;
use super::plan::{HelperAction, Plan, View, alert_code, plan_svc};

/// A button press, decoded from its callback data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    /// `m:<minutes>:<code>`: mute an alert.
    Mute { code: String, minutes: u64 },
    /// `st`: show the status.
    Status,
    /// `r:<unit>`: ask to restart a unit (from a SERVICE_DOWN alert).
    AskRestart(String),
    /// `c:<id>:y|n`: answer to a confirmation.
    Confirm { id: u64, yes: bool },
}

impl Callback {
    /// Callback data; `None` when it would not fit Telegram's 64 bytes.
    pub fn data(&self) -> Option<String> {
        let d = match self {
            Callback::Mute { code, minutes } => format!("m:{minutes}:{code}"),
            Callback::Status => "st".into(),
            Callback::AskRestart(u) => format!("r:{u}"),
            Callback::Confirm { id, yes } => format!("c:{id}:{}", if *yes { "y" } else { "n" }),
        };
        (d.len() <= CALLBACK_MAX).then_some(d)
    }

    /// Decodes callback data; anything unexpected is `None` (and refused).
    pub fn parse(data: &str) -> Option<Callback> {
        if data == "st" {
            return Some(Callback::Status);
        }
        if let Some(rest) = data.strip_prefix("m:") {
            let (m, code) = rest.split_once(':')?;
            return Some(Callback::Mute {
                code: alert_code(code).ok()?,
                minutes: m.parse().ok().filter(|m| *m <= MAX_MUTE_MIN)?,
            });
        }
        if let Some(u) = data.strip_prefix("r:") {
            return validate::service_name(u).ok().map(Callback::AskRestart);
        }
        if let Some(rest) = data.strip_prefix("c:") {
            let (id, yn) = rest.split_once(':')?;
            let yes = match yn {
                "y" => true,
                "n" => false,
                _ => return None,
            };
            return Some(Callback::Confirm {
                id: id.parse().ok()?,
                yes,
            });
        }
        None
    }
}

/// A confirmation waiting for Yes/No.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub action: HelperAction,
    pub user_id: u64,
    /// Seconds since the Unix epoch after which the question is void.
    pub expires_at: u64,
}

/// What a Yes/No press leads to.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Run(HelperAction),
    Cancelled,
    /// Too late, already answered, or unknown: nothing happens.
    Expired,
    /// Someone else's question.
    NotYours,
}

/// Decides a Yes/No press against the pending question (pure).
pub fn answer(pending: Option<&Pending>, user_id: u64, yes: bool, now: u64) -> Answer {
    match pending {
        None => Answer::Expired,
        Some(p) if now > p.expires_at => Answer::Expired,
        Some(p) if p.user_id != user_id => Answer::NotYours,
        Some(_) if !yes => Answer::Cancelled,
        Some(p) => Answer::Run(p.action.clone()),
    }
}

/// Plans a button press that is not a Yes/No answer (pure).
pub fn plan_callback(cfg: &Config, lang: Lang, cb: &Callback) -> Plan {
    match cb {
        Callback::Mute { code, minutes } => Plan::Mute {
            code: code.clone(),
            minutes: *minutes,
        },
        Callback::Status => Plan::Show(View::Status),
        Callback::AskRestart(unit) => plan_svc(cfg, i18n::texts(lang), &["restart", unit.as_str()]),
        // Yes/No answers are decided by [`answer`] against the pending
        // question; without one there is nothing to confirm.
        Callback::Confirm { .. } => Plan::Reply(i18n::texts(lang).confirm_expired.to_string()),
    }
}
