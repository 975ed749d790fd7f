//! Scan and plan: walk `BACKUP_SOURCES` (minus `BACKUP_EXCLUDES`), stat every
//! entry once, and decide per regular file whether it can be hard-linked to
//! the previous snapshot or must be copied. The decision is a pure function.

use std::collections::HashMap;
use std::fs::Metadata;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path, PathBuf};
use std::sync::{Condvar, Mutex};

use anyhow::{Context, Result};
use globset::{Glob, GlobSet, GlobSetBuilder};

use super::manifest::escape_path;
use crate::files::backup::{EntryKind, ManifestEntry};

/// Source metadata that decides whether a file changed since the last snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SrcMeta {
    pub size: u64,
    pub mtime: i64,
    pub mtime_ns: u32,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub ctime: i64,
    pub ctime_ns: u32,
    pub ino: u64,
}

impl SrcMeta {
    pub fn from_metadata(m: &Metadata) -> SrcMeta {
        SrcMeta {
            size: m.len(),
            mtime: m.mtime(),
            mtime_ns: m.mtime_nsec() as u32,
            mode: m.mode() & 0o7777,
            uid: m.uid(),
            gid: m.gid(),
            ctime: m.ctime(),
            ctime_ns: m.ctime_nsec() as u32,
            ino: m.ino(),
        }
    }

    /// The manifest entry for this metadata (hash and target filled in by the caller).
    pub fn entry(&self, path: String, kind: EntryKind) -> ManifestEntry {
        ManifestEntry {
            path,
            kind,
            size: if kind == EntryKind::File {
                self.size
            } else {
                0
            },
            mtime: self.mtime,
            mtime_ns: self.mtime_ns,
            mode: self.mode,
            uid: self.uid,
            gid: self.gid,
            ctime: self.ctime,
            ctime_ns: self.ctime_ns,
            ino: self.ino,
            blake3: None,
            target: None,
        }
    }
}

/// One entry found in the sources.
#[derive(Debug, Clone)]
pub struct ScanEntry {
    /// Path relative to the snapshot root (`/opt/x` becomes `opt/x`).
    pub rel: PathBuf,
    /// [`escape_path`] of `rel`, the manifest key.
    pub key: String,
    /// Absolute source path.
    pub src: PathBuf,
    pub kind: EntryKind,
    pub meta: SrcMeta,
    /// Symlink target.
    pub target: Option<PathBuf>,
}

/// What the scan found, sorted so that every folder comes before its contents.
#[derive(Debug, Default)]
pub struct Scan {
    pub entries: Vec<ScanEntry>,
    pub warnings: Vec<String>,
}

/// `BACKUP_EXCLUDES`: a pattern with a `/` matches the absolute path, one
/// without matches the file name at any depth (`*.tmp`, `node_modules`).
#[derive(Debug)]
pub struct Excludes {
    by_name: GlobSet,
    by_path: GlobSet,
    /// Exact paths never backed up (the backup folder itself).
    skip: Vec<PathBuf>,
    /// Folders whose `atomic` temporary files are left out.
    temp_dirs: Vec<PathBuf>,
}

impl Excludes {
    pub fn new(patterns: &[String]) -> Result<Excludes> {
        let mut by_name = GlobSetBuilder::new();
        let mut by_path = GlobSetBuilder::new();
        for p in patterns {
            let glob =
                Glob::new(p).with_context(|| format!("bad BACKUP_EXCLUDES pattern {p:?}"))?;
            if p.contains('/') {
                by_path.add(glob);
            } else {
                by_name.add(glob);
            }
        }
        Ok(Excludes {
            by_name: by_name.build().context("building BACKUP_EXCLUDES")?,
            by_path: by_path.build().context("building BACKUP_EXCLUDES")?,
            skip: Vec::new(),
            temp_dirs: Vec::new(),
        })
    }

    /// Also skips `path` (and so everything under it), e.g. `BACKUP_DIR` when
    /// it lies inside a source: a snapshot must never contain the snapshots.
    pub fn skipping(mut self, path: &Path) -> Excludes {
        self.skip.push(path.to_path_buf());
        if let Ok(real) = std::fs::canonicalize(path) {
            self.skip.push(real);
        }
        self
    }

    /// Also skips the temporary files of atomic writes directly in `dir`
    /// (`STATE_DIR`): they exist for milliseconds while the health job, the
    /// bot and this run write, and one caught by the scan would vanish before
    /// it is copied, turning the run's status into "warnings" for nothing.
    pub fn skipping_temp_files_in(mut self, dir: &Path) -> Excludes {
        self.temp_dirs.push(dir.to_path_buf());
        self
    }

    pub fn is_excluded(&self, abs: &Path) -> bool {
        abs.file_name().is_some_and(|n| self.by_name.is_match(n))
            || self.by_path.is_match(abs)
            || self.skip.iter().any(|s| s == abs)
            || (abs
                .parent()
                .is_some_and(|p| self.temp_dirs.iter().any(|d| d == p))
                && abs.file_name().is_some_and(crate::atomic::is_temp_name))
    }
}

/// What to do with one regular file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Unchanged: hard-link the previous snapshot's copy; its hash carries over.
    Link { blake3: String },
    /// New or changed: copy and hash.
    Copy,
}

/// Decides link or copy: a file is unchanged only when size, mtime, mode,
/// owner, ctime and inode all match what the previous manifest recorded.
/// The ctime catches a rewrite that restored the old mtime, and the inode a
/// file replaced by another with the same times.
pub fn decide(cur: &SrcMeta, prev: Option<&ManifestEntry>) -> Action {
    match prev {
        Some(p)
            if p.kind == EntryKind::File
                && p.size == cur.size
                && p.mtime == cur.mtime
                && p.mtime_ns == cur.mtime_ns
                && p.mode == cur.mode
                && p.uid == cur.uid
                && p.gid == cur.gid
                && p.ctime == cur.ctime
                && p.ctime_ns == cur.ctime_ns
                && p.ino == cur.ino =>
        {
            match &p.blake3 {
                Some(h) => Action::Link { blake3: h.clone() },
                None => Action::Copy,
            }
        }
        _ => Action::Copy,
    }
}

/// Plans every regular file of `scan` against the previous manifest's entries.
pub fn plan(scan: &Scan, prev: &HashMap<&str, &ManifestEntry>) -> Vec<Option<Action>> {
    scan.entries
        .iter()
        .map(|e| {
            (e.kind == EntryKind::File).then(|| decide(&e.meta, prev.get(e.key.as_str()).copied()))
        })
        .collect()
}

/// Snapshot-relative form of an absolute source path; `None` if it has `..`
/// or is not absolute.
pub fn relative_of(abs: &Path) -> Option<PathBuf> {
    let mut rel = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::RootDir => {}
            Component::Normal(n) => rel.push(n),
            Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    abs.is_absolute().then_some(rel)
}

/// Walks the sources. Problems with single entries (vanished, unreadable,
/// special files) become warnings; the scan itself only fails on bad input.
pub fn scan(sources: &[PathBuf], excludes: &Excludes) -> Result<Scan> {
    let mut found: Vec<ScanEntry> = Vec::new();
    let mut warnings = Vec::new();
    for source in sources {
        let rel_root = relative_of(source).with_context(|| {
            format!(
                "BACKUP_SOURCES entry {} is not a clean absolute path",
                source.display()
            )
        })?;
        if rel_root.as_os_str().is_empty() {
            anyhow::bail!("BACKUP_SOURCES must not be / itself; list the folders to back up");
        }
        // The source itself is followed if it is a symlink; nothing below it is.
        let meta = match std::fs::metadata(source) {
            Ok(m) => m,
            Err(e) => {
                warnings.push(format!("source {} skipped: {e}", source.display()));
                continue;
            }
        };
        add_ancestors(source, &mut found, &mut warnings);
        let Some(root) = classify(source, rel_root.clone(), &meta, &mut warnings) else {
            continue;
        };
        let is_dir = root.kind == EntryKind::Dir;
        found.push(root);
        if is_dir {
            let tree = walk_parallel(source, &rel_root, excludes, super::worker_threads());
            warnings.extend(tree.warnings);
            found.extend(tree.entries);
        }
    }
    // One source walks in order already (sorted names, folders before their
    // contents). Several may overlap: sort by bytes (a prefix sorts first, so
    // folders still precede contents) and keep the first of each path.
    if sources.len() > 1 {
        found.sort_by(|a, b| {
            a.rel
                .as_os_str()
                .as_bytes()
                .cmp(b.rel.as_os_str().as_bytes())
        });
        found.dedup_by(|b, a| a.rel == b.rel);
    }
    Ok(Scan {
        entries: found,
        warnings,
    })
}

/// Folders waiting to be listed and the listings done so far.
struct WalkState {
    queue: Vec<(PathBuf, PathBuf)>,
    /// Folders queued or being listed; the walk ends when it reaches zero.
    pending: usize,
    listed: HashMap<PathBuf, Vec<ScanEntry>>,
    warnings: Vec<String>,
}

/// Lists every folder under `root` on `threads` workers (any folder is a
/// task, so one huge subfolder does not serialise the walk), then assembles
/// the entries in order: sorted names, each folder followed by its contents.
pub fn walk_parallel(root: &Path, rel_root: &Path, excludes: &Excludes, threads: usize) -> Scan {
    let state = Mutex::new(WalkState {
        queue: vec![(root.to_path_buf(), rel_root.to_path_buf())],
        pending: 1,
        listed: HashMap::new(),
        warnings: Vec::new(),
    });
    let wake = Condvar::new();
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                let mut st = state.lock().unwrap();
                loop {
                    let Some((abs, rel)) = st.queue.pop() else {
                        if st.pending == 0 {
                            break;
                        }
                        st = wake.wait(st).unwrap();
                        continue;
                    };
                    drop(st);
                    let mut warnings = Vec::new();
                    let children = list_dir(&abs, &rel, excludes, &mut warnings);
                    st = state.lock().unwrap();
                    for c in children.iter().filter(|c| c.kind == EntryKind::Dir) {
                        st.queue.push((c.src.clone(), c.rel.clone()));
                        st.pending += 1;
                    }
                    st.warnings.extend(warnings);
                    st.listed.insert(rel, children);
                    st.pending -= 1;
                    wake.notify_all();
                }
            });
        }
    });
    let mut st = state.into_inner().unwrap();
    let mut entries = Vec::new();
    assemble(rel_root, &mut st.listed, &mut entries);
    Scan {
        entries,
        warnings: st.warnings,
    }
}

fn assemble(rel: &Path, listed: &mut HashMap<PathBuf, Vec<ScanEntry>>, out: &mut Vec<ScanEntry>) {
    let Some(children) = listed.remove(rel) else {
        return;
    };
    for c in children {
        let sub = (c.kind == EntryKind::Dir).then(|| c.rel.clone());
        out.push(c);
        if let Some(sub) = sub {
            assemble(&sub, listed, out);
        }
    }
}

/// The entries of one folder, sorted by name, excluded ones left out. Uses
/// the open folder for each stat (`fstatat`), not a path walk per file.
fn list_dir(
    abs: &Path,
    rel: &Path,
    excludes: &Excludes,
    warnings: &mut Vec<String>,
) -> Vec<ScanEntry> {
    let rd = match std::fs::read_dir(abs) {
        Ok(rd) => rd,
        Err(e) => {
            warnings.push(format!("{} skipped: {e}", abs.display()));
            return Vec::new();
        }
    };
    let mut items: Vec<(std::ffi::OsString, std::fs::DirEntry)> = Vec::new();
    for de in rd {
        match de {
            Ok(de) => items.push((de.file_name(), de)),
            Err(e) => warnings.push(format!("{} partly unreadable: {e}", abs.display())),
        }
    }
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Vec::with_capacity(items.len());
    for (name, de) in items {
        let child = abs.join(&name);
        if excludes.is_excluded(&child) {
            continue;
        }
        match de.metadata() {
            Ok(meta) => {
                if let Some(e) = classify(&child, rel.join(&name), &meta, warnings) {
                    out.push(e);
                }
            }
            Err(e) => warnings.push(format!("{} skipped: {e}", child.display())),
        }
    }
    out
}

fn classify(
    abs: &Path,
    rel: PathBuf,
    meta: &Metadata,
    warnings: &mut Vec<String>,
) -> Option<ScanEntry> {
    let ft = meta.file_type();
    let kind = if ft.is_file() {
        EntryKind::File
    } else if ft.is_dir() {
        EntryKind::Dir
    } else if ft.is_symlink() {
        EntryKind::Symlink
    } else {
        let what = if ft.is_fifo() {
            "fifo"
        } else if ft.is_socket() {
            "socket"
        } else {
            "device"
        };
        warnings.push(format!("{} skipped: special file ({what})", abs.display()));
        return None;
    };
    let target = if kind == EntryKind::Symlink {
        match std::fs::read_link(abs) {
            Ok(t) => Some(t),
            Err(e) => {
                warnings.push(format!("{} skipped: {e}", abs.display()));
                return None;
            }
        }
    } else {
        None
    };
    Some(ScanEntry {
        key: escape_path(rel.as_os_str()),
        rel,
        src: abs.to_path_buf(),
        kind,
        meta: SrcMeta::from_metadata(meta),
        target,
    })
}

/// Records the folders above a source (`opt` for `/opt/potion-runner`) so the
/// snapshot mirrors their owner and mode and verify knows them.
fn add_ancestors(source: &Path, found: &mut Vec<ScanEntry>, warnings: &mut Vec<String>) {
    let mut ancestors: Vec<&Path> = source
        .ancestors()
        .skip(1)
        .filter(|a| a.parent().is_some())
        .collect();
    ancestors.reverse();
    for a in ancestors {
        let Some(rel) = relative_of(a) else { continue };
        if found.iter().any(|e| e.rel == rel) {
            continue;
        }
        match std::fs::metadata(a) {
            Ok(m) if m.is_dir() => {
                if let Some(e) = classify(a, rel, &m, warnings) {
                    found.push(e);
                }
            }
            Ok(_) => {}
            Err(e) => warnings.push(format!("{} unreadable: {e}", a.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> SrcMeta {
        SrcMeta {
            size: 10,
            mtime: 100,
            mtime_ns: 5,
            mode: 0o644,
            uid: 1000,
            gid: 1000,
            ctime: 200,
            ctime_ns: 7,
            ino: 42,
        }
    }

    #[test]
    fn unchanged_file_is_linked_with_its_old_hash() {
        let m = meta();
        let mut prev = m.entry("a".into(), EntryKind::File);
        prev.blake3 = Some("abc".into());
        assert_eq!(
            decide(&m, Some(&prev)),
            Action::Link {
                blake3: "abc".into()
            }
        );
    }

    #[test]
    fn any_changed_field_means_copy() {
        let m = meta();
        let mut prev = m.entry("a".into(), EntryKind::File);
        prev.blake3 = Some("abc".into());
        let changes: [fn(&mut ManifestEntry); 9] = [
            |p| p.size += 1,
            |p| p.mtime += 1,
            |p| p.mtime_ns += 1,
            |p| p.mode = 0o600,
            |p| p.uid = 0,
            |p| p.gid = 0,
            |p| p.ctime += 1,
            |p| p.ctime_ns += 1,
            |p| p.ino += 1,
        ];
        for change in changes {
            let mut p = prev.clone();
            change(&mut p);
            assert_eq!(decide(&m, Some(&p)), Action::Copy, "{p:?}");
        }
        assert_eq!(decide(&m, None), Action::Copy);
        let mut no_hash = prev.clone();
        no_hash.blake3 = None;
        assert_eq!(decide(&m, Some(&no_hash)), Action::Copy);
        let mut was_dir = prev;
        was_dir.kind = EntryKind::Dir;
        assert_eq!(decide(&m, Some(&was_dir)), Action::Copy);
    }

    #[test]
    fn excludes_match_names_anywhere_and_paths_absolutely() {
        let ex = Excludes::new(&[
            "*.tmp".into(),
            "/opt/app/cache/**".into(),
            "node_modules".into(),
        ])
        .unwrap();
        assert!(ex.is_excluded(Path::new("/opt/app/x/y.tmp")));
        assert!(ex.is_excluded(Path::new("/opt/app/cache/a/b")));
        assert!(ex.is_excluded(Path::new("/opt/app/web/node_modules")));
        assert!(!ex.is_excluded(Path::new("/opt/app/cache")));
        assert!(!ex.is_excluded(Path::new("/opt/app/tmp.txt")));
    }

    #[test]
    fn atomic_temp_files_are_skipped_only_in_the_named_folder() {
        let ex = Excludes::new(&[])
            .unwrap()
            .skipping_temp_files_in(Path::new("/opt/app/state"));
        assert!(ex.is_excluded(Path::new(
            "/opt/app/state/.last_health.json.tmp.0123456789abcdef"
        )));
        assert!(!ex.is_excluded(Path::new("/opt/app/state/last_health.json")));
        assert!(!ex.is_excluded(Path::new("/opt/app/state/sub/.x.tmp.0123456789abcdef")));
        assert!(!ex.is_excluded(Path::new("/opt/app/.x.tmp.42.0")));
    }

    #[test]
    fn relative_paths_refuse_parent_components() {
        assert_eq!(
            relative_of(Path::new("/opt/x")),
            Some(PathBuf::from("opt/x"))
        );
        assert_eq!(relative_of(Path::new("/opt/../x")), None);
        assert_eq!(relative_of(Path::new("opt/x")), None);
    }

    #[test]
    fn scan_sorts_parents_first_skips_excluded_and_special_files() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("a/b")).unwrap();
        std::fs::write(src.join("a/b/f"), b"x").unwrap();
        std::fs::write(src.join("a.txt"), b"y").unwrap();
        std::fs::write(src.join("skip.tmp"), b"z").unwrap();
        std::os::unix::fs::symlink("a.txt", src.join("link")).unwrap();
        let fifo =
            std::ffi::CString::new(src.join("fifo").into_os_string().into_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let s = scan(
            std::slice::from_ref(&src),
            &Excludes::new(&["*.tmp".into()]).unwrap(),
        )
        .unwrap();
        let rel_src = relative_of(&src).unwrap();
        let names: Vec<String> = s
            .entries
            .iter()
            .filter_map(|e| {
                e.rel
                    .strip_prefix(&rel_src)
                    .ok()
                    .map(|r| r.display().to_string())
            })
            .collect();
        assert_eq!(names, ["", "a", "a/b", "a/b/f", "a.txt", "link"]);
        assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
        assert!(s.warnings[0].contains("special file (fifo)"));
        // Ancestors of the source come first and are folders.
        assert_eq!(s.entries[0].kind, EntryKind::Dir);
        let pos = |n: &str| {
            s.entries
                .iter()
                .position(|e| e.rel == rel_src.join(n))
                .unwrap()
        };
        assert_eq!(s.entries[pos("link")].target, Some(PathBuf::from("a.txt")));
    }

    #[test]
    fn overlapping_sources_are_listed_once_with_folders_first() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        for f in ["a/x", "a/y/z", "b", "c/d"] {
            let p = src.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, f).unwrap();
        }
        let none = Excludes::new(&[]).unwrap();
        let s = scan(&[src.join("a"), src.clone(), src.join("c")], &none).unwrap();
        let rels: Vec<&PathBuf> = s.entries.iter().map(|e| &e.rel).collect();
        let unique: std::collections::HashSet<_> = rels.iter().collect();
        assert_eq!(unique.len(), rels.len(), "duplicates: {rels:?}");
        for (i, e) in s.entries.iter().enumerate() {
            if let Some(parent) = e.rel.parent().filter(|p| !p.as_os_str().is_empty()) {
                let pos = rels
                    .iter()
                    .position(|r| *r == parent)
                    .expect("parent listed");
                assert!(pos < i, "{} before its folder", e.rel.display());
            }
        }
        let rel_src = relative_of(&src).unwrap();
        for f in ["a/x", "a/y/z", "b", "c/d"] {
            assert!(rels.contains(&&rel_src.join(f)), "{f} missing");
        }
    }
}
