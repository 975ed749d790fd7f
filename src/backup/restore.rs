//! `restore`: copy a file or folder out of a snapshot into a staging folder
//! (or, with `--to` and `--overwrite`, over live files), checking every byte
//! against the manifest's BLAKE3 before it is put in place.

use std::ffi::{OsStr, OsString};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStringExt;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

use super::at::{self, Dir};
use super::copy::{self, BUF_SIZE, CopyError};
use super::lock;
use super::manifest::{self, Layout, escape_path, unescape_path};
use super::root;
use super::scan::SrcMeta;
use crate::config::Config;
use crate::files::backup::{EntryKind, ManifestEntry};

/// What a restore did.
#[derive(Debug, Clone)]
pub struct RestoreReport {
    pub id: String,
    pub files: u64,
    pub bytes: u64,
    /// Where the restored path now is.
    pub dest: PathBuf,
}

/// Turns the user's PATH (`/opt/app/x` or `opt/app/x`) into a snapshot-relative
/// path; refuses `..` and empty paths so nothing can escape the target folder.
pub fn clean_rel(path: &Path) -> Result<PathBuf> {
    let mut rel = PathBuf::new();
    for c in path.components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(n) => rel.push(n),
            Component::ParentDir | Component::Prefix(_) => {
                bail!(
                    "{} must not contain `..`; give the path as it was backed up",
                    path.display()
                )
            }
        }
    }
    if rel.as_os_str().is_empty() {
        bail!("give the file or folder to restore, e.g. /opt/potion-runner/.env");
    }
    Ok(rel)
}

/// Entries of the manifest at or under `key`.
pub fn select<'a>(files: &'a [ManifestEntry], key: &str) -> Vec<&'a ManifestEntry> {
    let prefix = format!("{key}/");
    files
        .iter()
        .filter(|e| e.path == key || e.path.starts_with(&prefix))
        .collect()
}

fn meta_of(e: &ManifestEntry) -> SrcMeta {
    SrcMeta {
        size: e.size,
        mtime: e.mtime,
        mtime_ns: e.mtime_ns,
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        ctime: e.ctime,
        ctime_ns: e.ctime_ns,
        ino: e.ino,
    }
}

/// A fresh temporary name beside `name` (random, so nothing can be planted under it).
fn temp_name(name: &OsStr) -> Result<OsString> {
    let mut tmp = OsString::from(".");
    tmp.push(name);
    tmp.push(".potion-restore.");
    tmp.push(crate::atomic::random_suffix()?);
    Ok(tmp)
}

/// Snapshots are never written to: a `--to` inside `snapshots/` or
/// `manifests/` is refused (checked on the nearest existing folder, so
/// symlinks cannot hide it).
fn refuse_inside_snapshots(layout: &Layout, dest: &Path) -> Result<()> {
    let existing = dest
        .ancestors()
        .find(|a| a.exists())
        .unwrap_or(Path::new("/"));
    let real =
        std::fs::canonicalize(existing).with_context(|| format!("resolving {}", dest.display()))?;
    for protected in [layout.snapshots(), layout.manifests()] {
        if let Ok(p) = std::fs::canonicalize(&protected)
            && real.starts_with(&p)
        {
            bail!(
                "{} is inside the backup's {}; restore somewhere else (the default is {})",
                dest.display(),
                protected.display(),
                layout.restored().display()
            );
        }
    }
    Ok(())
}

/// Opens the folder `path` from `start`, one component at a time, creating
/// missing ones (0755) when `create` is set. A symlink is followed only when
/// root or this user owns it (`/opt` -> `/data/opt` is the owner's layout),
/// as the kernel's `protected_symlinks` would, and its target is walked the
/// same way; another user's symlink or a file in the way stops the restore.
/// Restoring over live files runs as root into folders other users may write
/// (e.g. `STATE_DIR`): every later write goes through the handle this
/// returns, so nothing swapped in after the walk can carry root's writes,
/// `chmod` or `chown` elsewhere.
fn walk(start: &Dir, path: &Path, create: bool, hops: &mut u32) -> Result<Dir> {
    let mut cur = start.open_dir(Path::new(""))?;
    for c in path.components() {
        let name = match c {
            Component::RootDir => {
                cur = Dir::open(Path::new("/"))?;
                continue;
            }
            Component::CurDir | Component::Prefix(_) => continue,
            Component::ParentDir => OsStr::new(".."),
            Component::Normal(n) => n,
        };
        cur = match cur.open_child(name) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                match cur.mkdir(name, 0o755) {
                    Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                        return Err(e).with_context(|| format!("creating {}", path.display()));
                    }
                    _ => {}
                }
                cur.open_child(name)
                    .with_context(|| format!("opening {}", path.display()))?
            }
            Err(e) if matches!(e.raw_os_error(), Some(libc::ELOOP) | Some(libc::ENOTDIR)) => {
                let st = cur.stat_name(name)?;
                let is_link = st.st_mode & libc::S_IFMT == libc::S_IFLNK;
                *hops += 1;
                if !is_link || !trusted_owner(st.st_uid) || *hops > 40 {
                    bail!(
                        "{} exists and is not a folder (another user's symlink or a file); \
                         nothing more was restored; remove it or restore with another --to folder",
                        path.display()
                    );
                }
                let target = read_link_at(&cur, name)?;
                walk(&cur, &target, false, hops)?
            }
            Err(e) => return Err(e).with_context(|| format!("opening {}", path.display())),
        };
    }
    Ok(cur)
}

fn read_link_at(dir: &Dir, name: &OsStr) -> Result<PathBuf> {
    let c = at::cstr(name)?;
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: readlinkat writes at most `buf.len()` bytes into a buffer we own.
    let n = unsafe { libc::readlinkat(dir.fd(), c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(std::io::Error::last_os_error()).context("reading a symlink");
    }
    buf.truncate(n as usize);
    Ok(PathBuf::from(OsString::from_vec(buf)))
}

fn trusted_owner(uid: u32) -> bool {
    uid == 0 || uid == root::euid()
}

/// Open destination folders, by path below the restore's root (entries come
/// in path order, so most share the folder opened last).
struct Dests<'a> {
    root: &'a Dir,
    last: Option<(PathBuf, Dir)>,
}

impl Dests<'_> {
    fn get(&mut self, rel: &Path) -> Result<&Dir> {
        if self.last.as_ref().is_none_or(|(r, _)| r != rel) {
            let d = walk(self.root, rel, true, &mut 0)?;
            self.last = Some((rel.to_path_buf(), d));
        }
        Ok(&self.last.as_ref().expect("opened").1)
    }
}

/// Restores `path` from snapshot `id` under `to` (default `BACKUP_DIR/restored/<ID>`).
pub fn restore(
    cfg: &Config,
    id: &str,
    path: &Path,
    to: Option<&Path>,
    overwrite: bool,
) -> Result<RestoreReport> {
    let layout = Layout::new(&cfg.backup_dir);
    let handles = root::open(&layout)?;
    // A prune waits until this restore has read what it needs.
    let _lock = lock::wait(&handles.dir, lock::Mode::Shared, lock::WAIT, "restore")?;
    let id = manifest::resolve_id(&layout, Some(id))?;
    let rel = clean_rel(path)?;
    let m = manifest::read_manifest(&layout, &id)?;
    let mut chosen = select(&m.files, &escape_path(rel.as_os_str()));
    if chosen.is_empty()
        && let Some(s) = rel.to_str()
    {
        // Names that are not UTF-8 can be given in the manifest's escaped form.
        chosen = select(&m.files, s);
    }
    if chosen.is_empty() {
        bail!(
            "{} is not in snapshot {id}; paths are given as backed up, e.g. /opt/potion-runner/.env",
            path.display()
        );
    }
    let snap = layout.snapshot(&id);
    let dest_root = to.map_or_else(|| layout.restored().join(&id), Path::to_path_buf);
    refuse_inside_snapshots(&layout, &dest_root)?;
    let dest_of = |e: &ManifestEntry| dest_root.join(unescape_path(&e.path));

    if !overwrite {
        let clashes: Vec<PathBuf> = chosen
            .iter()
            .filter(|e| e.kind != EntryKind::Dir)
            .map(|e| dest_of(e))
            .filter(|d| std::fs::symlink_metadata(d).is_ok())
            .collect();
        if let Some(first) = clashes.first() {
            bail!(
                "{} files already exist at the destination (first: {}); nothing was restored; \
                 pass --overwrite to replace them or choose another --to folder",
                clashes.len(),
                first.display()
            );
        }
    }
    let root_dir = match to {
        None => root::private_child(&handles.dir, "restored", &layout.restored())?
            .ensure_child(OsStr::new(&id), 0o700)
            .with_context(|| format!("creating {}", dest_root.display()))?,
        Some(to) => walk(&Dir::open(Path::new("/"))?, to, true, &mut 0)?,
    };
    let set_owner = copy::can_chown();
    let mut buf = vec![0u8; BUF_SIZE];
    let (mut files, mut bytes) = (0u64, 0u64);
    let mut dests = Dests {
        root: &root_dir,
        last: None,
    };
    for e in &chosen {
        let erel = PathBuf::from(unescape_path(&e.path));
        let name = erel.file_name().unwrap_or_default();
        let dest = dest_root.join(&erel);
        if erel
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
        {
            bail!(
                "{} leaves {}; the manifest is damaged",
                dest.display(),
                dest_root.display()
            );
        }
        let parent = dests.get(erel.parent().unwrap_or(Path::new("")))?;
        let tmp = temp_name(name)?;
        match e.kind {
            EntryKind::Dir => {
                match parent.mkdir(name, 0o700) {
                    Err(err) if err.kind() != std::io::ErrorKind::AlreadyExists => {
                        return Err(err).with_context(|| format!("creating {}", dest.display()));
                    }
                    _ => {}
                }
                walk(parent, Path::new(name), false, &mut 0)?;
            }
            EntryKind::Symlink => {
                let target = unescape_path(e.target.as_deref().unwrap_or_default());
                parent
                    .symlink(&target, &tmp)
                    .with_context(|| format!("creating {}", dest.display()))?;
                let _ = parent.set_symlink_meta(&tmp, &meta_of(e), set_owner);
                parent
                    .rename(&tmp, parent, name)
                    .with_context(|| format!("putting {} in place", dest.display()))?;
            }
            EntryKind::File => {
                let src = snap.join(&erel);
                let c = copy::copy_file(&src, parent, &tmp, &dest, &mut buf, set_owner).map_err(
                    |err| match err {
                        CopyError::Source(w) => {
                            anyhow!("snapshot {id} is damaged: {w}; run potion-backup verify {id}")
                        }
                        CopyError::Dest { path, err } => {
                            anyhow!("writing {} failed: {err}", path.display())
                        }
                    },
                )?;
                if Some(&c.blake3) != e.blake3.as_ref() {
                    let _ = parent.unlink(&tmp);
                    bail!(
                        "{} in snapshot {id} does not match its manifest (damaged on disk); it was not restored; \
                         try an older snapshot and run potion-backup verify {id}",
                        e.path
                    );
                }
                parent
                    .open_read(&tmp)
                    .and_then(|f| at::set_meta_fd(f.as_raw_fd(), &meta_of(e), set_owner))
                    .with_context(|| format!("setting owner and mode of {}", dest.display()))?;
                parent
                    .rename(&tmp, parent, name)
                    .with_context(|| format!("putting {} in place", dest.display()))?;
                files += 1;
                bytes += c.meta.size;
            }
        }
    }
    for e in chosen.iter().rev().filter(|e| e.kind == EntryKind::Dir) {
        let dest = dest_of(e);
        walk(&root_dir, Path::new(&unescape_path(&e.path)), false, &mut 0)
            .and_then(|d| Ok(at::set_meta_fd(d.fd(), &meta_of(e), set_owner)?))
            .with_context(|| format!("setting owner and mode of {}", dest.display()))?;
    }
    copy::sync_filesystem(&root_dir).with_context(|| format!("syncing {}", dest_root.display()))?;
    Ok(RestoreReport {
        id,
        files,
        bytes,
        dest: dest_of(chosen[0]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_with_parent_components_or_nothing_are_refused() {
        assert_eq!(
            clean_rel(Path::new("/opt/app/x")).unwrap(),
            PathBuf::from("opt/app/x")
        );
        assert_eq!(
            clean_rel(Path::new("opt/./app")).unwrap(),
            PathBuf::from("opt/app")
        );
        for bad in ["/opt/../etc/shadow", "..", "/", ""] {
            assert!(clean_rel(Path::new(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn destinations_are_walked_through_real_folders_and_own_symlinks_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("d")).unwrap();
        std::fs::write(root.join("f"), b"x").unwrap();
        std::os::unix::fs::symlink(root.join("d"), root.join("mine")).unwrap();
        let top = Dir::open(root).unwrap();
        let check = |p: &str, create: bool| walk(&top, Path::new(p), create, &mut 0);
        check("d/new/deeper", true).unwrap();
        assert!(root.join("d/new/deeper").is_dir());
        assert!(check("d/absent", false).is_err());
        // This user's own symlink is the owner's layout, not an attack.
        check("mine/new", true).unwrap();
        assert!(root.join("d/new").is_dir());
        let e = format!("{:#}", check("f/file", true).unwrap_err());
        assert!(e.contains("not a folder"), "{e}");
        // A symlink loop ends with a refusal, not a hang.
        std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
        assert!(check("loop/x", true).is_err());
    }

    #[test]
    fn selection_takes_the_entry_and_its_contents_only() {
        let e = |p: &str| {
            SrcMeta {
                size: 0,
                mtime: 0,
                mtime_ns: 0,
                mode: 0,
                uid: 0,
                gid: 0,
                ctime: 0,
                ctime_ns: 0,
                ino: 0,
            }
            .entry(p.into(), EntryKind::File)
        };
        let files = [e("opt/a"), e("opt/a/b"), e("opt/ab"), e("opt/a/c/d")];
        let got: Vec<&str> = select(&files, "opt/a")
            .iter()
            .map(|e| e.path.as_str())
            .collect();
        assert_eq!(got, ["opt/a", "opt/a/b", "opt/a/c/d"]);
    }
}
