//! `SERVICES` read over D-Bus under a real systemd match `systemctl show`:
//! as root over systemd's private socket and as an unprivileged user over
//! the system bus, for a running, a failed, an inactive, an unknown and an
//! aliased unit, with no child process.
//!
//! Needs root: without it prints `SKIPPED` and passes, unless `$CI` is set.

mod common;
#[allow(dead_code)] // this suite uses a few of the harness's calls
#[path = "systemd_support/machine.rs"]
mod machine;

use std::path::{Path, PathBuf};

use machine::Machine;
use serde_json::Value;

const UNITS: &[&str] = &[
    "potion-up.service",
    "potion-broken.service",
    "potion-idle.service",
    "potion-nope.service",
    "potion-alias.service",
];

fn prerequisites() -> bool {
    let ci = std::env::var_os("CI").is_some();
    if !common::is_root() {
        assert!(!ci, "the D-Bus suite needs root under CI");
        eprintln!("SKIPPED: the D-Bus suite boots a real systemd and needs root");
        return false;
    }
    for tool in [
        "/lib/systemd/systemd",
        "/usr/bin/unshare",
        "/usr/bin/dbus-daemon",
    ] {
        if !Path::new(tool).exists() {
            assert!(!ci, "the D-Bus suite needs {tool}");
            eprintln!("SKIPPED: the D-Bus suite needs {tool}");
            return false;
        }
    }
    true
}

fn add_units(m: &Machine) {
    let unit = |name: &str, exec: &str, extra: &str| {
        m.write(
            &format!("/etc/systemd/system/{name}"),
            &format!("[Service]\nExecStart={exec}\n{extra}"),
            0o644,
        );
    };
    unit(
        "potion-up.service",
        "/bin/sleep infinity",
        "[Install]\nAlias=potion-alias.service\n",
    );
    unit("potion-broken.service", "/bin/false", "");
    unit("potion-idle.service", "/bin/true", "");
    m.ok(&["systemctl", "daemon-reload"]);
    m.ok(&["systemctl", "enable", "--now", "potion-up.service"]);
    // A failed start still exits 0 for --no-block; the state is what matters.
    m.ok(&["systemctl", "start", "--no-block", "potion-broken.service"]);
    m.wait_for(
        "potion-broken to fail",
        std::time::Duration::from_secs(20),
        |m| m.prop("potion-broken.service", "ActiveState") == "failed",
    );
}

/// One health run inside as `user`; returns `services` of its report.
fn services_as(m: &Machine, user: &str) -> Vec<Value> {
    let dir = format!("/tmp/health-{user}");
    m.ok(&["install", "-d", "-m", "0777", &dir]);
    let env = format!("{dir}/.env");
    m.write(&env, &format!("SERVICES={}\n", UNITS.join(",")), 0o644);
    let bin = env!("CARGO_BIN_EXE_potion-health");
    let mut argv = vec![
        "setpriv",
        "--reuid",
        user,
        "--regid",
        "65534",
        "--clear-groups",
    ];
    if user == "root" {
        argv.truncate(0);
    }
    // Folders are system settings: a user's own run takes them from the
    // environment (`env` runs before strace, so it is not traced).
    let (app_dir, state_dir) = (format!("APP_DIR={dir}"), format!("STATE_DIR={dir}/state"));
    argv.extend(["env", &app_dir, &state_dir]);
    argv.extend(["strace", "-f", "-qq", "-e", "trace=execve,connect", "-o"]);
    let trace = format!("{dir}/trace");
    argv.push(&trace);
    argv.extend([bin, "--env", &env, "--json"]);
    let out = m.ok(&argv);
    let trace = m.read(&trace).expect("strace log");
    let execs = trace.lines().filter(|l| l.contains("execve(")).count();
    assert_eq!(execs, 1, "only potion-health itself is executed:\n{trace}");
    let socket = if user == "root" {
        "/run/systemd/private"
    } else {
        "/run/dbus/system_bus_socket"
    };
    assert!(
        trace
            .lines()
            .any(|l| l.contains("connect(") && l.contains(socket) && l.contains("= 0")),
        "{user} reaches systemd through {socket}:\n{trace}"
    );
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(report["errors"], Value::Array(vec![]), "{out}");
    report["services"].as_array().unwrap().clone()
}

#[test]
fn services_over_dbus_match_systemctl_show() {
    if !prerequisites() {
        return;
    }
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let bins = Path::new(env!("CARGO_BIN_EXE_potion-health"))
        .parent()
        .unwrap()
        .to_path_buf();
    let mut binds = vec![repo.as_path()];
    if !bins.starts_with(&repo) {
        binds.push(bins.as_path());
    }
    let m = Machine::up("dbus", &binds);
    add_units(&m);
    m.ok(&["systemctl", "start", "dbus.socket"]);
    let expected: Vec<(String, String)> = UNITS
        .iter()
        .map(|u| (m.prop(u, "ActiveState"), m.prop(u, "SubState")))
        .collect();
    // The five cases really differ, so a reader that got any of them wrong shows.
    let states: Vec<&str> = expected.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        states,
        ["active", "failed", "inactive", "inactive", "active"]
    );
    for user in ["root", "nobody"] {
        let got = services_as(&m, user);
        assert_eq!(got.len(), UNITS.len());
        for ((s, unit), (active, sub)) in got.iter().zip(UNITS).zip(&expected) {
            assert_eq!(s["unit"], *unit, "{user}");
            assert_eq!(
                (s["active"].as_str().unwrap(), s["sub"].as_str().unwrap()),
                (active.as_str(), sub.as_str()),
                "{user}: {unit}"
            );
        }
    }
}
