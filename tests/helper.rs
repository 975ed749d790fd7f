//! `potion-helper` as a binary, without root or systemd: exit codes for usage,
//! refusals before anything runs, and what it takes from the caller (`--env`
//! under sudo, bad config). Acting for real is covered by `tests/systemd.rs`;
//! `restore` acts for real here, on a snapshot the real `potion-backup` made
//! in a temp folder (without systemd as PID 1 the helper runs it directly).

mod common;

use common::{Sandbox, run};

const HELPER: &str = env!("CARGO_BIN_EXE_potion-helper");

/// Runs the helper; once the sandbox has a `system.env`, it is named with
/// `--system-env` (the helper reads no environment variable).
fn helper(sb: &Sandbox, args: &[&str]) -> std::process::Output {
    let mut c = sb.cmd(HELPER);
    if sb.system_env().exists() {
        c.arg("--system-env").arg(sb.system_env());
    }
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
        &["restore"],
        &["restore", "20260314T031500Z"],
        &["restore", "20260314T031500Z", "/opt/x", "--overwrite"],
        &["power"],
        &["power", "on"],
        &["power", "off", "now"],
        &["bogus"],
    ] {
        let out = helper(&sb, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
    for args in [
        &["--help"][..],
        &["--version"],
        &["svc", "--help"],
        &["restore", "--help"],
    ] {
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
        // Without a journal the log line comes first; then the code, then the reason.
        assert!(
            err.lines().any(|l| l.starts_with("reason: ")),
            "{args:?}: {err}"
        );
        assert!(
            err.lines()
                .last()
                .unwrap()
                .starts_with("potion-helper: refused: ")
        );
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
fn system_env_flag_is_refused_under_sudo() {
    let sb = Sandbox::new();
    sb.write_env("SELF_SERVICE=my-bot.service");
    let mut c = sb.cmd(HELPER);
    c.env("SUDO_USER", "potion")
        .arg("--system-env")
        .arg(sb.system_env())
        .args(["svc", "stop", "my-bot"]);
    let out = run(c);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not accepted under sudo"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_bad_system_setting_exits_2_naming_the_key() {
    let sb = Sandbox::new();
    let env = sb.write_env("SELF_SERVICE=a b");
    let out = helper(
        &sb,
        &["--env", env.to_str().unwrap(), "timer", "show", "backup"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("SELF_SERVICE"), "{}", stderr(&out));
}

const BACKUP: &str = env!("CARGO_BIN_EXE_potion-backup");

/// A sandbox whose `.env` (the only config the helper reads) points the
/// backup at temp folders, with one snapshot of `src/` taken by the real
/// `potion-backup`; returns the env file, the source folder and the id.
fn snapshot(sb: &Sandbox) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let src = sb.path().join("src");
    let backups = sb.path().join("backups");
    std::fs::create_dir_all(src.join("app/conf")).unwrap();
    std::fs::write(src.join("app/conf/a.txt"), "alpha\n").unwrap();
    std::fs::write(src.join("app/conf/b.bin"), vec![7u8; 10_000]).unwrap();
    std::fs::write(src.join("app/top.txt"), "top\n").unwrap();
    let env = sb.write_env(&format!(
        "DATA_MOUNT=/\nBACKUP_DIR={}\nBACKUP_SOURCES={}",
        backups.display(),
        src.display()
    ));
    let mut c = sb.cmd(BACKUP);
    c.arg("--env").arg(&env).arg("run");
    let out = run(c);
    assert_eq!(out.status.code(), Some(0), "backup run: {}", stderr(&out));
    let id = std::fs::read_dir(backups.join("snapshots"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .find(|n| n.len() == 16)
        .expect("a snapshot");
    (env, src, id)
}

#[test]
fn restore_copies_a_real_snapshot_into_staging_and_says_where() {
    let sb = Sandbox::new();
    let (env, src, id) = snapshot(&sb);
    let env = env.to_str().unwrap();
    let folder = src.join("app/conf");
    // Changed after the snapshot: the restore must bring the old bytes back, elsewhere.
    std::fs::write(folder.join("a.txt"), "changed\n").unwrap();
    let out = helper(
        &sb,
        &["--env", env, "restore", &id, folder.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let dest = sb
        .path()
        .join("backups/restored")
        .join(&id)
        .join(folder.strip_prefix("/").unwrap());
    assert_eq!(
        stdout,
        format!(
            "restored-to: {}\nfiles: 2\nbytes: 10006\nverified: yes\n",
            dest.display()
        )
    );
    assert_eq!(
        std::fs::read_to_string(dest.join("a.txt")).unwrap(),
        "alpha\n"
    );
    assert_eq!(
        std::fs::read(dest.join("b.bin")).unwrap(),
        vec![7u8; 10_000]
    );
    assert_eq!(
        std::fs::read_to_string(folder.join("a.txt")).unwrap(),
        "changed\n",
        "the live file is never touched"
    );
    // Again: the staged files exist and are never overwritten.
    let again = helper(
        &sb,
        &["--env", env, "restore", &id, folder.to_str().unwrap()],
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("already exist"),
        "{}",
        stderr(&again)
    );
    assert_eq!(
        std::fs::read_to_string(dest.join("a.txt")).unwrap(),
        "alpha\n"
    );
}

#[test]
fn restore_refuses_unknown_ids_and_escaping_paths_before_anything_runs() {
    let sb = Sandbox::new();
    let (env, src, id) = snapshot(&sb);
    let env = env.to_str().unwrap();
    let inside = src.join("app/top.txt");
    let inside = inside.to_str().unwrap();
    let long = "a".repeat(5000);
    for (args, needle) in [
        (&["restore", "20200101T000000Z", inside][..], "no snapshot"),
        (&["restore", "latest", inside], "not a snapshot id"),
        (&["restore", &id, "../../etc/shadow"], ".."),
        (&["restore", "--", &id, "--to=/etc"], "option"),
        (&["restore", &id, long.as_str()], "longer"),
    ] {
        let mut full = vec!["--env", env];
        full.extend_from_slice(args);
        let out = helper(&sb, &full);
        assert_eq!(out.status.code(), Some(1), "{needle}: {}", stderr(&out));
        assert!(stderr(&out).contains("refused"), "{}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{needle}: {}", stderr(&out));
        assert!(out.stdout.is_empty());
    }
    assert!(
        !sb.path().join("backups/restored").exists(),
        "nothing was restored"
    );
    // Not in the snapshot: potion-backup runs and says so; nothing is staged.
    let out = helper(&sb, &["--env", env, "restore", &id, "/nowhere/x"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not in snapshot"), "{}", stderr(&out));
}

#[test]
fn power_off_is_refused_unless_root_allows_it_and_the_machine_is_on_battery() {
    let sb = Sandbox::new();
    let env = sb.write_env("");
    let env = env.to_str().unwrap();
    let refused = |extra_system: &str, code: &str| {
        std::fs::write(sb.system_env(), extra_system).unwrap();
        let out = helper(&sb, &["--env", env, "power", "off"]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(&format!("reason: {code}\n")), "{err}");
        assert!(err.contains("refused"), "{err}");
        assert!(out.stdout.is_empty());
    };
    refused("", "power-actions-off");
    refused("POWER_ACTIONS=0\n", "power-actions-off");
    // Allowed by root: still refused unless this machine reads as on
    // battery (a test machine on mains or without any supply).
    let on_battery = std::fs::read_dir("/sys/class/power_supply")
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| {
            let p = e.path();
            let kind = std::fs::read_to_string(p.join("type")).unwrap_or_default();
            let online = std::fs::read_to_string(p.join("online")).unwrap_or_default();
            kind.trim() == "Mains" && online.trim() == "0"
        });
    if on_battery {
        // Never power off the machine running the tests (CI machines are on mains).
        assert!(std::env::var_os("CI").is_none(), "a CI machine on battery");
        eprintln!("SKIPPED: this machine runs on battery; power off would be allowed");
    } else {
        refused("POWER_ACTIONS=1\n", "not-on-battery");
    }
    // A bad value is a bad system setting: exit 2.
    std::fs::write(sb.system_env(), "POWER_ACTIONS=yes\n").unwrap();
    let out = helper(&sb, &["--env", env, "power", "off"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("POWER_ACTIONS"));
}
