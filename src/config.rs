//! `Config`: every setting from `.env` (contract §3), typed and validated once.
//!
//! Loading is split like ripgrep's: [`load`] finds and reads the file (I/O),
//! [`Config::from_pairs`] turns key/value pairs into a `Config` (pure, tested
//! with plain strings). A bad value is refused with an error naming the key
//! and the value; binaries exit 2 on it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::envfile;
use crate::metric::Metric;
use crate::validate::{self, HhMm};

/// Where `.env` lives on an installed system.
pub const DEFAULT_ENV_PATH: &str = "/opt/potion-runner/.env";
/// Environment variable naming another `.env`.
pub const ENV_PATH_VAR: &str = "POTION_ENV";

/// Every key the contract defines. Environment variables with these names
/// override the file (handy for tests and one-off runs).
pub const KEYS: &[&str] = &[
    "BOT_TOKEN",
    "ADMIN_IDS",
    "ADMIN_CHAT_ID",
    "TELEGRAM_API_URL",
    "BOT_LANG",
    "APP_DIR",
    "STATE_DIR",
    "LOG_DIR",
    "DATA_MOUNT",
    "BACKUP_DIR",
    "BACKUP_SOURCES",
    "BACKUP_EXCLUDES",
    "BACKUP_TIME",
    "BACKUP_KEEP_DAILY",
    "BACKUP_KEEP_WEEKLY",
    "BACKUP_KEEP_MONTHLY",
    "BACKUP_MAX_AGE_H",
    "SERVICES",
    "SELF_SERVICE",
    "THRESHOLD_CPU",
    "THRESHOLD_RAM",
    "THRESHOLD_DISK",
    "THRESHOLD_DISK_DATA",
    "THRESHOLD_TEMP",
    "ALERT_HYSTERESIS",
    "ALERT_CONSECUTIVE",
    "HEALTH_STALE_S",
    "PING_HOSTS",
    "UPDATE_GIT_REPOS",
    "UPDATE_PIP_VENV",
    "UPDATE_PIP_REQUIREMENTS",
    "DIGEST_TIME",
    "POTION_FORCE_RUN",
];

/// A bad setting: which key, which value, and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub key: String,
    pub value: String,
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}", self.problem)
        } else {
            write!(
                f,
                "bad setting {}={:?}: {}",
                self.key, self.value, self.problem
            )
        }
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
    pub health_stale_s: u64,
    pub ping_hosts: Vec<String>,
    pub update_git_repos: Vec<PathBuf>,
    pub update_pip_venv: Option<PathBuf>,
    pub update_pip_requirements: Option<PathBuf>,
    pub digest_time: Option<HhMm>,
    pub force_run: bool,
}

/// Where to look for `.env`, and whether process environment variables may override it.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--env FILE` from the command line.
    pub env_file: Option<PathBuf>,
    /// False for the privileged helper: it trusts nothing from the caller's environment.
    pub ignore_process_env: bool,
}

/// Finds `.env` by the contract's order: `--env FILE`, else `$POTION_ENV`,
/// else `/opt/potion-runner/.env` when it exists, else none (built-in defaults).
pub fn find_env_file(opts: &LoadOptions) -> Option<PathBuf> {
    if let Some(p) = &opts.env_file {
        return Some(p.clone());
    }
    if !opts.ignore_process_env
        && let Some(p) = std::env::var_os(ENV_PATH_VAR).filter(|p| !p.is_empty())
    {
        return Some(PathBuf::from(p));
    }
    let default = Path::new(DEFAULT_ENV_PATH);
    default.exists().then(|| default.to_path_buf())
}

/// Largest `.env` read; a bigger file is not a settings file.
pub const MAX_ENV_BYTES: u64 = 1 << 20;

/// Reads a `.env` the way a root job must: `.env` belongs to the service
/// user, so it is opened without following a symlink and without blocking,
/// and must be a regular file with a single link and at most
/// [`MAX_ENV_BYTES`]; otherwise the owner of `.env` could make root read (and
/// quote in its error) another file, or hang it on a FIFO. `/dev/null` is
/// read as an empty file: `--env /dev/null` is how a caller says "defaults
/// and environment only" (the helper runs `potion-backup` that way).
pub fn read_env_text(path: &Path) -> Result<String, String> {
    use std::io::Read;
    if path == Path::new("/dev/null") {
        return Ok(String::new());
    }
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let what = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let f = std::fs::File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => format!(
                "refusing to read {}: it is a symlink; give the file itself",
                path.display()
            ),
            _ => what(e),
        })?;
    let m = f.metadata().map_err(what)?;
    if !m.file_type().is_file() || m.nlink() != 1 {
        return Err(format!(
            "refusing to read {}: not a plain file with a single link",
            path.display()
        ));
    }
    if m.len() > MAX_ENV_BYTES {
        return Err(format!(
            "refusing to read {}: larger than {} KiB, which no .env is",
            path.display(),
            MAX_ENV_BYTES >> 10
        ));
    }
    let mut text = String::new();
    f.take(MAX_ENV_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(what)?;
    if text.len() as u64 > MAX_ENV_BYTES {
        // It grew after the size check: refuse rather than cut a line in two.
        return Err(format!(
            "refusing to read {}: larger than {} KiB, which no .env is",
            path.display(),
            MAX_ENV_BYTES >> 10
        ));
    }
    Ok(text)
}

/// Loads the configuration: file (if any), then process environment overrides, then validation.
pub fn load(opts: &LoadOptions) -> Result<Config, ConfigError> {
    let path = find_env_file(opts);
    let mut pairs = BTreeMap::new();
    if let Some(p) = &path {
        let text = read_env_text(p).map_err(|problem| ConfigError {
            key: String::new(),
            value: String::new(),
            problem,
        })?;
        let entries = envfile::parse(&text).map_err(|e| ConfigError {
            key: String::new(),
            value: String::new(),
            problem: format!("{}: {e}", p.display()),
        })?;
        for e in entries {
            pairs.insert(e.key, e.value);
        }
    }
    if !opts.ignore_process_env {
        for key in KEYS {
            if let Ok(v) = std::env::var(key) {
                pairs.insert((*key).to_string(), v);
            }
        }
    }
    let mut cfg = Config::from_pairs(&pairs)?;
    cfg.env_file = path;
    Ok(cfg)
}

fn err(key: &str, value: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.into(),
        value: value.into(),
        problem: problem.into(),
    }
}

struct Reader<'a> {
    pairs: &'a BTreeMap<String, String>,
}

impl Reader<'_> {
    fn raw(&self, key: &str) -> Option<&str> {
        self.pairs
            .get(key)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }

    fn path(&self, key: &str, default: PathBuf) -> Result<PathBuf, ConfigError> {
        match self.raw(key) {
            None => Ok(default),
            Some(v) => abs_path(key, v),
        }
    }

    fn opt_path(&self, key: &str) -> Result<Option<PathBuf>, ConfigError> {
        self.raw(key).map(|v| abs_path(key, v)).transpose()
    }

    fn list(&self, key: &str) -> Vec<String> {
        self.raw(key)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    fn uint<T: std::str::FromStr + PartialOrd + Copy + fmt::Display>(
        &self,
        key: &str,
        default: T,
        min: T,
        max: T,
    ) -> Result<T, ConfigError> {
        let Some(v) = self.raw(key) else {
            return Ok(default);
        };
        let n: T = v
            .parse()
            .map_err(|_| err(key, v, "expected a whole number"))?;
        if n < min || n > max {
            return Err(err(key, v, format!("must be between {min} and {max}")));
        }
        Ok(n)
    }

    fn number(&self, key: &str, default: f64, min: f64, max: f64) -> Result<f64, ConfigError> {
        let Some(v) = self.raw(key) else {
            return Ok(default);
        };
        let n: f64 = v.parse().map_err(|_| err(key, v, "expected a number"))?;
        if !n.is_finite() || n < min || n > max {
            return Err(err(
                key,
                v,
                format!("must be a number between {min} and {max}"),
            ));
        }
        Ok(n)
    }
}

fn abs_path(key: &str, v: &str) -> Result<PathBuf, ConfigError> {
    let p = PathBuf::from(v);
    if !p.is_absolute() {
        return Err(err(key, v, "must be an absolute path (starting with /)"));
    }
    if p.components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(err(key, v, "must not contain '..'"));
    }
    Ok(p)
}

impl Config {
    /// Built-in defaults (what a machine with no `.env` gets).
    pub fn defaults() -> Config {
        Config::from_pairs(&BTreeMap::new()).expect("defaults are valid")
    }

    /// Builds and validates a `Config` from key/value pairs (pure).
    pub fn from_pairs(pairs: &BTreeMap<String, String>) -> Result<Config, ConfigError> {
        let r = Reader { pairs };
        let bot_token = r.raw("BOT_TOKEN").map(validate_token).transpose()?;
        let admin_ids = r
            .list("ADMIN_IDS")
            .iter()
            .map(|s| {
                s.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    err(
                        "ADMIN_IDS",
                        s,
                        "expected positive numeric Telegram user ids, comma-separated",
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let admin_chat_id = r
            .raw("ADMIN_CHAT_ID")
            .map(|v| {
                v.parse::<i64>().ok().filter(|n| *n != 0).ok_or_else(|| {
                    err(
                        "ADMIN_CHAT_ID",
                        v,
                        "expected a Telegram chat id (a group's id is negative, e.g. -1001234567890)",
                    )
                })
            })
            .transpose()?;
        let telegram_api_url = match r.raw("TELEGRAM_API_URL") {
            None => "https://api.telegram.org".to_string(),
            Some(v)
                if (v.starts_with("https://") || v.starts_with("http://"))
                    && !v.contains(char::is_whitespace) =>
            {
                v.trim_end_matches('/').to_string()
            }
            Some(v) => {
                return Err(err(
                    "TELEGRAM_API_URL",
                    v,
                    "expected an http:// or https:// URL",
                ));
            }
        };
        let bot_lang = match r.raw("BOT_LANG") {
            None => Lang::Id,
            Some(v) => Lang::parse(v).map_err(|e| err("BOT_LANG", v, e))?,
        };
        let app_dir = r.path("APP_DIR", PathBuf::from("/opt/potion-runner"))?;
        let state_dir = r.path("STATE_DIR", app_dir.join("state"))?;
        let log_dir = r.path("LOG_DIR", app_dir.join("logs"))?;
        let data_mount = r.path("DATA_MOUNT", PathBuf::from("/mnt/potion-data"))?;
        let backup_dir = r.path("BACKUP_DIR", data_mount.join("backups"))?;
        let backup_sources = match r.raw("BACKUP_SOURCES") {
            None => vec![app_dir.clone()],
            Some(_) => r
                .list("BACKUP_SOURCES")
                .iter()
                .map(|s| abs_path("BACKUP_SOURCES", s))
                .collect::<Result<_, _>>()?,
        };
        let backup_excludes = r.list("BACKUP_EXCLUDES");
        for g in &backup_excludes {
            globset::Glob::new(g)
                .map_err(|e| err("BACKUP_EXCLUDES", g, format!("not a glob pattern: {e}")))?;
        }
        let backup_time = match r.raw("BACKUP_TIME") {
            None => HhMm {
                hour: 2,
                minute: 30,
            },
            Some(v) => validate::hhmm(v).map_err(|e| err("BACKUP_TIME", v, e))?,
        };
        let services = r
            .list("SERVICES")
            .iter()
            .map(|s| validate::service_name(s).map_err(|e| err("SERVICES", s, e)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut services_dedup = Vec::new();
        for s in services {
            if !services_dedup.contains(&s) {
                services_dedup.push(s);
            }
        }
        let self_service = match r.raw("SELF_SERVICE") {
            None => "potion-runner.service".to_string(),
            Some(v) => validate::service_name(v).map_err(|e| err("SELF_SERVICE", v, e))?,
        };
        let mut thresholds = Thresholds {
            cpu: 90.0,
            ram: 90.0,
            disk: 90.0,
            disk_data: 90.0,
            temp: 85.0,
        };
        for m in Metric::THRESHOLDED {
            let (Some(key), Some(slot)) = (m.env_key(), thresholds.slot(m)) else {
                continue;
            };
            if let Some(v) = r.raw(key) {
                *slot = validate::threshold(m, v).map_err(|e| err(key, v, e))?;
            }
        }
        let alert_hysteresis = r.number("ALERT_HYSTERESIS", 5.0, 0.0, 50.0)?;
        for m in Metric::THRESHOLDED {
            let (Some(key), Some(t)) = (m.env_key(), thresholds.get(m)) else {
                continue;
            };
            if t - alert_hysteresis <= 0.0 {
                return Err(err(
                    key,
                    &t.to_string(),
                    format!("must be above ALERT_HYSTERESIS ({alert_hysteresis})"),
                ));
            }
        }
        let ping_hosts = match r.raw("PING_HOSTS") {
            None => vec!["1.1.1.1".to_string(), "8.8.8.8".to_string()],
            Some(_) => r
                .list("PING_HOSTS")
                .iter()
                .map(|h| validate::host(h).map_err(|e| err("PING_HOSTS", h, e)))
                .collect::<Result<_, _>>()?,
        };
        let update_git_repos = r
            .list("UPDATE_GIT_REPOS")
            .iter()
            .map(|s| abs_path("UPDATE_GIT_REPOS", s))
            .collect::<Result<_, _>>()?;
        let digest_time = r
            .raw("DIGEST_TIME")
            .map(|v| validate::hhmm(v).map_err(|e| err("DIGEST_TIME", v, e)))
            .transpose()?;
        let force_run = match r.raw("POTION_FORCE_RUN") {
            None | Some("0") => false,
            Some("1") => true,
            Some(v) => {
                return Err(err(
                    "POTION_FORCE_RUN",
                    v,
                    "use 1 to force, or leave it unset",
                ));
            }
        };
        Ok(Config {
            env_file: None,
            bot_token,
            admin_ids,
            admin_chat_id,
            telegram_api_url,
            bot_lang,
            app_dir,
            state_dir,
            log_dir,
            data_mount,
            backup_dir,
            backup_sources,
            backup_excludes,
            backup_time,
            keep_daily: r.uint("BACKUP_KEEP_DAILY", 7, 0, 3650)?,
            keep_weekly: r.uint("BACKUP_KEEP_WEEKLY", 4, 0, 520)?,
            keep_monthly: r.uint("BACKUP_KEEP_MONTHLY", 6, 0, 1200)?,
            backup_max_age_h: r.uint("BACKUP_MAX_AGE_H", 26u32, 1, 24 * 365)? as f64,
            services: services_dedup,
            self_service,
            thresholds,
            alert_hysteresis,
            alert_consecutive: r.uint("ALERT_CONSECUTIVE", 2, 1, 1000)?,
            health_stale_s: r.uint("HEALTH_STALE_S", 180, 10, 7 * 86400)?,
            ping_hosts,
            update_git_repos,
            update_pip_venv: r.opt_path("UPDATE_PIP_VENV")?,
            update_pip_requirements: r.opt_path("UPDATE_PIP_REQUIREMENTS")?,
            digest_time,
            force_run,
        })
    }

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

fn validate_token(v: &str) -> Result<Secret, ConfigError> {
    // The shape Telegram issues: digits, a colon, then URL-safe characters.
    // The value itself never appears in an error.
    let ok = v.split_once(':').is_some_and(|(id, rest)| {
        !id.is_empty()
            && id.bytes().all(|b| b.is_ascii_digit())
            && !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    });
    if ok {
        Ok(Secret(v.to_string()))
    } else {
        Err(err(
            "BOT_TOKEN",
            "***",
            "does not look like a bot token (digits:letters, as @BotFather gives it)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let m = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_pairs(&m)
    }

    #[test]
    fn defaults_follow_the_contract() {
        let c = Config::defaults();
        assert_eq!(c.state_dir, PathBuf::from("/opt/potion-runner/state"));
        assert_eq!(c.log_dir, PathBuf::from("/opt/potion-runner/logs"));
        assert_eq!(c.backup_dir, PathBuf::from("/mnt/potion-data/backups"));
        assert_eq!(c.backup_sources, vec![PathBuf::from("/opt/potion-runner")]);
        assert_eq!(c.backup_time.to_string(), "02:30");
        assert_eq!((c.keep_daily, c.keep_weekly, c.keep_monthly), (7, 4, 6));
        assert_eq!(c.thresholds.temp, 85.0);
        assert_eq!(c.alert_consecutive, 2);
        assert_eq!(c.self_service, "potion-runner.service");
        assert_eq!(c.bot_lang, Lang::Id);
        assert_eq!(c.telegram_api_url, "https://api.telegram.org");
        assert!(c.require_bot().is_err());
    }

    #[test]
    fn derived_paths_follow_app_dir() {
        let c = cfg(&[("APP_DIR", "/srv/p"), ("DATA_MOUNT", "/mnt/d")]).unwrap();
        assert_eq!(c.state_dir, PathBuf::from("/srv/p/state"));
        assert_eq!(c.backup_dir, PathBuf::from("/mnt/d/backups"));
        assert_eq!(
            c.health_file(),
            PathBuf::from("/srv/p/state/last_health.json")
        );
    }

    #[test]
    fn every_key_refuses_bad_values_naming_key_and_value() {
        let cases: &[(&str, &str)] = &[
            ("BOT_TOKEN", "not a token"),
            ("ADMIN_IDS", "12,abc"),
            ("ADMIN_IDS", "-5"),
            ("ADMIN_CHAT_ID", "grup"),
            ("ADMIN_CHAT_ID", "0"),
            ("TELEGRAM_API_URL", "ftp://x"),
            ("BOT_LANG", "fr"),
            ("APP_DIR", "relative/path"),
            ("STATE_DIR", "state"),
            ("LOG_DIR", "/a/../b"),
            ("DATA_MOUNT", "mnt"),
            ("BACKUP_DIR", "backups"),
            ("BACKUP_SOURCES", "/ok,relative"),
            ("BACKUP_EXCLUDES", "a[b"),
            ("BACKUP_TIME", "25:99"),
            ("BACKUP_KEEP_DAILY", "-3"),
            ("BACKUP_KEEP_WEEKLY", "x"),
            ("BACKUP_KEEP_MONTHLY", "1.5"),
            ("BACKUP_MAX_AGE_H", "0"),
            ("SERVICES", "ok.service,bad/name"),
            ("SERVICES", "has space.service"),
            ("SELF_SERVICE", "a;b"),
            ("THRESHOLD_CPU", "NaN"),
            ("THRESHOLD_RAM", "101"),
            ("THRESHOLD_DISK", "-3"),
            ("THRESHOLD_DISK_DATA", "abc"),
            ("THRESHOLD_TEMP", "inf"),
            ("ALERT_HYSTERESIS", "-1"),
            ("ALERT_CONSECUTIVE", "0"),
            ("HEALTH_STALE_S", "5"),
            ("PING_HOSTS", "1.1.1.1,-f"),
            ("UPDATE_GIT_REPOS", "repo"),
            ("UPDATE_PIP_VENV", "venv"),
            ("UPDATE_PIP_REQUIREMENTS", "req.txt"),
            ("DIGEST_TIME", "7pm"),
            ("POTION_FORCE_RUN", "yes"),
        ];
        for (k, v) in cases {
            let e = cfg(&[(k, v)]).expect_err(&format!("{k}={v} accepted"));
            assert_eq!(e.key, *k, "{k}={v}: {e}");
            let msg = e.to_string();
            assert!(msg.contains(k), "{msg}");
            if *k != "BOT_TOKEN" {
                assert!(
                    msg.contains(v.split(',').next_back().unwrap()) || msg.contains(v),
                    "{msg}"
                );
            }
        }
        // Every key the contract names is exercised above.
        for key in KEYS {
            assert!(
                cases.iter().any(|(k, _)| k == key),
                "{key} has no bad-value case"
            );
        }
    }

    #[test]
    fn token_never_appears_in_errors_or_debug() {
        let e = cfg(&[("BOT_TOKEN", "secret value")]).unwrap_err();
        assert!(!e.to_string().contains("secret"));
        let c = cfg(&[("BOT_TOKEN", "123:ABCdef_-x"), ("ADMIN_IDS", "42")]).unwrap();
        assert!(!format!("{c:?}").contains("ABCdef"));
        assert!(c.require_bot().is_ok());
    }

    #[test]
    fn lists_times_and_services_are_normalised() {
        let c = cfg(&[
            ("SERVICES", "ollama, rag-api.service ,ollama.service"),
            ("BACKUP_TIME", "2.30"),
            ("DIGEST_TIME", "07,05"),
            ("ADMIN_IDS", "1, 2"),
        ])
        .unwrap();
        assert_eq!(c.services, vec!["ollama.service", "rag-api.service"]);
        assert_eq!(c.backup_time.to_string(), "02:30");
        assert_eq!(c.digest_time.unwrap().to_string(), "07:05");
        assert_eq!(c.admin_ids, vec![1, 2]);
    }

    #[test]
    fn hysteresis_must_leave_room_below_thresholds() {
        let e = cfg(&[("THRESHOLD_CPU", "5"), ("ALERT_HYSTERESIS", "5")]).unwrap_err();
        assert_eq!(e.key, "THRESHOLD_CPU");
    }

    #[test]
    fn lookup_order_prefers_the_flag() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.env");
        std::fs::write(&p, "THRESHOLD_CPU=70\n").unwrap();
        let opts = LoadOptions {
            env_file: Some(p.clone()),
            ignore_process_env: true,
        };
        let c = load(&opts).unwrap();
        assert_eq!(c.thresholds.cpu, 70.0);
        assert_eq!(c.env_file, Some(p));
        let missing = LoadOptions {
            env_file: Some(dir.path().join("nope")),
            ignore_process_env: true,
        };
        assert!(load(&missing).unwrap_err().to_string().contains("nope"));
    }

    #[test]
    fn env_file_must_be_a_plain_file_under_its_own_name() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.env");
        std::fs::write(&real, "SECRET_LOOKING=1\n").unwrap();
        let link = dir.path().join(".env");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let e = read_env_text(&link).unwrap_err();
        assert!(e.contains("symlink"), "{e}");
        let hard = dir.path().join("hard.env");
        std::fs::hard_link(&real, &hard).unwrap();
        assert!(read_env_text(&hard).unwrap_err().contains("single link"));
        assert!(
            read_env_text(dir.path())
                .unwrap_err()
                .contains("plain file")
        );
        assert_eq!(read_env_text(Path::new("/dev/null")).unwrap(), "");
        assert!(read_env_text(Path::new("/dev/zero")).is_err());
        let big = dir.path().join("big.env");
        std::fs::File::create(&big)
            .unwrap()
            .set_len(MAX_ENV_BYTES + 1)
            .unwrap();
        assert!(read_env_text(&big).unwrap_err().contains("larger than"));
    }
}
