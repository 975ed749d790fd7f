//! Every key the contract defines, and who may change it.
//!
//! A *system* setting is one a root process acts on (paths, sources,
//! excludes, mounts, retention, `SELF_SERVICE`): it lives only in the
//! root-owned `/etc/potion-runner/system.env`. A *preference* changes what
//! the service user's processes show or alert on (thresholds, `SERVICES`,
//! the token, …): it lives in `.env`, which the bot may rewrite.
//! `docs/contract.md` has the same table with the reasons.

/// Who may change a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Root-owned `system.env` only; ignored (with a warning) in `.env`.
    System,
    /// `.env`; the bot edits these.
    Preference,
}

/// Keys root acts on. Everything else in [`KEYS`] is a preference.
pub const SYSTEM_KEYS: [&[&str]; 2] = [MIGRATED_KEYS, LATER_SYSTEM_KEYS];

/// The system keys an old `.env` (from before `system.env`) may hold: the
/// first `system.env` takes them over.
pub const MIGRATED_KEYS: &[&str] = &[
    "APP_DIR",
    "STATE_DIR",
    "LOG_DIR",
    "DATA_MOUNT",
    "BACKUP_DIR",
    "BACKUP_SOURCES",
    "BACKUP_EXCLUDES",
    "BACKUP_KEEP_DAILY",
    "BACKUP_KEEP_WEEKLY",
    "BACKUP_KEEP_MONTHLY",
    "SELF_SERVICE",
];

/// System keys that came after the split into `.env` and `system.env`: an
/// `.env` never held them legitimately, so one found there was put there by
/// the bot's user and is dropped, never moved into root's file.
const LATER_SYSTEM_KEYS: &[&str] = &[
    // Lets root's backup write to the root disk.
    "BACKUP_ALLOW_SAME_DISK",
    // The root-run backup job GETs it: the bot's user must not aim root's requests.
    "BACKUP_HEALTHCHECK_URL",
    // How often root's SMART check runs smartctl on the disks.
    "SMART_INTERVAL",
    // Whether the helper may power the machine off.
    "POWER_ACTIONS",
];

/// System keys that hold a secret. `system.env` is readable by every user,
/// so they are never taken from it: root's unit hands them to the process
/// from a root-only file (`EnvironmentFile=` of [`crate::paths::BACKUP_PING_ENV_PATH`]).
pub const SECRET_KEYS: &[&str] = &["BACKUP_HEALTHCHECK_URL"];

/// Every key the contract defines. Environment variables with these names
/// override the files, except in a process run on someone else's behalf
/// (see `load::Privilege`).
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
    "QUIET_HOURS",
    "ALERT_CRITICAL",
    "ALERT_REMIND",
    "HEALTH_STALE_S",
    "PING_HOSTS",
    "UPDATE_GIT_REPOS",
    "UPDATE_PIP_VENV",
    "UPDATE_PIP_REQUIREMENTS",
    "DIGEST_TIME",
    "POTION_FORCE_RUN",
    "BATTERY_LOW",
    "BATTERY_WEAR",
    "SMART_INTERVAL",
    "PROBE_URLS",
    "HEALTHCHECK_URL",
    "BACKUP_HEALTHCHECK_URL",
    "BACKUP_ALLOW_SAME_DISK",
    "BATTERY_SHED",
    "BATTERY_SHUTDOWN",
    "POWER_SHED_UNITS",
    "POWER_ACTIONS",
];

/// The class of `key`; `None` for a key the contract does not define
/// (kept in `.env` untouched, never read).
pub fn class_of(key: &str) -> Option<Class> {
    if SYSTEM_KEYS.iter().any(|keys| keys.contains(&key)) {
        Some(Class::System)
    } else if KEYS.contains(&key) {
        Some(Class::Preference)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_system_key_is_a_contract_key_and_the_token_is_a_preference() {
        for k in SYSTEM_KEYS.concat() {
            assert!(KEYS.contains(&k), "{k}");
            assert_eq!(class_of(k), Some(Class::System));
        }
        for k in [
            "BOT_TOKEN",
            "ADMIN_IDS",
            "SERVICES",
            "THRESHOLD_CPU",
            "BACKUP_TIME",
        ] {
            assert_eq!(class_of(k), Some(Class::Preference), "{k}");
        }
        assert_eq!(class_of("MY_OWN_KEY"), None);
    }
}
