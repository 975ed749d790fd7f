//! Snapshot ids, the on-disk layout of `BACKUP_DIR`, manifest reading and
//! writing, and the escaped form in which manifests store file names.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDateTime, Utc};

use crate::atomic;
use crate::files::backup::{Manifest, ManifestHeader};
use crate::files::read_json_streaming;

/// Snapshot id format: UTC `YYYYMMDDTHHMMSSZ`.
const ID_FORMAT: &str = "%Y%m%dT%H%M%SZ";
/// Prefix of a snapshot being built; never a complete snapshot.
pub const TMP_PREFIX: &str = ".tmp-";
/// Prefix of a snapshot being deleted by prune.
pub const DEL_PREFIX: &str = ".del-";

/// Formats a time as a snapshot id.
pub fn format_id(t: DateTime<Utc>) -> String {
    t.format(ID_FORMAT).to_string()
}

/// Parses a snapshot id; `None` for anything else (temp folders, stray files).
pub fn parse_id(id: &str) -> Option<DateTime<Utc>> {
    if id.len() != 16 {
        return None;
    }
    NaiveDateTime::parse_from_str(id, ID_FORMAT)
        .ok()
        .map(|t| t.and_utc())
}

/// Where everything lives under `BACKUP_DIR`.
#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
}

impl Layout {
    pub fn new(root: &Path) -> Layout {
        Layout {
            root: root.to_path_buf(),
        }
    }
    pub fn snapshots(&self) -> PathBuf {
        self.root.join("snapshots")
    }
    pub fn snapshot(&self, id: &str) -> PathBuf {
        self.snapshots().join(id)
    }
    pub fn tmp_snapshot(&self, id: &str) -> PathBuf {
        self.snapshots().join(format!("{TMP_PREFIX}{id}"))
    }
    pub fn doomed_snapshot(&self, id: &str) -> PathBuf {
        self.snapshots().join(format!("{DEL_PREFIX}{id}"))
    }
    pub fn manifests(&self) -> PathBuf {
        self.root.join("manifests")
    }
    pub fn manifest(&self, id: &str) -> PathBuf {
        self.manifests().join(format!("{id}.json"))
    }
    pub fn verify_dir(&self) -> PathBuf {
        self.root.join("verify")
    }
    pub fn verify_record(&self, id: &str) -> PathBuf {
        self.verify_dir().join(format!("{id}.json"))
    }
    pub fn restored(&self) -> PathBuf {
        self.root.join("restored")
    }

    /// Ids of complete snapshots (final folder name and a manifest), oldest first.
    pub fn complete_ids(&self) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        let dir = self.snapshots();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ids),
            Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
        };
        for e in entries {
            let e = e.with_context(|| format!("reading {}", dir.display()))?;
            let Some(name) = e.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if parse_id(&name).is_some() && self.manifest(&name).is_file() {
                ids.push(name);
            }
        }
        ids.sort();
        Ok(ids)
    }
}

/// Ids of complete snapshots, newest first.
pub fn complete_ids_newest_first(layout: &Layout) -> Result<Vec<String>> {
    let mut ids = layout.complete_ids()?;
    ids.reverse();
    Ok(ids)
}

/// Resolves `latest` (or nothing) to the newest complete snapshot and checks a given id exists.
pub fn resolve_id(layout: &Layout, id: Option<&str>) -> Result<String> {
    let ids = layout.complete_ids()?;
    match id {
        None | Some("latest") => ids
            .last()
            .cloned()
            .context("there are no complete snapshots yet; run potion-backup run first"),
        Some(id) if parse_id(id).is_none() => {
            anyhow::bail!(
                "{id:?} is not a snapshot id; use YYYYMMDDTHHMMSSZ or latest (see potion-backup list)"
            )
        }
        Some(id) => {
            if ids.iter().any(|i| i == id) {
                Ok(id.to_string())
            } else {
                anyhow::bail!("no complete snapshot {id}; see potion-backup list")
            }
        }
    }
}

/// Reads a whole manifest, parsing from a small buffer so the file's bytes
/// never sit in memory beside the entries built from them.
pub fn read_manifest(layout: &Layout, id: &str) -> Result<Manifest> {
    read_json_streaming(&layout.manifest(id))
}

/// Reads a manifest without materialising its file list (nor its bytes).
pub fn read_header(layout: &Layout, id: &str) -> Result<ManifestHeader> {
    read_json_streaming(&layout.manifest(id))
}

/// Writes a manifest atomically through the `manifests/` handle, readable
/// by its owner only (compact JSON: it is large and machine-read).
pub fn write_manifest(root: &super::root::Root, m: &Manifest) -> Result<()> {
    let mut bytes = serde_json::to_vec(m).context("serializing manifest")?;
    bytes.push(b'\n');
    let name = format!("{}.json", m.id);
    atomic::write_at(
        root.manifests.file(),
        OsStr::new(&name),
        &bytes,
        Some(0o600),
    )
    .with_context(|| format!("writing manifest {name}"))
}

/// Escapes a file name for the manifest: valid UTF-8 stays readable, `%`
/// becomes `%25`, and every byte that is not part of valid UTF-8 becomes `%XX`.
/// [`unescape_path`] gives back the exact bytes.
pub fn escape_path(name: &OsStr) -> String {
    let mut out = String::with_capacity(name.len());
    for chunk in name.as_bytes().utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '%' {
                out.push_str("%25");
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Reverses [`escape_path`]; a `%` not followed by two hex digits is kept as is.
pub fn unescape_path(s: &str) -> OsString {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    OsString::from_vec(out)
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_other_names() {
        let t = parse_id("20261125T023000Z").unwrap();
        assert_eq!(format_id(t), "20261125T023000Z");
        assert!(parse_id(".tmp-20261125T023000Z").is_none());
        assert!(parse_id("20261125T023000").is_none());
        assert!(parse_id("2026112xT023000Z").is_none());
    }

    #[test]
    fn escaping_keeps_utf8_and_round_trips_any_bytes() {
        assert_eq!(
            escape_path(OsStr::new("opt/café/a b.txt")),
            "opt/café/a b.txt"
        );
        assert_eq!(escape_path(OsStr::new("100%")), "100%25");
        let raw = OsStr::from_bytes(b"dir/bad\xff\xfename%41.txt");
        let esc = escape_path(raw);
        assert_eq!(esc, "dir/bad%FF%FEname%2541.txt");
        assert_eq!(unescape_path(&esc), raw);
        for s in ["", "%", "%4", "a%zz", "%25%25"] {
            let back = unescape_path(&escape_path(OsStr::new(s)));
            assert_eq!(back, OsStr::new(s), "{s}");
        }
    }
}
