//! Hostile layouts under `BACKUP_DIR` and in `STATE_DIR`: folders of the
//! wrong owner, planted symlinks and temp files, a snapshot folder swapped
//! mid-run. Each must fail cleanly (or, for `STATE_DIR`, not matter) with
//! nothing written outside `BACKUP_DIR`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use super::{Bk, root_or_skip, text, write};

fn is_empty_dir(p: &Path) -> bool {
    std::fs::read_dir(p).unwrap().next().is_none()
}

#[test]
fn a_backup_dir_of_another_user_or_open_to_others_is_refused_with_nothing_written() {
    let bk = Bk::new();
    write(&bk.src().join("f"), b"secret");
    std::fs::create_dir(&bk.backup_dir).unwrap();
    std::fs::set_permissions(&bk.backup_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let o = bk.ok(&["run"], 1);
    assert!(
        text(&o.stderr).contains("writable by its group or by others"),
        "{}",
        text(&o.stderr)
    );
    assert!(
        is_empty_dir(&bk.backup_dir),
        "wrote into a folder others may write"
    );
    assert_eq!(bk.outcome().status, "failed");
    for cmd in [&["verify"][..], &["prune"], &["restore", "latest", "/x"]] {
        let o = bk.ok(cmd, 1);
        assert!(
            text(&o.stderr).contains("writable by"),
            "{cmd:?}: {}",
            text(&o.stderr)
        );
    }
    assert!(is_empty_dir(&bk.backup_dir));

    if !root_or_skip("a BACKUP_DIR owned by another uid") {
        return;
    }
    std::fs::set_permissions(&bk.backup_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::chown(&bk.backup_dir, Some(65534), Some(65534)).unwrap();
    let o = bk.ok(&["run"], 1);
    assert!(
        text(&o.stderr).contains("belongs to uid 65534"),
        "{}",
        text(&o.stderr)
    );
    assert!(
        is_empty_dir(&bk.backup_dir),
        "root wrote into another user's folder"
    );
    // The same for a snapshots/ folder that another user owns.
    std::os::unix::fs::chown(&bk.backup_dir, Some(0), Some(0)).unwrap();
    std::fs::create_dir(bk.backup_dir.join("snapshots")).unwrap();
    std::os::unix::fs::chown(bk.backup_dir.join("snapshots"), Some(65534), Some(65534)).unwrap();
    let o = bk.ok(&["run"], 1);
    assert!(
        text(&o.stderr).contains("belongs to uid 65534"),
        "{}",
        text(&o.stderr)
    );
    assert!(is_empty_dir(&bk.backup_dir.join("snapshots")));
}

#[test]
fn symlinked_lock_or_folders_fail_cleanly_and_write_nothing_outside() {
    let bk = Bk::new();
    write(&bk.src().join("f"), b"x");
    let outside = bk.sb.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::create_dir(&bk.backup_dir).unwrap();
    std::os::unix::fs::symlink(outside.join("lockfile"), bk.backup_dir.join(".run.lock")).unwrap();
    let o = bk.ok(&["run"], 1);
    assert!(
        text(&o.stderr).contains("not a symlink"),
        "{}",
        text(&o.stderr)
    );
    std::fs::remove_file(bk.backup_dir.join(".run.lock")).unwrap();
    std::os::unix::fs::symlink(outside.join("lockfile"), bk.backup_dir.join(".lock")).unwrap();
    bk.ok(&["run"], 1);
    std::fs::remove_file(bk.backup_dir.join(".lock")).unwrap();
    std::fs::remove_dir(bk.backup_dir.join("manifests")).unwrap();
    std::os::unix::fs::symlink(&outside, bk.backup_dir.join("manifests")).unwrap();
    let o = bk.ok(&["run"], 1);
    assert!(
        text(&o.stderr).contains("real folder"),
        "{}",
        text(&o.stderr)
    );
    assert!(is_empty_dir(&outside), "wrote through a symlink");
    assert!(bk.ids().is_empty());
}

#[test]
fn records_and_manifests_are_owner_only_in_closed_folders() {
    let bk = Bk::new();
    write(&bk.src().join("f"), b"x");
    bk.ok(&["run"], 0);
    bk.ok(&["verify"], 0);
    let id = &bk.ids()[0];
    let mode = |p: &Path| std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777;
    for d in ["snapshots", "manifests", "verify"] {
        assert_eq!(mode(&bk.backup_dir.join(d)), 0o700, "{d}");
    }
    assert_eq!(
        mode(&bk.backup_dir.join(format!("verify/{id}.json"))),
        0o600
    );
    assert_eq!(
        mode(&bk.backup_dir.join(format!("manifests/{id}.manifest"))),
        0o600
    );
}

#[test]
fn planted_temp_files_and_symlinks_in_state_dir_cannot_stop_last_backup() {
    let bk = Bk::new();
    write(&bk.src().join("f"), b"x");
    let state = bk.sb.state_dir();
    std::fs::create_dir_all(&state).unwrap();
    let outside = bk.sb.path().join("outside-file");
    std::fs::write(&outside, b"keep").unwrap();
    // Every name the old predictable scheme could use for the next few pids,
    // and symlinks for the files root writes there.
    for pid in 1..2000 {
        let planted = state.join(format!(".last_backup.json.tmp.{pid}.0"));
        std::os::unix::fs::symlink(&outside, planted).unwrap();
    }
    for name in ["last_backup.json", "backup-progress.json", "backups.json"] {
        std::os::unix::fs::symlink(&outside, state.join(name)).unwrap();
    }
    bk.ok(&["run"], 0);
    assert_eq!(std::fs::read(&outside).unwrap(), b"keep");
    let last = std::fs::symlink_metadata(state.join("last_backup.json")).unwrap();
    assert!(last.is_file());
    assert_eq!(bk.outcome().status, "ok");
}

/// Exchanges two names in one step (`renameat2` with `RENAME_EXCHANGE`);
/// false when either is gone.
fn exchange(a: &Path, b: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
    let (a, b) = (c(a), c(b));
    // SAFETY: both pointers are valid NUL-terminated strings for the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    rc == 0
}

/// Swaps `snapshots/.tmp-<ID>` for a symlink to a folder outside while a run
/// builds it; returns whether the swap happened before the run ended.
fn swap_mid_run(bk: &Bk, outside: &Path, attempt: usize) -> Option<std::process::Output> {
    let snaps = bk.backup_dir.join("snapshots");
    let mut child = bk
        .cmd(&["run"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut swapped = false;
    while child.try_wait().unwrap().is_none() && !swapped {
        let Ok(rd) = std::fs::read_dir(&snaps) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name();
            if name.to_string_lossy().starts_with(".tmp-") {
                // One atomic exchange: the run never sees the name missing,
                // only the folder or the symlink.
                let link = bk.backup_dir.join(format!("moved-{attempt}"));
                std::os::unix::fs::symlink(outside, &link).unwrap();
                swapped = exchange(&e.path(), &link);
                if !swapped {
                    std::fs::remove_file(&link).unwrap();
                }
            }
        }
    }
    let o = child.wait_with_output().unwrap();
    swapped.then_some(o)
}

#[test]
fn a_snapshot_folder_swapped_for_a_symlink_mid_run_fails_cleanly() {
    let bk = Bk::new();
    for i in 0..3000 {
        write(&bk.src().join(format!("d{}/f{i}", i % 30)), &[b'x'; 2048]);
    }
    let outside = bk.sb.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    bk.ok(&["run"], 0);
    let first = bk.ids();
    let mut caught = 0;
    for attempt in 0..20 {
        // A changed file in every folder makes the run copy, not only link.
        for d in 0..30 {
            write(&bk.src().join(format!("d{d}/new{attempt}")), b"new");
        }
        let Some(o) = swap_mid_run(&bk, &outside, attempt) else {
            continue;
        };
        caught += 1;
        assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
        assert!(
            is_empty_dir(&outside),
            "root wrote through the swapped-in symlink"
        );
        let names: Vec<String> = std::fs::read_dir(bk.backup_dir.join("snapshots"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(!names.iter().any(|n| n.starts_with(".tmp-")), "{names:?}");
        assert_eq!(bk.ids(), first, "a swapped folder became a snapshot");
        if caught >= 3 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(caught > 0, "the swap never landed while a run was building");
    // The next run works and the first snapshot is intact.
    bk.ok(&["run"], 0);
    bk.ok(&["verify", &first[0]], 0);
}
