//! Setup on temp folders: migration, idempotence, and refusing swapped `.env`s.

use super::*;
use std::os::unix::fs::PermissionsExt;

/// Paths in a temp folder, for the user running the tests (root in CI).
fn paths(dir: &std::path::Path) -> SetupPaths {
    // SAFETY: geteuid has no preconditions; getpwuid's record is read at once.
    let user = unsafe {
        let pw = libc::getpwuid(libc::geteuid());
        std::ffi::CStr::from_ptr((*pw).pw_name)
            .to_string_lossy()
            .into_owned()
    };
    let app_dir = dir.join("app");
    std::fs::create_dir_all(&app_dir).unwrap();
    SetupPaths {
        app_dir,
        system_env: dir.join("etc/system.env"),
        user,
    }
}

fn mode(p: &std::path::Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn a_missing_env_comes_from_the_template() {
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    let out = prepare_env(&p, "BOT_TOKEN=\n", "# system\n").unwrap();
    assert!(out.contains("wrote .env from the template"), "{out}");
    let env = p.app_dir.join(".env");
    assert_eq!(std::fs::read_to_string(&env).unwrap(), "BOT_TOKEN=\n");
    assert_eq!(mode(&env), 0o600);
    assert_eq!(
        std::fs::read_to_string(&p.system_env).unwrap(),
        "# system\n"
    );
    assert_eq!(status(&p).unwrap(), "token: unset\n");
}

#[test]
fn path_keys_move_to_system_env_once() {
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    let env = p.app_dir.join(".env");
    std::fs::write(
        &env,
        "# mine\nBOT_TOKEN=1:x\nBACKUP_DIR=/srv/b\nTHRESHOLD_CPU=70\nSELF_SERVICE=bot.service\nBACKUP_TIME=03.15\n",
    )
    .unwrap();
    std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = prepare_env(&p, "", "# system settings\n").unwrap();
    assert!(out.contains("moved BACKUP_DIR"), "{out}");
    assert!(out.contains("moved SELF_SERVICE"), "{out}");
    assert_eq!(
        std::fs::read_to_string(&env).unwrap(),
        "# mine\nBOT_TOKEN=1:x\nTHRESHOLD_CPU=70\nBACKUP_TIME=03.15\n"
    );
    assert_eq!(mode(&env), 0o600);
    assert_eq!(
        std::fs::read_to_string(&p.system_env).unwrap(),
        "# system settings\nBACKUP_DIR=/srv/b\nSELF_SERVICE=bot.service\n"
    );
    assert_eq!(mode(&p.system_env), 0o644);
    // Again: nothing left to move, nothing changes.
    assert_eq!(prepare_env(&p, "", "").unwrap(), "");
    // A key planted later does not override what system.env says.
    std::fs::write(&env, "BACKUP_DIR=/var/lib/evil\n").unwrap();
    let out = prepare_env(&p, "", "").unwrap();
    assert!(out.contains("ignored BACKUP_DIR"), "{out}");
    assert!(
        std::fs::read_to_string(&p.system_env)
            .unwrap()
            .contains("BACKUP_DIR=/srv/b\n")
    );
    assert_eq!(std::fs::read_to_string(&env).unwrap(), "");
    std::fs::write(&env, "BOT_TOKEN=1:x\nBACKUP_TIME=03.15\n").unwrap();
    assert_eq!(status(&p).unwrap(), "backup-time: 03:15\ntoken: set\n");
}

#[test]
fn system_keys_newer_than_system_env_are_dropped_not_moved() {
    // An install without system.env yet: the bot's user plants keys no old
    // .env could hold, hoping the first system.env takes them over.
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    let env = p.app_dir.join(".env");
    std::fs::write(
        &env,
        "BACKUP_DIR=/srv/b\nPOWER_ACTIONS=1\nBACKUP_HEALTHCHECK_URL=https://evil.example/x\nSMART_INTERVAL=0\nBACKUP_ALLOW_SAME_DISK=1\n",
    )
    .unwrap();
    let out = prepare_env(&p, "", "# system settings\n").unwrap();
    assert!(out.contains("moved BACKUP_DIR"), "{out}");
    for k in [
        "POWER_ACTIONS",
        "BACKUP_HEALTHCHECK_URL",
        "SMART_INTERVAL",
        "BACKUP_ALLOW_SAME_DISK",
    ] {
        assert!(
            out.contains(&format!("dropped {k} from .env: only root")),
            "{k}: {out}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(&p.system_env).unwrap(),
        "# system settings\nBACKUP_DIR=/srv/b\n"
    );
    assert_eq!(std::fs::read_to_string(&env).unwrap(), "");
}

#[test]
fn a_swapped_env_is_never_followed() {
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    let target = dir.path().join("root-file");
    std::fs::write(&target, "BACKUP_DIR=/x\n").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    let env = p.app_dir.join(".env");
    std::os::unix::fs::symlink(&target, &env).unwrap();
    let out = prepare_env(&p, "", "").unwrap();
    assert!(
        out.contains("left .env alone") && out.contains("symlink"),
        "{out}"
    );
    assert!(status(&p).unwrap().contains("note: left .env alone"));
    std::fs::remove_file(&env).unwrap();
    std::fs::hard_link(&target, &env).unwrap();
    let out = prepare_env(&p, "", "").unwrap();
    assert!(out.contains("hard link"), "{out}");
    std::fs::remove_file(&env).unwrap();
    let c = std::ffi::CString::new(env.to_str().unwrap()).unwrap();
    // SAFETY: a valid path string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let out = prepare_env(&p, "", "").unwrap();
    assert!(out.contains("not a regular file"), "{out}");
    // The target was neither changed nor re-moded.
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "BACKUP_DIR=/x\n");
    assert_eq!(mode(&target), 0o640);
    // The install went on: system.env exists, from the template only.
    assert_eq!(std::fs::read_to_string(&p.system_env).unwrap(), "");
}

/// The shipped template: every key is commented out.
const SYSTEM_TEMPLATE: &str = include_str!("../../../ops/system.env.template");

#[test]
fn keys_planted_after_the_migration_never_reach_system_env() {
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    let env = p.app_dir.join(".env");
    // A fresh install: both files come from their templates.
    prepare_env(&p, "BOT_TOKEN=\n", SYSTEM_TEMPLATE).unwrap();
    assert_eq!(
        std::fs::read_to_string(&p.system_env).unwrap(),
        SYSTEM_TEMPLATE
    );
    // The service user plants system keys, then triggers an upgrade.
    std::fs::write(
        &env,
        "BOT_TOKEN=1:x\nBACKUP_SOURCES=/etc/shadow,/root\nBACKUP_KEEP_DAILY=0\nSTATE_DIR=/tmp/x\n",
    )
    .unwrap();
    let out = prepare_env(&p, "BOT_TOKEN=\n", SYSTEM_TEMPLATE).unwrap();
    for k in ["BACKUP_SOURCES", "BACKUP_KEEP_DAILY", "STATE_DIR"] {
        assert!(out.contains(&format!("ignored {k} in .env")), "{out}");
    }
    assert!(out.contains("set it in"), "{out}");
    assert!(!out.contains("moved"), "{out}");
    assert_eq!(
        std::fs::read_to_string(&p.system_env).unwrap(),
        SYSTEM_TEMPLATE
    );
    assert_eq!(std::fs::read_to_string(&env).unwrap(), "BOT_TOKEN=1:x\n");
}

#[test]
fn a_value_that_cannot_move_is_dropped_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    let env = p.app_dir.join(".env");
    std::fs::write(
        &env,
        "BOT_TOKEN=1:x\nBACKUP_EXCLUDES=a\"b'c\nBACKUP_DIR=/srv/b\n",
    )
    .unwrap();
    let out = prepare_env(&p, "", SYSTEM_TEMPLATE).unwrap();
    assert!(out.contains("dropped BACKUP_EXCLUDES"), "{out}");
    assert!(out.contains("moved BACKUP_DIR"), "{out}");
    let sys = std::fs::read_to_string(&p.system_env).unwrap();
    assert!(sys.ends_with("\nBACKUP_DIR=/srv/b\n"), "{sys}");
    assert!(!sys.contains("\nBACKUP_EXCLUDES="), "{sys}");
    assert_eq!(std::fs::read_to_string(&env).unwrap(), "BOT_TOKEN=1:x\n");
    // A .env that is not text is left alone, and the install goes on.
    std::fs::write(&env, b"BOT_TOKEN=\xff\n").unwrap();
    let out = prepare_env(&p, "", SYSTEM_TEMPLATE).unwrap();
    assert!(out.contains("left .env alone"), "{out}");
    assert!(status(&p).unwrap().contains("token: unset"));
}

#[test]
fn a_planted_temporary_name_does_not_block_setup() {
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    let env = p.app_dir.join(".env");
    std::fs::write(&env, "BACKUP_DIR=/srv/b\n").unwrap();
    let planted = p.app_dir.join(format!(".env.new-{}", std::process::id()));
    std::fs::write(&planted, "mine").unwrap();
    let out = prepare_env(&p, "", "").unwrap();
    assert!(out.contains("moved BACKUP_DIR"), "{out}");
    assert_eq!(std::fs::read_to_string(&env).unwrap(), "");
    assert_eq!(std::fs::read_to_string(&planted).unwrap(), "mine");
}
