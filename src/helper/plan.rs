//! What the helper will do for a request, as plain values: the commands it
//! runs (argument vectors, never shell lines), the files it writes, and how
//! their output is reported. Pure, so every request's plan is tested without
//! root, systemd or apt; `exec` carries a plan out.

use std::time::Duration;

use crate::config::POWER_OFF_MAX_PERCENT;
use crate::paths;
use crate::validate::HhMm;

use super::Request;
use super::policy::{Policy, ReasonCode, Refusal, UnitFacts};

pub const SYSTEMCTL: &str = "/usr/bin/systemctl";
pub const SYSTEMD_RUN: &str = "/usr/bin/systemd-run";
pub const APT_GET: &str = "/usr/bin/apt-get";
pub const APT: &str = "/usr/bin/apt";
/// How long a restore may run (a whole folder of a big snapshot included).
pub const RESTORE_TIMEOUT_S: u64 = 60 * 60;
/// Present when an upgrade needs a reboot (Debian's update-notifier convention).
pub const REBOOT_REQUIRED: &str = "/run/reboot-required";
/// The only PATH children see; everything else in their environment is cleared.
pub const CHILD_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";

/// How to report a step's standard output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    /// Keep it out of the answer (it is logged on failure).
    Nothing,
    /// Print it as it is.
    Stdout,
    /// Print only package lines of `apt list --upgradable`.
    Upgradable,
    /// Turn `systemctl show` of the backup timer into `time:`/`next:` lines.
    TimerInfo,
    /// Turn `potion-backup restore --json` into `restored-to:`/`files:`/`bytes:`/`verified:` lines.
    Restored,
}

/// What the helper found on the machine for a request that needs it
/// (`svc` and `restore`): gathered by `mod.rs` before planning, so `plan`
/// stays pure.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    /// Complete snapshot ids under `BACKUP_DIR/snapshots` (with a manifest).
    pub snapshots: Vec<String>,
    /// The `potion-backup` to run (absolute).
    pub backup_bin: String,
    /// `BACKUP_DIR` as the helper read and checked it; handed to
    /// `potion-backup` in its environment (with `--env /dev/null`), so a
    /// `.env` swapped after the check cannot move the restore elsewhere.
    pub backup_dir: String,
    /// systemd is PID 1 (`/run/systemd/system` exists): run through `systemd-run`.
    pub systemd: bool,
    /// Why `BACKUP_DIR` may not be written as root on the caller's behalf
    /// (see `mod.rs`'s `backup_dir_problem`); `None` when it may.
    pub backup_dir_problem: Option<String>,
    /// What systemd says about the unit of an `svc` request (`None`: it
    /// could not be asked, and the request is refused).
    pub unit: Option<UnitFacts>,
    /// `POWER_ACTIONS=1` in root's `system.env` (for `power off`).
    pub power_actions: bool,
    /// Mains power online, as `/sys/class/power_supply` says (for `power off`);
    /// `None` when any mains supply does not say.
    pub ac_online: Option<bool>,
    /// The lowest charge of a system battery that is discharging (for `power off`).
    pub discharging_percent: Option<f64>,
}

/// One command to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub argv: Vec<String>,
    /// Extra environment on top of `PATH` and `LC_ALL` (everything else is cleared).
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    pub show: Show,
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Run(Call),
    /// Write `text` to `path` atomically (mode 0644), creating its folder.
    Write {
        path: String,
        text: String,
    },
    /// Print `reboot-required: yes|no`.
    RebootRequired,
}

fn call(argv: &[&str], timeout_s: u64, show: Show) -> Step {
    Step::Run(Call {
        argv: argv.iter().map(|s| s.to_string()).collect(),
        env: Vec::new(),
        timeout: Duration::from_secs(timeout_s),
        show,
    })
}

/// The drop-in that moves the backup timer to `t`. The empty `OnCalendar=`
/// clears the unit file's own schedule instead of adding a second one.
pub fn dropin_text(t: HhMm) -> String {
    format!(
        "# Written by potion-helper (/set_backup); the bot keeps BACKUP_TIME in .env in step.\n[Timer]\nOnCalendar=\nOnCalendar=*-*-* {t}:00\n"
    )
}

fn timer_show() -> Step {
    call(
        &[
            SYSTEMCTL,
            "show",
            "-p",
            "TimersCalendar",
            "-p",
            "NextElapseUSecRealtime",
            paths::BACKUP_TIMER,
        ],
        30,
        Show::TimerInfo,
    )
}

/// Apt runs as a transient unit of its own: the bot's sandbox
/// (`ProtectSystem=strict`) is inherited through sudo, and apt must write
/// `/usr`, `/etc` and `/var`. A unit started by PID 1 starts outside it.
fn apt_unit(args: &[&str], timeout_s: u64, show: Show) -> Step {
    let mut argv = vec![
        SYSTEMD_RUN,
        "--wait",
        "--pipe",
        "--quiet",
        "--collect",
        "--service-type=exec",
        "--setenv=DEBIAN_FRONTEND=noninteractive",
        "--setenv=APT_LISTCHANGES_FRONTEND=none",
        "-p",
        "Description=potion-runner apt run",
        "--",
        APT_GET,
    ];
    argv.extend_from_slice(args);
    call(&argv, timeout_s, show)
}

/// `potion-backup restore` of a validated id and path, into the staging
/// folder (`BACKUP_DIR/restored/<ID>/…`) only: never `--to`, never
/// `--overwrite`, and `--` before the chat's values. Under systemd it runs as
/// a transient unit, because the bot's `ProtectSystem=strict` sandbox is
/// inherited through sudo and `BACKUP_DIR` is read-only inside it; the unit
/// has a runtime limit of its own, so it ends even if the helper is killed.
fn restore_plan(id: &str, path: &str, facts: &Facts) -> Result<Vec<Step>, Refusal> {
    let id = crate::validate::snapshot_id(id)?;
    let path = crate::validate::restore_path(path)?;
    if !facts.snapshots.contains(&id) {
        return Err(Refusal::new(
            ReasonCode::NoSuchSnapshot,
            format!("there is no snapshot {id}; see /backup_list or potion-backup list"),
        ));
    }
    if let Some(why) = &facts.backup_dir_problem {
        return Err(Refusal::new(ReasonCode::BackupDirUntrusted, why.clone()));
    }
    for p in [&facts.backup_bin, &facts.backup_dir] {
        if !p.starts_with('/') {
            return Err(Refusal::new(
                ReasonCode::BadRequest,
                format!("{p:?} is not an absolute path"),
            ));
        }
    }
    let max = format!("RuntimeMaxSec={RESTORE_TIMEOUT_S}");
    let setenv = format!("--setenv=BACKUP_DIR={}", facts.backup_dir);
    let mut argv: Vec<&str> = Vec::new();
    if facts.systemd {
        argv.extend([
            SYSTEMD_RUN,
            "--wait",
            "--pipe",
            "--quiet",
            "--collect",
            "--service-type=exec",
            "-p",
            "Description=potion-runner restore",
            "-p",
            &max,
            &setenv,
            "--",
        ]);
    }
    argv.extend([
        facts.backup_bin.as_str(),
        "--env",
        "/dev/null",
        "restore",
        "--json",
        "--",
        &id,
        &path,
    ]);
    let env = if facts.systemd {
        Vec::new()
    } else {
        vec![("BACKUP_DIR".to_string(), facts.backup_dir.clone())]
    };
    Ok(vec![Step::Run(Call {
        argv: argv.iter().map(|s| s.to_string()).collect(),
        env,
        // A little longer than the unit's own limit, so systemd ends it first.
        timeout: Duration::from_secs(RESTORE_TIMEOUT_S + 60),
        show: Show::Restored,
    })])
}

/// `potion-backup restore --json` output → the lines the helper prints;
/// `None` when the output holds no result.
pub fn restored_lines(stdout: &str) -> Option<String> {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))?;
    let r: crate::files::backup::RestoreResult = serde_json::from_str(line).ok()?;
    Some(format!(
        "restored-to: {}\nfiles: {}\nbytes: {}\nverified: {}\n",
        r.dest,
        r.files,
        r.bytes,
        if r.verified { "yes" } else { "no" }
    ))
}

/// The steps for an already validated request.
pub fn plan(req: &Request, policy: &Policy, facts: &Facts) -> Result<Vec<Step>, Refusal> {
    Ok(match req {
        Request::Svc { action, unit } => {
            let unit = policy.check(*action, unit)?;
            let found = facts.unit.as_ref().ok_or_else(|| {
                Refusal::new(
                    ReasonCode::UnitUnknown,
                    format!("systemd could not be asked about {unit}"),
                )
            })?;
            policy.check_unit(*action, &unit, found)?;
            // Restarting the bot's own unit kills the bot's cgroup, this helper
            // and its systemctl included: queue the job instead of waiting for it.
            let mut argv = vec![SYSTEMCTL, action.verb(), "--no-ask-password"];
            if policy.never_stop.contains(&unit) {
                argv.push("--no-block");
            }
            argv.extend(["--", &unit]);
            vec![call(&argv, 180, Show::Stdout)]
        }
        Request::TimerSetBackup { time } => {
            let t = crate::validate::hhmm(time)?;
            vec![
                Step::Write {
                    path: paths::BACKUP_TIMER_DROPIN.to_string(),
                    text: dropin_text(t),
                },
                call(&[SYSTEMCTL, "daemon-reload"], 120, Show::Nothing),
                call(
                    &[
                        SYSTEMCTL,
                        "restart",
                        "--no-ask-password",
                        paths::BACKUP_TIMER,
                    ],
                    60,
                    Show::Nothing,
                ),
                timer_show(),
            ]
        }
        Request::TimerShowBackup => vec![timer_show()],
        Request::BackupStart => vec![start_no_block(paths::BACKUP_UNIT)],
        Request::VerifyStart => vec![start_no_block(paths::VERIFY_UNIT)],
        Request::AptUpdate => vec![
            apt_unit(&["-q", "update"], 15 * 60, Show::Nothing),
            call(&[APT, "list", "--upgradable"], 120, Show::Upgradable),
            Step::RebootRequired,
        ],
        Request::AptUpgrade => vec![
            apt_unit(
                &[
                    "-y",
                    "-q",
                    "-o",
                    "Dpkg::Options::=--force-confdef",
                    "-o",
                    "Dpkg::Options::=--force-confold",
                    "upgrade",
                ],
                2 * 60 * 60,
                Show::Stdout,
            ),
            Step::RebootRequired,
        ],
        Request::Restore { id, path } => restore_plan(id, path, facts)?,
        Request::PowerOff => power_off_plan(facts)?,
    })
}

/// `power off`: only when root's `system.env` allows it, and only while the
/// machine runs on a battery that is discharging at or below
/// [`POWER_OFF_MAX_PERCENT`] (root's fixed limit), so whoever holds the bot's user cannot switch
/// off a machine on mains, or on a full battery during a short blip. systemd powers off after the helper has
/// answered (`--no-block`).
fn power_off_plan(facts: &Facts) -> Result<Vec<Step>, Refusal> {
    if !facts.power_actions {
        return Err(Refusal::new(
            ReasonCode::PowerActionsOff,
            format!(
                "power actions are off; root allows them with POWER_ACTIONS=1 in {}",
                paths::SYSTEM_ENV_PATH
            ),
        ));
    }
    if facts.ac_online != Some(false) {
        return Err(Refusal::new(
            ReasonCode::NotOnBattery,
            "the machine is not running on its battery (mains is online or unknown)",
        ));
    }
    if !facts
        .discharging_percent
        .is_some_and(|p| p <= POWER_OFF_MAX_PERCENT)
    {
        return Err(Refusal::new(
            ReasonCode::BatteryNotLow,
            format!("no system battery is discharging at or below {POWER_OFF_MAX_PERCENT} %"),
        ));
    }
    Ok(vec![call(
        &[SYSTEMCTL, "poweroff", "--no-block", "--no-ask-password"],
        60,
        Show::Nothing,
    )])
}

fn start_no_block(unit: &str) -> Step {
    call(
        &[SYSTEMCTL, "start", "--no-block", "--no-ask-password", unit],
        60,
        Show::Nothing,
    )
}

/// Package lines of `apt list --upgradable` (drops the `Listing...` header).
pub fn upgradable_lines(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && l.contains('/') && !l.starts_with("Listing"))
        .map(str::to_string)
        .collect()
}

/// Turns `systemctl show -p TimersCalendar -p NextElapseUSecRealtime` output
/// into `time: HH:MM` and `next: <when>` lines the bot can show as they are.
pub fn timer_info(show_output: &str) -> String {
    let mut time = None;
    let mut next = None;
    for line in show_output.lines() {
        if let Some(v) = line.strip_prefix("TimersCalendar=") {
            time = calendar_time(v);
        } else if let Some(v) = line.strip_prefix("NextElapseUSecRealtime=") {
            next = Some(v.trim().to_string()).filter(|s| !s.is_empty());
        }
    }
    format!(
        "time: {}\nnext: {}\n",
        time.unwrap_or_else(|| "unknown".into()),
        next.unwrap_or_else(|| "not scheduled".into())
    )
}

/// `{ OnCalendar=*-*-* 03:15:00 ; next_elapse=… }` → `03:15`.
fn calendar_time(v: &str) -> Option<String> {
    let spec = v.split("OnCalendar=").nth(1)?.split(';').next()?.trim();
    let clock = spec.split_whitespace().last()?;
    let mut parts = clock.split(':');
    let (h, m) = (parts.next()?, parts.next()?);
    let t = crate::validate::hhmm(&format!("{h}:{m}")).ok()?;
    Some(t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::helper::allowlist::Source;
    use crate::helper::policy::SvcAction;

    fn policy() -> Policy {
        Policy::new(Source::DenylistOnly, paths::BOT_UNIT)
    }

    /// Facts for an `svc` request on a loaded unit of that name.
    fn unit(name: &str) -> Facts {
        Facts {
            unit: Some(UnitFacts {
                id: name.into(),
                names: vec![name.into()],
                load_state: "loaded".into(),
                standard_input: "null".into(),
                actions: super::super::policy::ACTION_PROPERTIES
                    .iter()
                    .map(|k| (k.to_string(), "none".into()))
                    .collect(),
                triggers: vec![],
            }),
            ..Facts::default()
        }
    }

    fn argv(step: &Step) -> Vec<&str> {
        match step {
            Step::Run(c) => c.argv.iter().map(String::as_str).collect(),
            other => panic!("not a command: {other:?}"),
        }
    }

    #[test]
    fn svc_runs_systemctl_on_the_normalised_unit() {
        let req = Request::Svc {
            action: SvcAction::Restart,
            unit: "ollama".into(),
        };
        let steps = plan(&req, &policy(), &unit("ollama.service")).unwrap();
        assert_eq!(steps.len(), 1);
        assert_eq!(
            argv(&steps[0]),
            [
                SYSTEMCTL,
                "restart",
                "--no-ask-password",
                "--",
                "ollama.service"
            ]
        );
    }

    #[test]
    fn restarting_the_bot_itself_does_not_wait() {
        let req = Request::Svc {
            action: SvcAction::Restart,
            unit: paths::BOT_UNIT.into(),
        };
        let steps = plan(&req, &policy(), &unit(paths::BOT_UNIT)).unwrap();
        assert_eq!(
            argv(&steps[0]),
            [
                SYSTEMCTL,
                "restart",
                "--no-ask-password",
                "--no-block",
                "--",
                paths::BOT_UNIT
            ]
        );
    }

    #[test]
    fn svc_refusal_plans_nothing() {
        for name in ["ssh", "a;reboot", "$(id)"] {
            let req = Request::Svc {
                action: SvcAction::Start,
                unit: name.into(),
            };
            assert!(
                plan(&req, &policy(), &unit("ssh.service")).is_err(),
                "{name}"
            );
        }
        let stop_self = Request::Svc {
            action: SvcAction::Stop,
            unit: paths::BOT_UNIT.into(),
        };
        let err = plan(&stop_self, &policy(), &unit(paths::BOT_UNIT)).unwrap_err();
        assert_eq!(err.code, ReasonCode::SelfStop);
    }

    #[test]
    fn timer_set_writes_the_dropin_then_reloads_restarts_and_shows() {
        let req = Request::TimerSetBackup {
            time: "3.15".into(),
        };
        let steps = plan(&req, &policy(), &Facts::default()).unwrap();
        assert_eq!(
            steps[0],
            Step::Write {
                path: paths::BACKUP_TIMER_DROPIN.into(),
                text: dropin_text(HhMm {
                    hour: 3,
                    minute: 15
                }),
            }
        );
        assert_eq!(argv(&steps[1]), [SYSTEMCTL, "daemon-reload"]);
        assert_eq!(
            argv(&steps[2]),
            [
                SYSTEMCTL,
                "restart",
                "--no-ask-password",
                paths::BACKUP_TIMER
            ]
        );
        assert!(argv(&steps[3]).contains(&"NextElapseUSecRealtime"));
        let text = dropin_text(HhMm {
            hour: 3,
            minute: 15,
        });
        assert!(text.contains("[Timer]\nOnCalendar=\nOnCalendar=*-*-* 03:15:00\n"));
    }

    #[test]
    fn bad_times_are_refused() {
        for t in ["25:99", "3", "03:15; reboot", ""] {
            let req = Request::TimerSetBackup { time: t.into() };
            assert!(plan(&req, &policy(), &Facts::default()).is_err(), "{t:?}");
        }
    }

    #[test]
    fn backup_and_verify_start_without_waiting() {
        let steps = plan(&Request::BackupStart, &policy(), &Facts::default()).unwrap();
        assert_eq!(
            argv(&steps[0]),
            [
                SYSTEMCTL,
                "start",
                "--no-block",
                "--no-ask-password",
                paths::BACKUP_UNIT
            ]
        );
        let steps = plan(&Request::VerifyStart, &policy(), &Facts::default()).unwrap();
        assert_eq!(argv(&steps[0]).last(), Some(&paths::VERIFY_UNIT));
    }

    #[test]
    fn apt_runs_outside_the_sandbox_noninteractive() {
        let steps = plan(&Request::AptUpgrade, &policy(), &Facts::default()).unwrap();
        let a = argv(&steps[0]);
        assert_eq!(a[0], SYSTEMD_RUN);
        assert!(a.contains(&"--wait") && a.contains(&"--pipe"));
        assert!(a.contains(&"--setenv=DEBIAN_FRONTEND=noninteractive"));
        let tail = &a[a.iter().position(|x| *x == "--").unwrap() + 1..];
        assert_eq!(tail[0], APT_GET);
        assert!(tail.contains(&"-y") && tail.ends_with(&["upgrade"]));
        assert_eq!(steps.last(), Some(&Step::RebootRequired));
        let steps = plan(&Request::AptUpdate, &policy(), &Facts::default()).unwrap();
        assert!(argv(&steps[0]).ends_with(&[APT_GET, "-q", "update"]));
        assert_eq!(argv(&steps[1]), [APT, "list", "--upgradable"]);
    }

    #[test]
    fn power_off_needs_roots_consent_and_the_battery() {
        let code = |facts: &Facts| plan(&Request::PowerOff, &policy(), facts).map_err(|r| r.code);
        // The defaults: not allowed.
        assert_eq!(code(&Facts::default()), Err(ReasonCode::PowerActionsOff));
        for ac_online in [Some(true), None] {
            let facts = Facts {
                power_actions: true,
                ac_online,
                ..Facts::default()
            };
            assert_eq!(code(&facts), Err(ReasonCode::NotOnBattery), "{ac_online:?}");
        }
        let on_battery = Facts {
            power_actions: true,
            ac_online: Some(false),
            discharging_percent: Some(POWER_OFF_MAX_PERCENT),
            ..Facts::default()
        };
        // A blip of the mains with the battery still well charged, or no
        // battery seen discharging: refused.
        for discharging_percent in [Some(POWER_OFF_MAX_PERCENT + 1.0), Some(99.0), None] {
            let facts = Facts {
                discharging_percent,
                ..on_battery.clone()
            };
            assert_eq!(code(&facts), Err(ReasonCode::BatteryNotLow));
        }
        let steps = code(&on_battery).unwrap();
        assert_eq!(steps.len(), 1);
        assert_eq!(
            argv(&steps[0]),
            [SYSTEMCTL, "poweroff", "--no-block", "--no-ask-password"]
        );
        // Allowed by root but on mains: the battery check is not skipped.
        let mains = Facts {
            ac_online: Some(true),
            ..on_battery
        };
        assert!(code(&mains).is_err());
    }

    #[test]
    fn upgradable_lines_drop_the_header() {
        let out = "Listing... Done\nbash/stable 5.2.15-2+b8 amd64 [upgradable from: 5.2.15-2+b7]\n\nsudo/stable-security 1.9.13p3-1+deb12u2 amd64 [upgradable from: 1.9.13p3-1+deb12u1]\n";
        assert_eq!(
            upgradable_lines(out),
            [
                "bash/stable 5.2.15-2+b8 amd64 [upgradable from: 5.2.15-2+b7]",
                "sudo/stable-security 1.9.13p3-1+deb12u2 amd64 [upgradable from: 1.9.13p3-1+deb12u1]"
            ]
        );
        assert!(upgradable_lines("Listing... Done\n").is_empty());
    }

    #[test]
    fn timer_info_reads_systemctl_show() {
        let out = "TimersCalendar={ OnCalendar=*-*-* 03:15:00 ; next_elapse=Fri 2026-11-27 03:15:00 UTC }\nNextElapseUSecRealtime=Fri 2026-11-27 03:15:00 UTC\n";
        assert_eq!(
            timer_info(out),
            "time: 03:15\nnext: Fri 2026-11-27 03:15:00 UTC\n"
        );
        assert_eq!(
            timer_info("TimersCalendar=\nNextElapseUSecRealtime=\n"),
            "time: unknown\nnext: not scheduled\n"
        );
    }
    fn facts(systemd: bool) -> Facts {
        Facts {
            snapshots: vec!["20260314T031500Z".into(), "20260315T031500Z".into()],
            backup_bin: paths::BACKUP_BIN_PATH.into(),
            backup_dir: "/mnt/d/backups".into(),
            systemd,
            ..Facts::default()
        }
    }

    fn restore(id: &str, path: &str) -> Request {
        Request::Restore {
            id: id.into(),
            path: path.into(),
        }
    }

    #[test]
    fn restore_runs_potion_backup_into_staging_outside_the_sandbox() {
        let steps = plan(
            &restore("20260314T031500Z", "/opt/app/.env"),
            &policy(),
            &facts(true),
        )
        .unwrap();
        assert_eq!(steps.len(), 1);
        let a = argv(&steps[0]);
        assert_eq!(&a[..3], [SYSTEMD_RUN, "--wait", "--pipe"]);
        assert!(a.contains(&"RuntimeMaxSec=3600"), "{a:?}");
        assert!(a.contains(&"--setenv=BACKUP_DIR=/mnt/d/backups"), "{a:?}");
        let tail = &a[a.iter().position(|x| *x == "--").unwrap() + 1..];
        assert_eq!(
            tail,
            [
                paths::BACKUP_BIN_PATH,
                "--env",
                "/dev/null",
                "restore",
                "--json",
                "--",
                "20260314T031500Z",
                "/opt/app/.env"
            ]
        );
        assert!(!a.iter().any(|x| x.contains("overwrite") || *x == "--to"));
        let Step::Run(c) = &steps[0] else { panic!() };
        assert_eq!(c.show, Show::Restored);
        assert!(c.timeout > Duration::from_secs(RESTORE_TIMEOUT_S));
    }

    #[test]
    fn restore_without_systemd_runs_potion_backup_directly() {
        let steps = plan(
            &restore("20260315T031500Z", "opt/app"),
            &policy(),
            &facts(false),
        )
        .unwrap();
        let Step::Run(c) = &steps[0] else { panic!() };
        assert_eq!(c.env, [("BACKUP_DIR".into(), "/mnt/d/backups".into())]);
        assert_eq!(
            argv(&steps[0]),
            [
                paths::BACKUP_BIN_PATH,
                "--env",
                "/dev/null",
                "restore",
                "--json",
                "--",
                "20260315T031500Z",
                "opt/app"
            ]
        );
    }

    #[test]
    fn restore_refuses_bad_or_unknown_ids_and_escaping_paths() {
        let long = "x".repeat(5000);
        for (id, path, needle) in [
            ("20260101T000000Z", "/opt/app", "no snapshot"),
            ("latest", "/opt/app", "not a snapshot id"),
            ("20260314T031500Z;id", "/opt/app", "not a snapshot id"),
            ("20260314T031500Z", "../../etc/shadow", ".."),
            ("20260314T031500Z", "/opt/../etc/shadow", ".."),
            ("20260314T031500Z", "--overwrite", "option"),
            ("20260314T031500Z", "a\0b", "control"),
            ("20260314T031500Z", "/", "give the file"),
            ("20260314T031500Z", long.as_str(), "longer"),
        ] {
            let err = plan(&restore(id, path), &policy(), &facts(true)).unwrap_err();
            assert!(err.message.contains(needle), "{id:?} {path:.40?}: {err}");
        }
        let mut f = facts(true);
        f.backup_dir_problem = Some("/b is writable by others".into());
        let err = plan(&restore("20260314T031500Z", "/opt/app"), &policy(), &f).unwrap_err();
        assert!(err.message.contains("writable by others"), "{err}");
        let mut f = facts(true);
        f.backup_bin = "potion-backup".into();
        assert!(plan(&restore("20260314T031500Z", "/opt/app"), &policy(), &f).is_err());
    }

    #[test]
    fn restored_lines_come_from_the_json_result() {
        let out = "{\"schema\":1,\"id\":\"20260314T031500Z\",\"files\":3,\"bytes\":1234,\"dest\":\"/b/restored/20260314T031500Z/opt/app\",\"verified\":true}\n";
        assert_eq!(
            restored_lines(out).unwrap(),
            "restored-to: /b/restored/20260314T031500Z/opt/app\nfiles: 3\nbytes: 1234\nverified: yes\n"
        );
        assert!(restored_lines("restored 3 files\n").is_none());
        assert!(restored_lines("").is_none());
    }
}
