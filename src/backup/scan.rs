//! What a run reads from a source entry and what it leaves out: the
//! metadata that decides whether a file changed, `BACKUP_EXCLUDES` and the
//! snapshot-relative form of a source path. Pure: no I/O.

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result};
use globset::{Glob, GlobSet, GlobSetBuilder};

/// Source metadata that decides whether a file changed since the last snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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

    pub fn from_stat(st: &libc::stat) -> SrcMeta {
        SrcMeta {
            size: st.st_size as u64,
            mtime: st.st_mtime,
            mtime_ns: st.st_mtime_nsec as u32,
            mode: st.st_mode & 0o7777,
            uid: st.st_uid,
            gid: st.st_gid,
            ctime: st.st_ctime,
            ctime_ns: st.st_ctime_nsec as u32,
            ino: st.st_ino,
        }
    }
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

    /// Checked for every entry a run walks, so empty pattern sets are not
    /// consulted (a match builds a candidate, which allocates).
    pub fn is_excluded(&self, abs: &Path) -> bool {
        let name = abs.file_name();
        (!self.by_name.is_empty() && name.is_some_and(|n| self.by_name.is_match(n)))
            || (!self.by_path.is_empty() && self.by_path.is_match(abs))
            || self.skip.iter().any(|s| s == abs)
            || (name.is_some_and(crate::atomic::is_temp_name)
                && abs
                    .parent()
                    .is_some_and(|p| self.temp_dirs.iter().any(|d| d == p)))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
