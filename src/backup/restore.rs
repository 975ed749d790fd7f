//! `restore`: copy a file or folder out of a snapshot into a staging folder
//! (or, with `--to` and `--overwrite`, over live files), checking every byte
//! against the manifest's BLAKE3 before it is put in place.

use std::ffi::{OsStr, OsString};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

use super::at::{self, Dir};
use super::copy::{self, BUF_SIZE, CopyError};
use super::lock;
use super::manifest::{self, Layout};
use super::record::{Rec, cmp_path, is_at_or_under, raw};
use super::root;
use super::scan::SrcMeta;
use crate::config::Config;
use crate::files::backup::EntryKind;

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

/// Calls `f` for each record at or under `top`, in path order; they are
/// contiguous, so reading stops after them. Returns how many there were.
fn for_selected(
    layout: &Layout,
    id: &str,
    top: &[u8],
    mut f: impl FnMut(Rec) -> Result<()>,
) -> Result<u64> {
    let (_, records) = manifest::open(layout, id)?;
    let mut n = 0;
    for r in records {
        let r = r?;
        if is_at_or_under(&r.path, top) {
            n += 1;
            f(r)?;
        } else if cmp_path(&r.path, top) == std::cmp::Ordering::Greater {
            break;
        }
    }
    Ok(n)
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
                let target = PathBuf::from(OsString::from_vec(cur.read_link(name)?));
                walk(&cur, &target, false, hops)?
            }
            Err(e) => return Err(e).with_context(|| format!("opening {}", path.display())),
        };
    }
    Ok(cur)
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
    let handles = root::open(&layout.root)?;
    // A prune waits until this restore has read what it needs.
    let _lock = lock::wait(&handles.dir, lock::Mode::Shared, lock::WAIT, "restore")?;
    let id = manifest::resolve_id(&layout, Some(id))?;
    let rel = clean_rel(path)?;
    let dest_root = to.map_or_else(|| layout.restored().join(&id), Path::to_path_buf);
    refuse_inside_snapshots(&layout, &dest_root)?;
    let dest_of = |p: &[u8]| dest_root.join(OsStr::from_bytes(p));

    let mut top = rel.as_os_str().as_bytes().to_vec();
    let (mut clashes, mut first) = (0u64, None);
    let mut check = |r: Rec| {
        if !overwrite && r.kind != EntryKind::Dir {
            let d = dest_of(&r.path);
            if std::fs::symlink_metadata(&d).is_ok() {
                clashes += 1;
                first.get_or_insert(d);
            }
        }
        Ok(())
    };
    let mut found = for_selected(&layout, &id, &top, &mut check)?;
    if found == 0
        && let Some(s) = rel.to_str()
    {
        // Names that are not UTF-8 can be given in the manifest's escaped form.
        top = raw(s);
        found = for_selected(&layout, &id, &top, &mut check)?;
    }
    if found == 0 {
        bail!(
            "{} is not in snapshot {id}; paths are given as backed up, e.g. /opt/potion-runner/.env",
            path.display()
        );
    }
    if let Some(first) = first {
        bail!(
            "{clashes} files already exist at the destination (first: {}); nothing was restored; \
             pass --overwrite to replace them or choose another --to folder",
            first.display()
        );
    }
    let root_dir = match to {
        None => root::private_child(&handles.dir, "restored", &layout.restored())?
            .ensure_child(OsStr::new(&id), 0o700)
            .with_context(|| format!("creating {}", dest_root.display()))?,
        Some(to) => walk(&Dir::open(Path::new("/"))?, to, true, &mut 0)?,
    };
    let mut r = Restorer {
        id: &id,
        snap: layout.snapshot(&id),
        dest_root: &dest_root,
        top: &top,
        dests: Dests {
            root: &root_dir,
            last: None,
        },
        dirs: Vec::new(),
        buf: vec![0u8; BUF_SIZE],
        set_owner: copy::can_chown(),
        files: 0,
        bytes: 0,
    };
    for_selected(&layout, &id, &top, |rec| r.one(rec))?;
    r.close_dirs(None)?;
    let (files, bytes) = (r.files, r.bytes);
    copy::sync_filesystem(&root_dir).with_context(|| format!("syncing {}", dest_root.display()))?;
    Ok(RestoreReport {
        id,
        files,
        bytes,
        dest: dest_of(&top),
    })
}

/// The state of one restore as records stream past.
struct Restorer<'a> {
    id: &'a str,
    snap: PathBuf,
    dest_root: &'a Path,
    top: &'a [u8],
    dests: Dests<'a>,
    /// Restored folders whose contents may still come (their modes and
    /// times are set once they are left).
    dirs: Vec<(Vec<u8>, SrcMeta)>,
    buf: Vec<u8>,
    set_owner: bool,
    files: u64,
    bytes: u64,
}

impl Restorer<'_> {
    /// Sets owner, mode and times of the folders that `next` is not inside.
    fn close_dirs(&mut self, next: Option<&[u8]>) -> Result<()> {
        while let Some((d, meta)) = self.dirs.last() {
            if next.is_some_and(|n| is_at_or_under(n, d)) {
                break;
            }
            let shown = self.dest_root.join(OsStr::from_bytes(d));
            walk(
                self.dests.root,
                Path::new(OsStr::from_bytes(d)),
                false,
                &mut 0,
            )
            .and_then(|h| Ok(at::set_meta_fd(h.fd(), meta, self.set_owner)?))
            .with_context(|| format!("setting owner and mode of {}", shown.display()))?;
            self.dirs.pop();
        }
        Ok(())
    }

    fn one(&mut self, e: Rec) -> Result<()> {
        self.close_dirs(Some(&e.path))?;
        let id = self.id;
        let erel = PathBuf::from(OsStr::from_bytes(&e.path));
        let dest = self.dest_root.join(&erel);
        if erel
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
        {
            bail!(
                "{} leaves {}; the manifest is damaged",
                dest.display(),
                self.dest_root.display()
            );
        }
        let name = erel.file_name().unwrap_or_default();
        let root_dir = self.dests.root;
        let parent = self.dests.get(erel.parent().unwrap_or(Path::new("")))?;
        let tmp = temp_name(name)?;
        let put = |parent: &Dir| {
            parent
                .rename(&tmp, parent, name)
                .with_context(|| format!("putting {} in place", dest.display()))
        };
        match e.kind {
            EntryKind::Dir => {
                match parent.mkdir(name, 0o700) {
                    Err(err) if err.kind() != std::io::ErrorKind::AlreadyExists => {
                        return Err(err).with_context(|| format!("creating {}", dest.display()));
                    }
                    _ => {}
                }
                walk(parent, Path::new(name), false, &mut 0)?;
                self.dirs.push((e.path, e.meta));
            }
            EntryKind::Symlink => {
                let target = OsString::from_vec(e.target.clone().unwrap_or_default());
                parent
                    .symlink(&target, &tmp)
                    .with_context(|| format!("creating {}", dest.display()))?;
                let _ = parent.set_symlink_meta(&tmp, &e.meta, self.set_owner);
                put(parent)?;
            }
            EntryKind::File => {
                // A later name of a hard-linked file whose first name was
                // restored too becomes a link to it again.
                if let Some(leader) = e.link.as_deref().filter(|l| is_at_or_under(l, self.top)) {
                    let lp = Path::new(OsStr::from_bytes(leader));
                    let ldir = walk(
                        root_dir,
                        lp.parent().unwrap_or(Path::new("")),
                        false,
                        &mut 0,
                    )?;
                    let lname = at::cstr(lp.file_name().unwrap_or_default())?;
                    ldir.link_to(&lname, parent, &at::cstr(&tmp)?)
                        .with_context(|| format!("linking {}", dest.display()))?;
                    put(parent)?;
                    self.files += 1;
                    self.bytes += e.meta.size;
                    return Ok(());
                }
                let src = self.snap.join(&erel);
                let input = copy::open_source(&src).map_err(|err| {
                    anyhow!("snapshot {id} is damaged: {} unreadable: {err}; run potion-backup verify {id}", src.display())
                })?;
                let c = copy::copy_file(
                    input,
                    &src,
                    parent,
                    &tmp,
                    &dest,
                    &mut self.buf,
                    self.set_owner,
                )
                .map_err(|err| match err {
                    CopyError::Source(w) => {
                        anyhow!("snapshot {id} is damaged: {w}; run potion-backup verify {id}")
                    }
                    CopyError::Dest { path, err } => {
                        anyhow!("writing {} failed: {err}", path.display())
                    }
                })?;
                if Some(c.blake3) != e.hash {
                    let _ = parent.unlink(&tmp);
                    bail!(
                        "{} in snapshot {id} does not match its manifest (damaged on disk); it was not restored; \
                         try an older snapshot and run potion-backup verify {id}",
                        e.shown()
                    );
                }
                parent
                    .open_read(&tmp)
                    .and_then(|f| at::set_meta_fd(f.as_raw_fd(), &e.meta, self.set_owner))
                    .with_context(|| format!("setting owner and mode of {}", dest.display()))?;
                put(parent)?;
                self.files += 1;
                self.bytes += c.meta.size;
            }
        }
        Ok(())
    }
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
}
