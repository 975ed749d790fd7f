//! Turning key/value pairs into a validated [`Config`] (pure, tested with
//! plain strings). A bad value is refused with an error naming the key and
//! the value (the token's value never appears).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use super::{Config, ConfigError, Lang, Secret, Thresholds};
use crate::metric::Metric;
use crate::validate::{self, HhMm};

pub(super) fn err(key: &str, value: &str, problem: impl Into<String>) -> ConfigError {
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
        let probe_urls = match r.raw("PROBE_URLS") {
            None => Vec::new(),
            Some(v) => crate::health::probes::parse_targets(v)
                .map_err(|e| err("PROBE_URLS", v, format!("{e:#}")))?,
        };
        let ping_url = |key: &str| {
            r.raw(key)
                .map(|v| {
                    crate::health::http::parse_url(v)
                        .map(crate::health::deadman::PingUrl)
                        // The path is the ping's secret: the error never repeats the value.
                        .map_err(|e| err(key, "(hidden)", format!("{e:#}")))
                })
                .transpose()
        };
        let notice = notice_settings(&r)?;
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
            notice,
            health_stale_s: r.uint("HEALTH_STALE_S", 180, 10, 7 * 86400)?,
            ping_hosts,
            update_git_repos,
            update_pip_venv: r.opt_path("UPDATE_PIP_VENV")?,
            update_pip_requirements: r.opt_path("UPDATE_PIP_REQUIREMENTS")?,
            digest_time,
            force_run,
            battery_low: r.number("BATTERY_LOW", 25.0, 1.0, 100.0)?,
            battery_wear: r.number("BATTERY_WEAR", 40.0, 1.0, 100.0)?,
            smart_interval_min: r.uint("SMART_INTERVAL", 60, 0, 7 * 24 * 60)?,
            probe_urls,
            healthcheck_url: ping_url("HEALTHCHECK_URL")?,
            backup_healthcheck_url: ping_url("BACKUP_HEALTHCHECK_URL")?,
            ignored: Vec::new(),
            system_pairs: BTreeMap::new(),
        })
    }
}

/// `QUIET_HOURS` (empty or `off`: none), `ALERT_CRITICAL` (unset: the
/// default list; set but empty: nothing is critical) and `ALERT_REMIND`.
fn notice_settings(r: &Reader) -> Result<crate::notice::decide::Settings, ConfigError> {
    use crate::notice::{quiet, remind};
    let mut s = crate::notice::decide::Settings::default();
    if let Some(v) = r.raw("QUIET_HOURS") {
        s.quiet = quiet::QuietHours::parse(v).map_err(|e| err("QUIET_HOURS", v, e.to_string()))?;
    }
    if let Some(v) = r.pairs.get("ALERT_CRITICAL") {
        s.critical =
            quiet::Critical::parse(v).map_err(|e| err("ALERT_CRITICAL", v, e.to_string()))?;
    }
    if let Some(v) = r.raw("ALERT_REMIND") {
        s.remind = remind::parse(v).map_err(|e| err("ALERT_REMIND", v, e.to_string()))?;
    }
    Ok(s)
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
            ("QUIET_HOURS", "22:00"),
            ("ALERT_CRITICAL", "CPU_HIGH,NOT_A_CODE"),
            ("ALERT_REMIND", "often"),
            ("HEALTH_STALE_S", "5"),
            ("PING_HOSTS", "1.1.1.1,-f"),
            ("UPDATE_GIT_REPOS", "repo"),
            ("UPDATE_PIP_VENV", "venv"),
            ("UPDATE_PIP_REQUIREMENTS", "req.txt"),
            ("DIGEST_TIME", "7pm"),
            ("POTION_FORCE_RUN", "yes"),
            ("BATTERY_LOW", "0"),
            ("BATTERY_WEAR", "x"),
            ("SMART_INTERVAL", "-1"),
            ("PROBE_URLS", "ollama=ftp://127.0.0.1/"),
            ("HEALTHCHECK_URL", "hc-ping.com/secret-uuid"),
            ("BACKUP_HEALTHCHECK_URL", "file:///secret-uuid"),
        ];
        for (k, v) in cases {
            let e = cfg(&[(k, v)]).expect_err(&format!("{k}={v} accepted"));
            assert_eq!(e.key, *k, "{k}={v}: {e}");
            let msg = e.to_string();
            assert!(msg.contains(k), "{msg}");
            if k.ends_with("HEALTHCHECK_URL") {
                // A ping URL's path is its secret: never repeated.
                assert!(!msg.contains("secret"), "{msg}");
            } else if *k != "BOT_TOKEN" {
                assert!(
                    msg.contains(v.split(',').next_back().unwrap()) || msg.contains(v),
                    "{msg}"
                );
            }
        }
        // Every key the contract names is exercised above.
        for key in super::super::KEYS {
            assert!(
                cases.iter().any(|(k, _)| k == key),
                "{key} has no bad-value case"
            );
        }
    }

    #[test]
    fn alert_preferences_parse_and_an_empty_critical_list_means_none() {
        use crate::notice::quiet::Critical;
        let c = Config::defaults();
        assert_eq!(c.notice, crate::notice::decide::Settings::default());
        assert!(c.notice.critical.is_critical("DISK_ROOT_HIGH"));
        let c = cfg(&[
            ("QUIET_HOURS", "22.00-06.00"),
            ("ALERT_CRITICAL", ""),
            ("ALERT_REMIND", "0"),
        ])
        .unwrap();
        assert_eq!(c.notice.quiet.unwrap().to_string(), "22:00-06:00");
        assert_eq!(c.notice.critical, Critical::parse("").unwrap());
        assert!(!c.notice.critical.is_critical("DISK_ROOT_HIGH"));
        assert_eq!(c.notice.remind, None);
        let c = cfg(&[("QUIET_HOURS", "off"), ("ALERT_REMIND", "90")]).unwrap();
        assert_eq!(c.notice.quiet, None);
        assert_eq!(c.notice.remind, Some(chrono::TimeDelta::minutes(90)));
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
}
