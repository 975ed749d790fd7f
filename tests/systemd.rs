//! The installed system under a real systemd: boots one with
//! `tests/systemd_support/real-systemd.sh`, installs potion-runner with
//! `ops/install.sh` (and, separately, the `.deb`), and checks timers, the
//! health job and its journal line, a backup and a verify started through
//! the helper, the bot's notify/watchdog contract and the bot answering a
//! `/svc restart` end to end, the sudo rule and the helper.
//!
//! Needs root: without it prints `SKIPPED` and passes, unless `$CI` is set
//! (then a missing prerequisite fails the test). No check is skipped once the
//! machine is up. Uses the binaries `cargo test` built in this checkout.
//! The `.deb` is built once and shared with the `lintian` check (`deb.rs`).

mod common;
#[path = "systemd_support/deb.rs"]
mod deb;
#[path = "systemd_support/hostile.rs"]
mod hostile;
#[path = "systemd_support/machine.rs"]
mod machine;
#[allow(dead_code)] // this suite uses a few of the stand-in's calls
#[path = "bot/standin.rs"]
mod standin;

use std::path::{Path, PathBuf};
use std::time::Duration;

use machine::Machine;
use potion_runner::paths;
use serde_json::Value;
use standin::{StandIn, TOKEN};

const DUMMY: &str = "potion-dummy.service";
/// A service that fails at once, as a model server with a missing folder does.
const CRASHER: &str = "potion-crash.service";
const ENV: &str = "/opt/potion-runner/.env";
const STATE: &str = "/opt/potion-runner/state";
const ADMIN: i64 = 4242;

/// Rewrites the installed `.env` (mode 0600, owned by the bot's user).
fn edit_env(m: &Machine, f: impl FnOnce(String) -> String) {
    let env = f(m.read(ENV).unwrap());
    m.write(ENV, &env, 0o600);
    m.ok(&["chown", "potion:potion", ENV]);
}

/// Rewrites the installed `system.env` (root's, 0644): where system settings live.
fn edit_system_env(m: &Machine, f: impl FnOnce(String) -> String) {
    let text = f(m.read(paths::SYSTEM_ENV_PATH).unwrap_or_default());
    m.write(paths::SYSTEM_ENV_PATH, &text, 0o644);
}

/// `.env` without the lines setting `keys`, plus `add`.
fn env_with(env: &str, keys: &[&str], add: &str) -> String {
    let kept: String = env
        .lines()
        .filter(|l| !keys.iter().any(|k| l.starts_with(&format!("{k}="))))
        .map(|l| format!("{l}\n"))
        .collect();
    kept + add
}

/// A state file read as the bot's user reads it.
fn read_as_bot(m: &Machine, name: &str) -> Value {
    let text = m.ok(&[
        "sudo",
        "-u",
        paths::SERVICE_USER,
        "cat",
        &format!("{STATE}/{name}"),
    ]);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}: {text}"))
}

fn prerequisites(what: &str) -> bool {
    let ci = std::env::var_os("CI").is_some();
    if !common::is_root() {
        assert!(!ci, "{what} needs root under CI");
        eprintln!("SKIPPED: {what} boots a real systemd and needs root");
        return false;
    }
    for tool in [
        "/lib/systemd/systemd",
        "/usr/bin/unshare",
        "/usr/bin/nsenter",
        "/usr/bin/script",
        "/usr/bin/sudo",
        "/usr/sbin/visudo",
        "/usr/sbin/logrotate",
    ] {
        if !Path::new(tool).exists() {
            assert!(!ci, "{what} needs {tool} (.ci/run installs it)");
            eprintln!("SKIPPED: {what} needs {tool}");
            return false;
        }
    }
    true
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Where `cargo test` put the binaries of this checkout.
fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_potion-helper"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Paths the machine needs to see: the checkout and, if elsewhere, the binaries.
fn binds() -> Vec<PathBuf> {
    let mut b = vec![repo().to_path_buf()];
    if !bin_dir().starts_with(repo()) {
        b.push(bin_dir());
    }
    b
}

fn boot(tag: &str) -> Machine {
    let binds = binds();
    let refs: Vec<&Path> = binds.iter().map(PathBuf::as_path).collect();
    Machine::up(tag, &refs)
}

fn unix_now(m: &Machine) -> u64 {
    m.ok(&["date", "+%s"]).trim().parse().unwrap()
}

/// `next_elapse=@<unix>` from a timer's `TimersCalendar` (systemd 252 prints
/// `NextElapseUSecRealtime` only as local text).
fn next_elapse(m: &Machine, timer: &str) -> u64 {
    let out = m.ok(&[
        "systemctl",
        "show",
        "-p",
        "TimersCalendar",
        "--timestamp=unix",
        timer,
    ]);
    let at = out
        .split("next_elapse=@")
        .nth(1)
        .unwrap_or_else(|| panic!("{timer}: no next elapse in {out:?}"));
    at.split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn assert_refused(out: &potion_runner::process::Output, needle: &str) {
    assert_eq!(
        out.code(),
        Some(1),
        "expected a refusal: {}{}",
        out.stdout_lossy(),
        out.stderr_lossy()
    );
    assert!(
        out.stderr_lossy().contains(needle),
        "stderr lacks {needle:?}: {}",
        out.stderr_lossy()
    );
}

/// Installs a dummy service and an allowlist naming it (and a protected unit).
fn add_dummy_and_allowlist(m: &Machine) {
    m.write(
        &format!("/etc/systemd/system/{DUMMY}"),
        "[Unit]\nDescription=potion-runner test dummy\n[Service]\nExecStart=/bin/sleep infinity\n",
        0o644,
    );
    m.write(
        &format!("/etc/systemd/system/{CRASHER}"),
        "[Unit]\nDescription=potion-runner test crasher\n[Service]\nExecStart=/usr/bin/ls /nonexistent-potion-models\n",
        0o644,
    );
    m.ok(&["systemctl", "daemon-reload"]);
    m.ok(&["systemctl", "start", DUMMY]);
    m.write(
        paths::ALLOWED_UNITS_FILE,
        "# test allowlist\npotion-dummy.service\npotion-crash.service\nssh.service\n",
        0o644,
    );
}

/// The sudo rule and the helper's unit checks, as the bot sees them.
fn check_helper_svc(m: &Machine) {
    let pid = m.prop(DUMMY, "MainPID");
    let out = m.as_bot(&[paths::HELPER_PATH, "svc", "restart", DUMMY]);
    assert!(out.success(), "allowed restart: {}", out.stderr_lossy());
    let new_pid = m.prop(DUMMY, "MainPID");
    assert_ne!(pid, new_pid, "{DUMMY} was not restarted");
    assert_eq!(m.prop(DUMMY, "ActiveState"), "active");

    assert_refused(
        &m.as_bot(&[paths::HELPER_PATH, "svc", "restart", "ssh.service"]),
        "protected",
    );
    assert_refused(
        &m.as_bot(&[paths::HELPER_PATH, "svc", "restart", "cron.service"]),
        "not in",
    );
    assert_refused(
        &m.as_bot(&[paths::HELPER_PATH, "svc", "stop", paths::BOT_UNIT]),
        "the bot itself",
    );
    for evil in [
        "potion-dummy.service;id",
        "$(id)",
        "potion-dummy.service reboot",
        "-H",
    ] {
        let out = m.as_bot(&[paths::HELPER_PATH, "svc", "restart", evil]);
        assert_ne!(out.code(), Some(0), "{evil:?} accepted");
    }
    assert_eq!(
        m.prop(DUMMY, "MainPID"),
        new_pid,
        "a refused call touched {DUMMY}"
    );

    // An allowlist anyone but root could change is not trusted at all.
    m.ok(&["chmod", "0666", paths::ALLOWED_UNITS_FILE]);
    assert_refused(
        &m.as_bot(&[paths::HELPER_PATH, "svc", "restart", DUMMY]),
        "writable",
    );
    m.ok(&["chmod", "0644", paths::ALLOWED_UNITS_FILE]);

    // --env from a sudo caller could point SELF_SERVICE elsewhere: refused.
    assert_refused(
        &m.as_bot(&[
            paths::HELPER_PATH,
            "--env",
            "/tmp/x.env",
            "timer",
            "show",
            "backup",
        ]),
        "not accepted under sudo",
    );

    // Every call is in the journal with the sudo user.
    m.journal_until(
        &["-t", "potion-helper", "-o", "verbose"],
        "helper calls with SUDO_USER",
        |j| j.contains("SUDO_USER=potion") && j.contains("refused"),
    );

    // sudo grants the helper and nothing else.
    for other in [
        vec!["/bin/true"],
        vec!["systemctl", "restart", DUMMY],
        vec!["/usr/bin/env"],
        vec![
            "-u",
            "potion",
            "/usr/libexec/potion-runner/potion-helper",
            "timer",
            "show",
            "backup",
        ],
    ] {
        let out = m.as_bot(&other.iter().map(|s| &**s).collect::<Vec<_>>());
        assert_ne!(out.code(), Some(0), "sudo allowed {other:?}");
    }
}

/// `timer set backup` moves the timer, and the move survives daemon-reload.
fn check_backup_timer(m: &Machine) {
    let before = m.prop(paths::BACKUP_TIMER, "TimersCalendar");
    assert!(before.contains("02:30:00"), "{before}");
    let out = m.as_bot(&[paths::HELPER_PATH, "timer", "set", "backup", "3.15"]);
    assert!(out.success(), "timer set: {}", out.stderr_lossy());
    assert!(
        out.stdout_lossy().starts_with("time: 03:15\nnext: "),
        "{}",
        out.stdout_lossy()
    );
    for round in ["after set", "after daemon-reload"] {
        let cal = m.prop(paths::BACKUP_TIMER, "TimersCalendar");
        assert!(cal.contains("OnCalendar=*-*-* 03:15:00"), "{round}: {cal}");
        assert!(!cal.contains("02:30"), "{round}: old schedule kept: {cal}");
        let next = next_elapse(m, paths::BACKUP_TIMER);
        let local = m.ok(&["date", "-d", &format!("@{next}"), "+%H:%M"]);
        assert_eq!(local.trim(), "03:15", "{round}");
        m.ok(&["systemctl", "daemon-reload"]);
    }
    assert_eq!(m.prop(paths::BACKUP_TIMER, "ActiveState"), "active");
    let shown = m.as_bot(&[paths::HELPER_PATH, "timer", "show", "backup"]);
    assert!(
        shown.stdout_lossy().starts_with("time: 03:15\n"),
        "{}",
        shown.stdout_lossy()
    );
    assert_refused(
        &m.as_bot(&[paths::HELPER_PATH, "timer", "set", "backup", "25:99"]),
        "25:99",
    );
}

/// The helper works from inside the bot's own sandbox: a oneshot copy of
/// potion-runner.service (same User= and hardening) runs it through sudo.
/// Any seccomp-based hardening would set no_new_privs and break this.
fn check_helper_inside_bot_sandbox(m: &Machine) {
    // apt must write /var and /usr: the helper runs it via systemd-run,
    // outside this sandbox. No network here, so the lists come from the
    // cache; what matters is that it runs and reports.
    let probe = bot_sandbox_probe(
        "StandardOutput=append:/run/potion-sandbox-probe.out\n\
         ExecStart=/usr/bin/sudo -n /usr/libexec/potion-runner/potion-helper timer set backup 04:45\n\
         ExecStart=/usr/bin/sudo -n /usr/libexec/potion-runner/potion-helper svc restart potion-dummy.service\n\
         ExecStart=/usr/bin/sudo -n /usr/libexec/potion-runner/potion-helper apt update",
    );
    m.write(
        "/run/systemd/system/potion-sandbox-probe.service",
        &probe,
        0o644,
    );
    m.ok(&["systemctl", "daemon-reload"]);
    let dummy_pid = m.prop(DUMMY, "MainPID");
    let out = m.run(&["systemctl", "start", "potion-sandbox-probe.service"]);
    let journal = m.ok(&["journalctl", "-u", "potion-sandbox-probe", "--no-pager"]);
    assert!(
        out.success(),
        "helper inside the bot's sandbox failed:\n{journal}"
    );
    let dropin = m.read(paths::BACKUP_TIMER_DROPIN).unwrap();
    assert!(dropin.contains("OnCalendar=*-*-* 04:45:00"), "{dropin}");
    assert_ne!(
        m.prop(DUMMY, "MainPID"),
        dummy_pid,
        "svc restart from the sandbox"
    );
    // The report is read from the unit's own output file: journald may not
    // tie a short-lived child's lines to the unit, which made this flaky.
    let report = m.read("/run/potion-sandbox-probe.out").unwrap_or_default();
    assert!(
        report.contains("reboot-required: no") || report.contains("reboot-required: yes"),
        "apt update's report missing:\n{report}\njournal:\n{journal}"
    );
}

/// `/restore`'s helper call from inside the bot's sandbox, for real: a
/// snapshot made by the installed `potion-backup`, then `sudo -n
/// potion-helper restore` from a copy of the bot's unit. `BACKUP_DIR` is
/// read-only in that sandbox, so this passes only through `systemd-run`.
fn check_restore_inside_bot_sandbox(m: &Machine) {
    const ROOT: &str = "/var/lib/potion-restore-test";
    let original = m
        .read(paths::SYSTEM_ENV_PATH)
        .expect("system.env installed");
    m.write(&format!("{ROOT}/src/conf/a.txt"), "alpha\n", 0o600);
    m.write(&format!("{ROOT}/src/conf/b.txt"), "bravo\n", 0o644);
    edit_system_env(m, |text| {
        format!("{text}\nDATA_MOUNT=/\nBACKUP_DIR={ROOT}/backups\nBACKUP_SOURCES={ROOT}/src\n")
    });
    m.ok(&["/usr/bin/potion-backup", "run"]);
    let id = m
        .ok(&["ls", &format!("{ROOT}/backups/snapshots")])
        .split_whitespace()
        .find(|n| n.len() == 16)
        .expect("a snapshot")
        .to_string();
    let path = format!("{ROOT}/src/conf");
    m.write(
        "/run/systemd/system/potion-restore-probe.service",
        // stdout to a file: journald may not tie a short-lived process's lines to the unit.
        &bot_sandbox_probe(&format!(
            "StandardOutput=truncate:/run/potion-restore-probe.out\nExecStart=/usr/bin/sudo -n {} restore {id} {path}",
            paths::HELPER_PATH
        )),
        0o644,
    );
    m.ok(&["systemctl", "daemon-reload"]);
    let out = m.run(&["systemctl", "start", "potion-restore-probe.service"]);
    let journal = m.ok(&["journalctl", "-u", "potion-restore-probe", "--no-pager"]);
    assert!(
        out.success(),
        "restore from the bot's sandbox failed:\n{journal}"
    );
    let staged = format!("{ROOT}/backups/restored/{id}{path}");
    assert_eq!(
        m.read(&format!("{staged}/a.txt")).as_deref(),
        Some("alpha\n")
    );
    assert_eq!(
        m.read(&format!("{staged}/b.txt")).as_deref(),
        Some("bravo\n")
    );
    assert_eq!(
        m.read("/run/potion-restore-probe.out").as_deref(),
        Some(format!("restored-to: {staged}\nfiles: 2\nbytes: 12\nverified: yes\n").as_str())
    );
    m.write(paths::SYSTEM_ENV_PATH, &original, 0o644);
}

/// A oneshot copy of the bot's unit (same `User=` and sandbox) that runs `exec`.
fn bot_sandbox_probe(exec: &str) -> String {
    let unit = std::fs::read_to_string(repo().join("ops/systemd").join(paths::BOT_UNIT)).unwrap();
    unit.lines()
        .filter(|l| {
            ![
                "Type=",
                "NotifyAccess=",
                "WatchdogSec=",
                "Restart",
                "ExecStart=",
            ]
            .iter()
            .any(|k| l.starts_with(k))
        })
        .map(|l| {
            if l == "[Service]" {
                format!("[Service]\nType=oneshot\n{exec}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Type=notify: the unit stays "activating" until READY=1; a bot that never
/// sends it is never "active". Uses the real unit with only ExecStart swapped.
fn check_bot_waits_for_ready(m: &Machine) {
    assert_eq!(m.prop(paths::BOT_UNIT, "Type"), "notify");
    assert_eq!(m.prop(paths::BOT_UNIT, "NotifyAccess"), "main");
    assert_ne!(m.prop(paths::BOT_UNIT, "WatchdogUSec"), "0");
    let dropin = format!("/run/systemd/system/{}.d/never-ready.conf", paths::BOT_UNIT);
    m.write(
        &dropin,
        "[Service]\nExecStart=\nExecStart=/bin/sleep 600\nTimeoutStartSec=3s\nRestart=no\n",
        0o644,
    );
    m.ok(&["systemctl", "daemon-reload"]);
    m.ok(&["systemctl", "start", "--no-block", paths::BOT_UNIT]);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(m.prop(paths::BOT_UNIT, "ActiveState"), "activating");
    m.wait_for("the start timeout", Duration::from_secs(15), |m| {
        m.prop(paths::BOT_UNIT, "Result") == "timeout"
    });
    assert_ne!(m.prop(paths::BOT_UNIT, "ActiveState"), "active");
    std::fs::remove_file(m.host_path(&dropin)).unwrap();
    m.ok(&["systemctl", "daemon-reload"]);
    m.ok(&["systemctl", "reset-failed", paths::BOT_UNIT]);
}

/// With a token and an unreachable Bot API, the real bot becomes active after
/// READY and, frozen with SIGSTOP, is killed by the watchdog and restarted.
fn check_bot_watchdog(m: &Machine) {
    edit_env(m, |env| {
        env_with(
            &env,
            &["BOT_TOKEN", "ADMIN_IDS", "TELEGRAM_API_URL"],
            "BOT_TOKEN=123456:TEST-token_for_watchdog\nADMIN_IDS=1\nTELEGRAM_API_URL=http://127.0.0.1:9\n",
        )
    });
    // A shorter watchdog than the shipped 30 s keeps the test quick; the
    // mechanism is the unit's own.
    m.write(
        &format!(
            "/run/systemd/system/{}.d/quick-watchdog.conf",
            paths::BOT_UNIT
        ),
        "[Service]\nWatchdogSec=4s\nRestartSec=1s\n",
        0o644,
    );
    m.ok(&["systemctl", "daemon-reload"]);
    let start = m.run_for(&["systemctl", "start", paths::BOT_UNIT], 120);
    let journal = || m.ok(&["journalctl", "-u", paths::BOT_UNIT, "--no-pager"]);
    assert!(start.success(), "bot did not become ready:\n{}", journal());
    assert_eq!(m.prop(paths::BOT_UNIT, "ActiveState"), "active");
    let pid = m.prop(paths::BOT_UNIT, "MainPID");
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(
        m.prop(paths::BOT_UNIT, "MainPID"),
        pid,
        "bot restarted while healthy:\n{}",
        journal()
    );

    m.ok(&["systemctl", "kill", "-s", "SIGSTOP", paths::BOT_UNIT]);
    m.wait_for("the watchdog restart", Duration::from_secs(40), |m| {
        m.prop(paths::BOT_UNIT, "NRestarts") != "0"
            && m.prop(paths::BOT_UNIT, "ActiveState") == "active"
    });
    assert_ne!(m.prop(paths::BOT_UNIT, "MainPID"), pid);
    m.journal_until(&["-u", paths::BOT_UNIT], "the watchdog timeout", |j| {
        j.contains("Watchdog timeout")
    });

    m.ok(&["systemctl", "stop", paths::BOT_UNIT]);
    assert_eq!(
        m.prop(paths::BOT_UNIT, "ExecMainStatus"),
        "0",
        "SIGTERM must exit 0"
    );
}

/// The health job's own line in `journalctl -u potion-runner-health`.
fn is_health_line(l: &str) -> bool {
    l.starts_with("cpu ") && l.contains(" ram ") && l.contains(" alerts: ")
}

/// Root's SMART check runs in its sandbox and writes smart-readings.json
/// (root's, 0644, readable by the health job); a second start within
/// SMART_INTERVAL runs nothing.
fn check_smart_run(m: &Machine) {
    m.ok(&["systemctl", "start", paths::SMART_UNIT]);
    let journal = m.ok(&["journalctl", "--no-pager", "-u", paths::SMART_UNIT]);
    assert_eq!(m.prop(paths::SMART_UNIT, "Result"), "success", "{journal}");
    let path = format!("{STATE}/{}", paths::SMART_READINGS);
    assert_eq!(m.ok(&["stat", "-c", "%a %U", &path]).trim(), "644 root");
    let first = read_as_bot(m, paths::SMART_READINGS);
    assert_eq!(first["schema"], 1, "{first}");
    m.ok(&["systemctl", "start", paths::SMART_UNIT]);
    let again = read_as_bot(m, paths::SMART_READINGS);
    assert_eq!(again["checked_at"], first["checked_at"], "not due yet");
}

/// The health job writes last_health.json when its unit runs, and logs its
/// one line to the journal under the unit.
fn check_health_run(m: &Machine) {
    // With a watched service, the job must also reach systemd from its sandbox.
    edit_env(m, |env| env + &format!("SERVICES={DUMMY}\n"));
    m.ok(&["systemctl", "start", paths::HEALTH_UNIT]);
    let path = format!("{STATE}/{}", paths::LAST_HEALTH);
    let text = m.read(&path).expect("last_health.json written");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["schema"], 1);
    let services = v["services"].as_array().expect("services list");
    assert!(
        services
            .iter()
            .any(|s| s["unit"] == DUMMY && s["active"] == "active"),
        "{text}"
    );
    // The tmpfs at DATA_MOUNT counts as the data disk, and the backup the
    // root job wrote is readable to this job (user potion).
    assert!(
        v["disks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == "data" && d["present"] == true),
        "{text}"
    );
    assert_eq!(v["backup"]["last_status"], "ok", "{text}");
    // Root's SMART answers (check_smart_run) reached the report.
    assert!(
        !text.contains("SMART has not been checked yet") && !text.contains("\"smart: "),
        "{text}"
    );
    let owner = m.ok(&["stat", "-c", "%U", &path]);
    assert_eq!(owner.trim(), paths::SERVICE_USER);
    let journal = m.journal_until(
        &["-u", paths::HEALTH_UNIT, "-o", "cat"],
        "the health job's own line",
        |j| {
            j.lines()
                .any(|l| is_health_line(l) && l.contains(" services 1/1 active"))
        },
    );
    let line = journal.lines().rfind(|l| is_health_line(l)).unwrap();
    assert!(line.contains(" data "), "{line}");
    assert!(!line.contains("data missing"), "{line}");
}

/// The timer itself starts the health unit (waits for the next minute if needed).
fn check_health_timer_fires(m: &Machine) {
    // Every run logs one line and the test started the unit by hand once
    // (check_health_run), so a second line comes from a run the timer started
    // (should the timer's run and the manual start have merged into one job,
    // the next minute's run brings it).
    let lines = |m: &Machine| {
        let j = m.ok(&[
            "journalctl",
            "--no-pager",
            "-u",
            paths::HEALTH_UNIT,
            "-o",
            "cat",
        ]);
        j.lines().filter(|l| is_health_line(l)).count()
    };
    m.wait_for(
        "the line of a run the health timer started",
        // Up to two minute boundaries (see above), plus slack for a loaded machine.
        Duration::from_secs(150),
        |m| {
            let t = m.prop(paths::HEALTH_TIMER, "LastTriggerUSecMonotonic");
            !t.is_empty() && t != "0" && lines(m) >= 2
        },
    );
    m.wait_for(
        "the triggered run to finish",
        Duration::from_secs(30),
        |m| m.prop(paths::HEALTH_UNIT, "ActiveState") != "activating",
    );
    let journal = m.ok(&["journalctl", "--no-pager", "-u", paths::HEALTH_UNIT]);
    assert_eq!(m.prop(paths::HEALTH_UNIT, "Result"), "success", "{journal}");
}

fn check_install_layout(m: &Machine) {
    let groups = m.ok(&["id", "-nG", paths::SERVICE_USER]);
    assert!(
        groups.split_whitespace().any(|g| g == "systemd-journal"),
        "{groups}"
    );
    for (path, want) in [
        ("/opt/potion-runner", "1770 root potion"),
        ("/opt/potion-runner/state", "3770 root potion"),
        ("/opt/potion-runner/logs", "3770 root potion"),
        ("/opt/potion-runner/.env", "600 potion potion"),
        ("/etc/potion-runner", "755 root root"),
        (paths::SYSTEM_ENV_PATH, "644 root root"),
        ("/etc/sudoers.d/potion-runner", "440 root root"),
        (paths::HELPER_PATH, "755 root root"),
        (paths::BACKUP_BIN_PATH, "755 root root"),
        ("/usr/bin/potion-bot", "755 root root"),
        ("/usr/bin/potion-health", "755 root root"),
    ] {
        let got = m.ok(&["stat", "-c", "%a %U %G", path]);
        assert_eq!(got.trim(), want, "{path}");
    }
    check_old_install_retired(m);
    for timer in [
        paths::HEALTH_TIMER,
        paths::BACKUP_TIMER,
        paths::VERIFY_TIMER,
        paths::SMART_TIMER,
    ] {
        assert_eq!(
            m.ok(&["systemctl", "is-enabled", timer]).trim(),
            "enabled",
            "{timer}"
        );
        assert_eq!(m.prop(timer, "ActiveState"), "active", "{timer}");
    }
    assert_eq!(
        m.ok(&["systemctl", "is-enabled", paths::BOT_UNIT]).trim(),
        "enabled"
    );
    // No token yet: enabled but not started.
    assert_eq!(m.prop(paths::BOT_UNIT, "ActiveState"), "inactive");
    let next = next_elapse(m, paths::HEALTH_TIMER);
    let now = unix_now(m);
    assert!(
        next > now.saturating_sub(1) && next <= now + 61,
        "health timer next {next}, now {now}"
    );
    assert_eq!(m.prop(paths::HEALTH_TIMER, "Persistent"), "yes");
}

/// Plants what an install before 0.2 left: its four binaries in
/// /usr/local/bin, its sudo rule naming the helper there and (as
/// ops/install.sh put it) a unit copy in /etc/systemd/system running from there.
fn plant_old_install(m: &Machine, unit_copy: bool) {
    for b in [
        "potion-health",
        "potion-backup",
        "potion-bot",
        "potion-helper",
    ] {
        m.write(
            &format!("{}/{b}", paths::OLD_BIN_DIR),
            "#!/bin/sh\nexit 0\n",
            0o755,
        );
    }
    let old_helper = format!("{}/potion-helper", paths::OLD_BIN_DIR);
    let rule = std::fs::read_to_string(repo().join("ops/sudoers/potion-runner"))
        .unwrap()
        .replace(paths::HELPER_PATH, &old_helper);
    m.write("/etc/sudoers.d/potion-runner", &rule, 0o440);
    if unit_copy {
        let unit = std::fs::read_to_string(repo().join("ops/systemd").join(paths::HEALTH_UNIT))
            .unwrap()
            .replace(paths::BIN_DIR, paths::OLD_BIN_DIR);
        m.write(
            &format!("/etc/systemd/system/{}", paths::HEALTH_UNIT),
            &unit,
            0o644,
        );
    }
}

/// Nothing of an install before 0.2 is left in use: no binary in
/// /usr/local/bin, the sudo rule and every unit name the new paths.
fn check_old_install_retired(m: &Machine) {
    for b in [
        "potion-health",
        "potion-backup",
        "potion-bot",
        "potion-helper",
    ] {
        let old = format!("{}/{b}", paths::OLD_BIN_DIR);
        assert!(m.read(&old).is_none(), "{old} left behind");
    }
    let rule = m.read("/etc/sudoers.d/potion-runner").unwrap();
    assert!(
        rule.contains(&format!("= {}\n", paths::HELPER_PATH)),
        "{rule}"
    );
    assert!(!rule.contains(paths::OLD_BIN_DIR), "{rule}");
    for unit in [
        paths::BOT_UNIT,
        paths::HEALTH_UNIT,
        paths::BACKUP_UNIT,
        paths::VERIFY_UNIT,
    ] {
        let exec = m.prop(unit, "ExecStart");
        assert!(
            exec.contains(&format!("path={}/potion-", paths::BIN_DIR)),
            "{unit}: {exec}"
        );
    }
}

/// The service user owns `.env` and may swap it for a symlink to a file of
/// root's: the next install must refuse, not hand that file to the user.
fn check_env_symlink_refused(m: &Machine, install: &[&str]) {
    m.write("/etc/potion-victim", "secret\n", 0o600);
    let as_potion = |argv: &[&str]| {
        let mut a = vec![
            "setpriv",
            "--reuid=potion",
            "--regid=potion",
            "--clear-groups",
        ];
        a.extend_from_slice(argv);
        m.ok(&a);
    };
    as_potion(&[
        "mv",
        "/opt/potion-runner/.env",
        "/opt/potion-runner/.env.keep",
    ]);
    as_potion(&["ln", "-s", "/etc/potion-victim", "/opt/potion-runner/.env"]);
    // The install goes on (nothing in .env may fail it) and says why it left .env alone.
    let out = m.run(install);
    assert!(out.success(), "{}", out.stderr_lossy());
    assert!(
        out.stdout_lossy()
            .contains("left .env alone: .env is a symlink"),
        "{}",
        out.stdout_lossy()
    );
    assert_eq!(
        m.ok(&["stat", "-c", "%a %U %G", "/etc/potion-victim"])
            .trim(),
        "600 root root"
    );
    as_potion(&[
        "mv",
        "-fT",
        "/opt/potion-runner/.env.keep",
        "/opt/potion-runner/.env",
    ]);
    m.ok(&["rm", "/etc/potion-victim"]);
    m.ok(install);
    assert_eq!(
        m.ok(&["stat", "-c", "%a %U %G", "/opt/potion-runner/.env"])
            .trim(),
        "600 potion potion"
    );
}

/// `backup start` and `verify start` through sudo, as the bot calls them,
/// run the real potion-backup in its units (as root) and leave a snapshot, its
/// manifest, last_backup.json and the verify result in backups.json, all
/// readable to the bot's user.
fn check_backup_and_verify(m: &Machine) {
    // DATA_MOUNT must be a mount point: a small tmpfs stands in for the HDD.
    m.ok(&["mkdir", "-p", "/mnt/potion-data", "/srv/potion-src/sub"]);
    m.ok(&[
        "mount",
        "-t",
        "tmpfs",
        "-o",
        "size=32m",
        "tmpfs",
        "/mnt/potion-data",
    ]);
    m.write("/srv/potion-src/top.txt", "the top file\n", 0o640);
    for i in 0..40 {
        m.write(
            &format!("/srv/potion-src/sub/f{i:02}.txt"),
            &format!("file {i}\n"),
            0o644,
        );
    }
    edit_system_env(m, |text| {
        text + "DATA_MOUNT=/mnt/potion-data\nBACKUP_SOURCES=/srv/potion-src\n"
    });
    let run = |word: &str, unit: &str| {
        assert_eq!(m.prop(unit, "ExecMainStartTimestampMonotonic"), "0");
        let out = m.as_bot(&[paths::HELPER_PATH, word, "start"]);
        assert!(out.success(), "{word} start: {}", out.stderr_lossy());
        // The helper does not wait for the unit: wait for it here.
        m.wait_for(&format!("{unit} to run"), Duration::from_secs(60), |m| {
            m.prop(unit, "ExecMainExitTimestampMonotonic") != "0"
                && m.prop(unit, "ActiveState") != "activating"
        });
        let journal = m.ok(&["journalctl", "--no-pager", "-u", unit, "-o", "cat"]);
        assert_eq!(m.prop(unit, "Result"), "success", "{journal}");
        assert_eq!(m.prop(unit, "ExecMainStatus"), "0", "{journal}");
    };

    run("backup", paths::BACKUP_UNIT);
    let last = read_as_bot(m, paths::LAST_BACKUP);
    assert_eq!(last["status"], "ok", "{last}");
    assert_eq!(last["files"], 41, "{last}");
    let id = last["id"].as_str().expect("snapshot id").to_string();
    assert_eq!(last["last_ok_id"], id.as_str());
    let backups = "/mnt/potion-data/backups";
    // Schema 2 (docs/backup-format.md): binary, owner-only; verify below reads it.
    let manifest = m.ok(&[
        "stat",
        "-c",
        "%a %s",
        &format!("{backups}/manifests/{id}.manifest"),
    ]);
    assert!(manifest.starts_with("600 "), "{manifest}");
    assert_eq!(
        m.read(&format!("{backups}/snapshots/{id}/srv/potion-src/top.txt"))
            .as_deref(),
        Some("the top file\n")
    );
    m.journal_until(
        &["-u", paths::BACKUP_UNIT, "-o", "cat"],
        "the backup's summary line",
        |j| j.contains(&format!("snapshot {id}: 41 files")),
    );
    let index = read_as_bot(m, paths::BACKUP_INDEX);
    assert_eq!(index["snapshots"][0]["id"], id.as_str(), "{index}");
    assert!(index["last_verify"].is_null(), "{index}");

    run("verify", paths::VERIFY_UNIT);
    let index = read_as_bot(m, paths::BACKUP_INDEX);
    let v = &index["last_verify"];
    assert_eq!(v["id"], id.as_str(), "{index}");
    assert_eq!(v["status"], "ok", "{index}");
    assert_eq!(v["problems"], 0, "{index}");
    assert_eq!(v["total_files"], 41, "{index}");
    assert!(v["checked_files"].as_u64().unwrap() > 0, "{index}");
    // The root jobs left state/ as the bot needs it: its files stay readable
    // (above) and the folder keeps its mode and stays writable for the bot's user.
    assert_eq!(
        m.ok(&["stat", "-c", "%a %U %G", STATE]).trim(),
        "3770 root potion"
    );
    m.ok(&[
        "sudo",
        "-u",
        paths::SERVICE_USER,
        "touch",
        &format!("{STATE}/.bot-can-write"),
    ]);
    m.ok(&["rm", &format!("{STATE}/.bot-can-write")]);
}

/// The bot under its real unit, against a stand-in Bot API served on the
/// machine's own 127.0.0.1: `/svc restart` asks first, Yes goes through sudo
/// and the helper, the dummy unit restarts and the audit log says so;
/// `/svc_add` asks the real systemd whether a unit exists.
fn check_bot_end_to_end(m: &Machine) {
    const WAIT: Duration = Duration::from_secs(30);
    let api = StandIn::start_on(m.listen_local());
    edit_env(m, |env| {
        env_with(
            &env,
            &[
                "BOT_TOKEN",
                "ADMIN_IDS",
                "TELEGRAM_API_URL",
                "BOT_LANG",
                "SERVICES",
            ],
            &format!(
                "BOT_TOKEN={TOKEN}\nADMIN_IDS={ADMIN}\nTELEGRAM_API_URL={}\nBOT_LANG=en\nSERVICES={DUMMY},{CRASHER}\n",
                api.url()
            ),
        )
    });
    let journal = || m.ok(&["journalctl", "-u", paths::BOT_UNIT, "--no-pager"]);
    let start = m.run_for(&["systemctl", "start", paths::BOT_UNIT], 120);
    assert!(start.success(), "bot did not become ready:\n{}", journal());
    api.push_text(ADMIN, &format!("/svc restart {DUMMY}"));
    let q = api
        .wait_for("sendMessage", WAIT, |r| {
            r.body["text"]
                .as_str()
                .is_some_and(|t| t.contains("Really restart"))
        })
        .unwrap_or_else(|| panic!("no question; sent {:?}\n{}", api.texts_to(ADMIN), journal()));
    let yes = q.body["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        .as_str()
        .unwrap()
        .to_string();
    let before = m.prop(DUMMY, "InvocationID");
    api.push_callback(ADMIN, &yes);
    api.wait_for("editMessageText", WAIT, |r| {
        r.body["text"].as_str().is_some_and(|t| t.contains("Done"))
    })
    .unwrap_or_else(|| {
        let edits: Vec<_> = api
            .requests("editMessageText")
            .iter()
            .map(|r| r.body["text"].clone())
            .collect();
        panic!("no result edited in: {edits:?}\n{}", journal())
    });
    assert_ne!(
        m.prop(DUMMY, "InvocationID"),
        before,
        "{DUMMY} not restarted"
    );
    assert_eq!(m.prop(DUMMY, "ActiveState"), "active");
    // One audit line for the command, one for the confirmed action.
    let log = format!("/opt/potion-runner/logs/{}", paths::ACTIONS_LOG);
    let has = |text: &str, action: &str, result: &str, args: &str| {
        text.lines().any(|l| {
            serde_json::from_str::<Value>(l).is_ok_and(|e| {
                e["action"] == action
                    && e["user_id"] == ADMIN
                    && e["result"] == result
                    && e["arguments"].as_str().is_some_and(|a| a.contains(args))
            })
        })
    };
    let t0 = std::time::Instant::now();
    loop {
        let text = m.read(&log).unwrap_or_default();
        if has(&text, "svc", "ok", &format!("restart {DUMMY}"))
            && has(&text, "svc restart", "ok", "")
        {
            break;
        }
        assert!(t0.elapsed() < WAIT, "audit lines missing:\n{text}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // A unit that dies at once: the start is followed to its real outcome,
    // ❌ with the unit's own journal lines, never "done".
    api.push_text(ADMIN, &format!("/svc start {CRASHER}"));
    let r = api.wait_text("did not stay up", WAIT).unwrap_or_else(|| {
        panic!(
            "no crash reply; sent {:?}\n{}",
            api.texts_to(ADMIN),
            journal()
        )
    });
    assert!(r.starts_with('❌') && !r.contains("Done"), "{r}");
    assert!(
        r.contains("nonexistent-potion-models"),
        "no journal lines: {r}"
    );
    assert_eq!(m.prop(CRASHER, "ActiveState"), "failed");
    // /log_journal reads the real journal as the bot's user (in systemd-journal):
    // the restart just done shows up, a unit outside SERVICES is refused.
    api.push_text(ADMIN, &format!("/log_journal {DUMMY}"));
    let logs = api.wait_text("test dummy", WAIT).unwrap_or_else(|| {
        panic!(
            "no journal lines; sent {:?}\n{}",
            api.texts_to(ADMIN),
            journal()
        )
    });
    assert!(logs.contains("Started"), "{logs}");
    api.push_text(ADMIN, "/log_journal sshd.service");
    api.wait_text("isn't on the watch list", WAIT)
        .unwrap_or_else(|| panic!("no refusal; sent {:?}", api.texts_to(ADMIN)));
    // /svc_add asks this systemd over the system bus as the bot's user: a
    // unit it does not know is refused and not saved, a protected one that
    // exists is saved as watch-only.
    m.ok(&["systemctl", "start", "dbus.socket"]);
    api.push_text(ADMIN, "/svc_add potion-nope");
    let r = api
        .wait_text("doesn't know", WAIT)
        .unwrap_or_else(|| panic!("no refusal; sent {:?}\n{}", api.texts_to(ADMIN), journal()));
    assert!(r.contains("not-found"), "{r}");
    assert!(!m.read(ENV).unwrap_or_default().contains("potion-nope"));
    api.push_text(ADMIN, "/svc_add systemd-journald");
    let r = api
        .wait_text("only watch", WAIT)
        .unwrap_or_else(|| panic!("not watch-only; sent {:?}", api.texts_to(ADMIN)));
    assert!(!r.contains("couldn't ask systemd"), "{r}");
    assert!(
        m.read(ENV)
            .unwrap_or_default()
            .contains("systemd-journald.service")
    );
    m.ok(&["systemctl", "stop", paths::BOT_UNIT]);
    assert_eq!(m.prop(paths::BOT_UNIT, "ExecMainStatus"), "0");
}

/// The logrotate rule is valid and rotates the audit log in place (copytruncate).
fn check_logrotate(m: &Machine) {
    let out = m.run(&["logrotate", "-d", "/etc/logrotate.d/potion-runner"]);
    let text = format!("{}{}", out.stdout_lossy(), out.stderr_lossy());
    assert!(
        out.success() && !text.contains("error"),
        "logrotate -d:\n{text}"
    );
    let log = format!("/opt/potion-runner/logs/{}", paths::ACTIONS_LOG);
    let line = "{\"action\":\"test\",\"result\":\"ok\"}\n";
    m.write(&log, line, 0o640);
    m.ok(&["chown", "potion:potion", &log]);
    m.ok(&["logrotate", "-f", "/etc/logrotate.d/potion-runner"]);
    assert_eq!(m.read(&format!("{log}.1")).as_deref(), Some(line));
    assert_eq!(m.read(&log).as_deref(), Some(""));
}

#[test]
fn install_sh_gives_a_working_system() {
    if !prerequisites("install_sh_gives_a_working_system") {
        return;
    }
    let m = boot("install");
    let install = repo().join("ops/install.sh");
    let install = install.to_str().unwrap();
    let bins = bin_dir();
    plant_old_install(&m, false);
    m.ok(&[install, bins.to_str().unwrap()]);
    // Idempotent: a second run changes nothing and succeeds.
    m.ok(&[install, bins.to_str().unwrap()]);

    check_install_layout(&m);
    check_env_symlink_refused(&m, &[install, bins.to_str().unwrap()]);
    check_logrotate(&m);
    add_dummy_and_allowlist(&m);
    check_helper_svc(&m);
    check_backup_timer(&m);
    check_restore_inside_bot_sandbox(&m);
    check_helper_inside_bot_sandbox(&m);
    check_backup_and_verify(&m);
    hostile::check_path_keys_in_env_change_nothing(&m);
    hostile::check_root_granting_units_refused(&m);
    check_bot_waits_for_ready(&m);
    check_bot_watchdog(&m);
    check_smart_run(&m);
    check_health_run(&m);
    check_bot_end_to_end(&m);
    check_health_timer_fires(&m);

    // uninstall keeps the data; --purge removes it.
    m.ok(&[repo().join("ops/uninstall.sh").to_str().unwrap()]);
    for gone in [
        paths::HELPER_PATH,
        "/etc/sudoers.d/potion-runner",
        "/etc/systemd/system/potion-runner.service",
    ] {
        assert!(
            m.read(gone).is_none() && !m.host_path(gone).exists(),
            "{gone} left behind"
        );
    }
    assert!(m.run(&["systemctl", "cat", paths::HEALTH_TIMER]).code() != Some(0));
    assert!(m.host_path("/opt/potion-runner/.env").exists());
    m.ok(&["id", paths::SERVICE_USER]);
    m.ok(&[repo().join("ops/uninstall.sh").to_str().unwrap(), "--purge"]);
    assert!(!m.host_path("/opt/potion-runner").exists());
    assert!(m.run(&["id", paths::SERVICE_USER]).code() != Some(0));
}

#[test]
fn deb_package_installs_like_install_sh() {
    if !prerequisites("deb_package_installs_like_install_sh") {
        return;
    }
    let Some(deb) = deb::shared() else {
        return;
    };
    let mut binds = binds();
    let folder = deb.parent().unwrap();
    if !folder.starts_with(repo()) {
        binds.push(folder.to_path_buf());
    }
    let refs: Vec<&Path> = binds.iter().map(PathBuf::as_path).collect();
    let m = Machine::up("deb", &refs);
    plant_old_install(&m, true);
    m.ok(&["dpkg", "-i", deb.to_str().unwrap()]);
    assert!(
        m.read(&format!("/etc/systemd/system/{}", paths::HEALTH_UNIT))
            .is_none(),
        "install.sh's unit copy would shadow the package's"
    );
    for u in [
        paths::BOT_UNIT,
        paths::HEALTH_TIMER,
        paths::BACKUP_UNIT,
        paths::VERIFY_TIMER,
    ] {
        assert!(
            m.host_path(&format!("/usr/lib/systemd/system/{u}"))
                .exists(),
            "{u}"
        );
    }
    check_install_layout(&m);
    add_dummy_and_allowlist(&m);
    let out = m.as_bot(&[paths::HELPER_PATH, "svc", "restart", DUMMY]);
    assert!(out.success(), "{}", out.stderr_lossy());
    assert_ne!(m.as_bot(&["/bin/true"]).code(), Some(0));
    check_backup_timer(&m);

    // Reinstalling (an upgrade to the same version) keeps .env and the schedule.
    m.ok(&["dpkg", "-i", deb.to_str().unwrap()]);
    assert!(
        m.read(paths::BACKUP_TIMER_DROPIN)
            .unwrap()
            .contains("03:15")
    );

    m.ok(&["dpkg", "-r", "potion-runner"]);
    assert!(!m.host_path("/etc/sudoers.d/potion-runner").exists());
    assert!(m.host_path("/opt/potion-runner/.env").exists());
    m.ok(&["dpkg", "--purge", "potion-runner"]);
    assert!(!m.host_path("/opt/potion-runner").exists());
    assert!(m.run(&["id", paths::SERVICE_USER]).code() != Some(0));
}
