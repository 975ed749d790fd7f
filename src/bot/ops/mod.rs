//! Operations commands: logs, network and updates from chat, on top of the
//! Telegram-free core in `src/chatops/`.
//!
//! [`plan`] decides without I/O what a command asks for; every chat value
//! becomes a checked chatops newtype there, so a refusal never reaches a
//! process. Short runs (journal, ping, ip, tailscale) go to the blocking pool
//! with an `Exec` cancelled on shutdown; long runs (apt, pip, git, speed test)
//! are `chatops::jobs` jobs, one per kind, shown as a progress message
//! (elapsed time, last output line) that ends with a summary, the full output
//! as a document and, after an update, buttons to restart a watched service
//! through the `/svc restart` question. apt, pip and git ask Yes/No first
//! through the bot's one question store (`confirm.rs`).

use std::time::Duration;

use teloxide::types::{InputFile, ReplyMarkup};

use crate::chatops::Exec;
use crate::chatops::fit::{MESSAGE_MAX, fit_with, tg_len};
use crate::chatops::jobs::{JobOutcome, JobResult, JobStatus, Jobs, StartError};
use crate::chatops::logs::{self, AllowedUnit, Journal, JournalState, Since};
use crate::chatops::net::{self, PingTarget};
use crate::chatops::updates;
use crate::config::Config;
use crate::files::bot::PendingUpdates;

use super::callback::Callback;
use super::command::Command;
use super::confirm::{self, Confirmable};
use super::i18n::{OpsResults, OpsTexts, Said, pre};
use super::job::OpsJob;
use super::progress::Progress;
use super::req::{Req, replied};
use super::send::{self, inline_row};
use super::text::{esc, fill};
use super::{AuditResult, Shared};

/// Timeout of the public-IP question in `/ip` (per step).
const PUBLIC_IP_TIMEOUT: Duration = Duration::from_secs(3);
/// Most favourite hosts offered as buttons.
const MAX_FAVOURITES: usize = 6;
/// Most services offered for a restart after an update.
const MAX_RESTART_BUTTONS: usize = 6;

/// What the operations commands keep while the bot runs: the job runner.
pub struct OpsState {
    jobs: Jobs,
}

impl Default for OpsState {
    fn default() -> Self {
        OpsState::new()
    }
}

impl OpsState {
    pub fn new() -> OpsState {
        OpsState { jobs: Jobs::new() }
    }

    /// Kills every running job and short run and refuses new ones (SIGTERM).
    pub fn shutdown(&self) {
        self.jobs.shutdown();
    }
}

mod jobs;
mod plan;
mod quick;
pub mod render;

/// The operations texts in the requester's language.
fn o(req: &Req) -> &'static OpsTexts {
    &req.texts().ops
}

pub use jobs::run_confirmed;
use jobs::*;
pub use plan::*;
pub use quick::ping_button;
use quick::*;
use render::JobSaid;

/// The words of the operations' results in the requester's language.
fn w(req: &Req) -> &'static OpsResults {
    &req.texts().errors.ops
}

/// Runs one operations command (its arguments' length is checked by the
/// router): replies itself and returns what to audit.
pub async fn handle(req: &Req, cmd: Command, args: &str) -> AuditResult {
    let now = chrono::Local::now().naive_local();
    execute(req, cmd, plan(&req.shared.config(), cmd, args, now)).await
}

async fn execute(ctx: &Req, cmd: Command, plan: OpsPlan) -> AuditResult {
    let t = ctx.shared.texts();
    let o = o(ctx);
    match plan {
        OpsPlan::Refuse(err) => {
            let html = fill(t.invalid, &[("err", &err.said(t.errors))]);
            replied(
                ctx.reply(&html).await,
                AuditResult::Failed(format!("refused: {err}")),
            )
        }
        OpsPlan::Usage => {
            let html = fill(t.usage, &[("usage", &esc(&o.usage_of(cmd)))]);
            replied(
                ctx.reply(&html).await,
                AuditResult::Failed("invalid arguments".into()),
            )
        }
        OpsPlan::PingPick(hosts) if hosts.is_empty() => {
            replied(ctx.reply(o.ping_no_favourites).await, AuditResult::Ok)
        }
        OpsPlan::PingPick(hosts) => {
            let buttons: Vec<(String, String)> = hosts
                .iter()
                .filter_map(|h| Some((h.clone(), Callback::Ping(h.clone()).data()?)))
                .collect();
            let markup = ReplyMarkup::InlineKeyboard(inline_row(&buttons));
            let r = ctx.send(o.ping_pick, Some(markup)).await;
            replied(r.map(|_| ()), AuditResult::Ok)
        }
        OpsPlan::Ping(target) => run_ping(ctx, target).await,
        OpsPlan::Journal(unit, lines) => {
            let title = fill(o.journal_title, &[("unit", &esc(unit.as_str()))]);
            let r = quick(ctx, logs::JOURNAL_TIMEOUT, move |exec| {
                logs::unit_journal(exec, &unit, lines)
            })
            .await;
            send_journal(ctx, &title, r).await
        }
        OpsPlan::Errors(since) => {
            // Said like every time a person reads: local and short ("kemarin 00:00").
            let label = since_when(&t.clock, &since);
            let title = fill(o.errors_title, &[("since", &label)]);
            let cfg = ctx.shared.config();
            let r = quick(ctx, logs::JOURNAL_TIMEOUT, move |exec| {
                logs::errors_since(exec, &cfg, &since)
            })
            .await;
            send_journal(ctx, &title, r).await
        }
        OpsPlan::LogFile(name) => send_log_file(ctx, &name).await,
        OpsPlan::Ip => {
            let r = quick(ctx, net::IP_TIMEOUT * 3, |exec| {
                net::ip_overview(exec, &net::EchoService::cloudflare(), PUBLIC_IP_TIMEOUT)
            })
            .await;
            match r {
                Ok(ip) => {
                    let html = format!("<b>{}</b>\n{}", o.ip_title, render::ip(w(ctx), &ip));
                    replied(ctx.reply(&html).await, AuditResult::Ok)
                }
                Err(e) => send_error(ctx, e).await,
            }
        }
        OpsPlan::Tailscale => {
            let r = quick(ctx, net::TAILSCALE_TIMEOUT, net::tailscale).await;
            match r {
                Ok(s) => {
                    let result = match &s {
                        net::TailscaleOutcome::Status(_) => AuditResult::Ok,
                        net::TailscaleOutcome::NotInstalled => {
                            AuditResult::Failed("not installed".into())
                        }
                        net::TailscaleOutcome::Failed(w) => AuditResult::Failed(w.clone()),
                    };
                    let head = format!("<b>{}</b>", o.tailscale_title);
                    let room = MESSAGE_MAX - tg_len(&head) - 1;
                    let now = chrono::Utc::now();
                    let body = render::tailscale(w(ctx), &t.clock, &s, now, room);
                    replied(ctx.reply(&format!("{head}\n{body}")).await, result)
                }
                Err(e) => send_error(ctx, e).await,
            }
        }
        OpsPlan::Confirm(job) => {
            let r = confirm::ask(ctx, Confirmable::Job(job)).await;
            replied(r, AuditResult::Ok)
        }
        OpsPlan::Run(job) => {
            let first = fill(o.job_starting, &[("what", &job.what(ctx.lang()))]);
            let progress = Progress::start(ctx, &first).await;
            run_job(ctx, progress, job).await.1
        }
    }
}

/// When a `/log_errors` span starts, as `text::when` says it.
fn since_when(clock: &super::text::ClockWords, since: &Since) -> String {
    use chrono::TimeZone;
    match chrono::Local.from_local_datetime(&since.at).earliest() {
        Some(at) => {
            let utc = crate::files::rfc3339(at.with_timezone(&chrono::Utc));
            super::text::when(clock, &utc, chrono::Utc::now())
        }
        None => esc(&since.at.format("%Y-%m-%d %H:%M").to_string()),
    }
}

#[cfg(test)]
mod tests;
