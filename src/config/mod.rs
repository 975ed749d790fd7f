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
mod read;
mod save;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use crate::metric::Metric;
use crate::validate::HhMm;
use parse::err;

pub use keys::{Class, KEYS, SYSTEM_KEYS, class_of};
pub use load::{
    DEFAULT_ENV_PATH, ENV_PATH_VAR, LoadOptions, Privilege, SYSTEM_ENV_VAR, find_env_file, load,
};
pub use read::{FileError, FileErrorKind, MAX_ENV_BYTES, read_env_text, read_root_only, root_only};
pub(crate) use read::{open_at, open_dir_nofollow};
pub use save::{SaveError, save_preference};

/// A bad setting: which key, which value, and what is wrong. Both
/// `Display` and `Debug` redact the value and the problem (validators may
/// repeat the value in it): either may hold a token pasted in the wrong place.
#[derive(Clone, PartialEq)]
pub struct ConfigError {
    pub key: String,
    pub value: String,
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A value may hold anything the owner pasted, a token included.
        let value = crate::redact::redact(&self.value);
        let problem = crate::redact::redact(&self.problem);
        if self.key.is_empty() {
            write!(f, "{problem}")
        } else {
            write!(f, "bad setting {}={value:?}: {problem}", self.key)
        }
    }
}

impl fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigError")
            .field("key", &self.key)
            .field("value", &crate::redact::redact(&self.value))
            .field("problem", &crate::redact::redact(&self.problem))
            .finish()
    }
}

impl std::error::Error for ConfigError {}

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

impl Lang {
    pub fn parse(raw: &str) -> Result<Lang, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "id" | "" => Ok(Lang::Id),
            "en" => Ok(Lang::En),
            other => Err(format!("unknown language {other:?}; use id or en")),
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
            Metric::Load => return None,
        })
    }

    fn slot(&mut self, m: Metric) -> Option<&mut f64> {
        Some(match m {
            Metric::Cpu => &mut self.cpu,
            Metric::Ram => &mut self.ram,
            Metric::Disk => &mut self.disk,
            Metric::DiskData => &mut self.disk_data,
            Metric::Temp => &mut self.temp,
            Metric::Load => return None,
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
    /// `SMART_INTERVAL`: minutes between SMART checks (0 = every run).
    pub smart_interval_min: u32,
    /// `PROBE_URLS`: `name=url` pairs the health job GETs each run.
    pub probe_urls: Vec<crate::health::probes::Target>,
    /// `HEALTHCHECK_URL`: the health job's dead-man ping.
    pub healthcheck_url: Option<crate::health::deadman::PingUrl>,
    /// `BACKUP_HEALTHCHECK_URL`: the daily backup's dead-man ping.
    pub backup_healthcheck_url: Option<crate::health::deadman::PingUrl>,
    /// Preferences (and system keys found in `.env`) that were not taken,
    /// with why; the bot tells the admins at start-up.
    pub ignored: Vec<Ignored>,
    /// The system settings as read (file plus overrides), so a preference
    /// saved from chat is checked against the same system side.
    system_pairs: BTreeMap<String, String>,
}

/// A setting that loading left out: which key (or `.env line N`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    pub key: String,
    pub reason: String,
}

impl fmt::Display for Ignored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.reason)
    }
}

impl Config {
    /// The bot's requirements on top of the common ones: a token and at least one admin.
    pub fn require_bot(&self) -> Result<(), ConfigError> {
        if self.bot_token.is_none() {
            return Err(err(
                "BOT_TOKEN",
                "",
                "is required by the bot: get one from @BotFather and put BOT_TOKEN=... in .env",
            ));
        }
        if self.admin_ids.is_empty() {
            return Err(err(
                "ADMIN_IDS",
                "",
                "is required by the bot: put your numeric Telegram user id in ADMIN_IDS (the bot tells strangers their id)",
            ));
        }
        Ok(())
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
    use super::ConfigError;

    #[test]
    fn a_token_in_a_config_error_never_prints() {
        let token = "123456789:AAEhBOweik9ai2o4dqf3k9df0sdkfjskdfj";
        let e = ConfigError {
            key: "THRESHOLD_CPU".into(),
            value: token.into(),
            problem: format!("{token} is not a number"),
        };
        for text in [e.to_string(), format!("{e:?}")] {
            assert!(!text.contains(token), "{text}");
            assert!(text.contains(crate::redact::MARK), "{text}");
        }
        let e = ConfigError {
            key: String::new(),
            value: String::new(),
            problem: format!("line 3: {token}"),
        };
        assert!(!e.to_string().contains(token));
    }
}
