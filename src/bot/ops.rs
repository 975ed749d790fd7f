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
use super::i18n::ops::{self as ops_i18n, OpsTexts};
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
        let (t, o) = (super::i18n::texts(lang), ops_i18n::texts(lang));
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

/// What one operations command asks for (decided by [`plan`]).
#[derive(Debug, Clone, PartialEq)]
pub enum OpsPlan {
    /// Refused before anything ran; the text (not yet escaped) says why.
    Refuse(String),
    /// Wrong number of arguments: show the usage.
    Usage,
    /// `/ping` alone: offer these favourites as buttons.
    PingPick(Vec<String>),
    Ping(PingTarget),
    Journal(AllowedUnit, usize),
    Errors(Since),
    /// A checked `LOG_DIR` name; the file is looked at when sending.
    LogFile(String),
    Ip,
    Tailscale,
    /// Ask Yes/No through the bot's `ask_confirm`, then run the job.
    ConfirmHelper(HelperAction),
    /// Ask Yes/No here, then run the job.
    Confirm(OpsJob),
    /// Run at once.
    Run(OpsJob),
}

/// Decides what an operations command means for the current config. Only
/// `/pip_sync` looks at the disk (does the venv exist?), so it can refuse
/// before asking.
pub fn plan(cfg: &Config, cmd: Command, args: &str, now: chrono::NaiveDateTime) -> OpsPlan {
    let words: Vec<&str> = args.split_whitespace().collect();
    let one = |w: &[&str]| -> Result<Option<String>, ()> {
        match w {
            [] => Ok(None),
            [a] => Ok(Some(a.to_string())),
            _ => Err(()),
        }
    };
    match cmd {
        Command::Ping => {
            if args.trim().is_empty() {
                return OpsPlan::PingPick(favourites(cfg));
            }
            // The whole text is the host: `/ping a b` is refused, not split.
            match PingTarget::parse(args) {
                Ok(t) => OpsPlan::Ping(t),
                Err(e) => OpsPlan::Refuse(e),
            }
        }
        Command::LogJournal => match words.as_slice() {
            [unit] | [unit, _] => {
                let unit = match logs::allowed_unit(cfg, unit) {
                    Ok(u) => u,
                    Err(e) => return OpsPlan::Refuse(e),
                };
                match logs::line_count(words.get(1).copied()) {
                    Ok(n) => OpsPlan::Journal(unit, n),
                    Err(e) => OpsPlan::Refuse(e),
                }
            }
            _ => OpsPlan::Usage,
        },
        Command::LogRuntime => match one(&words) {
            Ok(n) => match logs::line_count(n.as_deref()) {
                Ok(n) => OpsPlan::Journal(logs::self_unit(cfg), n),
                Err(e) => OpsPlan::Refuse(e),
            },
            Err(()) => OpsPlan::Usage,
        },
        Command::LogErrors => match one(&words) {
            Ok(s) => match logs::parse_since(s.as_deref(), now) {
                Ok(s) => OpsPlan::Errors(s),
                Err(e) => OpsPlan::Refuse(e),
            },
            Err(()) => OpsPlan::Usage,
        },
        Command::LogFile => match one(&words) {
            Ok(n) => match logs::log_name(n.as_deref()) {
                Ok(n) => OpsPlan::LogFile(n),
                Err(e) => OpsPlan::Refuse(e),
            },
            Err(()) => OpsPlan::Usage,
        },
        _ if !words.is_empty() => OpsPlan::Usage,
        Command::Ip => OpsPlan::Ip,
        Command::Tailscale => OpsPlan::Tailscale,
        Command::Speed => OpsPlan::Run(OpsJob::Speed),
        Command::AptUpdate => OpsPlan::ConfirmHelper(HelperAction::AptUpdate),
        Command::PipSync => match updates::pip_plan(cfg) {
            Ok(p) => OpsPlan::Confirm(OpsJob::Pip(p)),
            Err(e) => OpsPlan::Refuse(e),
        },
        Command::GitPull => match updates::git_plan(cfg) {
            Ok(repos) => OpsPlan::Confirm(OpsJob::Git(repos)),
            Err(e) => OpsPlan::Refuse(e),
        },
        _ => OpsPlan::Usage,
    }
}

/// `PING_HOSTS` entries that are valid hosts and fit in a button's data.
pub fn favourites(cfg: &Config) -> Vec<String> {
    cfg.ping_hosts
        .iter()
        .filter_map(|h| PingTarget::parse(h).ok())
        .map(|t| t.as_str().to_string())
        .filter(|h| OpsCallback::Ping(h.clone()).data().is_some())
        .take(MAX_FAVOURITES)
        .collect()
}

/// A press on one of this module's buttons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpsCallback {
    /// `o:p:<host>`: ping a favourite.
    Ping(String),
    /// `o:y:<id>` / `o:n:<id>`: the answer to a pip/git question.
    Answer { id: u64, yes: bool },
}

impl OpsCallback {
    /// Callback data; `None` when it would not fit Telegram's 64 bytes.
    pub fn data(&self) -> Option<String> {
        let d = match self {
            OpsCallback::Ping(h) => format!("{CALLBACK_PREFIX}p:{h}"),
            OpsCallback::Answer { id, yes } => {
                format!("{CALLBACK_PREFIX}{}:{id}", if *yes { "y" } else { "n" })
            }
        };
        (d.len() <= command::CALLBACK_MAX).then_some(d)
    }

    /// Decodes callback data; anything unexpected (an invalid host too) is `None`.
    pub fn parse(data: &str) -> Option<OpsCallback> {
        let rest = data.strip_prefix(CALLBACK_PREFIX)?;
        let (tag, value) = rest.split_once(':')?;
        match tag {
            "p" => PingTarget::parse(value)
                .ok()
                .filter(|t| t.as_str() == value)
                .map(|t| OpsCallback::Ping(t.as_str().to_string())),
            "y" | "n" => Some(OpsCallback::Answer {
                id: value.parse().ok()?,
                yes: tag == "y",
            }),
            _ => None,
        }
    }
}

/// A pip/git question waiting for Yes/No.
#[derive(Debug, Clone, PartialEq)]
pub struct OpsPending {
    pub job: OpsJob,
    pub user_id: u64,
    /// Seconds since the Unix epoch after which the question is void.
    pub expires_at: u64,
}

/// What a Yes/No press on a pip/git question leads to (same rules as `command::answer`).
#[derive(Debug, Clone, PartialEq)]
pub enum OpsAnswer {
    Run(OpsJob),
    Cancelled,
    Expired,
    NotYours,
}

/// Decides a Yes/No press against the pending question (pure).
pub fn answer(pending: Option<&OpsPending>, user_id: u64, yes: bool, now: u64) -> OpsAnswer {
    match pending {
        None => OpsAnswer::Expired,
        Some(p) if now > p.expires_at => OpsAnswer::Expired,
        Some(p) if p.user_id != user_id => OpsAnswer::NotYours,
        Some(_) if !yes => OpsAnswer::Cancelled,
        Some(p) => OpsAnswer::Run(p.job.clone()),
    }
}

/// `title_html` over `body` (plain text) in a `<pre>` block, escaped first and
/// then cut to the newest lines that fit one message (`chatops::fit`); `true`
/// when lines were left out and the full text should follow as a document.
pub fn fit_html(title_html: &str, body: &str) -> (String, bool) {
    let body = body.trim_end();
    if body.is_empty() {
        return (title_html.to_string(), false);
    }
    let room = MESSAGE_MAX.saturating_sub(tg_len(title_html) + "\n<pre></pre>".len());
    let f = fit("", &esc(body), room);
    let kept = f.text.strip_prefix('\n').unwrap_or(&f.text);
    (format!("{title_html}\n<pre>{kept}</pre>"), f.as_document)
}

/// The status line of a finished job in the reply language (HTML).
pub fn status_line<T>(o: &OpsTexts, what: &str, outcome: &JobOutcome<T>) -> String {
    let secs = outcome.elapsed.as_secs().to_string();
    let (tpl, why) = match &outcome.status {
        JobStatus::Ok => (o.job_ok, String::new()),
        JobStatus::Failed(why) => (o.job_failed, esc(why)),
        JobStatus::TimedOut => (o.job_timed_out, String::new()),
        JobStatus::Cancelled => (o.job_cancelled, String::new()),
    };
    fill(tpl, &[("what", what), ("secs", &secs), ("why", &why)])
}

/// The progress message while a job runs (HTML).
pub fn progress_html(o: &OpsTexts, what: &str, elapsed: Duration, last_line: &str) -> String {
    let mut s = fill(
        o.job_running,
        &[("what", what), ("secs", &elapsed.as_secs().to_string())],
    );
    if !last_line.is_empty() {
        s.push_str(&format!("\n<code>{}</code>", esc(last_line)));
    }
    s
}

/// Header and body of a journal read, in the reply language.
fn journal_html(o: &OpsTexts, title: &str, j: &Journal) -> (String, bool) {
    let hint = j
        .hint
        .as_ref()
        .map(|h| format!("\n{}", fill(o.log_hint, &[("hint", &esc(h))])))
        .unwrap_or_default();
    match &j.state {
        JournalState::Entries(n) => {
            let head = format!(
                "<b>{title}</b> ({}){hint}",
                fill(o.log_entries, &[("n", &n.to_string())])
            );
            fit_html(&head, &j.text)
        }
        JournalState::NoEntries => (format!("<b>{title}</b>: {}{hint}", o.log_none), false),
        JournalState::Unavailable(why) => (
            format!(
                "<b>{title}</b>: {}",
                fill(o.log_unavailable, &[("why", &esc(why))])
            ),
            false,
        ),
    }
}

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Where to answer and who asked.
struct Ctx<'a> {
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
        ops_i18n::texts(self.lang())
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
fn replied(r: Result<(), RequestError>, result: AuditResult) -> AuditResult {
    match r {
        Ok(()) => result,
        Err(e) => AuditResult::Failed(format!("reply not delivered: {e}")),
    }
}

async fn execute(ctx: &Ctx<'_>, cmd: Command, plan: OpsPlan) -> AuditResult {
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

/// Runs a short, synchronous chatops call off the event loop, cancelled on shutdown.
async fn quick<T, F>(ctx: &Ctx<'_>, timeout: Duration, f: F) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce(&Exec) -> anyhow::Result<T> + Send + 'static,
{
    let ops = &ctx.shared.ops;
    if ops.jobs.is_shutting_down() {
        return Err(ctx.o().shutting_down.to_string());
    }
    let exec = ops.jobs.quick_exec(&Exec::new(), timeout);
    match tokio::task::spawn_blocking(move || f(&exec)).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("{e:#}")),
        Err(e) => Err(format!("the run ended abnormally: {e}")),
    }
}

async fn send_error(ctx: &Ctx<'_>, err: String) -> AuditResult {
    let html = fill(ctx.o().run_failed, &[("err", &esc(&err))]);
    replied(ctx.reply(&html).await, AuditResult::Failed(err))
}

async fn send_text(ctx: &Ctx<'_>, title: &str, r: Result<String, String>) -> AuditResult {
    match r {
        Ok(text) => {
            let (html, _) = fit_html(&format!("<b>{title}</b>"), &text);
            replied(ctx.reply(&html).await, AuditResult::Ok)
        }
        Err(e) => send_error(ctx, e).await,
    }
}

async fn run_ping(ctx: &Ctx<'_>, target: PingTarget) -> AuditResult {
    let host = target.as_str().to_string();
    let r = quick(ctx, net::PING_TIMEOUT, move |exec| {
        net::ping_target(exec, &target)
    })
    .await;
    match r {
        Ok(outcome) => {
            let text = net::render_ping(&host, &outcome);
            let result = match &outcome {
                net::PingOutcome::Summary(s) if s.received > 0 => AuditResult::Ok,
                net::PingOutcome::Summary(s) => {
                    AuditResult::Failed(format!("no reply ({}% loss)", s.loss_percent))
                }
                net::PingOutcome::Failed(w) => AuditResult::Failed(w.clone()),
            };
            let (html, _) = fit_html(&format!("<b>{}</b>", ctx.o().ping_title), &text);
            replied(ctx.reply(&html).await, result)
        }
        Err(e) => send_error(ctx, e).await,
    }
}

async fn send_journal(ctx: &Ctx<'_>, title: &str, r: Result<Journal, String>) -> AuditResult {
    let j = match r {
        Ok(j) => j,
        Err(e) => return send_error(ctx, e).await,
    };
    let (html, as_doc) = journal_html(ctx.o(), title, &j);
    let sent = ctx.reply(&html).await;
    if as_doc && sent.is_ok() {
        ctx.document("journal.txt", j.text.clone().into_bytes(), title)
            .await;
    }
    let result = match &j.state {
        JournalState::Unavailable(why) => {
            AuditResult::Failed(format!("journal unavailable: {why}"))
        }
        _ => AuditResult::Ok,
    };
    replied(sent, result)
}

async fn send_log_file(ctx: &Ctx<'_>, name: &str) -> AuditResult {
    let dir = ctx.shared.config().log_dir;
    let file = match logs::log_file(&dir, Some(name)) {
        Ok(f) => f,
        Err(e) => {
            let html = fill(ctx.shared.texts().invalid, &[("err", &esc(&e))]);
            return replied(ctx.reply(&html).await, AuditResult::Failed(e));
        }
    };
    let caption = fill(
        ctx.o().log_file_caption,
        &[("name", &esc(&file.name)), ("size", &file.size.to_string())],
    );
    let r = send::retrying(|| {
        ctx.bot
            .send_document(
                ctx.chat,
                InputFile::file(file.path.clone()).file_name(file.name.clone()),
            )
            .caption(caption.clone())
            .parse_mode(teloxide::types::ParseMode::Html)
            .send()
    })
    .await;
    replied(r.map(|_| ()), AuditResult::Ok)
}

/// Asks Yes/No about a pip/git run; the answer comes back as an `o:y|n:<id>` press.
async fn ask_ops_confirm(ctx: &Ctx<'_>, job: OpsJob) -> Result<(), RequestError> {
    let t = ctx.shared.texts();
    let id = ctx.shared.next_pending.fetch_add(1, Ordering::Relaxed);
    let now = now_s();
    let html = fill(
        t.confirm_question,
        &[
            ("what", &job.what(ctx.lang())),
            ("secs", &command::CONFIRM_TTL_S.to_string()),
        ],
    );
    {
        let mut p = lock(&ctx.shared.ops.pending);
        p.retain(|_, v| v.expires_at >= now);
        p.insert(
            id,
            OpsPending {
                job,
                user_id: ctx.user_id,
                expires_at: now + command::CONFIRM_TTL_S,
            },
        );
    }
    let buttons: Vec<(String, String)> = [
        (t.btn_yes, OpsCallback::Answer { id, yes: true }),
        (t.btn_no, OpsCallback::Answer { id, yes: false }),
    ]
    .into_iter()
    .map(|(l, c)| (l.to_string(), c.data().unwrap_or_default()))
    .collect();
    let markup = ReplyMarkup::InlineKeyboard(inline_row(&buttons));
    send::send(ctx.bot, ctx.chat, &html, Some(markup)).await?;
    Ok(())
}

/// A press on an `o:` button: returns the audit action, arguments and result.
pub async fn on_callback(
    bot: &Bot,
    shared: &Arc<Shared>,
    user: &User,
    chat: ChatId,
    msg_id: MessageId,
    data: &str,
) -> (String, String, AuditResult) {
    let ctx = Ctx {
        bot,
        shared,
        chat,
        user_id: user.id.0,
    };
    let t = shared.texts();
    match OpsCallback::parse(data) {
        None => (
            "button".into(),
            data.into(),
            AuditResult::Failed("unknown button".into()),
        ),
        Some(OpsCallback::Ping(host)) => {
            // Parsed from the data again: a forged host is refused above.
            let r = match PingTarget::parse(&host) {
                Ok(target) => run_ping(&ctx, target).await,
                Err(e) => AuditResult::Failed(e),
            };
            ("button ping".into(), host, r)
        }
        Some(OpsCallback::Answer { id, yes }) => {
            let pending = lock(&shared.ops.pending).remove(&id);
            let key = format!("o:{id}");
            if pending.is_none() && shared.was_answered(&key) {
                let _ = ctx.reply(t.confirm_answered).await;
                let result = AuditResult::Failed("already answered".into());
                return ("confirm".into(), data.into(), result);
            }
            let name = pending
                .as_ref()
                .map_or("confirm", |p| p.job.audit_name())
                .to_string();
            let decided = answer(pending.as_ref(), user.id.0, yes, now_s());
            if matches!(decided, OpsAnswer::Run(_) | OpsAnswer::Cancelled) {
                shared.mark_answered(key);
            }
            let (html, result) = match decided {
                OpsAnswer::Expired => (
                    t.confirm_expired,
                    AuditResult::Failed("confirmation expired".into()),
                ),
                OpsAnswer::NotYours => {
                    if let Some(p) = pending {
                        lock(&shared.ops.pending).insert(id, p);
                    }
                    let _ = ctx.reply(t.confirm_not_yours).await;
                    return (name, data.into(), AuditResult::Denied);
                }
                OpsAnswer::Cancelled => (t.cancelled, AuditResult::Failed("cancelled".into())),
                OpsAnswer::Run(job) => {
                    let (summary, result) = run_job_summary(&ctx, msg_id, job).await;
                    return (name, summary, result);
                }
            };
            let _ = send::edit(bot, chat, msg_id, html).await;
            (name, data.into(), result)
        }
    }
}

/// A Yes to an apt question asked through `ask_confirm` (see [`runs_as_job`]).
pub async fn run_confirmed(
    bot: &Bot,
    shared: &Arc<Shared>,
    user: &User,
    chat: ChatId,
    msg_id: MessageId,
    action: &HelperAction,
) -> AuditResult {
    let ctx = Ctx {
        bot,
        shared,
        chat,
        user_id: user.id.0,
    };
    let job = match action {
        HelperAction::AptUpgrade => OpsJob::AptUpgrade,
        _ => OpsJob::AptUpdate,
    };
    run_job(&ctx, msg_id, job).await
}

async fn run_job(ctx: &Ctx<'_>, msg_id: MessageId, job: OpsJob) -> AuditResult {
    run_job_summary(ctx, msg_id, job).await.1
}

/// Starts `job`, edits `msg_id` with its progress and then its summary, sends
/// the full output as a document and offers the follow-up (apt upgrade, a
/// service restart). Returns the outcome's one-line summary and the audit result.
async fn run_job_summary(ctx: &Ctx<'_>, msg_id: MessageId, job: OpsJob) -> (String, AuditResult) {
    use updates::{AptOutcome, Done, GitOutcome, PipOutcome};
    let cfg = ctx.shared.config();
    match &job {
        OpsJob::AptUpdate => {
            let out = match drive(
                ctx,
                msg_id,
                &job,
                updates::apt_update,
                |d: &Done<AptOutcome>| updates::render_apt(&d.outcome),
            )
            .await
            {
                Ok(o) => o,
                Err(refused) => return refused,
            };
            let checked = match out.value.as_ref().map(|d| &d.outcome) {
                Some(AptOutcome::Checked(r)) if out.status == JobStatus::Ok => {
                    Some(r.packages.len())
                }
                _ => None,
            };
            if let Some(n) = checked {
                record_pending(ctx.shared, n);
            }
            let upgradable = checked.is_some_and(|n| n > 0);
            if out.status == JobStatus::Ok && upgradable {
                let _ = super::ask_confirm(
                    ctx.bot,
                    ctx.chat,
                    ctx.shared,
                    ctx.user_id,
                    HelperAction::AptUpgrade,
                )
                .await;
            }
            audit_of(&out)
        }
        OpsJob::AptUpgrade => {
            let out = match drive(
                ctx,
                msg_id,
                &job,
                updates::apt_upgrade,
                |_: &Done<Result<(), String>>| String::new(),
            )
            .await
            {
                Ok(o) => o,
                Err(refused) => return refused,
            };
            if out.status == JobStatus::Ok {
                // Upgraded as far as apt goes; the next /apt_update recounts.
                record_pending(ctx.shared, 0);
                offer_restart(ctx, &cfg).await;
            }
            audit_of(&out)
        }
        OpsJob::Pip(plan) => {
            let plan = plan.clone();
            let body = move |exec: &Exec| updates::pip_sync(exec, &plan);
            let out = match drive(ctx, msg_id, &job, body, |d: &Done<PipOutcome>| {
                updates::render_pip(&d.outcome)
            })
            .await
            {
                Ok(o) => o,
                Err(refused) => return refused,
            };
            let changed = matches!(
                out.value.as_ref().map(|d| &d.outcome),
                Some(PipOutcome::Synced { installed }) if !installed.is_empty()
            );
            if out.status == JobStatus::Ok && changed {
                offer_restart(ctx, &cfg).await;
            }
            audit_of(&out)
        }
        OpsJob::Git(repos) => {
            let repos = repos.clone();
            let body = move |exec: &Exec| updates::git_pull(exec, &repos);
            let out = match drive(
                ctx,
                msg_id,
                &job,
                body,
                |d: &Done<Vec<updates::RepoPull>>| updates::render_git(&d.outcome),
            )
            .await
            {
                Ok(o) => o,
                Err(refused) => return refused,
            };
            let changed = out.value.as_ref().is_some_and(|d| {
                d.outcome
                    .iter()
                    .any(|p| matches!(p.outcome, GitOutcome::Updated { .. }))
            });
            // Some repositories may have moved even when another failed.
            if changed {
                offer_restart(ctx, &cfg).await;
            }
            audit_of(&out)
        }
        OpsJob::Speed => match drive(ctx, msg_id, &job, net::speed, net::render_speed).await {
            Ok(out) => audit_of(&out),
            Err(refused) => refused,
        },
    }
}

/// Records in `bot-state.json` how many packages wait for `apt upgrade`,
/// measured now, for the daily digest. A failed write is logged: the count
/// still holds in memory until a restart.
fn record_pending(shared: &Shared, count: usize) {
    let p = PendingUpdates {
        count: u32::try_from(count).unwrap_or(u32::MAX),
        checked_at: i64::try_from(now_s()).unwrap_or(i64::MAX),
    };
    if let Err(e) = shared.update_state(|st| st.pending_updates = Some(p)) {
        log::error!("pending updates (kept in memory only): {e:#}");
    }
}

/// Starts one job and follows it to the end; `Err` is the refusal to start.
async fn drive<T, F, R>(
    ctx: &Ctx<'_>,
    msg_id: MessageId,
    job: &OpsJob,
    body: F,
    render: R,
) -> Result<JobOutcome<T>, (String, AuditResult)>
where
    T: JobResult + Send + 'static,
    F: FnOnce(&Exec) -> anyhow::Result<T> + Send + 'static,
    R: Fn(&T) -> String,
{
    let kind = job.kind();
    let what = job.what(ctx.lang());
    let started = ctx
        .shared
        .ops
        .jobs
        .start(kind, &Exec::new(), kind.timeout(), body);
    match started {
        Ok(j) => {
            let outcome = follow(ctx, msg_id, &what, j).await;
            let rendered = outcome.value.as_ref().map(&render).unwrap_or_default();
            finish(ctx, msg_id, job, &what, &outcome, &rendered).await;
            Ok(outcome)
        }
        Err(e) => Err(refuse_start(ctx, msg_id, &what, e).await),
    }
}

fn audit_of<T>(outcome: &JobOutcome<T>) -> (String, AuditResult) {
    let summary = outcome.summary();
    let result = match outcome.status {
        JobStatus::Ok => AuditResult::Ok,
        _ => AuditResult::Failed(summary.clone()),
    };
    log::info!("{summary}");
    (summary, result)
}

async fn refuse_start(
    ctx: &Ctx<'_>,
    msg_id: MessageId,
    what: &str,
    e: StartError,
) -> (String, AuditResult) {
    let o = ctx.o();
    let html = match &e {
        StartError::Busy(_) => fill(o.job_busy, &[("what", what)]),
        StartError::ShuttingDown => o.shutting_down.to_string(),
    };
    let _ = send::edit(ctx.bot, ctx.chat, msg_id, &html).await;
    (e.to_string(), AuditResult::Failed(e.to_string()))
}

/// Edits the progress message as the job's progress changes, until it ends.
async fn follow<T: JobResult + Send + 'static>(
    ctx: &Ctx<'_>,
    msg_id: MessageId,
    what: &str,
    job: crate::chatops::jobs::Job<T>,
) -> JobOutcome<T> {
    let o = ctx.o();
    let mut rx = job.progress.clone();
    let _ = send::edit(
        ctx.bot,
        ctx.chat,
        msg_id,
        &progress_html(o, what, Duration::ZERO, ""),
    )
    .await;
    let fin = job.finish();
    tokio::pin!(fin);
    let mut shown = String::new();
    loop {
        tokio::select! {
            out = &mut fin => return out,
            changed = rx.changed() => {
                if changed.is_err() {
                    return fin.await;
                }
                let p = rx.borrow_and_update().clone();
                if p.done {
                    continue;
                }
                let html = progress_html(o, what, p.elapsed, &p.last_line);
                if html != shown {
                    let _ = send::edit(ctx.bot, ctx.chat, msg_id, &html).await;
                    shown = html;
                }
            }
        }
    }
}

/// Puts the summary into the progress message and sends the full output.
async fn finish<T>(
    ctx: &Ctx<'_>,
    msg_id: MessageId,
    job: &OpsJob,
    what: &str,
    outcome: &JobOutcome<T>,
    rendered: &str,
) {
    let o = ctx.o();
    let status = status_line(o, what, outcome);
    let (html, _) = fit_html(&status, rendered);
    if send::edit(ctx.bot, ctx.chat, msg_id, &html).await.is_err() {
        let _ = ctx.reply(&html).await;
    }
    if !outcome.output.trim().is_empty() {
        let mut caption = fill(o.output_doc, &[("what", what)]);
        if outcome.output_truncated {
            caption.push_str(o.output_truncated);
        }
        ctx.document(
            job.file_name(),
            outcome.output.clone().into_bytes(),
            &caption,
        )
        .await;
    }
}

/// Offers a restart of each watched service through the `/svc restart` question.
async fn offer_restart(ctx: &Ctx<'_>, cfg: &Config) {
    let buttons: Vec<(String, String)> = cfg
        .services
        .iter()
        .filter(|u| **u != cfg.self_service)
        .filter_map(|u| {
            let data = Callback::AskRestart(u.clone()).data()?;
            Some((format!("🔁 {}", u.trim_end_matches(".service")), data))
        })
        .take(MAX_RESTART_BUTTONS)
        .collect();
    if buttons.is_empty() {
        return;
    }
    let markup = ReplyMarkup::InlineKeyboard(inline_row(&buttons));
    let _ = send::send(ctx.bot, ctx.chat, ctx.o().restart_offer, Some(markup)).await;
}

#[cfg(test)]
mod tests;
