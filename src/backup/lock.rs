//! `flock`-based locks on files in `BACKUP_DIR`, opened through its handle
//! and never through a symlink.
//!
//! `prune` takes `.lock` exclusively; `run`, `verify` and `restore` share it,
//! so a prune never deletes a snapshot that is being read or linked from.
//! One run at a time is kept by `.run.lock`, taken without waiting. The kernel
//! drops an `flock` when its holder dies, so a `kill -9` never leaves a stale
//! lock behind.

use std::ffi::OsStr;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::at::Dir;

/// The lock that keeps prune away from snapshots in use.
pub const MAIN: &str = ".lock";
/// One run at a time.
pub const RUN: &str = ".run.lock";
/// The short lock around `backups.json` rewrites.
pub const INDEX: &str = ".index.lock";

/// How long verify, restore and prune wait for the lock before giving up.
pub const WAIT: Duration = Duration::from_secs(600);

/// A held lock; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// Shared (readers) or exclusive (writers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Shared,
    Exclusive,
}

fn open(dir: &Dir, name: &str) -> Result<File> {
    dir.open_lock(OsStr::new(name)).with_context(|| {
        format!("opening lock file {name} (it must be a regular file, not a symlink)")
    })
}

fn flock(file: &File, op: libc::c_int) -> std::io::Result<()> {
    // SAFETY: flock on an fd we own; no memory is involved.
    if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Takes the run lock or fails at once: another backup is running.
pub fn try_run(dir: &Dir) -> Result<Lock> {
    let file = open(dir, RUN)?;
    match flock(&file, libc::LOCK_EX | libc::LOCK_NB) {
        Ok(()) => Ok(Lock { _file: file }),
        Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => {
            bail!("another backup is running (lock {RUN} is held); wait for it to finish")
        }
        Err(e) => Err(e).with_context(|| format!("locking {RUN}")),
    }
}

/// Waits up to `timeout` for the lock in `mode`, polling, then gives up with
/// a message that says what is still running.
pub fn wait(dir: &Dir, mode: Mode, timeout: Duration, what: &str) -> Result<Lock> {
    let file = open(dir, MAIN)?;
    let op = match mode {
        Mode::Shared => libc::LOCK_SH,
        Mode::Exclusive => libc::LOCK_EX,
    };
    let start = Instant::now();
    let mut told = false;
    loop {
        match flock(&file, op | libc::LOCK_NB) {
            Ok(()) => return Ok(Lock { _file: file }),
            Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => {}
            Err(e) => return Err(e).with_context(|| format!("locking {MAIN} for {what}")),
        }
        if start.elapsed() >= timeout {
            bail!(
                "{what} waited {} s for a running backup or prune (lock {MAIN}) and gave up; \
                 try again when it has finished",
                timeout.as_secs()
            );
        }
        if !told {
            log::info!("{what}: waiting for a running backup or prune to finish");
            told = true;
        }
        std::thread::sleep(Duration::from_millis(100).min(timeout));
    }
}

/// Waits for the short index lock (used around `backups.json` rewrites).
pub fn index(dir: &Dir) -> Result<Lock> {
    let file = open(dir, INDEX)?;
    loop {
        match flock(&file, libc::LOCK_EX) {
            Ok(()) => return Ok(Lock { _file: file }),
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
            Err(e) => return Err(e).with_context(|| format!("locking {INDEX}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_excludes_and_shared_shares_with_a_timeout() {
        let t = tempfile::tempdir().unwrap();
        let d = Dir::open(t.path()).unwrap();
        let run = try_run(&d).unwrap();
        let err = try_run(&d).unwrap_err();
        assert!(format!("{err:#}").contains("another backup"), "{err:#}");
        drop(run);
        let first = wait(&d, Mode::Exclusive, Duration::ZERO, "prune").unwrap();
        let err = wait(&d, Mode::Shared, Duration::from_millis(300), "verify").unwrap_err();
        assert!(format!("{err:#}").contains("gave up"), "{err:#}");
        drop(first);
        let r1 = wait(&d, Mode::Shared, Duration::ZERO, "verify").unwrap();
        let _r2 = wait(&d, Mode::Shared, Duration::ZERO, "restore").unwrap();
        assert!(wait(&d, Mode::Exclusive, Duration::from_millis(200), "prune").is_err());
        drop(r1);
        drop(_r2);
        wait(&d, Mode::Exclusive, Duration::ZERO, "prune").unwrap();
    }
}
