//! Operations commands (issue 6): logs, network and updates from chat, on top
//! of the Telegram-free core in `src/chatops/`.
//!
//! [`plan`] and [`OpsCallback::parse`] decide without I/O what a command or a
//! button asks for; every chat value becomes a checked chatops newtype there,
//! so a refusal never reaches a process. Short runs (journal, ping, ip,
//! tailscale) go to the blocking pool with an `Exec` cancelled on shutdown;
//! long runs (apt, pip, git, speed test) are `chatops::jobs` jobs, one per
//! kind, shown as a message edited in place (elapsed time, last output line)
//! that ends with a summary, the full output as a document and, after an
//! update, buttons to restart a watched service through the `/svc restart`
//! confirmation. apt asks through the bot's `ask_confirm`; pip and git ask
//! through the same kind of Yes/No question kept here (`o:y:<id>`/`o:n:<id>`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use teloxide::prelude::*;
use teloxide::types::{InputFile, MessageId, ReplyMarkup, User};
use teloxide::{Bot, RequestError};

use crate::chatops::Exec;
use crate::chatops::fit::{MESSAGE_MAX, fit, tg_len};
use crate::chatops::jobs::{JobKind, JobOutcome, JobResult, JobStatus, Jobs, StartError};
use crate::chatops::logs::{self, AllowedUnit, Journal, JournalState, Since};
use crate::chatops::net::{self, PingTarget};
use crate::chatops::updates::{self, PipPlan};
use crate::config::{Config, Lang};
use crate::files::bot::PendingUpdates;

use super::command::{self, Callback, Command, HelperAction};
use super::i18n::{self, OpsTexts};
use super::send::{self, inline_row};
use super::text::{esc, fill};
use super::{AuditResult, Shared, lock};

/// Callback data of this module's buttons starts with this.
pub const CALLBACK_PREFIX: &str = "o:";
/// Timeout of the public-IP question in `/ip` (per step).
const PUBLIC_IP_TIMEOUT: Duration = Duration::from_secs(3);
/// Most favourite hosts offered as buttons.
const MAX_FAVOURITES: usize = 6;
/// Most services offered for a restart after an update.
const MAX_RESTART_BUTTONS: usize = 6;

/// What the operations commands keep while the bot runs: the job runner and
/// the pip/git questions waiting for Yes/No.
pub struct OpsState {
    jobs: Jobs,
    pending: Mutex<HashMap<u64, OpsPending>>,
}

impl Default for OpsState {
    fn default() -> Self {
        OpsState::new()
    }
}

impl OpsState {
    pub fn new() -> OpsState {
        OpsState {
            jobs: Jobs::new(),
            pending: Mutex::new(HashMap::new()),
        }
    }

    /// Kills every running job and short run and refuses new ones (SIGTERM).
    pub fn shutdown(&self) {
        self.jobs.shutdown();
    }
}

/// A long run, started after a Yes (or at once for the speed test).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpsJob {
    AptUpdate,
    AptUpgrade,
    Pip(PipPlan),
    Git(Vec<PathBuf>),
    Speed,
}

impl OpsJob {
    fn kind(&self) -> JobKind {
        match self {
            OpsJob::AptUpdate | OpsJob::AptUpgrade => JobKind::Apt,
            OpsJob::Pip(_) => JobKind::Pip,
            OpsJob::Git(_) => JobKind::Git,
            OpsJob::Speed => JobKind::Speed,
        }
    }

    /// What it does, in the reply language (HTML).
    fn what(&self, lang: Lang) -> String {
        let (t, o) = (i18n::texts(lang), &i18n::texts(lang).ops);
        match self {
            OpsJob::AptUpdate => t.action_apt_update.into(),
            OpsJob::AptUpgrade => t.action_apt_upgrade.into(),
            OpsJob::Pip(_) => o.what_pip.into(),
            OpsJob::Git(_) => o.what_git.into(),
            OpsJob::Speed => o.what_speed.into(),
        }
    }

    /// Name of the full-output document.
    fn file_name(&self) -> &'static str {
        match self {
            OpsJob::AptUpdate => "apt-update.txt",
            OpsJob::AptUpgrade => "apt-upgrade.txt",
            OpsJob::Pip(_) => "pip-sync.txt",
            OpsJob::Git(_) => "git-pull.txt",
            OpsJob::Speed => "speedtest.txt",
        }
    }

    fn audit_name(&self) -> &'static str {
        match self {
            OpsJob::AptUpdate => "apt update",
            OpsJob::AptUpgrade => "apt upgrade",
            OpsJob::Pip(_) => "pip sync",
            OpsJob::Git(_) => "git pull",
            OpsJob::Speed => "speed",
        }
    }
}

/// True for the helper actions whose Yes starts a job here (apt), not a plain helper call.
pub fn runs_as_job(action: &HelperAction) -> bool {
    matches!(action, HelperAction::AptUpdate | HelperAction::AptUpgrade)
}

mod jobs;
mod plan;
mod quick;

use jobs::*;
pub use jobs::{on_callback, run_confirmed};
pub use plan::*;
use quick::*;

pub(super) fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Where to answer and who asked.
pub(super) struct Ctx<'a> {
    bot: &'a Bot,
    shared: &'a Arc<Shared>,
    chat: ChatId,
    user_id: u64,
}

impl Ctx<'_> {
    fn lang(&self) -> Lang {
        self.shared.lang()
    }

    fn o(&self) -> &'static OpsTexts {
        &i18n::texts(self.lang()).ops
    }

    async fn reply(&self, html: &str) -> Result<(), RequestError> {
        send::reply(self.bot, self.chat, html).await
    }

    async fn document(&self, name: &str, bytes: Vec<u8>, caption: &str) {
        // Program output can quote anything, a token included.
        let bytes = match crate::redact::redact(&String::from_utf8_lossy(&bytes)) {
            std::borrow::Cow::Owned(clean) => clean.into_bytes(),
            std::borrow::Cow::Borrowed(_) => bytes,
        };
        let r = send::retrying(|| {
            self.bot
                .send_document(
                    self.chat,
                    InputFile::memory(bytes.clone()).file_name(name.to_string()),
                )
                .caption(caption)
                .parse_mode(teloxide::types::ParseMode::Html)
                .send()
        })
        .await;
        if let Err(e) = r {
            log::warn!("sending {name}: {e}");
        }
    }
}

/// Runs one operations command: replies itself and returns what to audit.
pub async fn handle(
    bot: &Bot,
    msg: &Message,
    shared: &Arc<Shared>,
    cmd: Command,
    args: &str,
) -> AuditResult {
    let ctx = Ctx {
        bot,
        shared,
        chat: msg.chat.id,
        user_id: msg.from.as_ref().map_or(0, |u| u.id.0),
    };
    let t = shared.texts();
    let plan = if args.chars().count() > command::MAX_ARGS {
        let html = fill(t.too_long, &[("max", &command::MAX_ARGS.to_string())]);
        return replied(
            ctx.reply(&html).await,
            AuditResult::Failed("arguments too long".into()),
        );
    } else {
        plan(
            &shared.config(),
            cmd,
            args,
            chrono::Local::now().naive_local(),
        )
    };
    execute(&ctx, cmd, plan).await
}

/// The audit result, or why the reply did not go out.
pub(super) fn replied(r: Result<(), RequestError>, result: AuditResult) -> AuditResult {
    match r {
        Ok(()) => result,
        Err(e) => AuditResult::Failed(format!("reply not delivered: {e}")),
    }
}

pub(super) async fn execute(ctx: &Ctx<'_>, cmd: Command, plan: OpsPlan) -> AuditResult {
    let t = ctx.shared.texts();
    let o = ctx.o();
    match plan {
        OpsPlan::Refuse(err) => {
            let html = fill(t.invalid, &[("err", &esc(&err))]);
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
                .filter_map(|h| Some((h.clone(), OpsCallback::Ping(h.clone()).data()?)))
                .collect();
            let markup = ReplyMarkup::InlineKeyboard(inline_row(&buttons));
            let r = send::send(ctx.bot, ctx.chat, o.ping_pick, Some(markup)).await;
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
            let label = format!("{} ({})", since.at.format("%Y-%m-%d %H:%M"), since.label);
            let title = fill(o.errors_title, &[("since", &esc(&label))]);
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
            send_text(ctx, o.ip_title, r).await
        }
        OpsPlan::Tailscale => {
            let r = quick(ctx, net::TAILSCALE_TIMEOUT, |exec| {
                net::tailscale(exec).map(|s| {
                    let failed = match &s {
                        net::TailscaleOutcome::Status(_) => None,
                        net::TailscaleOutcome::NotInstalled => Some("not installed".to_string()),
                        net::TailscaleOutcome::Failed(w) => Some(w.clone()),
                    };
                    (net::render_tailscale(&s, chrono::Utc::now()), failed)
                })
            })
            .await;
            match r {
                Ok((text, failed)) => {
                    let (html, _) = fit_html(&format!("<b>{}</b>", o.tailscale_title), &text);
                    let result = failed.map_or(AuditResult::Ok, AuditResult::Failed);
                    replied(ctx.reply(&html).await, result)
                }
                Err(e) => send_error(ctx, e).await,
            }
        }
        OpsPlan::ConfirmHelper(action) => {
            let r = super::ask_confirm(ctx.bot, ctx.chat, ctx.shared, ctx.user_id, action).await;
            replied(r, AuditResult::Ok)
        }
        OpsPlan::Confirm(job) => {
            let r = ask_ops_confirm(ctx, job).await;
            replied(r, AuditResult::Ok)
        }
        OpsPlan::Run(job) => {
            let msg = send::send(
                ctx.bot,
                ctx.chat,
                &fill(o.job_starting, &[("what", &job.what(ctx.lang()))]),
                None,
            )
            .await;
            match msg {
                Ok(m) => run_job(ctx, m.id, job).await,
                Err(e) => AuditResult::Failed(format!("reply not delivered: {e}")),
            }
        }
    }
}

#[cfg(test)]
mod tests;
