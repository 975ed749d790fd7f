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
    assert!(out.contains("dropped BACKUP_DIR"), "{out}");
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
fn a_swapped_env_is_never_followed() {
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    let target = dir.path().join("root-file");
    std::fs::write(&target, "BACKUP_DIR=/x\n").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    let env = p.app_dir.join(".env");
    std::os::unix::fs::symlink(&target, &env).unwrap();
    let e = prepare_env(&p, "", "").unwrap_err().to_string();
    assert!(e.contains("symlink"), "{e}");
    assert!(status(&p).is_err());
    std::fs::remove_file(&env).unwrap();
    std::fs::hard_link(&target, &env).unwrap();
    let e = prepare_env(&p, "", "").unwrap_err().to_string();
    assert!(e.contains("hard link"), "{e}");
    std::fs::remove_file(&env).unwrap();
    let c = std::ffi::CString::new(env.to_str().unwrap()).unwrap();
    // SAFETY: a valid path string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let e = prepare_env(&p, "", "").unwrap_err().to_string();
    assert!(e.contains("not a regular file"), "{e}");
    // The target was neither changed nor re-moded.
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "BACKUP_DIR=/x\n");
    assert_eq!(mode(&target), 0o640);
    assert!(!p.system_env.exists());
}
