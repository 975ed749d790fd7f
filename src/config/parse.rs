//! Turning key/value pairs into a validated [`Config`] (pure, tested with
//! plain strings). Every bad value is found, not just the first: each is
//! recorded as a [`Problem`] naming the key and the value (the token's and
//! the ping URLs' values are never kept) and stands in with its default
//! while the rest is checked.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::problem::{ConfigError, Problem, ProblemKind as K};
use super::{Config, Lang, Secret, Thresholds};
use crate::metric::Metric;
use crate::validate::{self, HhMm};

struct Reader<'a> {
    pairs: &'a BTreeMap<String, String>,
    problems: Vec<Problem>,
}

impl<'a> Reader<'a> {
    fn raw(&self, key: &str) -> Option<&'a str> {
        self.pairs
            .get(key)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }

    fn bad(&mut self, key: &str, value: &str, kind: K) {
        self.problems.push(Problem::new(key, value, kind));
    }

    /// `key` through `parse`, or `default` when unset; a value `parse`
    /// refuses is recorded and `default` stands in.
    fn get<T>(&mut self, key: &str, default: T, parse: impl FnOnce(&str) -> Result<T, K>) -> T {
        let Some(v) = self.raw(key) else {
            return default;
        };
        parse(v).unwrap_or_else(|kind| {
            self.bad(key, v, kind);
            default
        })
    }

    /// Like [`Reader::get`] for a secret: the problem does not keep the value.
    fn get_hidden<T>(&mut self, key: &str, parse: impl FnOnce(&str) -> Result<T, K>) -> Option<T> {
        let v = self.raw(key)?;
        parse(v).map_err(|kind| self.bad(key, "", kind)).ok()
    }

    fn path(&mut self, key: &str, default: PathBuf) -> PathBuf {
        self.get(key, default, abs_path)
    }

    fn opt_path(&mut self, key: &str) -> Option<PathBuf> {
        self.get(key, None, |v| abs_path(v).map(Some))
    }

    fn list(&self, key: &str) -> Vec<&'a str> {
        self.raw(key)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every item of the list `key` through `parse`; each refused item is
    /// recorded (with the item as the value) and left out.
    fn each<T>(&mut self, key: &str, parse: impl Fn(&str) -> Result<T, K>) -> Vec<T> {
        let mut out = Vec::new();
        for item in self.list(key) {
            match parse(item) {
                Ok(t) => out.push(t),
                Err(kind) => self.bad(key, item, kind),
            }
        }
        out
    }

    fn uint<T>(&mut self, key: &str, default: T, min: T, max: T) -> T
    where
        T: std::str::FromStr + PartialOrd + Copy + Into<u64>,
    {
        self.get(key, default, |v| {
            v.parse::<T>()
                .ok()
                .filter(|n| *n >= min && *n <= max)
                .ok_or(K::WholeNumber {
                    min: min.into(),
                    max: max.into(),
                })
        })
    }

    fn number(&mut self, key: &str, default: f64, min: f64, max: f64) -> f64 {
        self.get(key, default, |v| {
            v.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n >= min && *n <= max)
                .ok_or(K::Number { min, max })
        })
    }

    /// A switch: `1` on, `0` or unset off.
    fn switch(&mut self, key: &str) -> bool {
        self.get(key, false, |v| match v {
            "0" => Ok(false),
            "1" => Ok(true),
            _ => Err(K::Switch),
        })
    }
}

fn abs_path(v: &str) -> Result<PathBuf, K> {
    let p = PathBuf::from(v);
    if !p.is_absolute() {
        return Err(K::NotAbsolute);
    }
    if p.components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(K::DotDot);
    }
    Ok(p)
}

fn positive_id(v: &str) -> Result<i64, K> {
    v.parse::<i64>().ok().filter(|n| *n > 0).ok_or(K::AdminId)
}

fn http_url(v: &str) -> Result<String, K> {
    if (v.starts_with("https://") || v.starts_with("http://")) && !v.contains(char::is_whitespace) {
        Ok(v.trim_end_matches('/').to_string())
    } else {
        Err(K::HttpUrl)
    }
}

impl Config {
    /// Built-in defaults (what a machine with no `.env` gets).
    pub fn defaults() -> Config {
        Config::from_pairs(&BTreeMap::new()).expect("defaults are valid")
    }

    /// Builds and validates a `Config` from key/value pairs (pure). The
    /// error holds every problem, in the language `BOT_LANG` names.
    pub fn from_pairs(pairs: &BTreeMap<String, String>) -> Result<Config, ConfigError> {
        let mut r = Reader {
            pairs,
            problems: Vec::new(),
        };
        let bot_lang = r.get("BOT_LANG", Lang::Id, |v| {
            Lang::parse(v).map_err(|_| K::Lang)
        });
        let bot_token = r.get_hidden("BOT_TOKEN", validate_token);
        let admin_ids = r.each("ADMIN_IDS", positive_id);
        let admin_chat_id = r.get("ADMIN_CHAT_ID", None, |v| {
            v.parse::<i64>()
                .ok()
                .filter(|n| *n != 0)
                .map(Some)
                .ok_or(K::ChatId)
        });
        let telegram_api_url = r.get(
            "TELEGRAM_API_URL",
            "https://api.telegram.org".to_string(),
            http_url,
        );
        let app_dir = r.path("APP_DIR", PathBuf::from("/opt/potion-runner"));
        let state_dir = r.path("STATE_DIR", app_dir.join("state"));
        let log_dir = r.path("LOG_DIR", app_dir.join("logs"));
        let data_mount = r.path("DATA_MOUNT", PathBuf::from("/mnt/potion-data"));
        let backup_dir = r.path("BACKUP_DIR", data_mount.join("backups"));
        let backup_sources = match r.raw("BACKUP_SOURCES") {
            None => vec![app_dir.clone()],
            Some(_) => r.each("BACKUP_SOURCES", abs_path),
        };
        let backup_excludes = r.each("BACKUP_EXCLUDES", |g| {
            globset::Glob::new(g)
                .map(|_| g.to_string())
                .map_err(|_| K::Glob)
        });
        let hhmm = |v: &str| validate::hhmm(v).map_err(|_| K::Time);
        let backup_time = r.get(
            "BACKUP_TIME",
            HhMm {
                hour: 2,
                minute: 30,
            },
            hhmm,
        );
        let mut services = Vec::new();
        for s in r.each("SERVICES", |s| {
            validate::service_name(s).map_err(|_| K::UnitName)
        }) {
            if !services.contains(&s) {
                services.push(s);
            }
        }
        let self_service = r.get("SELF_SERVICE", "potion-runner.service".to_string(), |v| {
            validate::service_name(v).map_err(|_| K::UnitName)
        });
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
            let max = m.max_threshold();
            *slot = r.get(key, *slot, |v| {
                validate::threshold(m, v).map_err(|_| K::Threshold { max })
            });
        }
        let alert_hysteresis = r.number("ALERT_HYSTERESIS", 5.0, 0.0, 50.0);
        for m in Metric::THRESHOLDED {
            let (Some(key), Some(t)) = (m.env_key(), thresholds.get(m)) else {
                continue;
            };
            if t - alert_hysteresis <= 0.0 {
                let kind = K::BelowHysteresis {
                    hysteresis: alert_hysteresis,
                };
                r.bad(key, &t.to_string(), kind);
            }
        }
        let ping_hosts = match r.raw("PING_HOSTS") {
            None => vec!["1.1.1.1".to_string(), "8.8.8.8".to_string()],
            Some(_) => r.each("PING_HOSTS", |h| validate::host(h).map_err(|_| K::Host)),
        };
        let update_git_repos = r.each("UPDATE_GIT_REPOS", abs_path);
        let digest_time = r.get("DIGEST_TIME", None, |v| hhmm(v).map(Some));
        let probe_urls = r.get("PROBE_URLS", Vec::new(), |v| {
            crate::health::target::parse_targets(v).map_err(|_| K::ProbeUrls)
        });
        // The path is the ping's secret: a problem never keeps the value.
        let ping_url = |v: &str| {
            crate::health::http::parse_url(v)
                .map(crate::health::deadman::PingUrl)
                .map_err(|_| K::PingUrl)
        };
        let power_shed_units = r.each("POWER_SHED_UNITS", |s| {
            validate::service_name(s).map_err(|_| K::UnitName)
        });
        let power_actions = r.switch("POWER_ACTIONS");
        let healthcheck_url = r.get_hidden("HEALTHCHECK_URL", ping_url);
        let backup_healthcheck_url = r.get_hidden("BACKUP_HEALTHCHECK_URL", ping_url);
        let notice = notice_settings(&mut r);
        let cfg = Config {
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
            backup_allow_same_disk: r.switch("BACKUP_ALLOW_SAME_DISK"),
            backup_dir,
            backup_sources,
            backup_excludes,
            backup_time,
            keep_daily: r.uint("BACKUP_KEEP_DAILY", 7u32, 0, 3650),
            keep_weekly: r.uint("BACKUP_KEEP_WEEKLY", 4u32, 0, 520),
            keep_monthly: r.uint("BACKUP_KEEP_MONTHLY", 6u32, 0, 1200),
            backup_max_age_h: r.uint("BACKUP_MAX_AGE_H", 26u32, 1, 24 * 365) as f64,
            services,
            self_service,
            thresholds,
            alert_hysteresis,
            alert_consecutive: r.uint("ALERT_CONSECUTIVE", 2u32, 1, 1000),
            notice,
            health_stale_s: r.uint("HEALTH_STALE_S", 180u64, 10, 7 * 86400),
            ping_hosts,
            update_git_repos,
            update_pip_venv: r.opt_path("UPDATE_PIP_VENV"),
            update_pip_requirements: r.opt_path("UPDATE_PIP_REQUIREMENTS"),
            digest_time,
            force_run: r.switch("POTION_FORCE_RUN"),
            battery_low: r.number("BATTERY_LOW", 25.0, 1.0, 100.0),
            battery_wear: r.number("BATTERY_WEAR", 40.0, 1.0, 100.0),
            smart_interval_min: r.uint("SMART_INTERVAL", 60u32, 0, 7 * 24 * 60),
            battery_shed: r.number("BATTERY_SHED", 0.0, 0.0, 100.0),
            battery_shutdown: r.number("BATTERY_SHUTDOWN", 0.0, 0.0, super::POWER_OFF_MAX_PERCENT),
            power_shed_units,
            power_actions,
            probe_urls,
            healthcheck_url,
            backup_healthcheck_url,
            ignored: Vec::new(),
            system_pairs: BTreeMap::new(),
        };
        if r.problems.is_empty() {
            Ok(cfg)
        } else {
            Err(ConfigError {
                lang: bot_lang,
                problems: r.problems,
            })
        }
    }
}

/// `QUIET_HOURS` (empty or `off`: none), `ALERT_CRITICAL` (unset: the
/// default list; set but empty: nothing is critical) and `ALERT_REMIND`.
fn notice_settings(r: &mut Reader) -> crate::notice::decide::Settings {
    use crate::notice::{quiet, remind};
    let mut s = crate::notice::decide::Settings::default();
    if let Some(v) = r.raw("QUIET_HOURS") {
        match quiet::QuietHours::parse(v) {
            Ok(q) => s.quiet = q,
            Err(_) => r.bad("QUIET_HOURS", v, K::QuietHours),
        }
    }
    if let Some(v) = r.pairs.get("ALERT_CRITICAL") {
        match quiet::Critical::parse(v) {
            Ok(c) => s.critical = c,
            Err(_) => r.bad("ALERT_CRITICAL", v, K::AlertCodes),
        }
    }
    if let Some(v) = r.raw("ALERT_REMIND") {
        match remind::parse(v) {
            Ok(m) => s.remind = m,
            Err(_) => r.bad("ALERT_REMIND", v, K::Minutes),
        }
    }
    s
}

fn validate_token(v: &str) -> Result<Secret, K> {
    // The shape Telegram issues: digits, a colon, then URL-safe characters.
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
        Err(K::TokenShape)
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
            ("BACKUP_ALLOW_SAME_DISK", "yes"),
            ("BATTERY_SHED", "101"),
            ("BATTERY_SHUTDOWN", "-5"),
            ("POWER_SHED_UNITS", "ollama.service,a;b"),
            ("POWER_ACTIONS", "yes"),
        ];
        for (k, v) in cases {
            let lang = if *k == "BOT_LANG" { v } else { "en" };
            let e = cfg(&[("BOT_LANG", lang), (k, v)]).expect_err(&format!("{k}={v} accepted"));
            assert_eq!(e.problems.len(), 1, "{k}={v}: {e}");
            let p = &e.problems[0];
            assert_eq!(p.key, *k, "{k}={v}: {e}");
            let msg = p.to_string();
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
    fn every_bad_key_is_reported_at_once_with_value_and_fix_in_bot_lang() {
        let bad = [
            ("THRESHOLD_CPU", "lots"),
            ("BACKUP_TIME", "25:99"),
            ("SERVICES", "ok.service,bad/name"),
            ("DATA_MOUNT", "mnt"),
            ("BOT_TOKEN", "oops secret"),
        ];
        for (lang, fix, not) in [
            ("id", "Cara betulkan", ["Fix:", "is not", "must be"]),
            ("en", "Fix:", ["Cara betulkan", "bukan", "harus"]),
        ] {
            let mut pairs = bad.to_vec();
            pairs.push(("BOT_LANG", lang));
            let e = cfg(&pairs).unwrap_err();
            let keys: Vec<&str> = e.problems.iter().map(|p| p.key.as_str()).collect();
            for (k, _) in bad {
                assert!(keys.contains(&k), "{lang}: {k} missing from {keys:?}");
            }
            assert_eq!(e.problems.len(), bad.len(), "{e}");
            let text = e.to_string();
            let heading = if lang == "id" {
                "Ada 5 masalah"
            } else {
                "5 problems"
            };
            assert!(text.starts_with(heading), "{text}");
            let lines: Vec<&str> = text.lines().skip(1).collect();
            assert_eq!(lines.len(), bad.len(), "{text}");
            for (k, v) in bad {
                let line = lines.iter().find(|l| l.contains(k)).unwrap();
                assert!(line.contains(fix), "{lang}: no fix in {line}");
                if k == "BOT_TOKEN" {
                    assert!(!line.contains("secret"), "{line}");
                } else {
                    assert!(line.contains(v.rsplit(',').next().unwrap()), "{line}");
                }
            }
            for word in not {
                assert!(!text.contains(word), "{lang}: {word:?} in\n{text}");
            }
        }
    }

    #[test]
    fn a_bad_bot_lang_is_reported_in_indonesian_with_the_rest() {
        let e = cfg(&[("BOT_LANG", "fr"), ("THRESHOLD_RAM", "101")]).unwrap_err();
        assert_eq!(e.lang, Lang::Id);
        let keys: Vec<&str> = e.problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["BOT_LANG", "THRESHOLD_RAM"]);
        assert!(e.to_string().contains("pakai id atau en"), "{e}");
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
        assert!(!format!("{e:?}").contains("secret"));
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
        assert_eq!(e.problems.len(), 1, "{e}");
        assert_eq!(e.problems[0].key, "THRESHOLD_CPU");
    }
}
