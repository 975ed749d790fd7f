//! On-disk file formats: the only types that derive `Serialize`.
//!
//! These files are a compatibility boundary between the jobs and the bot
//! (`docs/contract.md` §4). Each carries `"schema": 1`; a reader refuses other
//! versions instead of guessing.

pub mod backup;
pub mod bot;
pub mod health;
pub mod lease;
pub mod notice;

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::de::DeserializeOwned;

/// The schema version every file here is written with.
pub const SCHEMA: u32 = 1;

/// Largest state file [`read_json_if_exists`] reads. The files in
/// `STATE_DIR` are kilobytes; the folder is writable by the `potion` user, so
/// the root-run backup job must not read whatever is planted there whole.
pub const MAX_STATE_FILE: u64 = 16 << 20;

/// Opens a file for reading only if it is a regular file under that very name:
/// a symlink is refused (`O_NOFOLLOW`), and a FIFO or device cannot block or
/// stream forever (`O_NONBLOCK`, then the type check).
fn open_regular(path: &Path) -> Result<File> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .with_context(|| format!("reading {}", path.display()))?;
    let meta = f
        .metadata()
        .with_context(|| format!("reading {}", path.display()))?;
    if !meta.is_file() {
        bail!("{} is not a regular file", path.display());
    }
    Ok(f)
}

fn parse_checked<T: DeserializeOwned + HasSchema>(path: &Path, bytes: &[u8]) -> Result<T> {
    let v: T = serde_json::from_slice(bytes)
        .with_context(|| format!("{} is not valid", path.display()))?;
    check_schema(path, v)
}

fn check_schema<T: HasSchema>(path: &Path, v: T) -> Result<T> {
    if v.schema() != SCHEMA {
        bail!(
            "{} has schema {}, this version reads {}",
            path.display(),
            v.schema(),
            SCHEMA
        );
    }
    Ok(v)
}

/// Reads a JSON file (a regular file, not through a symlink) and checks its
/// schema version.
pub fn read_json<T: DeserializeOwned + HasSchema>(path: &Path) -> Result<T> {
    let mut bytes = Vec::new();
    open_regular(path)?
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    parse_checked(path, &bytes)
}

/// Reads a JSON file like [`read_json`] but parses it from a small buffer
/// instead of loading it whole: for a few fields of a large file (a
/// manifest's header beside its list of every file), memory stays flat.
pub fn read_json_streaming<T: DeserializeOwned + HasSchema>(path: &Path) -> Result<T> {
    let reader = std::io::BufReader::with_capacity(64 << 10, open_regular(path)?);
    let v: T = serde_json::from_reader(reader)
        .with_context(|| format!("{} is not valid", path.display()))?;
    check_schema(path, v)
}

/// Reads a state file like [`read_json`]; `Ok(None)` when it does not exist
/// (a first run), an error when it is larger than [`MAX_STATE_FILE`].
pub fn read_json_if_exists<T: DeserializeOwned + HasSchema>(path: &Path) -> Result<Option<T>> {
    let f = match open_regular(path) {
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound) =>
        {
            return Ok(None);
        }
        r => r?,
    };
    let mut bytes = Vec::new();
    f.take(MAX_STATE_FILE + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() as u64 > MAX_STATE_FILE {
        bail!(
            "{} is larger than {} MiB, which no state file is; remove it",
            path.display(),
            MAX_STATE_FILE >> 20
        );
    }
    parse_checked(path, &bytes).map(Some)
}

/// Lets [`read_json`] check the version field of any file type.
pub trait HasSchema {
    fn schema(&self) -> u32;
}

/// Current UTC time as RFC 3339 with seconds (`2026-11-25T19:00:00Z`).
pub fn now_rfc3339() -> String {
    rfc3339(chrono::Utc::now())
}

/// Formats a UTC time the way every file here does.
pub fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Parses a time written by [`rfc3339`].
pub fn parse_rfc3339(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::backup::BackupOutcome;

    fn outcome_json() -> &'static str {
        r#"{"schema":1,"status":"ok","started_at":"a","finished_at":"b"}"#
    }

    #[test]
    fn state_files_are_read_only_as_small_regular_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("last_backup.json");
        assert!(read_json_if_exists::<BackupOutcome>(&p).unwrap().is_none());
        std::fs::write(&p, outcome_json()).unwrap();
        let o: BackupOutcome = read_json_if_exists(&p).unwrap().unwrap();
        assert_eq!(o.status, "ok");

        // A symlink planted in the folder is refused, not followed.
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&p, &link).unwrap();
        let err = read_json_if_exists::<BackupOutcome>(&link).unwrap_err();
        assert!(format!("{err:#}").contains("link.json"), "{err:#}");
        assert!(read_json::<BackupOutcome>(&link).is_err());

        // A FIFO would block a plain read forever.
        let fifo = dir.path().join("fifo.json");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: mkfifo with a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = read_json_if_exists::<BackupOutcome>(&fifo).unwrap_err();
        assert!(format!("{err:#}").contains("not a regular file"), "{err:#}");

        // An oversized file is refused before it is parsed.
        let big = dir.path().join("big.json");
        let f = std::fs::File::create(&big).unwrap();
        f.set_len(MAX_STATE_FILE + 1).unwrap();
        let err = read_json_if_exists::<BackupOutcome>(&big).unwrap_err();
        assert!(format!("{err:#}").contains("larger than"), "{err:#}");
    }
}
