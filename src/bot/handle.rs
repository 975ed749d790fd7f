//! Update handling: a dptree schema whose first branch drops updates from the
//! wrong place (`context.rs`: other groups, forwarded messages, commands for
//! other bots), the second refuses anyone not in `ADMIN_IDS`, then messages
//! and button presses. Decisions come from the pure
//! `command.rs`; this file carries them out (files, `.env`, helper, replies)
//! and writes one audit line per command, button press, action and refusal.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use teloxide::dispatching::{UpdateFilterExt, UpdateHandler};
use teloxide::prelude::*;
use teloxide::types::{CallbackQuery, KeyboardButton, KeyboardMarkup, ReplyMarkup, User};

use crate::files::backup::{BackupOutcome, BackupProgress, SnapshotIndex};
use crate::files::health::HealthReport;

use super::command::{self, Answer, Callback, HelperAction, Parsed, Pending, Plan, Setting, View};
use super::context::{self, Origin, Verdict};
use super::helper::{self, HelperError};
use super::send::{self, inline_row};
use super::text::{esc, fill};
use super::view::{self, load};
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
struct Req {
    bot: Bot,
    shared: Arc<Shared>,
    chat: ChatId,
    user: User,
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
    match command::parse(text) {
        Parsed::Command(cmd, args) => {
            let result = if cmd.is_ops() {
                super::ops::handle(&req.bot, &msg, &shared, cmd, args).await
            } else if cmd == command::Command::Restore {
                super::restore::handle(&req.bot, &msg, &shared, args).await
            } else if cmd.is_charts() {
                super::charts::handle(&req.bot, &msg, &shared, cmd, args).await
            } else {
                let plan = command::plan(&shared.config(), shared.lang(), cmd, args);
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
            let plan = command::plan_callback(&shared.config(), shared.lang(), &cb);
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
    let decided = command::answer(pending.as_ref(), req.user.id.0, yes, now);
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

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Carries out a plan and says what to audit.
async fn execute(req: &Req, plan: Plan) -> AuditResult {
    let r = execute_inner(req, plan).await;
    r.unwrap_or_else(|e| AuditResult::Failed(format!("reply not delivered: {e}")))
}

async fn execute_inner(req: &Req, plan: Plan) -> Result<AuditResult, teloxide::RequestError> {
    let shared = &req.shared;
    let t = shared.texts();
    let (bot, chat) = (&req.bot, req.chat);
    Ok(match plan {
        Plan::Reply(html) => {
            send::reply(bot, chat, &html).await?;
            AuditResult::Ok
        }
        Plan::Refuse { html, reason } => {
            send::reply(bot, chat, &html).await?;
            AuditResult::Failed(reason)
        }
        Plan::Menu(html) => {
            let rows = t.menu.iter().map(|row| {
                row.iter()
                    .map(|(label, _)| KeyboardButton::new(*label))
                    .collect::<Vec<_>>()
            });
            let kb = KeyboardMarkup::new(rows).resize_keyboard();
            send::send(bot, chat, &html, Some(ReplyMarkup::Keyboard(kb))).await?;
            AuditResult::Ok
        }
        Plan::Show(v) => {
            send::reply(bot, chat, &render(shared, v)).await?;
            AuditResult::Ok
        }
        Plan::Confirm(action) => {
            ask_confirm(bot, chat, shared, req.user.id.0, action).await?;
            AuditResult::Ok
        }
        Plan::Run(action) => {
            let (html, result) = run_helper(req, &action).await;
            send::reply(bot, chat, &html).await?;
            result
        }
        Plan::BackupNow => {
            // One backup at a time: a second tap, or a tap during the timer's
            // run, joins the run in progress instead of queueing another.
            if shared.backup_follow.load(Ordering::SeqCst) {
                send::reply(bot, chat, t.backup_already_running).await?;
                return Ok(AuditResult::Failed("already running".into()));
            }
            if let Some(started) = running_backup(&shared.config().state_dir) {
                send::reply(bot, chat, t.backup_already_running).await?;
                follow_backup(req, started);
                return Ok(AuditResult::Failed("already running".into()));
            }
            let since = backup_since();
            // Claimed before the helper call, so a tap arriving meanwhile
            // sees a run in progress.
            if req.shared.backup_follow.swap(true, Ordering::SeqCst) {
                send::reply(bot, chat, t.backup_already_running).await?;
                return Ok(AuditResult::Failed("already running".into()));
            }
            let (html, result) = run_helper(req, &HelperAction::BackupStart).await;
            req.shared.backup_follow.store(false, Ordering::SeqCst);
            if result == AuditResult::Ok {
                follow_backup(req, since);
            } else {
                send::reply(bot, chat, &html).await?;
            }
            result
        }
        Plan::Save(setting) => {
            let (html, result) = save_setting(shared, &setting);
            send::reply(bot, chat, &html).await?;
            result
        }
        Plan::SaveAndRun(setting, action) => {
            let (mut html, result) = save_setting(shared, &setting);
            let result = if result == AuditResult::Ok {
                let (h2, r2) = run_helper(req, &action).await;
                html = format!("{html}\n{h2}");
                r2
            } else {
                result
            };
            send::reply(bot, chat, &html).await?;
            result
        }
        Plan::SetLang(lang) => {
            let code = lang.code().to_string();
            match shared.update_state(|st| st.lang = Some(code)) {
                Ok(()) => {
                    // The command menu's descriptions follow the new language.
                    tokio::spawn(super::register_commands(bot.clone(), shared.clone()));
                    send::reply(bot, chat, super::i18n::texts(lang).lang_set).await?;
                    AuditResult::Ok
                }
                Err(e) => {
                    send::reply(
                        bot,
                        chat,
                        &fill(t.internal_error, &[("err", &esc(&format!("{e:#}")))]),
                    )
                    .await?;
                    AuditResult::Failed(format!("{e:#}"))
                }
            }
        }
        Plan::Mute { code, minutes } => mute(req, &code, minutes).await?,
        Plan::AuditTail(n) => {
            let path = shared.config().audit_log();
            let html = match crate::audit::tail(&path, n) {
                Ok(lines) if lines.is_empty() => t.audit_empty.to_string(),
                Ok(lines) => {
                    let mut s = format!("{}\n", t.audit_header);
                    for e in lines {
                        s += &format!(
                            "<code>{}</code> {} <b>{}</b> {} → {}\n",
                            esc(&e.time),
                            esc(&e.username.clone().unwrap_or_else(|| e.user_id.to_string())),
                            esc(&e.action),
                            esc(&e.arguments),
                            esc(&e.result)
                        );
                    }
                    s
                }
                Err(e) => fill(t.internal_error, &[("err", &esc(&format!("{e:#}")))]),
            };
            send::reply(bot, chat, &html).await?;
            AuditResult::Ok
        }
        // Routed by command in `on_message`; a plan never asks for these itself.
        Plan::Ops | Plan::Charts | Plan::Restore => AuditResult::Failed("not routed".into()),
    })
}

/// Asks `user_id` a Yes/No question about `action`; a Yes within
/// [`command::CONFIRM_TTL_S`] runs it through the helper. Public for the
/// operations commands (updates ask first too).
pub async fn ask_confirm(
    bot: &Bot,
    chat: ChatId,
    shared: &Arc<Shared>,
    user_id: u64,
    action: HelperAction,
) -> Result<(), teloxide::RequestError> {
    let t = shared.texts();
    let id = shared.next_pending.fetch_add(1, Ordering::Relaxed);
    let now = now_s();
    let html = fill(
        t.confirm_question,
        &[
            ("what", &action.describe(t)),
            ("secs", &command::CONFIRM_TTL_S.to_string()),
        ],
    );
    {
        let mut p = lock(&shared.pending);
        p.retain(|_, v| v.expires_at >= now);
        p.insert(
            id,
            Pending {
                action,
                user_id,
                expires_at: now + command::CONFIRM_TTL_S,
            },
        );
    }
    let buttons = [
        (t.btn_yes.to_string(), Callback::Confirm { id, yes: true }),
        (t.btn_no.to_string(), Callback::Confirm { id, yes: false }),
    ]
    .map(|(l, c)| (l, c.data().unwrap_or_default()));
    let markup = ReplyMarkup::InlineKeyboard(inline_row(&buttons));
    send::send(bot, chat, &html, Some(markup)).await?;
    Ok(())
}

fn render(shared: &Shared, v: View) -> String {
    let cfg = shared.config();
    let t = shared.texts();
    let now = chrono::Utc::now();
    let health = || load::<HealthReport>(&cfg.health_file());
    match v {
        View::Status => view::status(t, &cfg, &health(), now),
        View::Uptime => view::uptime(t, &cfg, &health(), now),
        View::Alerts => {
            let mutes = lock(&shared.state).mutes.clone();
            view::alerts(t, &cfg, &health(), &mutes, now)
        }
        View::SvcList => view::svc_list(t, &cfg, &health(), now),
        View::BackupList => view::backup_list(
            t,
            &load::<BackupOutcome>(&cfg.state_dir.join(crate::paths::LAST_BACKUP)),
            &load::<SnapshotIndex>(&cfg.state_dir.join(crate::paths::BACKUP_INDEX)),
        ),
    }
}

async fn mute(req: &Req, code: &str, minutes: u64) -> Result<AuditResult, teloxide::RequestError> {
    let t = req.shared.texts();
    let until = chrono::Utc::now() + chrono::Duration::minutes(minutes as i64);
    let until_s = crate::files::rfc3339(until);
    let r = req.shared.update_state(|st| {
        if minutes == 0 {
            st.mutes.remove(code);
        } else {
            st.mutes.insert(code.to_string(), until_s.clone());
        }
    });
    let (html, result) = match r {
        Ok(()) if minutes == 0 => (
            fill(t.mute_lifted, &[("code", &esc(code))]),
            AuditResult::Ok,
        ),
        Ok(()) => (
            fill(
                t.mute_set,
                &[
                    ("code", &esc(code)),
                    ("minutes", &minutes.to_string()),
                    ("until", &until_s),
                ],
            ),
            AuditResult::Ok,
        ),
        Err(e) => (
            fill(t.internal_error, &[("err", &esc(&format!("{e:#}")))]),
            AuditResult::Failed(format!("{e:#}")),
        ),
    };
    send::reply(&req.bot, req.chat, &html).await?;
    Ok(result)
}

/// Runs a helper action; returns the reply and the audit result.
async fn run_helper(req: &Req, action: &HelperAction) -> (String, AuditResult) {
    let t = req.shared.texts();
    let what = action.describe(t);
    match helper::run(action).await {
        Ok(()) => {
            let done = fill(t.helper_ok, &[("what", &what)]);
            match action {
                HelperAction::Svc { verb, unit } if *verb != command::SvcVerb::Stop => {
                    settle_reply(req, unit, done).await
                }
                _ => (done, AuditResult::Ok),
            }
        }
        Err(e) => {
            let tpl = match e {
                HelperError::Missing(_) => t.helper_missing,
                HelperError::Failed(_) => t.helper_failed,
            };
            let detail = match &e {
                HelperError::Missing(d) | HelperError::Failed(d) => d.clone(),
            };
            (
                fill(tpl, &[("what", &what), ("err", &esc(&detail))]),
                AuditResult::Failed(e.reason()),
            )
        }
    }
}

/// Follows a started unit until it settles and says how it ended: "done"
/// alone would be a lie for a unit that crashed a moment later.
async fn settle_reply(req: &Req, unit: &str, done: String) -> (String, AuditResult) {
    use crate::chatops::settle::{self, Settled};
    let t = req.shared.texts();
    let Ok(allowed) = crate::chatops::logs::allowed_unit(&req.shared.config(), unit) else {
        return (done, AuditResult::Ok);
    };
    let exec = crate::chatops::Exec::new();
    let settled = tokio::task::spawn_blocking(move || settle::follow(&exec, &allowed))
        .await
        .unwrap_or(Settled::Unsettled { state: None });
    let u = esc(unit);
    match settled {
        Settled::Running => (
            format!("{done}\n{}", fill(t.svc_running, &[("unit", &u)])),
            AuditResult::Ok,
        ),
        Settled::Finished => (
            format!("{done}\n{}", fill(t.svc_finished, &[("unit", &u)])),
            AuditResult::Ok,
        ),
        Settled::Failed { state, journal } => {
            let mut html = fill(
                t.svc_crashed,
                &[("unit", &u), ("state", &esc(&state.describe()))],
            );
            if let Some(j) = journal.filter(|j| !j.text.trim().is_empty()) {
                let lines: Vec<&str> = j.text.lines().rev().take(settle::JOURNAL_LINES).collect();
                let shown: Vec<&str> = lines.into_iter().rev().collect();
                html += &format!("\n<pre>{}</pre>", esc(&shown.join("\n")));
            }
            let why = format!("{unit} is {}", state.describe());
            (html, AuditResult::Failed(why))
        }
        Settled::Unsettled { state } => {
            let now = state.map_or_else(|| "?".to_string(), |s| s.describe());
            let line = fill(t.svc_unsettled, &[("unit", &u), ("state", &esc(&now))]);
            (format!("{done}\n{line}"), AuditResult::Ok)
        }
    }
}

/// Saves one preference through `config::save_preference` (the edited
/// `.env` must load as it is) and runs on the config it returns.
fn save_setting(shared: &Shared, s: &Setting) -> (String, AuditResult) {
    let t = shared.texts();
    match crate::config::save_preference(&shared.config(), s.env_key(), &s.env_value()) {
        Ok(new) => {
            *lock(&shared.cfg) = new;
            (s.done_text(t), AuditResult::Ok)
        }
        Err(crate::config::SaveError::NoEnvFile) => (
            t.env_missing.to_string(),
            AuditResult::Failed("no .env file".into()),
        ),
        Err(e) => (
            fill(t.env_failed, &[("err", &esc(&e.to_string()))]),
            AuditResult::Failed(e.to_string()),
        ),
    }
}

/// A backup that finished at or after this instant is the one just started
/// (file times have whole seconds, hence the one-second margin).
/// The start of a backup run still in progress (started by its timer, say),
/// from a fresh `backup-progress.json` that has not reached its end.
fn running_backup(state_dir: &std::path::Path) -> Option<chrono::DateTime<chrono::Utc>> {
    /// Progress is written at least this often while a run lives.
    const FRESH_S: i64 = 300;
    let view::Loaded::Ok(p) =
        load::<BackupProgress>(&state_dir.join(crate::paths::BACKUP_PROGRESS))
    else {
        return None;
    };
    let updated = crate::files::parse_rfc3339(&p.updated_at)?;
    let live = (chrono::Utc::now() - updated).num_seconds() < FRESH_S;
    let ongoing = !matches!(p.phase.as_str(), "done" | "failed");
    let started = crate::files::parse_rfc3339(&p.started_at)?;
    (live && ongoing).then(|| started - chrono::Duration::seconds(1))
}

fn backup_since() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() - chrono::Duration::seconds(1)
}

/// Shows a progress message for `/backup_now`, edited in place from
/// `backup-progress.json`, then the result from `last_backup.json`.
fn follow_backup(req: &Req, started: chrono::DateTime<chrono::Utc>) {
    if req.shared.backup_follow.swap(true, Ordering::SeqCst) {
        return;
    }
    let (bot, shared, chat) = (req.bot.clone(), req.shared.clone(), req.chat);
    tokio::spawn(async move {
        // Cleared however the task ends: done, panicked or aborted.
        let flag_owner = shared.clone();
        let _following = OnDrop::new(move || {
            flag_owner.backup_follow.store(false, Ordering::SeqCst);
        });
        let t = shared.texts();
        let state_dir = shared.config().state_dir;
        let msg = send::send(&bot, chat, t.backup_started, None).await;
        let mut last_text = String::new();
        let mut final_text = t.backup_no_result.to_string();
        // Up to six hours: a big first backup on a slow HDD takes a while.
        for _ in 0..(6 * 3600 / 2) {
            tokio::time::sleep(Duration::from_secs(2)).await;
            if let view::Loaded::Ok(b) =
                load::<BackupOutcome>(&state_dir.join(crate::paths::LAST_BACKUP))
                && crate::files::parse_rfc3339(&b.finished_at).is_some_and(|f| f >= started)
            {
                final_text = view::outcome_line(t, &b);
                break;
            }
            if let view::Loaded::Ok(p) =
                load::<BackupProgress>(&state_dir.join(crate::paths::BACKUP_PROGRESS))
            {
                let text = view::progress(t, &p);
                if text != last_text
                    && let Ok(m) = &msg
                {
                    let _ = send::edit(&bot, chat, m.id, &text).await;
                    last_text = text;
                }
            }
        }
        match &msg {
            Ok(m) => {
                let _ = send::edit(&bot, chat, m.id, &final_text).await;
            }
            Err(_) => {
                let _ = send::reply(&bot, chat, &final_text).await;
            }
        }
    });
}

/// Runs a closure when dropped: clean-up that a panic or a cancelled task
/// cannot skip.
struct OnDrop<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> OnDrop<F> {
    fn new(f: F) -> OnDrop<F> {
        OnDrop(Some(f))
    }
}

impl<F: FnOnce()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    #[test]
    fn a_panic_still_clears_the_flag() {
        let flag = Arc::new(AtomicBool::new(true));
        let f = flag.clone();
        let r = std::panic::catch_unwind(move || {
            let _guard = OnDrop::new(move || f.store(false, Ordering::SeqCst));
            panic!("boom");
        });
        assert!(r.is_err());
        assert!(!flag.load(Ordering::SeqCst));
    }

    #[test]
    fn an_aborted_task_clears_the_flag() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let flag = Arc::new(AtomicBool::new(true));
        let f = flag.clone();
        rt.block_on(async move {
            let task = tokio::spawn(async move {
                let _guard = OnDrop::new(move || f.store(false, Ordering::SeqCst));
                tokio::time::sleep(Duration::from_secs(3600)).await;
            });
            tokio::task::yield_now().await;
            task.abort();
            assert!(task.await.unwrap_err().is_cancelled());
        });
        assert!(!flag.load(Ordering::SeqCst));
    }
}
