//! The snapshot list: built from `manifests/` and `verify/`, printed by
//! `list` and written to `$STATE_DIR/backups.json` for the bot.

use std::path::Path;

use anyhow::Result;

use super::lock;
use super::manifest::{self, Layout};
use super::root::Root;
use crate::atomic;
use crate::files::backup::{SnapshotIndex, SnapshotSummary, VerifyRecord};
use crate::files::{SCHEMA, now_rfc3339, read_json, read_json_if_exists};
use crate::paths;

/// Reads the latest verify record of a snapshot, if any.
pub fn read_verify(layout: &Layout, id: &str) -> Option<VerifyRecord> {
    read_json(&layout.verify_record(id)).ok()
}

/// Builds the index from disk, newest first. A snapshot whose manifest cannot
/// be read is left out (and reported by `verify`).
pub fn build(layout: &Layout) -> Result<SnapshotIndex> {
    build_with(layout, None)
}

/// Like [`build`], but takes sizes and counts of snapshots already listed in
/// `previous` from there: a snapshot never changes once complete, and parsing
/// every large manifest on each run would cost more than the run itself.
pub fn build_with(layout: &Layout, previous: Option<&SnapshotIndex>) -> Result<SnapshotIndex> {
    let mut snapshots = Vec::new();
    let mut last_verify: Option<crate::files::backup::VerifySummary> = None;
    for id in manifest::complete_ids_newest_first(layout)? {
        let verify = read_verify(layout, &id).map(|r| r.last);
        let known = previous.and_then(|p| p.snapshots.iter().find(|s| s.id == id));
        let (finished_at, files, bytes, new_bytes) = match known {
            Some(s) => (s.finished_at.clone(), s.files, s.bytes, s.new_bytes),
            None => match manifest::read_header(layout, &id) {
                Ok(h) => (
                    h.finished_at,
                    h.totals.files,
                    h.totals.bytes,
                    h.totals.new_bytes,
                ),
                Err(_) => continue,
            },
        };
        if let Some(v) = &verify
            && last_verify.as_ref().is_none_or(|l| v.at > l.at)
        {
            last_verify = Some(v.clone());
        }
        snapshots.push(SnapshotSummary {
            id,
            finished_at,
            files,
            bytes,
            new_bytes,
            verify,
        });
    }
    Ok(SnapshotIndex {
        schema: SCHEMA,
        updated_at: now_rfc3339(),
        snapshots,
        last_verify,
    })
}

/// Rebuilds and writes `$STATE_DIR/backups.json`; a short lock keeps two
/// writers (a run and a verify) from interleaving their reads and writes.
pub fn refresh(layout: &Layout, root: &Root, state_dir: &Path) -> Result<SnapshotIndex> {
    let _guard = lock::index(&root.dir)?;
    let path = state_dir.join(paths::BACKUP_INDEX);
    // STATE_DIR is writable by the `potion` user: read only a small regular file.
    let previous: Option<SnapshotIndex> = read_json_if_exists(&path).ok().flatten();
    let index = build_with(layout, previous.as_ref())?;
    atomic::ensure_dir(state_dir)?;
    atomic::write_json(&path, &index)?;
    Ok(index)
}

/// The text `potion-backup list` prints.
pub fn render(index: &SnapshotIndex) -> String {
    if index.snapshots.is_empty() {
        return "no snapshots yet\n".to_string();
    }
    let mut out = format!(
        "{:<17} {:<21} {:>10} {:>8} {:>10}  verify\n",
        "id", "finished", "size", "files", "new"
    );
    for s in &index.snapshots {
        let verify = match &s.verify {
            None => "never".to_string(),
            Some(v) => match v.sample_percent {
                Some(p) => format!("{} ({} sample {p}%)", v.status, &v.at),
                None => format!("{} ({})", v.status, &v.at),
            },
        };
        out.push_str(&format!(
            "{:<17} {:<21} {:>10} {:>8} {:>10}  {verify}\n",
            s.id,
            s.finished_at,
            crate::human::bytes(s.bytes),
            s.files,
            crate::human::bytes(s.new_bytes),
        ));
    }
    out
}
