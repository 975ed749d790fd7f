//! Tests of finding, reading and falling back (temp files, no root needed).

use super::*;

fn opts(env: &Path, system: &Path, write_last_good: bool) -> LoadOptions {
    LoadOptions {
        env_file: Some(env.to_path_buf()),
        system_file: Some(system.to_path_buf()),
        ignore_process_env: true,
        privilege: Privilege::User,
        write_last_good,
    }
}

/// A temp folder with `system.env` (state in the folder) and `.env`.
fn files(system_extra: &str, env: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let system = dir.path().join("system.env");
    std::fs::write(
        &system,
        format!("STATE_DIR={}\n{system_extra}\n", state.display()),
    )
    .unwrap();
    let env_path = dir.path().join(".env");
    std::fs::write(&env_path, env).unwrap();
    (dir, system, env_path)
}

#[test]
fn system_settings_come_from_system_env_and_never_from_env() {
    let (dir, system, env) = files(
        "BACKUP_DIR=/srv/backups\nTHRESHOLD_CPU=10",
        "THRESHOLD_CPU=70\nBACKUP_DIR=/var/lib/evil\nBACKUP_SOURCES=/etc/shadow\n",
    );
    let c = load(&opts(&env, &system, false)).unwrap();
    assert_eq!(
        c.thresholds.cpu, 70.0,
        "a preference in system.env is ignored"
    );
    assert_eq!(c.backup_dir, PathBuf::from("/srv/backups"));
    assert_eq!(c.backup_sources, vec![PathBuf::from("/opt/potion-runner")]);
    assert_eq!(c.state_dir, dir.path().join("state"));
    assert_eq!(c.env_file, Some(env));
    let keys: Vec<&str> = c.ignored.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(keys, ["BACKUP_DIR", "BACKUP_SOURCES"]);
    assert_eq!(c.ignored[0].kind, ProblemKind::SystemKeyInEnv);
    assert!(c.ignored[0].to_string().contains("system setting"));
    assert!(
        c.ignored[0]
            .render(super::super::Lang::Id)
            .contains("pengaturan sistem")
    );
}

#[test]
fn a_bad_system_setting_is_an_error_naming_it() {
    let (_dir, system, env) = files("SELF_SERVICE=a b", "THRESHOLD_CPU=70\n");
    let e = load(&opts(&env, &system, false)).unwrap_err();
    let keys: Vec<&str> = e.problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["SELF_SERVICE"]);
    let (_dir, system, env) = files("this is not a line", "BOT_LANG=en\n");
    let e = load(&opts(&env, &system, false)).unwrap_err();
    assert_eq!(e.problems.len(), 1, "{e}");
    assert_eq!(e.problems[0].key, format!("{}:2", system.display()));
    assert!(e.to_string().contains("this line is not KEY=VALUE"), "{e}");
}

#[test]
fn every_problem_in_both_files_is_reported_at_once_in_bot_lang() {
    let (_dir, system, env) = files(
        "SELF_SERVICE=a b\nDATA_MOUNT=relative\nBACKUP_ALLOW_SAME_DISK=ya",
        "BOT_LANG=en\nTHRESHOLD_CPU=lots\nbroken line\nBACKUP_DIR=/x\n",
    );
    let e = load(&opts(&env, &system, false)).unwrap_err();
    let mut keys: Vec<&str> = e.problems.iter().map(|p| p.key.as_str()).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            ".env:3",
            "BACKUP_ALLOW_SAME_DISK",
            "BACKUP_DIR",
            "DATA_MOUNT",
            "SELF_SERVICE",
            "THRESHOLD_CPU"
        ]
    );
    assert_eq!(e.lang, super::super::Lang::En);
    assert!(e.to_string().starts_with("6 problems"), "{e}");
    // The same in Indonesian, and the file that cannot be read counts too.
    std::fs::write(&env, "THRESHOLD_CPU=lots\n").unwrap();
    std::fs::write(&system, "DATA_MOUNT=relative\nnot a line\n").unwrap();
    let e = load(&opts(&env, &system, false)).unwrap_err();
    assert_eq!(e.problems.len(), 3, "{e}");
    let text = e.to_string();
    assert!(text.starts_with("Ada 3 masalah"), "{text}");
    assert!(!text.contains("Fix:"), "{text}");
}

#[test]
fn a_bad_preference_falls_back_to_the_last_good_one_then_the_default() {
    let (dir, system, env) = files("", "THRESHOLD_CPU=70\nTHRESHOLD_RAM=60\n");
    let c = load(&opts(&env, &system, true)).unwrap();
    assert!(c.ignored.is_empty());
    let kept = dir.path().join("state").join(paths::LAST_GOOD_PREFS);
    let text = std::fs::read_to_string(&kept).unwrap();
    assert!(
        text.contains("THRESHOLD_CPU=70\nTHRESHOLD_RAM=60\n"),
        "{text}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&kept).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // Hand-edited: one value below the hysteresis, one not a number, one bad line.
    std::fs::write(
        &env,
        "THRESHOLD_CPU=3\nTHRESHOLD_RAM=lots\nBOT_TOKEN: 123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\nTHRESHOLD_DISK=80\n",
    )
    .unwrap();
    let c = load(&opts(&env, &system, true)).unwrap();
    assert_eq!(c.thresholds.cpu, 70.0, "last good");
    assert_eq!(c.thresholds.ram, 60.0, "last good");
    assert_eq!(c.thresholds.disk, 80.0, "the good edit is taken");
    let shown: Vec<String> = c.ignored.iter().map(|i| i.to_string()).collect();
    assert_eq!(c.ignored.len(), 3, "{shown:?}");
    assert!(
        shown[0].starts_with(".env:3: this line is not KEY=VALUE"),
        "{shown:?}"
    );
    assert!(
        shown
            .iter()
            .any(|s| s.contains("THRESHOLD_CPU") && s.contains("ALERT_HYSTERESIS (5)"))
    );
    assert!(shown.iter().all(|s| !s.contains("AAAA")), "{shown:?}");
    // Not clean: the last good file is left as it was.
    assert_eq!(std::fs::read_to_string(&kept).unwrap(), text);
    // Without a last good value the default stands in.
    std::fs::remove_file(&kept).unwrap();
    let c = load(&opts(&env, &system, true)).unwrap();
    assert_eq!((c.thresholds.cpu, c.thresholds.ram), (90.0, 90.0));
}

#[test]
fn a_last_good_value_that_fails_too_gives_the_default() {
    let system = BTreeMap::new();
    let prefs = BTreeMap::from([("THRESHOLD_CPU".to_string(), "3".to_string())]);
    let last_good = BTreeMap::from([("THRESHOLD_CPU".to_string(), "4".to_string())]);
    let mut ignored = Vec::new();
    let c = resolve(&system, prefs, &last_good, &mut ignored).unwrap();
    assert_eq!(c.thresholds.cpu, 90.0);
    assert_eq!(ignored.len(), 1, "{ignored:?}");
}

#[test]
fn an_unreadable_env_is_ignored_as_a_whole_not_fatal() {
    let (dir, system, _env) = files("", "");
    let link = dir.path().join("link.env");
    std::os::unix::fs::symlink("/etc/hostname", &link).unwrap();
    let c = load(&opts(&link, &system, false)).unwrap();
    assert_eq!(c.ignored.len(), 1);
    assert_eq!(c.ignored[0].key, link.display().to_string());
    assert_eq!(
        c.ignored[0].kind,
        ProblemKind::File(super::super::FileProblem::Symlink)
    );
    let missing = dir.path().join("nope.env");
    let c = load(&opts(&missing, &system, false)).unwrap();
    assert!(c.ignored[0].key.ends_with("nope.env"), "{}", c.ignored[0]);
}

#[test]
fn delegated_processes_take_no_other_files() {
    let (_dir, system, env) = files("BACKUP_DIR=/srv/b", "");
    let mut o = opts(&env, &system, false);
    o.privilege = Privilege::Delegated;
    assert_eq!(system_file(&o), PathBuf::from(paths::SYSTEM_ENV_PATH));
    o.privilege = Privilege::Root;
    assert_eq!(system_file(&o), system);
    assert!(
        !LoadOptions {
            privilege: Privilege::Delegated,
            ..o.clone()
        }
        .use_env()
    );
}

#[test]
fn a_secret_in_system_env_is_ignored() {
    // Every user can read system.env: the backup's ping URL would be theirs to fake.
    let (_dir, system, env) = files(
        "BACKUP_HEALTHCHECK_URL=https://hc-ping.com/secret-uuid\nBACKUP_DIR=/srv/b",
        "",
    );
    let c = load(&opts(&env, &system, false)).unwrap();
    assert!(c.backup_healthcheck_url.is_none());
    assert_eq!(c.backup_dir, PathBuf::from("/srv/b"));
}
