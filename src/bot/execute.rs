//! Carrying out a [`Plan`]: replies, views, settings written to `.env`,
//! helper calls (asked about first when they need a Yes), mutes and a backup
//! followed in place; each returns what to audit.

use super::callback::Callback;
use super::command::{self};
use super::confirm::{self, Confirmable};
use super::follow::{backup_since, follow_backup, follow_verify, running_backup};
use super::helper::{self, HelperError};
use super::i18n::pre;
use super::loaded::load;
use super::plan::{HelperAction, Plan, View};
use super::req::Req;
use super::send::{self};
use super::settings::save_setting;
use super::text::{esc, fill};
use super::view;
use super::{AuditResult, Shared, lock};
use crate::files::backup::{BackupOutcome, SnapshotIndex};
use crate::files::health::HealthReport;
use std::sync::atomic::Ordering;
use teloxide::types::{KeyboardButton, KeyboardMarkup, ReplyMarkup};

/// Carries out a plan and says what to audit.
pub(super) async fn execute(req: &Req, plan: Plan) -> AuditResult {
    let r = execute_inner(req, plan).await;
    r.unwrap_or_else(|e| AuditResult::Failed(format!("reply not delivered: {e}")))
}

pub(super) async fn execute_inner(
    req: &Req,
    plan: Plan,
) -> Result<AuditResult, teloxide::RequestError> {
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
        Plan::Pick { html, buttons } => {
            let rows = buttons.into_iter().map(|(label, data)| {
                [teloxide::types::InlineKeyboardButton::callback(label, data)]
            });
            let kb = teloxide::types::InlineKeyboardMarkup::new(rows);
            send::send(bot, chat, &html, Some(ReplyMarkup::InlineKeyboard(kb))).await?;
            AuditResult::Ok
        }
        Plan::Show(v) => {
            send::reply(bot, chat, &render(shared, v)).await?;
            AuditResult::Ok
        }
        Plan::Confirm(action) => {
            confirm::ask(req, Confirmable::Helper(action)).await?;
            AuditResult::Ok
        }
        Plan::Run(action) => {
            let r = run_helper(req, &action).await;
            req.send(&r.html, r.markup(t)).await?;
            r.result
        }
        Plan::BackupNow => {
            // One backup at a time: a second tap, or a tap during the timer's
            // run, joins the run in progress instead of queueing another. The
            // flag is claimed before the helper call, so a tap arriving
            // meanwhile sees a run in progress.
            if shared.backup_follow.swap(true, Ordering::SeqCst) {
                send::reply(bot, chat, t.backup_already_running).await?;
                return Ok(AuditResult::Failed("already running".into()));
            }
            if let Some(started) = running_backup(&shared.config().state_dir) {
                // `follow_backup` claims the flag itself.
                shared.backup_follow.store(false, Ordering::SeqCst);
                send::reply(bot, chat, t.backup_already_running).await?;
                follow_backup(req, started);
                return Ok(AuditResult::Failed("already running".into()));
            }
            let since = backup_since();
            let HelperReply { html, result, .. } =
                run_helper(req, &HelperAction::BackupStart).await;
            req.shared.backup_follow.store(false, Ordering::SeqCst);
            if result == AuditResult::Ok {
                follow_backup(req, since);
            } else {
                send::reply(bot, chat, &html).await?;
            }
            result
        }
        Plan::BackupVerify => {
            let since = backup_since();
            let HelperReply { html, result, .. } =
                run_helper(req, &HelperAction::VerifyStart).await;
            if result == AuditResult::Ok {
                follow_verify(req, since);
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
        Plan::SvcAdd(unit) => super::watchlist::add(req, &unit).await,
        Plan::SaveAndRun(setting, action) => {
            let (mut html, result) = save_setting(shared, &setting);
            let result = if result == AuditResult::Ok {
                let r = run_helper(req, &action).await;
                html = format!("{html}\n{}", r.html);
                r.result
            } else {
                result
            };
            send::reply(bot, chat, &html).await?;
            result
        }
        Plan::SetLang(lang) => {
            match shared.set_lang(lang) {
                Ok(()) => {
                    // The command menu's descriptions follow the new language.
                    tokio::spawn(super::register_commands(bot.clone(), shared.clone()));
                    send::reply(bot, chat, super::i18n::texts(lang).lang_set).await?;
                    AuditResult::Ok
                }
                Err(e) => {
                    send::reply(bot, chat, &internal(t, &e)).await?;
                    AuditResult::Failed(format!("{e:#}"))
                }
            }
        }
        Plan::Mute { code, minutes } => mute(req, &code, minutes).await?,
        Plan::AuditTail(n) => {
            let path = shared.config().audit_log();
            let html = match crate::audit::tail(&path, n) {
                Ok(lines) => super::audit_lines::render(t, &lines, chrono::Utc::now()),
                Err(e) => internal(t, &e),
            };
            send::reply(bot, chat, &html).await?;
            AuditResult::Ok
        }
        Plan::Ops { cmd, args } => super::ops::handle(req, cmd, &args).await,
        Plan::Chart(args) => super::charts::chart_command(req, &args).await,
        Plan::Restore(args) => super::restore::handle(req, &args).await,
        Plan::Smart { cmd, args } => super::smart::handle(req, cmd, &args).await,
    })
}

/// An error on the bot's side: logged in full, said in one calm line.
pub(super) fn internal(t: &super::i18n::Texts, e: &dyn std::fmt::Display) -> String {
    log::error!("{e:#}");
    t.errors.internal.to_string()
}

pub(super) fn render(shared: &Shared, v: View) -> String {
    let cfg = shared.config();
    let t = shared.texts();
    let now = chrono::Utc::now();
    let health = || load::<HealthReport>(&cfg.health_file());
    match v {
        View::Status => {
            let notes = super::notice::status_lines(t, shared, chrono::Local::now());
            view::status(t, &cfg, &health(), now) + &notes
        }
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

pub(super) async fn mute(
    req: &Req,
    code: &str,
    minutes: u64,
) -> Result<AuditResult, teloxide::RequestError> {
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
                    (
                        "until",
                        &super::text::when(&t.clock, &until_s, chrono::Utc::now()),
                    ),
                ],
            ),
            AuditResult::Ok,
        ),
        Err(e) => (internal(t, &e), AuditResult::Failed(format!("{e:#}"))),
    };
    send::reply(&req.bot, req.chat, &html).await?;
    Ok(result)
}

/// The longest a chat restart holds its unit's `SERVICE_DOWN`: the restart
/// itself plus following the unit until it settles.
const SVC_RESTART_LEASE: std::time::Duration = std::time::Duration::from_secs(120);

/// What a helper call came to: the reply, the audit result, and the unit
/// whose journal a 📜 button offers (one that crashed right after its start).
pub(super) struct HelperReply {
    pub html: String,
    pub result: AuditResult,
    pub logs: Option<String>,
}

impl HelperReply {
    fn plain(html: String, result: AuditResult) -> HelperReply {
        HelperReply {
            html,
            result,
            logs: None,
        }
    }

    /// The 📜 button under the reply, if a unit crashed.
    pub(super) fn markup(&self, t: &super::i18n::Texts) -> Option<ReplyMarkup> {
        let unit = self.logs.as_ref()?;
        let data = Callback::Logs(unit.clone()).data()?;
        let row = [(t.btn_logs.to_string(), data)];
        Some(ReplyMarkup::InlineKeyboard(send::inline_row(&row)))
    }
}

/// Runs a helper action and says how it went.
pub(super) async fn run_helper(req: &Req, action: &HelperAction) -> HelperReply {
    let t = req.shared.texts();
    let what = action.describe(t);
    // A restarted unit is down for a moment; its SERVICE_DOWN is held while this runs.
    let _lease = match action {
        HelperAction::Svc {
            verb: command::SvcVerb::Restart,
            unit,
        } => crate::files::lease::Job::svc_restart(unit)
            .ok()
            .and_then(|job| super::notice::take_lease(&req.shared, job, SVC_RESTART_LEASE)),
        _ => None,
    };
    match helper::run(action).await {
        Ok(()) => {
            let done = fill(t.helper_ok, &[("what", &what)]);
            match action {
                HelperAction::Svc { verb, unit } if *verb != command::SvcVerb::Stop => {
                    settle_reply(req, unit, done).await
                }
                _ => HelperReply::plain(done, AuditResult::Ok),
            }
        }
        Err(e) => HelperReply::plain(helper_error(t, &what, &e), AuditResult::Failed(e.reason())),
    }
}

/// A helper call that did not succeed, in the reply language (HTML): a
/// refusal from its reason code, a failure with the helper's own line in `<pre>`.
pub(super) fn helper_error(t: &super::i18n::Texts, what: &str, e: &HelperError) -> String {
    let er = t.errors;
    match e {
        HelperError::Refused(code, _) => fill((er.helper)(*code), &[("what", what)]),
        HelperError::TimedOut => fill(
            er.helper_timeout,
            &[
                ("what", what),
                ("secs", &helper::HELPER_TIMEOUT.as_secs().to_string()),
            ],
        ),
        HelperError::Missing(d) => {
            format!("{}\n{}", fill(er.helper_missing, &[("what", what)]), pre(d))
        }
        HelperError::Failed(d) => {
            format!("{}\n{}", fill(er.helper_failed, &[("what", what)]), pre(d))
        }
    }
}

/// Follows a started unit until it settles and says how it ended: "done"
/// alone would be a lie for a unit that crashed a moment later.
async fn settle_reply(req: &Req, unit: &str, done: String) -> HelperReply {
    use crate::chatops::settle::{self, Settled};
    let t = req.shared.texts();
    let Ok(allowed) = crate::chatops::logs::allowed_unit(&req.shared.config(), unit) else {
        return HelperReply::plain(done, AuditResult::Ok);
    };
    let exec = crate::chatops::Exec::new();
    let settled = tokio::task::spawn_blocking(move || settle::follow(&exec, &allowed))
        .await
        .unwrap_or(Settled::Unsettled { state: None });
    let u = esc(unit);
    match settled {
        Settled::Running => HelperReply::plain(
            format!("{done}\n{}", fill(t.svc_running, &[("unit", &u)])),
            AuditResult::Ok,
        ),
        Settled::Finished => HelperReply::plain(
            format!("{done}\n{}", fill(t.svc_finished, &[("unit", &u)])),
            AuditResult::Ok,
        ),
        Settled::Failed { state, journal } => {
            let mut html = fill(
                t.svc_crashed,
                &[
                    ("unit", &u),
                    ("state", (t.errors.unit_state)(&state.active)),
                ],
            );
            // `settle::follow` already asked journalctl for the last lines only.
            if let Some(j) = journal.filter(|j| !j.text.trim().is_empty()) {
                html += &format!("\n<pre>{}</pre>", esc(j.text.trim_end()));
            }
            let why = format!("{unit} is {}", state.describe());
            HelperReply {
                html,
                result: AuditResult::Failed(why),
                logs: Some(unit.to_string()),
            }
        }
        Settled::Unsettled { state } => {
            let now = state.map_or("?", |s| (t.errors.unit_state)(&s.active));
            let line = fill(t.svc_unsettled, &[("unit", &u), ("state", now)]);
            HelperReply::plain(format!("{done}\n{line}"), AuditResult::Ok)
        }
    }
}
