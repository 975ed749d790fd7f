//! `potion-helper`: the one privileged door. Validates a request, turns it
//! into a plan of commands and file writes (`plan`), carries it out (`exec`),
//! and logs every call with the sudo caller to the journal.
//!
//! It trusts nothing the caller controls: configuration comes only from
//! `/opt/potion-runner/.env` (never the environment; `--env` is refused under
//! sudo), the unit allowlist only from a root-owned file (`allowlist`), and
//! children run with a cleared environment and a fixed `PATH`. No shell, ever.

pub mod allowlist;
pub mod denylist;
pub mod exec;
pub mod plan;
pub mod policy;
pub mod setup;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::config::{self, Config};
use crate::paths;

pub use policy::{Policy, ReasonCode, Refusal, SvcAction};

/// Exit code: done.
pub const EXIT_OK: u8 = 0;
/// Exit code: refused or failed (reason on stderr).
pub const EXIT_REFUSED: u8 = 1;
/// Exit code: usage (and unreadable configuration).
pub const EXIT_USAGE: u8 = crate::cli::EXIT_USAGE;

/// What the caller asked for, as parsed from the command line (not yet validated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Svc {
        action: SvcAction,
        unit: String,
    },
    TimerSetBackup {
        time: String,
    },
    TimerShowBackup,
    BackupStart,
    VerifyStart,
    AptUpdate,
    AptUpgrade,
    /// Restore PATH from snapshot ID into `BACKUP_DIR/restored/ID/`.
    Restore {
        id: String,
        path: String,
    },
    /// Power the machine off (the last step of the staged battery response).
    PowerOff,
}

impl Request {
    /// The request as words, for the journal.
    pub fn describe(&self) -> String {
        match self {
            Request::Svc { action, unit } => format!("svc {} {unit:?}", action.verb()),
            Request::TimerSetBackup { time } => format!("timer set backup {time:?}"),
            Request::TimerShowBackup => "timer show backup".into(),
            Request::BackupStart => "backup start".into(),
            Request::VerifyStart => "verify start".into(),
            Request::AptUpdate => "apt update".into(),
            Request::AptUpgrade => "apt upgrade".into(),
            Request::Restore { id, path } => format!("restore {id:?} {path:?}"),
            Request::PowerOff => "power off".into(),
        }
    }
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done; the text goes to stdout.
    Ok(String),
    /// Not allowed or not valid; nothing was done.
    Refused(Refusal),
    /// Allowed, but a step failed.
    Failed(String),
}

impl Outcome {
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::Ok(_) => EXIT_OK,
            Outcome::Refused(_) | Outcome::Failed(_) => EXIT_REFUSED,
        }
    }

    /// One word or phrase for the journal line.
    pub fn summary(&self) -> String {
        match self {
            Outcome::Ok(_) => "ok".into(),
            Outcome::Refused(why) => format!("refused ({}): {why}", why.code.as_str()),
            Outcome::Failed(why) => format!("failed: {why}"),
        }
    }
}

/// Who is calling: the sudo user (if any) and the process's user ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub sudo_user: Option<String>,
    pub uid: u32,
    pub euid: u32,
}

impl Caller {
    /// Reads the caller from this process. `SUDO_USER` is set by sudo itself,
    /// so under sudo the caller cannot forge it; it is used for logs and to
    /// notice that we run on someone else's behalf.
    pub fn current() -> Caller {
        // SAFETY: getuid and geteuid have no preconditions and cannot fail.
        let (uid, euid) = unsafe { (libc::getuid(), libc::geteuid()) };
        Caller {
            sudo_user: std::env::var("SUDO_USER").ok().filter(|s| !s.is_empty()),
            uid,
            euid,
        }
    }

    /// True when the helper runs with privileges on someone else's behalf.
    pub fn is_delegated(&self) -> bool {
        self.sudo_user.is_some() || (self.euid == 0 && self.uid != 0)
    }

    pub fn name(&self) -> String {
        self.sudo_user
            .clone()
            .unwrap_or_else(|| format!("uid {}", self.uid))
    }
}

/// Decides whether `--env FILE` or `--system-env FILE` may be honoured.
/// Under sudo they are refused: the caller could point the helper at a file
/// of their own and, for example, name another unit as `SELF_SERVICE` or
/// make root parse a file the caller may not read.
pub fn check_env_flag(caller: &Caller, env_flag: Option<&Path>) -> Result<(), Refusal> {
    match env_flag {
        Some(p) if caller.is_delegated() => Err(Refusal::new(
            ReasonCode::FlagUnderSudo,
            format!(
                "{} is not accepted under sudo; the helper reads only {} and {}",
                p.display(),
                paths::SYSTEM_ENV_PATH,
                config::DEFAULT_ENV_PATH
            ),
        )),
        _ => Ok(()),
    }
}

/// Loads the configuration the helper needs: system settings from
/// `system.env` (root's alone, checked folder by folder through handles;
/// `system_flag` only outside sudo), preferences from `env_flag` or the
/// default `.env`, never the process environment.
pub fn load_config(
    env_flag: Option<&Path>,
    system_flag: Option<&Path>,
) -> Result<Config, config::ConfigError> {
    config::load(&config::LoadOptions {
        env_file: env_flag.map(Path::to_path_buf),
        system_file: system_flag.map(Path::to_path_buf),
        ignore_process_env: true,
        privilege: config::Privilege::current(),
        write_last_good: false,
    })
}

/// The policy for this machine: the allowlist file plus the configured `SELF_SERVICE`.
pub fn machine_policy(cfg: &Config) -> Policy {
    Policy::new(
        allowlist::load(Path::new(paths::ALLOWED_UNITS_FILE)),
        &cfg.self_service,
    )
}

/// What the machine looks like for `req` (see [`plan::Facts`]); reads
/// `BACKUP_DIR` only for a restore. `potion-backup` is the installed one
/// under sudo, else the one beside this binary (a root shell or the tests
/// running a build; the caller is then not gaining anything).
pub fn facts(cfg: &Config, caller: &Caller, req: &Request) -> plan::Facts {
    if let Request::Svc { unit, .. } = req {
        // Only a name that passed validation is handed to systemctl.
        let unit = crate::validate::service_name(unit).ok();
        return plan::Facts {
            unit: unit.as_deref().and_then(unit_facts),
            ..plan::Facts::default()
        };
    }
    if let Request::PowerOff = req {
        return plan::Facts {
            power_actions: cfg.power_actions,
            ..power_facts()
        };
    }
    if !matches!(req, Request::Restore { .. }) {
        return plan::Facts::default();
    }
    let layout = crate::backup::manifest::Layout::new(&cfg.backup_dir);
    let installed = PathBuf::from(paths::BACKUP_BIN_PATH);
    let backup_bin = if caller.is_delegated() {
        installed
    } else {
        std::env::current_exe()
            .ok()
            .and_then(|e| Some(e.parent()?.join("potion-backup")))
            .filter(|p| p.is_file())
            .unwrap_or(installed)
    };
    let snapshots = layout.complete_ids().map_err(|e| format!("{e:#}"));
    let problem = if caller.is_delegated() {
        backup_dir_problem(&cfg.backup_dir)
    } else {
        None
    };
    plan::Facts {
        backup_dir_problem: problem.or_else(|| snapshots.as_ref().err().cloned()),
        snapshots: snapshots.unwrap_or_default(),
        backup_bin: backup_bin.display().to_string(),
        backup_dir: cfg.backup_dir.display().to_string(),
        systemd: Path::new("/run/systemd/system").is_dir(),
        ..plan::Facts::default()
    }
}

/// Mains and battery as `/sys/class/power_supply` says, read as the health
/// job reads it but stricter: a mains supply that does not say whether it
/// is online makes mains unknown.
fn power_facts() -> plan::Facts {
    let Ok(Some(supplies)) = crate::health::power::read(&crate::health::Roots::system()) else {
        return plan::Facts::default();
    };
    let silent_mains = supplies
        .iter()
        .any(|s| matches!(s.kind.as_str(), "Mains" | "USB") && s.online.is_none());
    let info = crate::health::power::info(&supplies, None, chrono::Utc::now());
    let discharging_percent = info
        .batteries
        .iter()
        .filter(|b| b.status == "Discharging")
        .filter_map(|b| b.percent)
        .reduce(f64::min);
    plan::Facts {
        ac_online: if silent_mains { None } else { info.ac_online },
        discharging_percent,
        ..plan::Facts::default()
    }
}

/// Asks systemd what `unit` is (real name, aliases, load state, terminal,
/// what systemd does when it ends);
/// `None` when systemctl cannot answer, which refuses the request.
fn unit_facts(unit: &str) -> Option<policy::UnitFacts> {
    let out = crate::process::Cmd::new(plan::SYSTEMCTL)
        .args(["show", "-p", policy::SHOW_PROPERTIES, "--", unit])
        .env_clear()
        .env("PATH", plan::CHILD_PATH)
        .env("LC_ALL", "C.UTF-8")
        .timeout(std::time::Duration::from_secs(30))
        .run()
        .ok()?;
    out.success()
        .then(|| policy::UnitFacts::parse(&out.stdout_lossy()))
}

pub use crate::config::root_only;

/// `BACKUP_DIR` is a system setting, but a restore writes under it as
/// root on the bot's behalf, so it (with `restored/`, when there)
/// must be a real folder that only root can change, and so must every
/// folder above it. Otherwise the caller could point root's writes
/// anywhere through a symlink.
pub fn backup_dir_problem(backup_dir: &Path) -> Option<String> {
    let restored = backup_dir.join("restored");
    let leaves = [backup_dir, restored.as_path()];
    for (i, dir) in leaves.iter().enumerate() {
        let m = match dir.symlink_metadata() {
            Ok(m) => m,
            Err(_) if i > 0 => continue,
            Err(e) => return Some(format!("BACKUP_DIR {}: {e}", dir.display())),
        };
        if !m.file_type().is_dir() || !root_only(m.uid(), m.mode(), true) {
            return Some(format!(
                "{} must be a folder owned by root and writable only by root; fix its owner and mode (chown root: / chmod go-w)",
                dir.display()
            ));
        }
    }
    for dir in backup_dir.ancestors().skip(1) {
        let Ok(m) = dir.symlink_metadata() else {
            return Some(format!("{} cannot be read", dir.display()));
        };
        if !root_only(m.uid(), m.mode(), false) {
            return Some(format!(
                "{} (above BACKUP_DIR) can be changed by someone other than root; fix its owner and mode",
                dir.display()
            ));
        }
    }
    None
}

/// Validates, plans and carries out one request.
pub fn handle(req: &Request, policy: &Policy, facts: &plan::Facts) -> Outcome {
    let steps = match plan::plan(req, policy, facts) {
        Ok(s) => s,
        Err(why) => return Outcome::Refused(why),
    };
    match exec::execute(&steps) {
        Ok(out) => Outcome::Ok(out),
        Err(why) => Outcome::Failed(why.to_string()),
    }
}

/// Sends the helper's log records to the journal under the identifier
/// `potion-helper`, with `SUDO_USER` as a field, redacted like every log
/// line (children's output is logged too). sudo scrubs
/// `$JOURNAL_STREAM`, so the socket is used directly when it exists;
/// elsewhere (tests, containers) records go to stderr.
pub fn init_logging(caller: &Caller) {
    const SOCKET: &str = "/run/systemd/journal/socket";
    log::set_max_level(log::LevelFilter::Info);
    if Path::new(SOCKET).exists()
        && let Ok(j) = systemd_journal_logger::JournalLog::new()
        && crate::logging::install_redacted(
            j.with_syslog_identifier("potion-helper".to_string())
                .with_extra_fields(vec![("SUDO_USER", caller.name())]),
        )
        .is_ok()
    {
        return;
    }
    crate::logging::init("potion-helper");
}

/// Logs one finished call: who, what, and how it ended.
pub fn log_call(caller: &Caller, what: &str, outcome: &Outcome) {
    let line = format!("call by {}: {what}: {}", caller.name(), outcome.summary());
    match outcome {
        Outcome::Ok(_) => log::info!("{line}"),
        _ => log::warn!("{line}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(sudo_user: Option<&str>, uid: u32, euid: u32) -> Caller {
        Caller {
            sudo_user: sudo_user.map(str::to_string),
            uid,
            euid,
        }
    }

    #[test]
    fn env_flag_is_refused_on_someone_elses_behalf() {
        let p = Path::new("/tmp/mine.env");
        assert!(check_env_flag(&caller(Some("potion"), 0, 0), Some(p)).is_err());
        assert!(check_env_flag(&caller(None, 1000, 0), Some(p)).is_err());
        assert!(check_env_flag(&caller(None, 0, 0), Some(p)).is_ok());
        assert!(check_env_flag(&caller(None, 1000, 1000), Some(p)).is_ok());
        assert!(check_env_flag(&caller(Some("potion"), 0, 0), None).is_ok());
    }

    #[test]
    fn system_settings_come_only_from_the_system_file() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join("a.env");
        let system = dir.path().join("system.env");
        std::fs::write(&env, "SELF_SERVICE=evil\nBACKUP_DIR=/var/lib/evil\n").unwrap();
        std::fs::write(&system, "SELF_SERVICE=my-bot\n").unwrap();
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            // As a user the system file is read as it is.
            let cfg = load_config(Some(&env), Some(&system)).unwrap();
            assert_eq!(cfg.self_service, "my-bot.service");
            return;
        }
        let cfg = load_config(Some(&env), Some(&system)).unwrap();
        assert_eq!(cfg.self_service, "my-bot.service");
        assert_eq!(cfg.backup_dir, Config::defaults().backup_dir);
        let ignored: Vec<&str> = cfg.ignored.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(ignored, ["SELF_SERVICE", "BACKUP_DIR"]);
        // As root a system file another user could write is refused.
        std::os::unix::fs::chown(&system, Some(1000), None).unwrap();
        let err = load_config(Some(&env), Some(&system)).unwrap_err();
        assert!(
            matches!(&err.problems[0].kind, config::ProblemKind::File(
                config::FileProblem::Untrusted { at, uid: 1000, .. }) if *at == system),
            "{err}"
        );
        std::os::unix::fs::chown(&system, Some(0), None).unwrap();
        std::fs::write(dir.path().join("bad.env"), "SELF_SERVICE=a b\n").unwrap();
        let err = load_config(None, Some(&dir.path().join("bad.env"))).unwrap_err();
        assert!(err.names("SELF_SERVICE"), "{err}");
    }

    #[test]
    fn only_root_controlled_folders_take_root_writes() {
        let dir = tempfile::tempdir().unwrap();
        let b = dir.path().join("backups");
        assert!(backup_dir_problem(&b).is_some(), "missing");
        std::fs::create_dir(&b).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&b, &link).unwrap();
        assert!(backup_dir_problem(&link).is_some(), "a symlink");
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            assert_eq!(backup_dir_problem(&b), None);
            std::fs::create_dir(b.join("restored")).unwrap();
            assert_eq!(backup_dir_problem(&b), None);
            std::fs::set_permissions(
                b.join("restored"),
                std::os::unix::fs::PermissionsExt::from_mode(0o777),
            )
            .unwrap();
            assert!(
                backup_dir_problem(&b).is_some(),
                "restored/ writable by all"
            );
        } else {
            assert!(backup_dir_problem(&b).is_some(), "owned by the test user");
        }
    }

    #[test]
    fn outcomes_map_to_exit_codes() {
        assert_eq!(Outcome::Ok(String::new()).exit_code(), 0);
        let refusal = Refusal::new(ReasonCode::BadRequest, "x");
        assert_eq!(Outcome::Refused(refusal).exit_code(), 1);
        assert_eq!(Outcome::Failed("x".into()).exit_code(), 1);
    }

    #[test]
    fn refusals_do_nothing() {
        let policy = Policy::new(allowlist::Source::DenylistOnly, paths::BOT_UNIT);
        let out = handle(
            &Request::Svc {
                action: SvcAction::Restart,
                unit: "x;reboot".into(),
            },
            &policy,
            &plan::Facts::default(),
        );
        assert!(matches!(out, Outcome::Refused(_)), "{out:?}");
    }
}
