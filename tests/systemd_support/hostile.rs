//! The hostile-user checks of issue 10 on the installed system: the bot's
//! user owns `.env` and runs the helper through sudo, exactly the rights
//! anyone who gets code running in the network-facing bot has. Neither a
//! rewritten `.env` nor any unit name gets root's work pointed elsewhere.

use super::*;

/// Folders the planted path keys name; root must never create them.
const EVIL_DIRS: &[&str] = &["/var/lib/evil", "/var/lib/evilstate"];

/// Every unit issue 10 names as a way to root or off the machine, and more:
/// real units, instances of real templates and names that need not exist.
const ROOT_GRANTING: &[&str] = &[
    "debug-shell.service",
    "emergency.service",
    "rescue.service",
    "kexec.service",
    "reboot.service",
    "poweroff.service",
    "halt.service",
    "ctrl-alt-del.service",
    "getty@tty1.service",
    "serial-getty@ttyS0.service",
    "console-getty.service",
    "container-getty@1.service",
    "autovt@tty1.service",
    "modprobe@dummy.service",
    "systemd-logind.service",
    "systemd-journald.service",
    "dbus.service",
    "polkit.service",
    "sudo.service",
    "ssh.service",
    "sshd.service",
    "dropbear.service",
    "wg-quick@wg0.service",
    "openvpn.service",
    "openvpn@client.service",
    "tailscaled.service",
    "NetworkManager.service",
    "networking.service",
    "ufw.service",
    "nftables.service",
    "user@0.service",
];

/// Starts `unit` through `sudo -n potion-helper WORD start` and waits for it to end once more.
fn start_and_wait(m: &Machine, word: &str, unit: &str) {
    let before = m.prop(unit, "ExecMainExitTimestampMonotonic");
    let out = m.as_bot(&[paths::HELPER_PATH, word, "start"]);
    assert!(out.success(), "{word} start: {}", out.stderr_lossy());
    m.wait_for(
        &format!("{unit} to run again"),
        Duration::from_secs(60),
        |m| {
            m.prop(unit, "ExecMainExitTimestampMonotonic") != before
                && m.prop(unit, "ActiveState") != "activating"
        },
    );
    let journal = m.ok(&["journalctl", "--no-pager", "-u", unit, "-o", "cat"]);
    assert_eq!(m.prop(unit, "Result"), "success", "{journal}");
}

fn nothing_escaped(m: &Machine) {
    for d in EVIL_DIRS {
        assert!(
            m.run(&["test", "-e", d]).code() == Some(1),
            "{d} was created"
        );
    }
    let copied = m.ok(&[
        "find",
        "/mnt/potion-data/backups",
        "(",
        "-name",
        "shadow",
        "-o",
        "-path",
        "*/snapshots/*/root",
        ")",
    ]);
    assert_eq!(copied.trim(), "", "root-only files were copied");
}

/// Path keys appended to `.env` (issue 10's attack 1): `backup start` and
/// `verify start` through sudo, and `potion-backup run` as root with no
/// sandbox at all, still use `system.env`'s folders and sources.
pub fn check_path_keys_in_env_change_nothing(m: &Machine) {
    let original = m.read(ENV).unwrap();
    edit_env(m, |env| {
        env + "BACKUP_DIR=/var/lib/evil\nDATA_MOUNT=/\nSTATE_DIR=/var/lib/evilstate\n\
               BACKUP_SOURCES=/etc/shadow,/root\nSELF_SERVICE=ssh.service\n"
    });
    let before = read_as_bot(m, paths::LAST_BACKUP)["id"].clone();
    start_and_wait(m, "backup", paths::BACKUP_UNIT);
    let last = read_as_bot(m, paths::LAST_BACKUP);
    assert_eq!(last["status"], "ok", "{last}");
    assert_eq!(last["files"], 41, "the configured sources only: {last}");
    assert_ne!(
        last["id"], before,
        "a new snapshot in the configured BACKUP_DIR"
    );
    start_and_wait(m, "verify", paths::VERIFY_UNIT);
    m.journal_until(
        &["-u", paths::BACKUP_UNIT, "-o", "cat"],
        "a warning naming the planted key",
        |j| j.contains("ignoring BACKUP_DIR") && j.contains("a system setting"),
    );
    // Outside any sandbox, as root: the settings alone keep it in place.
    m.ok(&["/usr/bin/potion-backup", "run"]);
    nothing_escaped(m);

    // The bot's user cannot name another system file under sudo ...
    let out = m.as_bot(&[paths::HELPER_PATH, "--system-env", ENV, "backup", "start"]);
    assert_refused(&out, "not accepted under sudo");
    // ... and a system.env it could write is not root's word.
    m.ok(&["chown", paths::SERVICE_USER, paths::SYSTEM_ENV_PATH]);
    let out = m.as_bot(&[paths::HELPER_PATH, "backup", "start"]);
    assert_eq!(out.code(), Some(2), "{}", out.stderr_lossy());
    // Reported in the .env's language (the template's: Indonesian).
    let err = out.stderr_lossy();
    assert!(
        err.contains(&format!("{}: tidak bisa dipercaya", paths::SYSTEM_ENV_PATH)),
        "{err}"
    );
    m.ok(&["chown", "root", paths::SYSTEM_ENV_PATH]);
    nothing_escaped(m);
    edit_env(m, |_| original);
}

/// Asserts the helper refused `svc start UNIT` with `code`, and systemd
/// started nothing (a unit already running, like logind, was not touched).
fn refused_with(m: &Machine, unit: &str, code: &str) {
    let before = m.prop(unit, "ExecMainStartTimestampMonotonic");
    let out = m.as_bot(&[paths::HELPER_PATH, "svc", "start", unit]);
    assert_refused(&out, &format!("reason: {code}"));
    assert_eq!(
        m.prop(unit, "ExecMainStartTimestampMonotonic"),
        before,
        "{unit} was started"
    );
}

/// Issue 10's attack 3: units that hand out root are refused with no
/// allowlist (the installed default) and with one that allows everything;
/// so are an alias of one and a unit that puts a program on a terminal.
pub fn check_root_granting_units_refused(m: &Machine) {
    assert!(ROOT_GRANTING.len() >= 20);
    let allowlist = m.read(paths::ALLOWED_UNITS_FILE);
    m.ok(&["rm", "-f", paths::ALLOWED_UNITS_FILE]);
    for unit in ROOT_GRANTING {
        refused_with(m, unit, "protected-unit");
    }
    m.write(paths::ALLOWED_UNITS_FILE, "*\n", 0o644);
    for unit in ROOT_GRANTING {
        refused_with(m, unit, "protected-unit");
    }
    m.ok(&[
        "ln",
        "-s",
        "/lib/systemd/system/debug-shell.service",
        "/etc/systemd/system/harmless-alias.service",
    ]);
    m.write(
        "/etc/systemd/system/potion-tty-probe.service",
        "[Service]\nExecStart=/bin/sleep infinity\nStandardInput=tty\nTTYPath=/dev/tty9\n",
        0o644,
    );
    m.ok(&["systemctl", "daemon-reload"]);
    refused_with(m, "harmless-alias.service", "protected-unit");
    refused_with(m, "potion-tty-probe.service", "tty-unit");
    refused_with(m, "potion-no-such-unit.service", "no-such-unit");
    assert_eq!(m.prop("debug-shell.service", "ActiveState"), "inactive");
    m.ok(&[
        "rm",
        "/etc/systemd/system/harmless-alias.service",
        "/etc/systemd/system/potion-tty-probe.service",
    ]);
    m.ok(&["systemctl", "daemon-reload"]);
    if let Some(text) = allowlist {
        m.write(paths::ALLOWED_UNITS_FILE, &text, 0o644);
    }
}
