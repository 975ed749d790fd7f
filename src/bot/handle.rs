//! Update handling: a dptree schema whose first branch drops updates from the
//! wrong place (`context.rs`: other groups, forwarded messages, commands for
//! other bots), the second refuses anyone not in `ADMIN_IDS`, then messages
//! and button presses. Decisions come from the pure
//! `command.rs`; this file carries them out (files, `.env`, helper, replies)
//! and writes one audit line per command, button press, action and refusal.

use std::sync::Arc;

use teloxide::dispatching::{UpdateFilterExt, UpdateHandler};
use teloxide::prelude::*;
use teloxide::types::{CallbackQuery, User};

use super::callback::{self, Answer, Callback};
use super::command::{self, Parsed};
use super::context::{self, Origin, Verdict};
use super::execute::{execute, run_helper};
use super::follow::{backup_since, follow_backup};
use super::plan::{self, HelperAction};
use super::send::{self};
use super::text::{esc, fill};
use super::{AuditResult, Shared, lock};

/// Runs one update through the schema; errors are logged, never fatal.
pub async fn dispatch(bot: Bot, shared: Arc<Shared>, update: Update) {
    let deps = dptree::deps![bot, shared, update];
    if let std::ops::ControlFlow::Break(Err(e)) = schema().dispatch(deps).await {
        log::error!("handling an update: {e:#}");
    }
}

fn is_admin(u: &Update, s: &Arc<Shared>) -> bool {
    u.from()
        .is_some_and(|user| lock(&s.cfg).admin_ids.contains(&(user.id.0 as i64)))
}

/// Messages and button presses are what a person sends; membership changes
/// and the like are ignored rather than answered with a refusal.
fn is_interaction(u: &Update) -> bool {
    matches!(
        u.kind,
        teloxide::types::UpdateKind::Message(_) | teloxide::types::UpdateKind::CallbackQuery(_)
    )
}

/// Where the update came from, judged by `context::judge`.
fn verdict(u: &Update, s: &Shared) -> Verdict {
    use teloxide::types::UpdateKind;
    let (chat, forwarded, text) = match &u.kind {
        UpdateKind::Message(m) => (
            &m.chat,
            // Text chosen through an inline bot is someone else's words too.
            m.forward_origin().is_some() || m.is_automatic_forward() || m.via_bot.is_some(),
            m.text().unwrap_or(""),
        ),
        UpdateKind::CallbackQuery(q) => match &q.message {
            Some(m) => (m.chat(), false, ""),
            // A press on an inline-mode message: we never send those.
            None => return Verdict::WrongChat,
        },
        _ => return Verdict::Take,
    };
    let origin = Origin {
        private: chat.is_private(),
        chat_id: chat.id.0,
        forwarded,
        text,
    };
    let admin_chat = lock(&s.cfg).admin_chat_id;
    context::judge(origin, admin_chat, s.me.get().map(String::as_str))
}

/// The handler tree: updates from the wrong place first, then strangers,
/// then messages and buttons.
pub fn schema() -> UpdateHandler<anyhow::Error> {
    dptree::entry()
        .branch(
            dptree::filter(|u: Update, s: Arc<Shared>| {
                is_interaction(&u) && verdict(&u, &s) != Verdict::Take
            })
            .endpoint(on_out_of_context),
        )
        .branch(
            dptree::filter(|u: Update, s: Arc<Shared>| is_interaction(&u) && !is_admin(&u, &s))
                .endpoint(on_stranger),
        )
        .branch(Update::filter_message().endpoint(on_message))
        .branch(Update::filter_callback_query().endpoint(on_callback))
}

/// Nothing is run. A forwarded message gets one sentence saying why; another
/// group gets silence (answering there would leak the server's state to its
/// members); a command for another bot is not ours to log.
async fn on_out_of_context(bot: Bot, shared: Arc<Shared>, update: Update) -> anyhow::Result<()> {
    let verdict = verdict(&update, &shared);
    if let teloxide::types::UpdateKind::CallbackQuery(q) = &update.kind {
        let _ = bot.answer_callback_query(q.id.clone()).send().await;
    }
    let Some(user) = update.from().cloned() else {
        return Ok(());
    };
    let chat = update.chat().map(|c| c.id);
    let text = match &update.kind {
        teloxide::types::UpdateKind::Message(m) => m.text().unwrap_or(""),
        teloxide::types::UpdateKind::CallbackQuery(q) => q.data.as_deref().unwrap_or(""),
        _ => "",
    };
    match verdict {
        Verdict::Forwarded => {
            shared.audit(&user, "forwarded", text, &AuditResult::Denied);
            if let Some(chat) = chat {
                send::reply(&bot, chat, shared.texts().forwarded).await?;
            }
        }
        Verdict::WrongChat => {
            let place = chat.map_or("no chat".to_string(), |c| format!("chat {}", c.0));
            let place = format!("{place}: {text}");
            shared.audit(&user, "wrong_chat", &place, &AuditResult::Denied);
        }
        Verdict::OtherBot | Verdict::Take => {}
    }
    Ok(())
}

async fn on_stranger(bot: Bot, shared: Arc<Shared>, update: Update) -> anyhow::Result<()> {
    let Some(user) = update.from().cloned() else {
        return Ok(());
    };
    let what = match &update.kind {
        teloxide::types::UpdateKind::Message(m) => m.text().unwrap_or("").to_string(),
        teloxide::types::UpdateKind::CallbackQuery(q) => q.data.clone().unwrap_or_default(),
        _ => String::new(),
    };
    let action = what
        .split_whitespace()
        .next()
        .unwrap_or("message")
        .to_string();
    shared.audit(&user, &action, &what, &AuditResult::Denied);
    if let teloxide::types::UpdateKind::CallbackQuery(q) = &update.kind {
        let _ = bot.answer_callback_query(q.id.clone()).send().await;
    }
    // One refusal per stranger per run: enough to learn their id, no more spam.
    if !lock(&shared.refused).insert(user.id.0) {
        return Ok(());
    }
    let t = shared.texts();
    let html = fill(t.stranger, &[("id", &user.id.0.to_string())]);
    if let Some(chat) = update.chat() {
        send::reply(&bot, chat.id, &html).await?;
    }
    Ok(())
}

/// Who asked, and where to answer.
pub(super) struct Req {
    pub(super) bot: Bot,
    pub(super) shared: Arc<Shared>,
    pub(super) chat: ChatId,
    pub(super) user: User,
}

async fn on_message(bot: Bot, shared: Arc<Shared>, msg: Message) -> anyhow::Result<()> {
    let Some(user) = msg.from.clone() else {
        return Ok(());
    };
    let text = msg.text().unwrap_or("");
    let req = Req {
        bot,
        shared: shared.clone(),
        chat: msg.chat.id,
        user,
    };
    let t = shared.texts();
    match plan::parse_message(text) {
        Parsed::Command(cmd, args) => {
            let result = if cmd.is_ops() {
                super::ops::handle(&req.bot, &msg, &shared, cmd, args).await
            } else if cmd == command::Command::Restore {
                super::restore::handle(&req.bot, &msg, &shared, args).await
            } else if cmd.is_charts() {
                super::charts::handle(&req.bot, &msg, &shared, cmd, args).await
            } else {
                let plan = plan::plan(&shared.config(), shared.lang(), cmd, args);
                execute(&req, plan).await
            };
            shared.audit(&req.user, cmd.name(), args, &result);
        }
        Parsed::Unknown(name) => {
            let shown: String = name.chars().take(64).collect();
            let html = fill(t.unknown_command, &[("name", &esc(&shown))]);
            send::reply(&req.bot, req.chat, &html).await?;
            shared.audit(
                &req.user,
                name,
                "",
                &AuditResult::Failed("unknown command".into()),
            );
        }
        Parsed::Text => {
            send::reply(&req.bot, req.chat, t.plain_text).await?;
        }
    }
    Ok(())
}

async fn on_callback(bot: Bot, shared: Arc<Shared>, q: CallbackQuery) -> anyhow::Result<()> {
    let data = q.data.clone().unwrap_or_default();
    let _ = bot.answer_callback_query(q.id.clone()).send().await;
    let Some(message) = q.message.as_ref() else {
        return Ok(());
    };
    let req = Req {
        bot,
        shared: shared.clone(),
        chat: message.chat().id,
        user: q.from.clone(),
    };
    if data.starts_with(super::ops::CALLBACK_PREFIX) {
        let (chat, id) = (message.chat().id, message.id());
        let (action, args, result) =
            super::ops::on_callback(&req.bot, &shared, &req.user, chat, id, &data).await;
        shared.audit(&req.user, &action, &args, &result);
        return Ok(());
    }
    let (action, result) = match Callback::parse(&data) {
        None if super::charts::is_chart_button(&data) => (
            "button chart".to_string(),
            super::charts::on_button(&req.bot, &shared, req.chat, message.id(), &data).await,
        ),
        None => (
            "button".to_string(),
            AuditResult::Failed("unknown button".into()),
        ),
        Some(Callback::Confirm { id, yes }) => on_confirm(&req, message.id(), id, yes).await,
        Some(cb) => {
            let plan = callback::plan_callback(&shared.config(), shared.lang(), &cb);
            let name = match &cb {
                Callback::Mute { .. } => "button alert_disable",
                Callback::Status => "button status",
                Callback::AskRestart(_) => "button svc restart",
                Callback::Confirm { .. } => "button confirm",
            };
            (name.to_string(), execute(&req, plan).await)
        }
    };
    shared.audit(&req.user, &action, &data, &result);
    Ok(())
}

async fn on_confirm(
    req: &Req,
    msg_id: teloxide::types::MessageId,
    id: u64,
    yes: bool,
) -> (String, AuditResult) {
    let t = req.shared.texts();
    let now = now_s();
    let pending = lock(&req.shared.pending).remove(&id);
    let key = format!("c:{id}");
    if pending.is_none() && req.shared.was_answered(&key) {
        // The message already shows the real outcome (or the run in progress).
        let _ = send::reply(&req.bot, req.chat, t.confirm_answered).await;
        return (
            "confirm".into(),
            AuditResult::Failed("already answered".into()),
        );
    }
    let decided = callback::answer(pending.as_ref(), req.user.id.0, yes, now);
    if matches!(decided, Answer::Run(_) | Answer::Cancelled) {
        req.shared.mark_answered(key);
    }
    let name = pending
        .as_ref()
        .map(|p| p.action.audit_name())
        .unwrap_or_else(|| "confirm".into());
    let (html, result) = match decided {
        Answer::Expired => (
            t.confirm_expired.to_string(),
            AuditResult::Failed("confirmation expired".into()),
        ),
        Answer::NotYours => {
            if let Some(p) = pending {
                lock(&req.shared.pending).insert(id, p);
            }
            let _ = send::reply(&req.bot, req.chat, t.confirm_not_yours).await;
            return (name, AuditResult::Denied);
        }
        Answer::Cancelled => (
            t.cancelled.to_string(),
            AuditResult::Failed("cancelled".into()),
        ),
        Answer::Run(HelperAction::Restore { id, path }) => {
            let (bot, shared, user) = (&req.bot, &req.shared, &req.user);
            let result =
                super::restore::run_confirmed(bot, shared, user, req.chat, msg_id, &id, &path)
                    .await;
            return (name, result);
        }
        Answer::Run(action) if super::ops::runs_as_job(&action) => {
            let (bot, shared, user) = (&req.bot, &req.shared, &req.user);
            let result =
                super::ops::run_confirmed(bot, shared, user, req.chat, msg_id, &action).await;
            return (name, result);
        }
        Answer::Run(action) => {
            let since = backup_since();
            let (html, result) = run_helper(req, &action).await;
            if action == HelperAction::BackupStart && result == AuditResult::Ok {
                follow_backup(req, since);
            }
            (html, result)
        }
    };
    let _ = send::edit(&req.bot, req.chat, msg_id, &html).await;
    (name, result)
}

pub(super) fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
