//! The files a run keeps in `STATE_DIR` for the bot: `last_backup.json`
//! (the outcome, written on every run) and `backup-progress.json` (at most
//! two writes a second while it runs).

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use chrono::Utc;

use super::copy::Counters;
use super::manifest::{self, Layout};
use crate::atomic;
use crate::config::Config;
use crate::files::backup::ManifestTotals;
use crate::files::backup::{BackupOutcome, BackupProgress};
use crate::files::{SCHEMA, now_rfc3339, rfc3339};
use crate::paths;

/// How often the progress file is rewritten and free space re-checked.
pub const PROGRESS_EVERY: Duration = Duration::from_millis(500);
/// At most this many warnings go into `last_backup.json`.
const MAX_WARNINGS_KEPT: usize = 20;

/// The `last_backup.json` for a result. After a failure, `last_ok_*` name the
/// newest complete snapshot, or, when `BACKUP_DIR` cannot be read (data disk
/// missing), whatever the previous outcome said.
pub fn outcome(
    layout: &Layout,
    started_at: &str,
    result: &Result<RunReport>,
    previous: Option<BackupOutcome>,
) -> BackupOutcome {
    let mut o = BackupOutcome {
        schema: SCHEMA,
        id: None,
        status: "failed".into(),
        started_at: started_at.into(),
        finished_at: now_rfc3339(),
        error: None,
        warnings: Vec::new(),
        files: 0,
        bytes: 0,
        new_bytes: 0,
        last_ok_at: None,
        last_ok_id: None,
    };
    match result {
        Ok(r) => {
            o.id = Some(r.id.clone());
            o.status = if r.warnings.is_empty() {
                "ok"
            } else {
                "warnings"
            }
            .into();
            o.warnings = r.warnings.iter().take(MAX_WARNINGS_KEPT).cloned().collect();
            o.files = r.totals.files;
            o.bytes = r.totals.bytes;
            o.new_bytes = r.totals.new_bytes;
            o.last_ok_at = Some(o.finished_at.clone());
            o.last_ok_id = Some(r.id.clone());
        }
        Err(e) => {
            o.error = Some(format!("{e:#}"));
            // The newest earlier snapshot still counts for BACKUP_STALE.
            if let Ok(ids) = manifest::complete_ids_newest_first(layout)
                && let Some(id) = ids.first()
                && let Ok(h) = manifest::read_header(layout, id)
            {
                o.last_ok_at = Some(h.finished_at);
                o.last_ok_id = Some(h.id);
            } else if let Some(p) = previous {
                o.last_ok_at = p.last_ok_at;
                o.last_ok_id = p.last_ok_id;
            }
        }
    }
    o
}

/// Writes `backup-progress.json` (errors are logged, never fatal).
pub struct Progress {
    path: PathBuf,
    /// The state last reported and when it was last written.
    last: std::sync::Mutex<(BackupProgress, Option<Instant>)>,
}

impl Progress {
    pub fn new(cfg: &Config, id: &str, started_at: &str) -> Progress {
        let _ = atomic::ensure_dir(&cfg.state_dir);
        let state = BackupProgress {
            schema: SCHEMA,
            id: id.into(),
            phase: "scanning".into(),
            files_done: 0,
            files_total: 0,
            bytes_done: 0,
            bytes_total: 0,
            started_at: started_at.into(),
            updated_at: now_rfc3339(),
        };
        let p = Progress {
            path: cfg.state_dir.join(paths::BACKUP_PROGRESS),
            last: std::sync::Mutex::new((state, None)),
        };
        p.flush(true);
        p
    }

    /// Records the current counts; writes the file only if the last write
    /// is at least `PROGRESS_EVERY` old (a short run writes start and end only).
    pub fn write(&self, phase: &str, c: &Counters, files_total: u64, bytes_total: u64) {
        {
            let mut last = crate::sync::lock(&self.last);
            let st = &mut last.0;
            st.phase = phase.into();
            st.files_done = c.files_done.load(Ordering::Relaxed);
            // The totals are the previous snapshot's: an estimate the count may pass.
            st.files_total = files_total.max(st.files_done);
            st.bytes_done = c.bytes_done.load(Ordering::Relaxed);
            st.bytes_total = bytes_total.max(st.bytes_done);
        }
        self.flush(false);
    }

    /// Writes the final phase (`done` or `failed`).
    pub fn write_phase(&self, phase: &str) {
        {
            let mut last = crate::sync::lock(&self.last);
            let st = &mut last.0;
            st.phase = phase.into();
            if phase == "done" {
                // The counts are final now; the estimated totals were not.
                st.files_total = st.files_done;
                st.bytes_total = st.bytes_done;
            }
        }
        self.flush(true);
    }

    fn flush(&self, force: bool) {
        let mut last = crate::sync::lock(&self.last);
        if !force && last.1.is_some_and(|t| t.elapsed() < PROGRESS_EVERY) {
            return;
        }
        last.0.updated_at = rfc3339(Utc::now());
        last.1 = Some(Instant::now());
        if let Err(e) = atomic::write_json(&self.path, &last.0) {
            log::warn!("could not write progress: {e:#}");
        }
    }
}

/// A finished run.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub id: String,
    pub totals: ManifestTotals,
    pub warnings: Vec<String>,
}

/// The run's error for trouble writing the snapshot (a full disk says so).
pub fn disk_error(path: &Path, err: std::io::Error) -> anyhow::Error {
    match err.raw_os_error() {
        Some(libc::ENOSPC) | Some(libc::EDQUOT) => anyhow!(
            "the backup disk is full (writing {}): {err}; earlier snapshots are intact; free some space or prune old snapshots",
            path.display()
        ),
        _ => anyhow!("writing the snapshot failed at {}: {err}", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::backup::ManifestTotals;
    use anyhow::anyhow;

    fn report(warnings: Vec<String>) -> RunReport {
        RunReport {
            id: "20261125T023000Z".into(),
            totals: ManifestTotals {
                files: 3,
                bytes: 30,
                new_bytes: 10,
                ..Default::default()
            },
            warnings,
        }
    }

    #[test]
    fn outcome_status_follows_warnings_and_failures() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        let ok = outcome(&layout, "t0", &Ok(report(vec![])), None);
        assert_eq!(
            (ok.status.as_str(), ok.last_ok_id.as_deref()),
            ("ok", Some("20261125T023000Z"))
        );
        assert_eq!((ok.files, ok.bytes, ok.new_bytes), (3, 30, 10));
        let many: Vec<String> = (0..50).map(|i| format!("w{i}")).collect();
        let warn = outcome(&layout, "t0", &Ok(report(many)), None);
        assert_eq!(warn.status, "warnings");
        assert_eq!(warn.warnings.len(), MAX_WARNINGS_KEPT);

        // A failure with no readable BACKUP_DIR keeps the previous last good run.
        let failed = outcome(&layout, "t1", &Err(anyhow!("disk gone")), Some(ok.clone()));
        assert_eq!(failed.status, "failed");
        assert_eq!(failed.error.as_deref(), Some("disk gone"));
        assert_eq!(failed.id, None);
        assert_eq!(
            (failed.last_ok_id, failed.last_ok_at),
            (ok.last_ok_id, ok.last_ok_at)
        );
    }
}
