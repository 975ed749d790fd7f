//! `potion-helper` as a binary, without root or systemd: exit codes for usage,
//! refusals before anything runs, and what it takes from the caller (`--env`
//! under sudo, bad config). Acting for real is covered by `tests/systemd.rs`.

mod common;

use common::{Sandbox, run};

const HELPER: &str = env!("CARGO_BIN_EXE_potion-helper");

fn helper(sb: &Sandbox, args: &[&str]) -> std::process::Output {
    let mut c = sb.cmd(HELPER);
    c.args(args);
    run(c)
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    let sb = Sandbox::new();
    for args in [
        &[][..],
        &["svc"],
        &["svc", "reload", "ollama"],
        &["timer", "set", "verify", "03:00"],
        &["apt", "dist-upgrade"],
        &["backup", "stop"],
        &["bogus"],
    ] {
        let out = helper(&sb, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
    for args in [&["--help"][..], &["--version"], &["svc", "--help"]] {
        let out = helper(&sb, args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(!out.stdout.is_empty());
    }
}

#[test]
fn bad_values_are_refused_with_exit_1_before_anything_runs() {
    let sb = Sandbox::new();
    let env = sb.write_env("");
    let env = env.to_str().unwrap();
    for (args, needle) in [
        (&["svc", "restart", "ollama;reboot"][..], "';'"),
        (&["svc", "start", "$(id)"], "'$'"),
        (&["svc", "stop", "a/../../etc/passwd"], "'/'"),
        (&["svc", "restart", "sshd"], "protected"),
        (&["svc", "stop", "systemd-networkd"], "protected"),
        (&["svc", "stop", "potion-runner"], "the bot itself"),
        (&["svc", "start", "x.timer"], "not a .service"),
        (&["timer", "set", "backup", "25:99"], "25:99"),
        (&["timer", "set", "backup", "03:15;reboot"], "not a time"),
    ] {
        let mut full = vec!["--env", env];
        full.extend_from_slice(args);
        let out = helper(&sb, &full);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains("refused"), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {needle:?} not in {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn self_service_from_env_is_protected_from_stop() {
    let sb = Sandbox::new();
    let env = sb.write_env("SELF_SERVICE=my-bot.service");
    let out = helper(
        &sb,
        &["--env", env.to_str().unwrap(), "svc", "stop", "my-bot"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("the bot itself"), "{}", stderr(&out));
}

#[test]
fn env_flag_is_refused_under_sudo() {
    let sb = Sandbox::new();
    let env = sb.write_env("");
    let mut c = sb.cmd(HELPER);
    c.env("SUDO_USER", "potion")
        .args(["--env", env.to_str().unwrap(), "timer", "show", "backup"]);
    let out = run(c);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not accepted under sudo"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_config_exits_2_naming_the_key() {
    let sb = Sandbox::new();
    let env = sb.write_env("SELF_SERVICE=a b");
    let out = helper(
        &sb,
        &["--env", env.to_str().unwrap(), "timer", "show", "backup"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("SELF_SERVICE"), "{}", stderr(&out));
}
