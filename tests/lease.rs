//! Binary-level test of maintenance leases: a real `potion-backup run` holds
//! `lease-backup.json` in `STATE_DIR` while it runs and removes it when done.
#![allow(clippy::disallowed_methods)] // spawns the binary under test

mod common;

use std::process::Stdio;

use common::Sandbox;
use potion_runner::files::lease::{Job, read_all};

const BIN: &str = env!("CARGO_BIN_EXE_potion-backup");

#[test]
fn a_backup_run_holds_its_lease_while_it_runs_and_ends_it() {
    let sb = Sandbox::new();
    let src = sb.path().join("src");
    // Enough files that the run lasts long enough to be watched.
    for i in 0..500 {
        let d = src.join(format!("d{}", i % 30));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(format!("f{i}")), [b'x'; 4096]).unwrap();
    }
    let env = sb.write_env("");
    let mut child = sb
        .cmd(BIN)
        .arg("--env")
        .arg(&env)
        .arg("run")
        .env("DATA_MOUNT", "/")
        .env("BACKUP_DIR", sb.path().join("backups"))
        .env("BACKUP_SOURCES", &src)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut seen = None;
    while seen.is_none() && child.try_wait().unwrap().is_none() {
        seen = read_all(&sb.state_dir()).unwrap().into_iter().next();
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let pid = child.id();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lease = seen.expect("no lease while the backup ran");
    assert_eq!(lease.job, Job::Backup);
    assert_eq!(lease.pid, pid);
    assert_eq!(
        lease.expected_end - lease.since,
        12 * 3600,
        "the unit's timeout"
    );
    assert!(read_all(&sb.state_dir()).unwrap().is_empty());
    let left: Vec<_> = std::fs::read_dir(sb.state_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("lease"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
