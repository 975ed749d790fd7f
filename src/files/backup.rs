//! Backup files (`docs/contract.md` §4): `last_backup.json`, `backup-progress.json`.
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
    /// The first few damaged files (escaped, length-capped), for the bot's reply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub damaged: Vec<String>,
}

/// `$BACKUP_DIR/manifests/<ID>.json`: every entry of one snapshot with the
/// source metadata the next run compares against and the BLAKE3 of the bytes
/// stored in the snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema: u32,
    pub id: String,
    pub started_at: String,
    pub finished_at: String,
    /// The `BACKUP_SOURCES` this snapshot was taken from (absolute paths).
    pub sources: Vec<String>,
    pub totals: ManifestTotals,
    /// Sorted by path; directories come before their contents.
    pub files: Vec<ManifestEntry>,
}

impl HasSchema for Manifest {
    fn schema(&self) -> u32 {
        self.schema
    }
}

/// A manifest without its file list, for listing snapshots cheaply; in
/// schema 2 it is the JSON header in front of the binary records
/// (`docs/backup-format.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestHeader {
    pub schema: u32,
    pub id: String,
    pub started_at: String,
    pub finished_at: String,
    /// The `BACKUP_SOURCES` this snapshot was taken from (escaped absolute paths).
    #[serde(default)]
    pub sources: Vec<String>,
    pub totals: ManifestTotals,
}

impl HasSchema for ManifestHeader {
    fn schema(&self) -> u32 {
        self.schema
    }
}

/// Counts over one snapshot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ManifestTotals {
    /// Regular files.
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    /// Bytes of all regular files.
    pub bytes: u64,
    /// Files and bytes copied (the rest were hard-linked to the previous snapshot).
    pub new_files: u64,
    pub new_bytes: u64,
    /// Warnings during the run (vanished, changed, unreadable or special files).
    pub warnings: u64,
}

/// What one manifest entry is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    #[default]
    File,
    Dir,
    Symlink,
}

impl EntryKind {
    fn is_file(&self) -> bool {
        *self == EntryKind::File
    }
}

/// One file, folder or symlink in a snapshot.
///
/// `path` is relative to the snapshot root (a source `/opt/x` is stored as
/// `opt/x`) in the escaped form of `backup::manifest::escape_path`: UTF-8
/// names as they are, `%` as `%25`, and bytes that are not UTF-8 as `%XX`.
/// `size`, `mtime`, `mode`, `uid`, `gid`, `ctime` and `ino` describe the
/// source when it was read; the next run hard-links the file when they all
/// still match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestEntry {
    pub path: String,
    #[serde(default, skip_serializing_if = "EntryKind::is_file")]
    pub kind: EntryKind,
    pub size: u64,
    /// Seconds since the epoch and the nanosecond part.
    pub mtime: i64,
    #[serde(default)]
    pub mtime_ns: u32,
    /// Permission bits (`st_mode & 0o7777`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub ctime: i64,
    #[serde(default)]
    pub ctime_ns: u32,
    pub ino: u64,
    /// Hex BLAKE3 of the content (regular files only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blake3: Option<String>,
    /// Symlink target, escaped like `path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// `$BACKUP_DIR/verify/<ID>.json`: the latest verify of one snapshot and the
/// rotation state of `verify --sample`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyRecord {
    pub schema: u32,
    pub last: VerifySummary,
    /// Problems found by the latest verify (capped).
    pub problems: Vec<VerifyProblem>,
    /// First bucket (0–99) the next `--sample` run checks.
    pub next_bucket: u32,
    /// Unix time each of the 100 path buckets was last content-checked (0: never).
    pub bucket_checked_at: Vec<i64>,
}

impl HasSchema for VerifyRecord {
    fn schema(&self) -> u32 {
        self.schema
    }
}

/// One difference between a snapshot and its manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyProblem {
    /// `missing`, `changed`, `extra` or `unreadable` (a folder or special file in the snapshot).
    pub kind: String,
    /// Escaped path relative to the snapshot root.
    pub path: String,
    pub detail: String,
}

/// What `potion-backup restore --json` prints: where the files went and how
/// much was restored (every file checked against the manifest's BLAKE3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoreResult {
    pub schema: u32,
    pub id: String,
    pub files: u64,
    pub bytes: u64,
    /// Where the restored file or folder now is.
    pub dest: String,
    /// Always true: a file that does not match is not restored and the run fails.
    pub verified: bool,
}
