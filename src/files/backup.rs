//! Backup files (contract §4): `last_backup.json`, `backup-progress.json`.
//! The manifest type lives beside them once the backup module defines it.

use serde::{Deserialize, Serialize};

use super::HasSchema;

/// `$STATE_DIR/last_backup.json`: the outcome of the latest run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupOutcome {
    pub schema: u32,
    /// Snapshot id (`YYYYMMDDTHHMMSSZ`) when one was made.
    pub id: Option<String>,
    /// `ok`, `warnings` (finished, some files skipped) or `failed`.
    pub status: String,
    pub started_at: String,
    pub finished_at: String,
    /// What went wrong, for `failed`.
    pub error: Option<String>,
    /// First few warnings (vanished or unreadable files).
    #[serde(default)]
    pub warnings: Vec<String>,
    #[serde(default)]
    pub files: u64,
    #[serde(default)]
    pub bytes: u64,
    #[serde(default)]
    pub new_bytes: u64,
    /// Time of the newest complete snapshot (this one or an earlier one).
    pub last_ok_at: Option<String>,
    pub last_ok_id: Option<String>,
}

impl HasSchema for BackupOutcome {
    fn schema(&self) -> u32 {
        self.schema
    }
}

/// `$STATE_DIR/backup-progress.json`: written during a run for the bot's progress message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupProgress {
    pub schema: u32,
    pub id: String,
    /// `scanning`, `copying`, `finishing`, `done` or `failed`.
    pub phase: String,
    pub files_done: u64,
    pub files_total: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub started_at: String,
    pub updated_at: String,
}

impl HasSchema for BackupProgress {
    fn schema(&self) -> u32 {
        self.schema
    }
}

/// `$STATE_DIR/backups.json`: the snapshot list the bot shows, rewritten by
/// `potion-backup` after every run, verify and prune (the bot never walks
/// `BACKUP_DIR` itself).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotIndex {
    pub schema: u32,
    pub updated_at: String,
    /// Newest first.
    pub snapshots: Vec<SnapshotSummary>,
    /// The latest verify of any snapshot, for the digest.
    pub last_verify: Option<VerifySummary>,
}

impl HasSchema for SnapshotIndex {
    fn schema(&self) -> u32 {
        self.schema
    }
}

/// One complete snapshot as listed by `potion-backup list` and the bot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotSummary {
    pub id: String,
    pub finished_at: String,
    pub files: u64,
    pub bytes: u64,
    /// Bytes copied (not hard-linked) by this snapshot.
    pub new_bytes: u64,
    /// Latest verify of this snapshot, if any.
    pub verify: Option<VerifySummary>,
}

/// The result of one `potion-backup verify`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifySummary {
    pub id: String,
    pub at: String,
    /// `ok` or `failed`.
    pub status: String,
    pub checked_files: u64,
    pub total_files: u64,
    /// `Some(p)` for a `--sample p` run.
    pub sample_percent: Option<f64>,
    /// Missing, changed or extra files found.
    pub problems: u64,
    /// Share of the snapshot's files checked by any verify over the last week (0–100).
    #[serde(default)]
    pub coverage_percent: Option<f64>,
}
