//! `flock`-based locks on files in `BACKUP_DIR`: one run or prune at a time.
//!
//! The kernel drops an `flock` when its holder dies, so a `kill -9` never
//! leaves a stale lock behind.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::Path;

use anyhow::{Context, Result, bail};

/// A held lock; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

fn open(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("opening lock file {}", path.display()))
}

/// Takes the exclusive lock or fails at once with a message saying what holds it.
pub fn try_exclusive(path: &Path, what: &str) -> Result<Lock> {
    let file = open(path)?;
    // SAFETY: flock on an fd we own; no memory is involved.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
            bail!(
                "another backup or prune is running (lock {} is held); wait for it to finish",
                path.display()
            );
        }
        return Err(err).with_context(|| format!("locking {} for {what}", path.display()));
    }
    Ok(Lock { _file: file })
}

/// Waits for the exclusive lock (used around short critical sections).
pub fn exclusive_wait(path: &Path) -> Result<Lock> {
    let file = open(path)?;
    loop {
        // SAFETY: as above.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if rc == 0 {
            return Ok(Lock { _file: file });
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            return Err(err).with_context(|| format!("locking {}", path.display()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_exclusive_lock_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".lock");
        let first = try_exclusive(&p, "run").unwrap();
        let err = try_exclusive(&p, "run").unwrap_err();
        assert!(format!("{err:#}").contains("another backup"), "{err:#}");
        drop(first);
        try_exclusive(&p, "run").unwrap();
    }
}
