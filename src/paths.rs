//! Names of files, units and install paths that code and `ops/` share.
//!
//! A consistency test holds `ops/` to these constants, so a rename here
//! without the same rename there fails the build's tests.

/// Health report written by `potion-health` in `STATE_DIR`.
pub const LAST_HEALTH: &str = "last_health.json";
/// Counters and alert trackers `potion-health` keeps between runs, in `STATE_DIR`.
pub const HEALTH_STATE: &str = "health-state.json";
/// The last SMART check of each disk and its accepted baseline (`$STATE_DIR`).
pub const SMART_STATE: &str = "smart-state.json";
/// Root's latest `smartctl` answers (`potion-health smart`), in `STATE_DIR`.
pub const SMART_READINGS: &str = "smart-readings.json";
/// Compact sample history for charts, in `STATE_DIR`.
pub const HISTORY: &str = "history.bin";
/// Prometheus textfile, in `STATE_DIR`.
pub const PROM_FILE: &str = "potion.prom";
/// Outcome of the latest backup run, in `STATE_DIR`.
pub const LAST_BACKUP: &str = "last_backup.json";
/// Progress of a running backup, in `STATE_DIR`.
pub const BACKUP_PROGRESS: &str = "backup-progress.json";
/// Snapshot list for the bot, in `STATE_DIR`.
pub const BACKUP_INDEX: &str = "backups.json";
/// The bot's announced alerts, mutes and outbox, in `STATE_DIR`.
pub const BOT_STATE: &str = "bot-state.json";
/// Audit log, in `LOG_DIR`.
pub const ACTIONS_LOG: &str = "actions.log";

/// Install root of the binaries a person or a unit runs (`potion-bot`,
/// `potion-health`, `potion-backup`): the package manager's own place.
pub const BIN_DIR: &str = "/usr/bin";
/// Folder of the helper, which only the bot runs (through sudo), never a person.
pub const LIBEXEC_DIR: &str = "/usr/libexec/potion-runner";
/// The helper's installed path (the sudoers rule names exactly this).
pub const HELPER_PATH: &str = "/usr/libexec/potion-runner/potion-helper";
/// `potion-backup`'s installed path (the helper runs this one for `restore` under sudo).
pub const BACKUP_BIN_PATH: &str = "/usr/bin/potion-backup";
/// Where installs before 0.2 put all four binaries; install.sh and the
/// package remove them there on upgrade.
pub const OLD_BIN_DIR: &str = "/usr/local/bin";
/// Root-owned allowlist of units the helper may control (glob patterns, one a line).
pub const ALLOWED_UNITS_FILE: &str = "/etc/potion-runner/allowed-units";
/// The service user the bot runs as.
pub const SERVICE_USER: &str = "potion";

/// The bot's own unit (default `SELF_SERVICE`).
pub const BOT_UNIT: &str = "potion-runner.service";
pub const HEALTH_UNIT: &str = "potion-runner-health.service";
pub const HEALTH_TIMER: &str = "potion-runner-health.timer";
pub const BACKUP_UNIT: &str = "potion-runner-backup.service";
pub const BACKUP_TIMER: &str = "potion-runner-backup.timer";
pub const VERIFY_UNIT: &str = "potion-runner-verify.service";
/// The root-run SMART check (`potion-health smart`) and its timer.
pub const SMART_UNIT: &str = "potion-runner-smart.service";
pub const SMART_TIMER: &str = "potion-runner-smart.timer";
/// Drop-in the helper writes to move the backup time.
pub const BACKUP_TIMER_DROPIN: &str =
    "/etc/systemd/system/potion-runner-backup.timer.d/schedule.conf";
pub const VERIFY_TIMER: &str = "potion-runner-verify.timer";
/// Folder of the backup timer's drop-ins (the bot's sandbox may write here through the helper).
pub const BACKUP_TIMER_DROPIN_DIR: &str = "/etc/systemd/system/potion-runner-backup.timer.d";
/// Root-owned system settings (paths, sources, retention, `SELF_SERVICE`),
/// root:root 0644; the bot cannot write it.
pub const SYSTEM_ENV_PATH: &str = "/etc/potion-runner/system.env";
/// Root-only (0600) settings file of the backup unit (`EnvironmentFile=`):
/// the secret `BACKUP_HEALTHCHECK_URL`, which `system.env` may not hold.
pub const BACKUP_PING_ENV_PATH: &str = "/etc/potion-runner/backup-ping.env";
/// The last preferences that loaded clean, in `STATE_DIR` (0600, the
/// service user's): what a bad preference falls back to.
pub const LAST_GOOD_PREFS: &str = "last-good-prefs.env";
