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
