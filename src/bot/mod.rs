//! `potion-bot`: the Telegram daemon. The only module that knows Telegram.
//!
//! Lifecycle: a current-thread tokio runtime runs one long-polling loop (with
//! a capped backoff, so it starts and catches up whatever the Bot API's
//! state), the alert watcher (`watch.rs`), the outbox sender (`outbox.rs`) and a
//! background task that registers the command menu. systemd hears READY,
//! STATUS and WATCHDOG pings from the polling loop itself; SIGTERM and SIGINT
//! end everything within a second or two with exit 0.

pub mod alerts;
pub mod args;
mod audit_lines;
pub mod callback;
pub mod charts;
pub mod command;
pub mod confirm;
mod context;
mod digest;
mod execute;
mod follow;
mod handle;
pub mod helper;
pub mod i18n;
pub mod job;
pub mod loaded;
pub(crate) mod notice;
pub mod ops;
mod outbox;
pub mod plan;
mod power;
mod progress;
pub mod req;
pub mod restore;
pub mod send;
mod settings;
pub mod smart;
pub mod text;
pub mod view;
mod watch;
mod watchlist;
mod words;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use teloxide::prelude::*;
use teloxide::types::{BotCommand, User};
use tokio::signal::unix::{SignalKind, signal};

pub use crate::audit::AuditResult;
use crate::config::{Config, Lang};
use crate::files::bot::BotState;
use crate::process::Cmd;

use i18n::Texts;

/// Long-poll timeout asked of `getUpdates`: one request every 25 s when idle.
const POLL_TIMEOUT_S: u32 = 25;
/// HTTP timeout for every request; must exceed the long poll.
const HTTP_TIMEOUT: Duration = Duration::from_secs(POLL_TIMEOUT_S as u64 + 10);
/// Longest wait between retries when the Bot API is unreachable.
pub const MAX_BACKOFF: Duration = Duration::from_secs(4);

/// How long shutdown waits for commands in progress.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// Most unsent messages kept; older ones give way (days of flapping alerts).
pub const OUTBOX_MAX: usize = 500;

/// State shared by every task of the daemon.
pub struct Shared {
    cfg: Mutex<Config>,
    state: Mutex<BotState>,
    /// `/lang`'s choice, mirrored from `BotState::lang`.
    chosen_lang: Mutex<Option<Lang>>,
    state_path: PathBuf,
    questions: confirm::Questions,
    outbox_wake: tokio::sync::Notify,
    refused: Mutex<HashSet<u64>>,
    backup_follow: AtomicBool,
    /// Jobs of the operations commands (`ops/`).
    ops: ops::OpsState,
    /// The bot's own username from `getMe`, for telling `/cmd@us` from `/cmd@others`.
    me: std::sync::OnceLock<String>,
    /// The staged power response's steps waiting for the helper.
    power: power::Runner,
}

use crate::sync::lock;

impl Shared {
    fn new(cfg: Config) -> Shared {
        let state_path = cfg.state_dir.join(crate::paths::BOT_STATE);
        let state = match crate::files::read_json_if_exists::<BotState>(&state_path) {
            Ok(s) => s.unwrap_or_default(),
            Err(e) => {
                log::warn!("starting with empty bot state: {e:#}");
                BotState::default()
            }
        };
        let chosen_lang = state.lang.as_deref().and_then(|l| Lang::parse(l).ok());
        Shared {
            cfg: Mutex::new(cfg),
            state: Mutex::new(state),
            chosen_lang: Mutex::new(chosen_lang),
            state_path,
            questions: confirm::Questions::default(),
            outbox_wake: tokio::sync::Notify::new(),
            refused: Mutex::new(HashSet::new()),
            backup_follow: AtomicBool::new(false),
            ops: ops::OpsState::new(),
            me: std::sync::OnceLock::new(),
            power: power::Runner::default(),
        }
    }

    /// Remembers that question `key` got its answer.
    pub fn config(&self) -> Config {
        lock(&self.cfg).clone()
    }

    /// The reply language: `/lang` if set, else `BOT_LANG`.
    /// The reply language: `/lang`'s choice, else `BOT_LANG`. It never
    /// locks the bot state, so texts can be picked inside `update_state`.
    pub fn lang(&self) -> Lang {
        let chosen = *lock(&self.chosen_lang);
        chosen.unwrap_or_else(|| lock(&self.cfg).bot_lang)
    }

    /// Saves `/lang`'s choice in `bot-state.json` and uses it from now on.
    fn set_lang(&self, lang: Lang) -> Result<()> {
        self.update_state(|st| st.lang = Some(lang.code().to_string()))?;
        *lock(&self.chosen_lang) = Some(lang);
        Ok(())
    }

    pub fn texts(&self) -> &'static Texts {
        i18n::texts(self.lang())
    }

    /// Appends one audit line; a failure to log is itself logged, never fatal.
    pub fn audit(&self, user: &User, action: &str, args: &str, result: &AuditResult) {
        let path = lock(&self.cfg).audit_log();
        let e = crate::audit::entry(
            user.id.0,
            user.username.as_deref(),
            action,
            args,
            &result.to_string(),
        );
        if let Err(err) = crate::audit::append(&path, &e) {
            log::error!("audit log: {err:#}");
        }
    }

    /// Changes the state and writes it atomically before returning. When the
    /// write fails (disk full: exactly when a disk alert matters) the change
    /// still takes effect in memory, so alerts go out; the error says it will
    /// not survive a restart.
    fn update_state<R>(&self, f: impl FnOnce(&mut BotState) -> R) -> Result<R> {
        let mut st = lock(&self.state);
        let before = st.clone();
        let r = f(&mut st);
        if *st != before {
            crate::atomic::write_json(&self.state_path, &*st)
                .with_context(|| format!("saving {}", self.state_path.display()))?;
        }
        Ok(r)
    }

    /// Queues a message for every admin (caller persists via `update_state`).
    /// During a very long outage only the newest [`OUTBOX_MAX`] are kept.
    fn enqueue(&self, st: &mut BotState, html: String, buttons: Vec<(String, String)>) {
        self.enqueue_with(st, html, buttons, None);
    }

    /// [`Shared::enqueue`] with a chart rendered at send time (`charts.rs`).
    fn enqueue_with(
        &self,
        st: &mut BotState,
        html: String,
        buttons: Vec<(String, String)>,
        chart: Option<crate::files::bot::OutboxChart>,
    ) {
        let item = crate::files::bot::OutboxItem {
            seq: 0,
            chat_id: 0,
            html,
            buttons,
            chart,
            code: None,
            edit: false,
        };
        self.enqueue_item(st, item);
    }

    /// Queues `item` for every admin, numbering each copy.
    fn enqueue_item(&self, st: &mut BotState, item: crate::files::bot::OutboxItem) {
        for admin in lock(&self.cfg).admin_ids.clone() {
            let seq = st.next_seq.max(1);
            st.next_seq = seq + 1;
            st.outbox.push(crate::files::bot::OutboxItem {
                seq,
                chat_id: admin,
                ..item.clone()
            });
        }
        let excess = st.outbox.len().saturating_sub(OUTBOX_MAX);
        st.outbox.drain(..excess);
    }
}

pub fn run(cfg: Config) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    rt.block_on(daemon(cfg))
}

/// True when this process runs inside the cgroup of `unit` (pure over the cgroup text).
pub fn cgroup_is_unit(cgroup: &str, unit: &str) -> bool {
    cgroup
        .lines()
        .filter_map(|l| l.rsplit(':').next())
        .any(|path| path.trim_end_matches('/').rsplit('/').next() == Some(unit))
}

/// Refuses a second instance while the unit runs (`docs/contract.md` §3 `POTION_FORCE_RUN`).
async fn check_single_instance(cfg: &Config) -> Result<()> {
    if cfg.force_run {
        return Ok(());
    }
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    if cgroup_is_unit(&cgroup, &cfg.self_service) {
        return Ok(());
    }
    let out = Cmd::new("systemctl")
        .args(["is-active", "--quiet", cfg.self_service.as_str()])
        .timeout(Duration::from_secs(5))
        .run_async()
        .await;
    if out.is_ok_and(|o| o.success()) {
        bail!(
            "{} is already running; stop it first or set POTION_FORCE_RUN=1 to run a second bot anyway",
            cfg.self_service
        );
    }
    Ok(())
}

fn build_bot(cfg: &Config) -> Result<Bot> {
    let token = cfg
        .bot_token
        .as_ref()
        .context("BOT_TOKEN is not set")?
        .expose()
        .to_string();
    let url = url::Url::parse(&cfg.telegram_api_url)
        .with_context(|| format!("TELEGRAM_API_URL {:?} is not a URL", cfg.telegram_api_url))?;
    let client = teloxide::net::default_reqwest_settings()
        .timeout(HTTP_TIMEOUT)
        .build()
        .context("building the HTTP client")?;
    Ok(Bot::with_client(token, client).set_api_url(url))
}

/// The watchdog interval systemd asks for, following sd_watchdog_enabled(3):
/// `WATCHDOG_USEC` set and `WATCHDOG_PID` either unset or naming this process.
pub fn watchdog_usec(usec: Option<&str>, pid: Option<&str>, me: u32) -> Option<u64> {
    let usec: u64 = usec?.trim().parse().ok().filter(|u| *u > 0)?;
    match pid {
        None => Some(usec),
        Some(p) => (p.trim().parse::<u32>().ok() == Some(me)).then_some(usec),
    }
}

fn sd_notify(states: &[sd_notify::NotifyState]) {
    if let Err(e) = sd_notify::notify(false, states) {
        log::debug!("sd_notify: {e}");
    }
}

async fn daemon(cfg: Config) -> Result<()> {
    check_single_instance(&cfg).await?;
    if let Err(e) = crate::atomic::ensure_dir(&cfg.state_dir) {
        log::warn!("{e:#}");
    }
    let bot = build_bot(&cfg)?;
    let shared = Arc::new(Shared::new(cfg));
    outbox::tell_ignored(&shared);

    let mut sigterm = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut sigint = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;

    let tasks = [
        tokio::spawn(register_commands(bot.clone(), shared.clone())),
        tokio::spawn(outbox::run_outbox(bot.clone(), shared.clone())),
        tokio::spawn(watch::run(shared.clone())),
        tokio::spawn(digest::run(shared.clone())),
        tokio::spawn(power::run(shared.clone())),
    ];

    let wd_usec = watchdog_usec(
        std::env::var("WATCHDOG_USEC").ok().as_deref(),
        std::env::var("WATCHDOG_PID").ok().as_deref(),
        std::process::id(),
    );
    let watchdog = wd_usec.is_some();
    // Ping at half the interval, as sd_watchdog_enabled(3) advises.
    let wd_period = Duration::from_micros((wd_usec.unwrap_or(0) / 2).max(100_000));
    let mut wd_tick = tokio::time::interval(wd_period);
    sd_notify(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status("polling Telegram"),
    ]);
    log::info!("started; polling {}", lock(&shared.cfg).telegram_api_url);
    if lock(&shared.cfg).admin_ids.is_empty() {
        log::warn!("setup mode: ADMIN_IDS is empty; the bot only tells whoever writes their id");
    }

    let mut handlers = tokio::task::JoinSet::new();
    let mut offset: i32 = 0;
    let mut backoff = Duration::from_millis(500);
    let mut poll = Box::pin(poll_once(bot.clone(), offset, Duration::ZERO));
    let reason = loop {
        tokio::select! {
            _ = sigterm.recv() => break "SIGTERM",
            _ = sigint.recv() => break "SIGINT",
            _ = wd_tick.tick(), if watchdog => sd_notify(&[sd_notify::NotifyState::Watchdog]),
            res = &mut poll => {
                let wait = match res {
                    Ok(updates) => {
                        if backoff > Duration::from_millis(500) {
                            sd_notify(&[sd_notify::NotifyState::Status("polling Telegram")]);
                            log::info!("Telegram reachable again");
                        }
                        backoff = Duration::from_millis(500);
                        while handlers.try_join_next().is_some() {}
                        for u in updates {
                            offset = offset.max(u.id.0 as i32 + 1);
                            handlers.spawn(handle::dispatch(bot.clone(), shared.clone(), u));
                        }
                        Duration::ZERO
                    }
                    Err(e) => {
                        let wait = backoff;
                        log::warn!("getUpdates failed ({e}); retrying in {} ms", wait.as_millis());
                        sd_notify(&[sd_notify::NotifyState::Status("Telegram unreachable, retrying")]);
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        if let teloxide::RequestError::RetryAfter(s) = e { s.duration() } else { wait }
                    }
                };
                poll = Box::pin(poll_once(bot.clone(), offset, wait));
            }
        }
    };
    log::info!("{reason}: stopping");
    if reason == "SIGTERM" {
        notice::record_clean_stop(&shared);
    }
    sd_notify(&[sd_notify::NotifyState::Stopping]);
    // Kills running apt/pip/git/speed and journal/ping runs; their handlers
    // report "cancelled" within the grace below.
    shared.ops.shutdown();
    drop(poll);
    // Let commands already being handled finish their reply, briefly.
    let drain = async { while handlers.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
        log::warn!("stopping with {} command(s) still running", handlers.len());
    }
    for t in &tasks {
        t.abort();
    }
    // Confirm the updates already handled so a restart does not run them again.
    if offset > 0 {
        let confirm = bot.get_updates().offset(offset).timeout(0).limit(1).send();
        let _ = tokio::time::timeout(Duration::from_secs(2), confirm).await;
    }
    Ok(())
}

async fn poll_once(
    bot: Bot,
    offset: i32,
    wait: Duration,
) -> Result<Vec<Update>, teloxide::RequestError> {
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
    bot.get_updates()
        .offset(offset)
        .timeout(POLL_TIMEOUT_S)
        .send()
        .await
}

/// Registers the command menu (and drops a stale webhook), retrying in the
/// background until the Bot API answers; start-up never waits for it.
pub(crate) async fn register_commands(bot: Bot, shared: Arc<Shared>) {
    let mut wait = Duration::from_millis(500);
    loop {
        let t = shared.texts();
        let cmds: Vec<BotCommand> = command::COMMANDS
            .iter()
            .map(|(name, c)| BotCommand::new(*name, t.describe(*c)))
            .collect();
        let r = async {
            if shared.me.get().is_none() {
                let me = bot.get_me().send().await?;
                let _ = shared.me.set(me.username().to_string());
            }
            bot.delete_webhook().send().await?;
            bot.set_my_commands(cmds).send().await
        }
        .await;
        match r {
            Ok(_) => {
                log::info!("command menu registered");
                return;
            }
            Err(teloxide::RequestError::RetryAfter(s)) => tokio::time::sleep(s.duration()).await,
            Err(e) => {
                log::debug!("setMyCommands: {e}");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(30));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_can_be_picked_while_the_state_is_locked() {
        // The alert watcher renders messages inside `update_state`; picking
        // the language there must not lock the state a second time.
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = Config::defaults();
        cfg.state_dir = dir.path().to_path_buf();
        let shared = Arc::new(Shared::new(cfg));
        shared.set_lang(Lang::En).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let s = shared.clone();
        std::thread::spawn(move || {
            let picked = s.update_state(|_| s.texts().lang_set).unwrap();
            let _ = tx.send(picked);
        });
        let picked = rx
            .recv_timeout(Duration::from_secs(5))
            .expect("no deadlock");
        assert_eq!(picked, i18n::texts(Lang::En).lang_set);
    }

    #[test]
    fn recognises_its_own_unit_cgroup() {
        let cg = "0::/system.slice/potion-runner.service\n";
        assert!(cgroup_is_unit(cg, "potion-runner.service"));
        assert!(!cgroup_is_unit(cg, "other.service"));
        assert!(!cgroup_is_unit(
            "0::/user.slice/user-0.slice/session-3.scope\n",
            "potion-runner.service"
        ));
    }

    #[test]
    fn watchdog_follows_sd_watchdog_enabled() {
        assert_eq!(watchdog_usec(Some("1000000"), None, 5), Some(1_000_000));
        assert_eq!(
            watchdog_usec(Some("1000000"), Some("5"), 5),
            Some(1_000_000)
        );
        assert_eq!(watchdog_usec(Some("1000000"), Some("6"), 5), None);
        assert_eq!(watchdog_usec(None, None, 5), None);
        assert_eq!(watchdog_usec(Some("0"), None, 5), None);
        assert_eq!(watchdog_usec(Some("x"), None, 5), None);
    }

    #[test]
    fn audit_results_print_as_the_contract_says() {
        assert_eq!(AuditResult::Ok.to_string(), "ok");
        assert_eq!(AuditResult::Denied.to_string(), "denied");
        assert_eq!(AuditResult::Failed("x".into()).to_string(), "failed: x");
    }
}
