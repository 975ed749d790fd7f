//! `Config`: every setting, typed and validated once, from two files.
//!
//! System settings (paths, sources, mounts, retention, `SELF_SERVICE`: what
//! root acts on) come from the root-owned `/etc/potion-runner/system.env`;
//! preferences (thresholds, `SERVICES`, the token, …) from `.env`, which the
//! bot's user owns (`keys` says which is which). Loading is split like
//! ripgrep's: `load` finds and reads the files (I/O), [`Config::from_pairs`]
//! turns key/value pairs into a `Config` (pure). A bad system setting is an
//! error (binaries exit 2); a bad preference is ignored, falls back to its
//! last-known-good value, and is listed in [`Config::ignored`].

mod keys;
mod load;
mod parse;
mod problem;
mod read;
mod save;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use crate::metric::Metric;
use crate::validate::HhMm;

pub use keys::{Class, KEYS, MIGRATED_KEYS, SECRET_KEYS, SYSTEM_KEYS, class_of};
pub use load::{
    DEFAULT_ENV_PATH, ENV_PATH_VAR, LoadOptions, Privilege, SYSTEM_ENV_VAR, find_env_file, load,
};
pub use problem::{ConfigError, FileProblem, Problem, ProblemKind};
pub use read::{FileError, FileErrorKind, MAX_ENV_BYTES, read_env_text, read_root_only, root_only};
pub(crate) use read::{open_at, open_dir_nofollow};
pub use save::{SaveError, save_preference};

/// The helper's `power off` is refused above this battery charge, whatever
/// the bot's user asks, so `BATTERY_SHUTDOWN` may not be set higher: a blip
/// of the mains with a well-charged battery never switches the server off.
pub const POWER_OFF_MAX_PERCENT: f64 = 30.0;

/// The bot token, kept out of `Debug` output and logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Reply language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Id,
    En,
}

/// A language code other than `id` and `en`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownLang;

impl Lang {
    pub fn parse(raw: &str) -> Result<Lang, UnknownLang> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "id" | "" => Ok(Lang::Id),
            "en" => Ok(Lang::En),
            _ => Err(UnknownLang),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Id => "id",
            Lang::En => "en",
        }
    }
}

/// Alert thresholds (percent; °C for temperature).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub cpu: f64,
    pub ram: f64,
    pub disk: f64,
    pub disk_data: f64,
    pub temp: f64,
}

impl Thresholds {
    /// The threshold for `m`; none for load, which has no alert.
    pub fn get(&self, m: Metric) -> Option<f64> {
        Some(match m {
            Metric::Cpu => self.cpu,
            Metric::Ram => self.ram,
            Metric::Disk => self.disk,
            Metric::DiskData => self.disk_data,
            Metric::Temp => self.temp,
            Metric::Load | Metric::Probe => return None,
        })
    }

    fn slot(&mut self, m: Metric) -> Option<&mut f64> {
        Some(match m {
            Metric::Cpu => &mut self.cpu,
            Metric::Ram => &mut self.ram,
            Metric::Disk => &mut self.disk,
            Metric::DiskData => &mut self.disk_data,
            Metric::Temp => &mut self.temp,
            Metric::Load | Metric::Probe => return None,
        })
    }
}

/// Every setting, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// The `.env` this came from, if any (the bot edits it).
    pub env_file: Option<PathBuf>,
    pub bot_token: Option<Secret>,
    pub admin_ids: Vec<i64>,
    /// The one group chat where admins may also give commands (private chats always work).
    pub admin_chat_id: Option<i64>,
    pub telegram_api_url: String,
    pub bot_lang: Lang,
    pub app_dir: PathBuf,
    pub state_dir: PathBuf,
    pub log_dir: PathBuf,
    pub data_mount: PathBuf,
    /// `BACKUP_ALLOW_SAME_DISK=1`: `DATA_MOUNT` may be a folder on the root
    /// disk (a single-disk laptop); the health job then keeps a standing warning.
    pub backup_allow_same_disk: bool,
    pub backup_dir: PathBuf,
    pub backup_sources: Vec<PathBuf>,
    pub backup_excludes: Vec<String>,
    pub backup_time: HhMm,
    pub keep_daily: u32,
    pub keep_weekly: u32,
    pub keep_monthly: u32,
    pub backup_max_age_h: f64,
    pub services: Vec<String>,
    pub self_service: String,
    pub thresholds: Thresholds,
    pub alert_hysteresis: f64,
    pub alert_consecutive: u32,
    /// `QUIET_HOURS`, `ALERT_CRITICAL` and `ALERT_REMIND` (`docs/alerts.md`).
    pub notice: crate::notice::decide::Settings,
    pub health_stale_s: u64,
    pub ping_hosts: Vec<String>,
    pub update_git_repos: Vec<PathBuf>,
    pub update_pip_venv: Option<PathBuf>,
    pub update_pip_requirements: Option<PathBuf>,
    pub digest_time: Option<HhMm>,
    pub force_run: bool,
    /// `BATTERY_LOW`: percent below which a system battery raises `BATTERY_LOW`.
    pub battery_low: f64,
    /// `BATTERY_WEAR`: wear percent at which `BATTERY_WORN` is raised.
    pub battery_wear: f64,
    /// `SMART_INTERVAL` (system): minutes between root's SMART checks (0 = every timer run).
    pub smart_interval_min: u32,
    /// `BATTERY_SHED`, `BATTERY_SHUTDOWN`: percents of the staged response (0 = off).
    pub battery_shed: f64,
    pub battery_shutdown: f64,
    /// `POWER_SHED_UNITS`: units stopped at `BATTERY_SHED`.
    pub power_shed_units: Vec<String>,
    /// `POWER_ACTIONS` (system): the helper may power the machine off.
    pub power_actions: bool,
    /// `PROBE_URLS`: `name=url` pairs the health job GETs each run.
    pub probe_urls: Vec<crate::health::target::Target>,
    /// `HEALTHCHECK_URL`: the health job's dead-man ping.
    pub healthcheck_url: Option<crate::health::deadman::PingUrl>,
    /// `BACKUP_HEALTHCHECK_URL`: the daily backup's dead-man ping.
    pub backup_healthcheck_url: Option<crate::health::deadman::PingUrl>,
    /// Preferences (and system keys found in `.env`) that were not taken,
    /// with why; the bot tells the admins at start-up.
    pub ignored: Vec<Problem>,
    /// The system settings as read (file plus overrides), so a preference
    /// saved from chat is checked against the same system side.
    system_pairs: BTreeMap<String, String>,
}

impl Config {
    /// The bot's requirement on top of the common ones: a token. The error
    /// also lists every preference loading ignored (a bad `BOT_TOKEN` is why
    /// it is missing). No `ADMIN_IDS` is not an error: the bot starts in
    /// setup mode and tells whoever writes to it their id.
    pub fn require_bot(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        if self.bot_token.is_none() {
            problems.push(Problem::new("BOT_TOKEN", "", ProblemKind::Required));
        }
        if problems.is_empty() {
            return Ok(());
        }
        problems.extend(self.ignored.iter().cloned());
        Err(ConfigError {
            lang: self.bot_lang,
            problems,
        })
    }

    /// `last_health.json` in `STATE_DIR`.
    pub fn health_file(&self) -> PathBuf {
        self.state_dir.join(crate::paths::LAST_HEALTH)
    }

    /// `actions.log` in `LOG_DIR`.
    pub fn audit_log(&self) -> PathBuf {
        self.log_dir.join(crate::paths::ACTIONS_LOG)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_in_a_problem_never_prints() {
        let token = "123456789:AAEhBOweik9ai2o4dqf3k9df0sdkfjskdfj";
        let p = Problem::new(
            "THRESHOLD_CPU",
            token,
            ProblemKind::Threshold { max: 100.0 },
        );
        let e = ConfigError {
            lang: Lang::Id,
            problems: vec![p.clone()],
        };
        for text in [
            p.to_string(),
            format!("{p:?}"),
            e.to_string(),
            format!("{e:?}"),
            p.render(Lang::Id),
        ] {
            assert!(!text.contains(token), "{text}");
            assert!(text.contains(crate::redact::MARK), "{text}");
        }
    }

    #[test]
    fn the_bot_needs_a_token_and_says_why_a_token_was_dropped() {
        let mut c = Config::defaults();
        c.bot_lang = Lang::En;
        c.ignored = vec![Problem::new("BOT_TOKEN", "", ProblemKind::TokenShape)];
        let e = c.require_bot().unwrap_err();
        let keys: Vec<&str> = e.problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["BOT_TOKEN", "BOT_TOKEN"]);
        assert_eq!(e.lang, Lang::En);
        assert!(e.to_string().starts_with("2 problems"), "{e}");
        c.admin_ids = vec![1];
        c.bot_token = Some(Secret("1:a".into()));
        assert!(c.require_bot().is_ok());
    }
}
