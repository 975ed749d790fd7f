//! Atomic file writes: the one way any job or the bot puts a file on disk.
//!
//! A reader must never see half a file, and a crash must leave either the old
//! or the new content. So every write goes to a temporary file in the same
//! folder, is fsynced, renamed over the target, and the folder is fsynced.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};
use serde::Serialize;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to `path` atomically with mode 0644 (or the existing file's mode).
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    write_inner(path, bytes, None)
}

/// Writes `bytes` to `path` atomically with exactly `mode` (e.g. 0o600 for secrets).
pub fn write_with_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    write_inner(path, bytes, Some(mode))
}

/// Serializes `value` as pretty JSON (with a trailing newline) and writes it atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).context("serializing JSON")?;
    bytes.push(b'\n');
    write(path, &bytes)
}

/// Creates `dir` and its parents if missing, with a clear error naming it.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating folder {}", dir.display()))
}

/// Fsyncs a folder so that a rename or a new entry in it survives a crash.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing folder {}", dir.display()))
}

fn temp_path(path: &Path) -> Result<PathBuf> {
    let name = path
        .file_name()
        .with_context(|| format!("{} has no file name", path.display()))?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut tmp = std::ffi::OsString::from(".");
    tmp.push(name);
    tmp.push(format!(".tmp.{}.{}", std::process::id(), n));
    Ok(path.with_file_name(tmp))
}

/// True for the names [`write`] gives its temporary files
/// (`.NAME.tmp.PID.N`), so a backup can leave out files that exist only
/// for the moment of a write.
pub fn is_temp_name(name: &std::ffi::OsStr) -> bool {
    let Some(s) = name.to_str() else {
        return false;
    };
    let Some((stem, counters)) = s.strip_prefix('.').and_then(|r| r.rsplit_once(".tmp.")) else {
        return false;
    };
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    !stem.is_empty()
        && counters
            .split_once('.')
            .is_some_and(|(p, n)| digits(p) && digits(n))
}

fn write_inner(path: &Path, bytes: &[u8], mode: Option<u32>) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // The old file's own permission bits, never a symlink target's and never
    // set-id bits: a file planted in a shared folder must not decide more than
    // who may read what a root job writes.
    let mode = mode.unwrap_or_else(|| {
        fs::symlink_metadata(path)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0o644)
    });
    let tmp = temp_path(path)?;
    let result = (|| -> Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        // The umask may have narrowed the mode; set it exactly.
        f.set_permissions(fs::Permissions::from_mode(mode))
            .with_context(|| format!("setting mode of {}", tmp.display()))?;
        f.write_all(bytes)
            .with_context(|| format!("writing {}", tmp.display()))?;
        f.sync_all()
            .with_context(|| format!("syncing {}", tmp.display()))?;
        fs::rename(&tmp, path)
            .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
        sync_dir(&dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replaces_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        write(&p, b"one").unwrap();
        write(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "temp files left behind");
    }

    #[test]
    fn temp_names_are_recognised() {
        let tmp = temp_path(Path::new("/s/last_health.json")).unwrap();
        assert!(is_temp_name(tmp.file_name().unwrap()));
        for other in [
            "last_health.json",
            ".env",
            ".tmp.1.2",
            ".a.tmp.x.2",
            ".a.tmp.1.",
            "a.tmp.1.2",
        ] {
            assert!(!is_temp_name(std::ffi::OsStr::new(other)), "{other}");
        }
    }

    #[test]
    fn mode_is_exact_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".env");
        write_with_mode(&p, b"A=1\n", 0o600).unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        write(&p, b"A=2\n").unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn a_planted_symlink_is_replaced_and_its_target_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("secret");
        fs::write(&target, b"keep").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();
        let p = dir.path().join("last_backup.json");
        std::os::unix::fs::symlink(&target, &p).unwrap();
        write(&p, b"{}").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"keep");
        let m = fs::symlink_metadata(&p).unwrap();
        assert!(m.is_file());
        assert_eq!(m.permissions().mode() & 0o777, 0o644);
    }

    #[test]
    fn missing_folder_is_an_error_naming_the_path() {
        let err = write(Path::new("/nonexistent-potion/x.json"), b"x").unwrap_err();
        assert!(format!("{err:#}").contains("/nonexistent-potion"));
    }
}
