//! What is wrong with the settings, typed: [`Problem`] (a key, its value and
//! a [`ProblemKind`]) and [`ConfigError`] (every problem loading found).
//!
//! Nothing here holds a sentence: `id.rs` and `en.rs` render a problem, one
//! file per language, each with what is wrong and how to fix it. A value is
//! shown only through `redact::redact` (a token pasted in the wrong place
//! never prints), and the token and ping URLs are never kept at all.

mod en;
mod id;

use std::fmt;
use std::path::PathBuf;

use super::Lang;
use crate::envfile::ParseErrorKind;

/// One bad setting. `value` is empty when it must not be shown.
#[derive(Clone, PartialEq)]
pub struct Problem {
    /// The key, or `FILE:LINE` for a line that is no setting, or a file's path.
    pub key: String,
    pub value: String,
    pub kind: ProblemKind,
}

/// What is wrong; the parameters a fix needs.
#[derive(Debug, Clone, PartialEq)]
pub enum ProblemKind {
    /// `BOT_TOKEN` is not in the shape @BotFather gives (its value is not kept).
    TokenShape,
    /// Empty, but the program needs it.
    Required,
    AdminId,
    ChatId,
    HttpUrl,
    Lang,
    NotAbsolute,
    DotDot,
    Glob,
    Time,
    WholeNumber {
        min: u64,
        max: u64,
    },
    Number {
        min: f64,
        max: f64,
    },
    /// A threshold: above 0 and at most `max`.
    Threshold {
        max: f64,
    },
    /// A threshold at or below `ALERT_HYSTERESIS` would never clear.
    BelowHysteresis {
        hysteresis: f64,
    },
    UnitName,
    Host,
    /// A switch: `1` on, `0` or unset off.
    Switch,
    ProbeUrls,
    /// `QUIET_HOURS`: not `HH:MM-HH:MM`.
    QuietHours,
    /// `ALERT_CRITICAL`: not a list of alert codes or `PREFIX:*`.
    AlertCodes,
    /// `ALERT_REMIND`: not a number of minutes.
    Minutes,
    /// A dead-man ping URL (its value is not kept: the path is the secret).
    PingUrl,
    /// A system setting found in `.env`, which cannot change it.
    SystemKeyInEnv,
    /// A line of a settings file that is no setting.
    Line(ParseErrorKind),
    /// A settings file that could not be read (the key is its path).
    File(FileProblem),
    /// The fall-back to last good values did not end (a bug, never expected).
    Unsettled,
}

/// Why a settings file was not read.
#[derive(Debug, Clone, PartialEq)]
pub enum FileProblem {
    Symlink,
    NotPlain,
    TooLarge {
        kib: u64,
    },
    /// The path is not absolute or names no file.
    BadPath,
    /// A root process found it, or the folder `at`, changeable by others.
    Untrusted {
        at: PathBuf,
        uid: u32,
        mode: u32,
    },
    Missing,
    Denied,
    /// Any other I/O error, as the system worded it.
    Io(String),
}

impl Problem {
    pub fn new(key: &str, value: &str, kind: ProblemKind) -> Problem {
        Problem {
            key: key.to_string(),
            value: value.to_string(),
            kind,
        }
    }

    /// What is wrong and how to fix it, without the key: `• KEY: reason` lists.
    pub fn reason(&self, lang: Lang) -> String {
        match lang {
            Lang::Id => id::reason(self),
            Lang::En => en::reason(self),
        }
    }

    /// One whole line: key, value (redacted), what is wrong and the fix.
    pub fn render(&self, lang: Lang) -> String {
        let value = if self.value.is_empty() {
            String::new()
        } else {
            format!("={:?}", crate::redact::redact(&self.value))
        };
        format!("{}{value}: {}", self.key, self.reason(lang))
    }
}

/// English, for logs and tests; a person is shown [`Problem::render`] in their language.
impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(Lang::En))
    }
}

impl fmt::Debug for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Problem")
            .field("key", &self.key)
            .field("value", &crate::redact::redact(&self.value))
            .field("kind", &self.kind)
            .finish()
    }
}

/// Every problem loading found, to be shown in `lang` (`BOT_LANG`, or `id`
/// when that is unreadable too).
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub lang: Lang,
    pub problems: Vec<Problem>,
}

impl ConfigError {
    /// True when one of the problems is about `key`.
    pub fn names(&self, key: &str) -> bool {
        self.problems.iter().any(|p| p.key == key)
    }
}

/// A heading with the count, then one problem a line, in `self.lang`.
impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        let head = match self.lang {
            Lang::Id => id::heading(n),
            Lang::En => en::heading(n),
        };
        f.write_str(&head)?;
        for p in &self.problems {
            write!(f, "\n  - {}", p.render(self.lang))?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// A good value for `key`, shown in a fix; none for what is not a key.
fn example(key: &str) -> Option<&'static str> {
    Some(match key {
        "BOT_TOKEN" => "123456789:AAH4e-your-token-from-BotFather",
        "ADMIN_IDS" => "123456789",
        "ADMIN_CHAT_ID" => "-1001234567890",
        "TELEGRAM_API_URL" => "https://api.telegram.org",
        "BOT_LANG" => "id",
        "APP_DIR" => "/opt/potion-runner",
        "STATE_DIR" => "/opt/potion-runner/state",
        "LOG_DIR" => "/opt/potion-runner/logs",
        "DATA_MOUNT" => "/mnt/potion-data",
        "BACKUP_DIR" => "/mnt/potion-data/backups",
        "BACKUP_SOURCES" => "/opt/potion-runner,/etc",
        "BACKUP_EXCLUDES" => "*.tmp,**/__pycache__/**",
        "BACKUP_TIME" => "02:30",
        "DIGEST_TIME" => "07:00",
        "BACKUP_KEEP_DAILY" => "7",
        "BACKUP_KEEP_WEEKLY" => "4",
        "BACKUP_KEEP_MONTHLY" => "6",
        "BACKUP_MAX_AGE_H" => "26",
        "SERVICES" => "ollama.service,nginx.service",
        "SELF_SERVICE" => "potion-runner.service",
        "THRESHOLD_CPU" | "THRESHOLD_RAM" | "THRESHOLD_DISK" | "THRESHOLD_DISK_DATA" => "90",
        "THRESHOLD_TEMP" => "85",
        "ALERT_HYSTERESIS" => "5",
        "ALERT_CONSECUTIVE" => "2",
        "HEALTH_STALE_S" => "180",
        "PING_HOSTS" => "1.1.1.1,8.8.8.8",
        "UPDATE_GIT_REPOS" => "/opt/potion-runner/app",
        "UPDATE_PIP_VENV" => "/opt/potion-runner/venv",
        "UPDATE_PIP_REQUIREMENTS" => "/opt/potion-runner/requirements.txt",
        "POTION_FORCE_RUN" | "BACKUP_ALLOW_SAME_DISK" => "1",
        "BATTERY_LOW" => "25",
        "BATTERY_WEAR" => "40",
        "SMART_INTERVAL" => "60",
        "PROBE_URLS" => "ollama=http://127.0.0.1:11434/",
        "HEALTHCHECK_URL" | "BACKUP_HEALTHCHECK_URL" => "https://hc-ping.com/your-uuid",
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
