//! `restore`: copy a file or folder out of a snapshot into a staging folder
//! (or, with `--to` and `--overwrite`, over live files), checking every byte
//! against the manifest's BLAKE3 before it is put in place.

use std::collections::HashSet;
use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

use super::copy::{self, BUF_SIZE, CopyError};
use super::manifest::{self, Layout, escape_path, unescape_path};
use super::scan::SrcMeta;
use crate::atomic;
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

fn temp_name(dest: &Path) -> PathBuf {
    let mut name = OsString::from(".");
    name.push(dest.file_name().unwrap_or_default());
    name.push(format!(".potion-restore.{}", std::process::id()));
    dest.with_file_name(name)
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

/// Refuses a destination that would be reached through another user's
/// symlink below `dest_root`, or a folder entry whose destination exists as
/// something other than a folder. Restoring over live files runs as root into
/// folders other users may write (e.g. `STATE_DIR`): a symlink planted there
/// must not carry root's writes, `chmod` or `chown` elsewhere. Symlinks owned
/// by root or by this user (`/opt` -> `/data/opt`) are trusted, as the kernel's
/// `protected_symlinks` would. Checked folders are remembered, so each is
/// looked at once.
fn refuse_symlinked_dest(
    dest_root: &Path,
    dest: &Path,
    is_dir: bool,
    checked: &mut HashSet<PathBuf>,
) -> Result<()> {
    let Ok(below) = dest.strip_prefix(dest_root) else {
        bail!("{} is outside {}", dest.display(), dest_root.display());
    };
    let mut at = dest_root.to_path_buf();
    let mut parts = below.components().peekable();
    while let Some(c) = parts.next() {
        if !matches!(c, Component::Normal(_)) {
            bail!(
                "{} leaves {}; the manifest is damaged",
                dest.display(),
                dest_root.display()
            );
        }
        at.push(c);
        let last = parts.peek().is_none();
        if (!last || is_dir) && !checked.contains(&at) {
            let found = std::fs::symlink_metadata(&at).and_then(|m| {
                if m.file_type().is_symlink() && trusted_owner(m.uid()) {
                    std::fs::metadata(&at)
                } else {
                    Ok(m)
                }
            });
            match found {
                Ok(m) if !m.is_dir() => bail!(
                    "{} exists and is not a folder (another user's symlink or a file); \
                     nothing more was restored; remove it or restore with another --to folder",
                    at.display()
                ),
                Ok(_) => {
                    checked.insert(at.clone());
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("checking {}", at.display())),
            }
        }
    }
    Ok(())
}

/// Sets a restored folder's owner, mode and times through a handle opened
/// without following another user's symlink: `chmod` by path would follow
/// one swapped in since the folder was checked, and change its target.
fn set_dir_meta(dest: &Path, meta: &SrcMeta, set_owner: bool) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let link = std::fs::symlink_metadata(dest)?;
    let follow = link.file_type().is_symlink() && trusted_owner(link.uid());
    let nofollow = if follow { 0 } else { libc::O_NOFOLLOW };
    let dir = std::fs::File::options()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | nofollow)
        .open(dest)?;
    copy::set_meta_fd(&dir, meta, set_owner)
}

fn trusted_owner(uid: u32) -> bool {
    // SAFETY: geteuid has no preconditions.
    uid == 0 || uid == unsafe { libc::geteuid() }
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
    if to.is_none() {
        copy::ensure_private_dir(&layout.restored())
            .with_context(|| format!("creating {}", layout.restored().display()))?;
    }
    let top = dest_of(chosen[0]);
    if let Some(parent) = top.parent() {
        refuse_symlinked_dest(&dest_root, parent, true, &mut HashSet::new())?;
        atomic::ensure_dir(parent)?;
    }
    let set_owner = copy::can_chown();
    let mut buf = vec![0u8; BUF_SIZE];
    let (mut files, mut bytes) = (0u64, 0u64);
    let mut checked = HashSet::new();
    for e in &chosen {
        let dest = dest_of(e);
        refuse_symlinked_dest(&dest_root, &dest, e.kind == EntryKind::Dir, &mut checked)?;
        match e.kind {
            EntryKind::Dir => match copy::make_dir(&dest) {
                Err(err) if err.kind() != std::io::ErrorKind::AlreadyExists => {
                    return Err(err).with_context(|| format!("creating {}", dest.display()));
                }
                _ => {}
            },
            EntryKind::Symlink => {
                let tmp = temp_name(&dest);
                let target = unescape_path(e.target.as_deref().unwrap_or_default());
                let _ = std::fs::remove_file(&tmp);
                std::os::unix::fs::symlink(&target, &tmp)
                    .with_context(|| format!("creating {}", tmp.display()))?;
                let _ = copy::set_meta_path(&tmp, &meta_of(e), true, set_owner);
                std::fs::rename(&tmp, &dest)
                    .with_context(|| format!("putting {} in place", dest.display()))?;
            }
            EntryKind::File => {
                let src = snap.join(unescape_path(&e.path));
                let tmp = temp_name(&dest);
                let _ = std::fs::remove_file(&tmp);
                let c =
                    copy::copy_file(&src, &tmp, &mut buf, set_owner).map_err(|err| match err {
                        CopyError::Source(w) => {
                            anyhow!("snapshot {id} is damaged: {w}; run potion-backup verify {id}")
                        }
                        CopyError::Dest { path, err } => {
                            anyhow!("writing {} failed: {err}", path.display())
                        }
                    })?;
                if Some(&c.blake3) != e.blake3.as_ref() {
                    let _ = std::fs::remove_file(&tmp);
                    bail!(
                        "{} in snapshot {id} does not match its manifest (damaged on disk); it was not restored; \
                         try an older snapshot and run potion-backup verify {id}",
                        e.path
                    );
                }
                copy::set_meta_path(&tmp, &meta_of(e), false, set_owner)
                    .with_context(|| format!("setting owner and mode of {}", tmp.display()))?;
                std::fs::rename(&tmp, &dest)
                    .with_context(|| format!("putting {} in place", dest.display()))?;
                files += 1;
                bytes += c.meta.size;
            }
        }
    }
    for e in chosen.iter().rev().filter(|e| e.kind == EntryKind::Dir) {
        let dest = dest_of(e);
        set_dir_meta(&dest, &meta_of(e), set_owner)
            .with_context(|| format!("setting owner and mode of {}", dest.display()))?;
    }
    copy::sync_filesystem(&dest_root)
        .with_context(|| format!("syncing {}", dest_root.display()))?;
    Ok(RestoreReport {
        id,
        files,
        bytes,
        dest: top,
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
    fn destinations_must_stay_below_the_root_through_real_folders() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("d")).unwrap();
        std::fs::write(root.join("f"), b"x").unwrap();
        std::os::unix::fs::symlink(root.join("d"), root.join("mine")).unwrap();
        let check = |p: &str, is_dir: bool| {
            refuse_symlinked_dest(root, &root.join(p), is_dir, &mut HashSet::new())
        };
        check("d/new/file", false).unwrap();
        check("d", true).unwrap();
        // This user's own symlink is the owner's layout, not an attack.
        check("mine/file", false).unwrap();
        let e = check("f/file", false).unwrap_err().to_string();
        assert!(e.contains("not a folder"), "{e}");
        assert!(check("f", true).is_err());
        // A file entry may replace a file (with --overwrite); rename never follows.
        check("f", false).unwrap();
        let e = check("d/../../etc/x", false).unwrap_err().to_string();
        assert!(e.contains("damaged"), "{e}");
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
