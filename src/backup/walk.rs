//! The streaming walk of a run and of verify: depth first, each folder listed
//! through its handle and sorted by name, every entry `fstatat`ed once on
//! its open folder, nothing kept but the folders on the current path. The
//! order is [`super::record::cmp_path`] order, the order of manifests.
//!
//! **Invariant:** memory depends on folder width and depth, never on the
//! number of files.

use std::ffi::{CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};

use super::at::Dir;
use super::record::cmp_path;
use super::scan::{Excludes, SrcMeta, relative_of};
use crate::files::backup::EntryKind;

/// What one `stat` said about an entry.
#[derive(Debug, Clone, Copy)]
pub struct Stat {
    pub kind: EntryKind,
    pub meta: SrcMeta,
    pub nlink: u64,
    pub dev: u64,
    /// Allocated bytes (`st_blocks * 512`): what a copy takes on disk.
    pub allocated: u64,
}

impl Stat {
    /// `None` for special files (FIFO, socket, device), with what they are.
    pub fn from_stat(st: &libc::stat) -> Result<Stat, &'static str> {
        let kind = match st.st_mode & libc::S_IFMT {
            libc::S_IFREG => EntryKind::File,
            libc::S_IFDIR => EntryKind::Dir,
            libc::S_IFLNK => EntryKind::Symlink,
            libc::S_IFIFO => return Err("fifo"),
            libc::S_IFSOCK => return Err("socket"),
            _ => return Err("device"),
        };
        Ok(Stat {
            kind,
            meta: SrcMeta::from_stat(st),
            nlink: st.st_nlink,
            dev: st.st_dev,
            allocated: st.st_blocks as u64 * 512,
        })
    }
}

/// One entry found by the walk.
pub struct Found<'a> {
    /// The open folder that holds it.
    pub dir: &'a Arc<Dir>,
    pub name: &'a CStr,
    /// Raw snapshot-relative path.
    pub rel: &'a [u8],
    /// Absolute path, for messages.
    pub abs: &'a Path,
    pub stat: Stat,
}

/// What a walk reports, in path order: an entry, then (for a folder) `enter`,
/// its contents, `leave`.
pub trait Visitor {
    fn entry(&mut self, f: &Found) -> Result<()>;
    fn enter(&mut self, rel: &[u8]) -> Result<()>;
    fn leave(&mut self, rel: &[u8]) -> Result<()>;
    fn warn(&mut self, w: String);
}

/// Walks the folder `dir` (at `rel`, `abs`), skipping what `ex` excludes.
pub fn walk_dir(
    dir: &Arc<Dir>,
    rel: &mut Vec<u8>,
    abs: &mut PathBuf,
    ex: Option<&Excludes>,
    v: &mut impl Visitor,
) -> Result<()> {
    let mut names = match dir.names() {
        Ok(n) => n,
        Err(e) => {
            v.warn(format!("{} unreadable: {e}", abs.display()));
            return Ok(());
        }
    };
    names.sort_unstable_by(|a, b| a.to_bytes().cmp(b.to_bytes()));
    for name in &names {
        let nb = name.to_bytes();
        let rel_len = rel.len();
        if !rel.is_empty() {
            rel.push(b'/');
        }
        rel.extend_from_slice(nb);
        abs.push(OsStr::from_bytes(nb));
        let r = one(dir, name, rel, abs, ex, v);
        abs.pop();
        rel.truncate(rel_len);
        r?;
    }
    Ok(())
}

fn one(
    dir: &Arc<Dir>,
    name: &CStr,
    rel: &mut Vec<u8>,
    abs: &mut PathBuf,
    ex: Option<&Excludes>,
    v: &mut impl Visitor,
) -> Result<()> {
    if ex.is_some_and(|e| e.is_excluded(abs)) {
        return Ok(());
    }
    let st = match super::at::stat_at(dir.fd(), Some(name)) {
        Ok(st) => st,
        Err(e) => {
            v.warn(format!("{} skipped: {e}", abs.display()));
            return Ok(());
        }
    };
    let stat = match Stat::from_stat(&st) {
        Ok(s) => s,
        Err(what) => {
            v.warn(format!("{} skipped: special file ({what})", abs.display()));
            return Ok(());
        }
    };
    let found = Found {
        dir,
        name,
        rel,
        abs,
        stat,
    };
    v.entry(&found)?;
    if stat.kind == EntryKind::Dir {
        let sub = match dir.open_child(OsStr::from_bytes(name.to_bytes())) {
            Ok(d) => Arc::new(d),
            Err(e) => {
                v.warn(format!("{} unreadable: {e}", abs.display()));
                return Ok(());
            }
        };
        v.enter(rel)?;
        walk_dir(&sub, rel, abs, ex, v)?;
        v.leave(rel)?;
    }
    Ok(())
}

/// Walks all sources in path order: each source's missing ancestors first (as
/// folders), then the source (followed if it is a symlink) and its contents.
/// A source inside another is walked once, as part of the outer one.
pub fn walk_sources(sources: &[PathBuf], ex: &Excludes, v: &mut impl Visitor) -> Result<()> {
    let mut list = Vec::new();
    for s in sources {
        let rel = relative_of(s).with_context(|| {
            format!(
                "BACKUP_SOURCES entry {} is not a clean absolute path",
                s.display()
            )
        })?;
        if rel.as_os_str().is_empty() {
            anyhow::bail!("BACKUP_SOURCES must not be / itself; list the folders to back up");
        }
        list.push((rel.as_os_str().as_bytes().to_vec(), s.clone()));
    }
    list.sort_by(|a, b| cmp_path(&a.0, &b.0));
    // Folders entered so far (the current path from the top).
    let mut open: Vec<Vec<u8>> = Vec::new();
    let mut done: Option<Vec<u8>> = None;
    for (rel, src) in list {
        if done
            .as_ref()
            .is_some_and(|d| super::record::is_at_or_under(&rel, d))
        {
            continue;
        }
        let meta = match std::fs::metadata(&src) {
            Ok(m) => m,
            Err(e) => {
                v.warn(format!("source {} skipped: {e}", src.display()));
                continue;
            }
        };
        let ancestors: Vec<&[u8]> = rel
            .iter()
            .enumerate()
            .filter(|(_, c)| **c == b'/')
            .map(|(i, _)| &rel[..i])
            .collect();
        while open
            .last()
            .is_some_and(|o| !ancestors.contains(&o.as_slice()))
        {
            let o = open.pop().expect("checked");
            v.leave(&o)?;
        }
        for a in ancestors.iter().skip(open.len()) {
            let abs = Path::new("/").join(OsStr::from_bytes(a));
            let parent = abs.parent().unwrap_or(Path::new("/"));
            let st =
                std::fs::metadata(&abs).with_context(|| format!("reading {}", abs.display()))?;
            let pdir = Arc::new(Dir::open_follow(parent)?);
            report(v, &pdir, &abs, a, &st)?;
            v.enter(a)?;
            open.push(a.to_vec());
        }
        let parent = src.parent().unwrap_or(Path::new("/"));
        let pdir = Arc::new(Dir::open_follow(parent)?);
        if !report(v, &pdir, &src, &rel, &meta)? {
            continue;
        }
        if meta.is_dir() {
            let d = match Dir::open_follow(&src) {
                Ok(d) => Arc::new(d),
                Err(e) => {
                    v.warn(format!("source {} skipped: {e}", src.display()));
                    continue;
                }
            };
            v.enter(&rel)?;
            walk_dir(&d, &mut rel.clone(), &mut src.clone(), Some(ex), v)?;
            v.leave(&rel)?;
        }
        done = Some(rel);
    }
    while let Some(o) = open.pop() {
        v.leave(&o)?;
    }
    Ok(())
}

/// Reports a source or ancestor found by path (followed); false for a special file.
fn report(
    v: &mut impl Visitor,
    pdir: &Arc<Dir>,
    abs: &Path,
    rel: &[u8],
    m: &std::fs::Metadata,
) -> Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let kind = if m.is_dir() {
        EntryKind::Dir
    } else if m.is_file() {
        EntryKind::File
    } else {
        v.warn(format!("{} skipped: special file", abs.display()));
        return Ok(false);
    };
    let name = super::at::cstr(abs.file_name().unwrap_or_default())?;
    let stat = Stat {
        kind,
        meta: SrcMeta::from_metadata(m),
        nlink: m.nlink(),
        dev: m.dev(),
        allocated: m.blocks() * 512,
    };
    v.entry(&Found {
        dir: pdir,
        name: &name,
        rel,
        abs,
        stat,
    })?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records what a walk reports.
    #[derive(Default)]
    struct Log {
        events: Vec<String>,
        warnings: Vec<String>,
    }

    impl Visitor for Log {
        fn entry(&mut self, f: &Found) -> Result<()> {
            let s = String::from_utf8_lossy(f.rel).into_owned();
            self.events.push(format!("{s} {:?}", f.stat.kind));
            Ok(())
        }
        fn enter(&mut self, rel: &[u8]) -> Result<()> {
            self.events
                .push(format!("> {}", String::from_utf8_lossy(rel)));
            Ok(())
        }
        fn leave(&mut self, rel: &[u8]) -> Result<()> {
            self.events
                .push(format!("< {}", String::from_utf8_lossy(rel)));
            Ok(())
        }
        fn warn(&mut self, w: String) {
            self.warnings.push(w);
        }
    }

    #[test]
    fn walks_in_manifest_order_skipping_excluded_and_special_files() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("a/b")).unwrap();
        std::fs::write(src.join("a/b/f"), b"x").unwrap();
        std::fs::write(src.join("a.txt"), b"y").unwrap();
        std::fs::write(src.join("skip.tmp"), b"z").unwrap();
        std::os::unix::fs::symlink("a.txt", src.join("link")).unwrap();
        let fifo = super::super::at::cstr(src.join("fifo").as_os_str()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let mut log = Log::default();
        let ex = Excludes::new(&["*.tmp".into()]).unwrap();
        walk_sources(std::slice::from_ref(&src), &ex, &mut log).unwrap();
        let top = relative_of(&src).unwrap().display().to_string();
        let own: Vec<String> = log
            .events
            .iter()
            .filter_map(|e| {
                let (head, rest) = e.split_at(
                    e.find(|c: char| c != '>' && c != '<' && c != ' ')
                        .unwrap_or(0),
                );
                rest.strip_prefix(&top).map(|r| format!("{head}{r}"))
            })
            .collect();
        assert_eq!(
            own,
            [
                " Dir",
                "> ",
                "/a Dir",
                "> /a",
                "/a/b Dir",
                "> /a/b",
                "/a/b/f File",
                "< /a/b",
                "< /a",
                "/a.txt File",
                "/link Symlink",
                "< ",
            ]
        );
        assert_eq!(log.warnings.len(), 1, "{:?}", log.warnings);
        assert!(log.warnings[0].contains("special file (fifo)"));
        // Every ancestor of the source comes first, as a folder.
        assert!(log.events[0].ends_with(" Dir"));
        assert_eq!(
            log.events.iter().filter(|e| e.starts_with('>')).count(),
            log.events.iter().filter(|e| e.starts_with('<')).count()
        );
    }

    #[test]
    fn overlapping_sources_are_walked_once_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        for f in ["a/x", "a/y/z", "b", "c/d"] {
            let p = src.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, f).unwrap();
        }
        let mut log = Log::default();
        let none = Excludes::new(&[]).unwrap();
        walk_sources(
            &[src.join("a"), src.clone(), src.join("c")],
            &none,
            &mut log,
        )
        .unwrap();
        let entries: Vec<&String> = log
            .events
            .iter()
            .filter(|e| e.ends_with("File") || e.ends_with("Dir"))
            .collect();
        let unique: std::collections::HashSet<_> = entries.iter().collect();
        assert_eq!(unique.len(), entries.len(), "duplicates: {entries:?}");
        let paths: Vec<Vec<u8>> = entries
            .iter()
            .map(|e| e.rsplit_once(' ').unwrap().0.as_bytes().to_vec())
            .collect();
        assert!(
            paths.windows(2).all(|w| cmp_path(&w[0], &w[1]).is_lt()),
            "{entries:?}"
        );
        let top = relative_of(&src).unwrap().display().to_string();
        for f in ["a/x", "a/y/z", "b", "c/d"] {
            assert!(
                paths.contains(&format!("{top}/{f}").into_bytes()),
                "{f} missing"
            );
        }
    }
}
