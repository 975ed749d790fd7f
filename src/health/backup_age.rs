//! The newest backup's age and status, from `$STATE_DIR/last_backup.json`
//! (written by `potion-backup`), for `BACKUP_STALE` and `BACKUP_FAILED`, and
//! the latest verify from `backups.json`, for `BACKUP_VERIFY_FAILED`.

use std::path::Path;

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::collect::round1;
use crate::files::backup::{BackupOutcome, SnapshotIndex};
use crate::files::health::BackupInfo;
use crate::files::{parse_rfc3339, read_json_if_exists};

/// `last_status` before any backup has run.
pub const NONE: &str = "none";
/// `last_status` when `last_backup.json` exists but cannot be read.
pub const UNKNOWN: &str = "unknown";

/// Reads `last_backup.json`; `Ok(None)` when no backup has run yet.
pub fn read(path: &Path) -> Result<Option<BackupOutcome>> {
    read_json_if_exists(path)
}

/// The report's backup section. Before any backup has run there is nothing
/// to be stale: `last_status` is `none` and no age is given.
pub fn backup_info(outcome: Option<&BackupOutcome>, now: DateTime<Utc>) -> BackupInfo {
    let Some(o) = outcome else {
        return BackupInfo {
            last_status: NONE.into(),
            ..BackupInfo::default()
        };
    };
    let age_h = o
        .last_ok_at
        .as_deref()
        .and_then(parse_rfc3339)
        .map(|t| round1(((now - t).num_seconds().max(0)) as f64 / 3600.0));
    BackupInfo {
        last_id: o.last_ok_id.clone(),
        last_ok_at: o.last_ok_at.clone(),
        age_h,
        last_status: o.status.clone(),
        ..BackupInfo::default()
    }
}

/// Adds the latest verify (from `backups.json`, the index `potion-backup`
/// keeps) to the report's backup section.
pub fn add_verify(info: &mut BackupInfo, index: Option<&SnapshotIndex>) {
    if let Some(v) = index.and_then(|i| i.last_verify.as_ref()) {
        info.verify_status = Some(v.status.clone());
        info.verify_problems = Some(v.problems);
    }
}

/// What the report says when `last_backup.json` is unreadable.
pub fn unknown() -> BackupInfo {
    BackupInfo {
        last_status: UNKNOWN.into(),
        ..BackupInfo::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(status: &str, last_ok_at: Option<&str>) -> BackupOutcome {
        BackupOutcome {
            schema: 1,
            id: Some("20261125T023000Z".into()),
            status: status.into(),
            started_at: "2026-11-25T02:30:00Z".into(),
            finished_at: "2026-11-25T02:31:10Z".into(),
            error: None,
            warnings: vec![],
            files: 0,
            bytes: 0,
            new_bytes: 0,
            last_ok_at: last_ok_at.map(str::to_string),
            last_ok_id: last_ok_at.map(|_| "20261124T023000Z".to_string()),
        }
    }

    #[test]
    fn age_from_last_good_snapshot() {
        let now = parse_rfc3339("2026-11-25T19:01:10Z").unwrap();
        let b = backup_info(Some(&outcome("ok", Some("2026-11-25T02:31:10Z"))), now);
        assert_eq!(b.age_h, Some(16.5));
        assert_eq!(b.last_status, "ok");
        assert_eq!(b.last_id.as_deref(), Some("20261124T023000Z"));
        let failed = backup_info(Some(&outcome("failed", None)), now);
        assert_eq!(failed.age_h, None);
        assert_eq!(failed.last_status, "failed");
        assert_eq!(backup_info(None, now).last_status, NONE);
    }

    #[test]
    fn missing_file_is_none_and_corrupt_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("last_backup.json");
        assert!(read(&p).unwrap().is_none());
        std::fs::write(&p, "{not json").unwrap();
        assert!(read(&p).is_err());
    }
}
