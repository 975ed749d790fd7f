//! Snapshot ids, the on-disk layout of `BACKUP_DIR`, manifest reading and
//! writing (schema 2 written and read as a stream, schema 1 still read), and
//! the escaped form in which people and schema 1 see file names.
//!
//! Schema 2 (`manifests/<ID>.manifest`, see `docs/backup-format.md`): 8 magic
//! bytes, a little-endian u32 length, a JSON [`ManifestHeader`] with the
//! totals (so `list` and `backups.json` never read further), then one zstd
//! frame of [`Rec`] records in path order and an end byte.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::fd::FromRawFd;
use std::os::unix::fs::OpenOptionsExt;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDateTime, Utc};

use super::record::{Decoder, END, Encoder, Rec, cmp_path};
pub use super::record::{escape_path, unescape_path};
use super::root::Root;
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
    /// The manifest of `id` as it is on disk: schema 2, or else schema 1.
    pub fn manifest(&self, id: &str) -> PathBuf {
        let v2 = self.manifests().join(manifest_name(id));
        if v2.is_file() {
            v2
        } else {
            self.manifests().join(format!("{id}.json"))
        }
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

/// File name of a schema-2 manifest.
pub fn manifest_name(id: &str) -> String {
    format!("{id}.{MANIFEST_EXT}")
}

/// The manifest schema this version writes.
pub const SCHEMA: u32 = 2;
/// Extension of schema-2 manifests (schema 1 used `.json`).
pub const MANIFEST_EXT: &str = "manifest";
/// First bytes of a schema-2 manifest.
pub const MAGIC: &[u8; 8] = b"PMANIF\x00\x02";
/// The header is small; anything larger is damage.
const MAX_HEADER: u32 = 1 << 20;

fn open_manifest(layout: &Layout, id: &str) -> Result<(PathBuf, File)> {
    let path = layout.manifest(id);
    let f = File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .with_context(|| format!("reading manifest {}", path.display()))?;
    Ok((path, f))
}

/// Reads the header of a schema-2 manifest after its magic.
fn read_v2_header(r: &mut impl Read, path: &Path) -> Result<ManifestHeader> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)
        .with_context(|| format!("{} is cut short", path.display()))?;
    let len = u32::from_le_bytes(len);
    if len > MAX_HEADER {
        bail!("{} has a damaged header", path.display());
    }
    let mut buf = vec![0u8; len as usize];
    r.read_exact(&mut buf)
        .with_context(|| format!("{} is cut short", path.display()))?;
    let h: ManifestHeader = serde_json::from_slice(&buf)
        .with_context(|| format!("{} has a damaged header", path.display()))?;
    if h.schema != SCHEMA {
        bail!(
            "{} has schema {}, expected {SCHEMA}",
            path.display(),
            h.schema
        );
    }
    Ok(h)
}

/// Records of one manifest, in path order, read as a stream (schema 2) or,
/// for a schema-1 manifest, parsed whole and sorted once.
pub struct Reader {
    dec: Decoder,
    src: Source,
    path: PathBuf,
}

/// The decompressed records, buffered: the decoder reads a few bytes at a time.
type Records = BufReader<zstd::stream::read::Decoder<'static, BufReader<File>>>;

enum Source {
    V2(Box<Records>),
    V1(std::vec::IntoIter<Rec>),
    Done,
}

impl Iterator for Reader {
    type Item = Result<Rec>;

    fn next(&mut self) -> Option<Result<Rec>> {
        match &mut self.src {
            Source::V1(it) => it.next().map(Ok),
            Source::Done => None,
            Source::V2(z) => match self.dec.read(z.as_mut()) {
                Ok(Some(r)) => Some(Ok(r)),
                Ok(None) => {
                    self.src = Source::Done;
                    None
                }
                Err(e) => {
                    self.src = Source::Done;
                    Some(Err(
                        anyhow::Error::new(e).context(format!("reading {}", self.path.display()))
                    ))
                }
            },
        }
    }
}

/// Opens the manifest of `id`: its header and a stream of its records.
pub fn open(layout: &Layout, id: &str) -> Result<(ManifestHeader, Reader)> {
    let (path, f) = open_manifest(layout, id)?;
    let mut r = BufReader::with_capacity(64 << 10, f);
    let mut magic = [0u8; 8];
    let n = r.read(&mut magic[..1])?;
    if n == 1 && magic[0] == b'{' {
        drop(r);
        let m: Manifest = read_json_streaming(&path)?;
        let mut recs = m
            .files
            .iter()
            .map(Rec::from_entry)
            .collect::<std::io::Result<Vec<Rec>>>()
            .with_context(|| format!("reading {}", path.display()))?;
        recs.sort_by(|a, b| cmp_path(&a.path, &b.path));
        let header = ManifestHeader {
            schema: m.schema,
            id: m.id,
            started_at: m.started_at,
            finished_at: m.finished_at,
            sources: m.sources,
            totals: m.totals,
        };
        let src = Source::V1(recs.into_iter());
        return Ok((
            header,
            Reader {
                dec: Decoder::default(),
                src,
                path,
            },
        ));
    }
    r.read_exact(&mut magic[1..])
        .with_context(|| format!("{} is cut short", path.display()))?;
    if &magic != MAGIC {
        bail!("{} is not a manifest", path.display());
    }
    let header = read_v2_header(&mut r, &path)?;
    let z = zstd::stream::read::Decoder::with_buffer(r)
        .with_context(|| format!("reading {}", path.display()))?;
    let src = Source::V2(Box::new(BufReader::with_capacity(64 << 10, z)));
    Ok((
        header,
        Reader {
            dec: Decoder::default(),
            src,
            path,
        },
    ))
}

/// Reads a manifest's header only (schema 2: a few hundred bytes).
pub fn read_header(layout: &Layout, id: &str) -> Result<ManifestHeader> {
    let (path, f) = open_manifest(layout, id)?;
    let mut r = BufReader::with_capacity(4096, f);
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic)
        .with_context(|| format!("{} is cut short", path.display()))?;
    if magic[0] == b'{' {
        drop(r);
        return read_json_streaming(&path);
    }
    if &magic != MAGIC {
        bail!("{} is not a manifest", path.display());
    }
    read_v2_header(&mut r, &path)
}

/// Writes a schema-2 manifest as records arrive: the compressed records go
/// to an unnamed file in `manifests/` (`O_TMPFILE`), and [`Writer::finish`]
/// puts the header with the totals in front of them in one atomic write.
pub struct Writer {
    /// Records are a few dozen bytes: buffered before the compressor.
    z: BufWriter<zstd::stream::write::Encoder<'static, BufWriter<File>>>,
    enc: Encoder,
}

impl Writer {
    pub fn new(root: &Root) -> std::io::Result<Writer> {
        let flags = libc::O_TMPFILE | libc::O_RDWR | libc::O_CLOEXEC;
        // SAFETY: openat with a constant NUL-terminated name; the fd is owned below.
        let fd = unsafe { libc::openat(root.manifests.fd(), c".".as_ptr(), flags, 0o600) };
        let f = if fd >= 0 {
            // SAFETY: a fresh fd nothing else owns.
            unsafe { File::from_raw_fd(fd) }
        } else {
            // A filesystem without O_TMPFILE: a fresh name, removed at once
            // (a crash in between leaves a `.tmp.` name the next run removes).
            let name = format!(".body.tmp.{}", atomic::random_suffix()?);
            let f = root.manifests.create_scratch(OsStr::new(&name))?;
            root.manifests.unlink(OsStr::new(&name))?;
            f
        };
        let z = zstd::stream::write::Encoder::new(BufWriter::with_capacity(256 << 10, f), 3)?;
        Ok(Writer {
            z: BufWriter::with_capacity(64 << 10, z),
            enc: Encoder::default(),
        })
    }

    pub fn push(&mut self, r: &Rec) -> std::io::Result<()> {
        self.enc.write(r, &mut self.z)
    }

    /// Writes `manifests/<ID>.manifest` (0600) atomically and fsynced.
    pub fn finish(mut self, root: &Root, header: &ManifestHeader) -> Result<()> {
        self.z.write_all(&[END])?;
        let z = self.z.into_inner().map_err(|e| e.into_error())?;
        let mut body = z.finish()?.into_inner().map_err(|e| e.into_error())?;
        body.seek(SeekFrom::Start(0))?;
        let head = serde_json::to_vec(header).context("serializing the manifest header")?;
        let name = manifest_name(&header.id);
        atomic::write_at_with(
            root.manifests.file(),
            OsStr::new(&name),
            Some(0o600),
            |out| {
                out.write_all(MAGIC)?;
                out.write_all(&(head.len() as u32).to_le_bytes())?;
                out.write_all(&head)?;
                std::io::copy(&mut body, out).map(drop)
            },
        )
        .with_context(|| format!("writing manifest {name}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

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
