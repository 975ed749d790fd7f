//! The handles a root job works through: `BACKUP_DIR` and its `snapshots/`,
//! `manifests/` and `verify/` folders, opened without following symlinks and
//! refused unless they belong to the running user and no one else may write
//! them.
//!
//! **Invariant:** run, verify, prune and restore open these first and write
//! under `BACKUP_DIR` only through them, so another user can neither plant a
//! symlink in those folders nor swap one of them for a folder of their own.

use std::ffi::OsStr;
use std::path::Path;

use anyhow::{Context, Result, bail};

use super::at::Dir;

/// Open, checked folders of one `BACKUP_DIR`.
#[derive(Debug)]
pub struct Root {
    pub dir: Dir,
    pub snapshots: Dir,
    pub manifests: Dir,
    pub verify: Dir,
}

/// The effective uid, whose folders these must be.
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() }
}

/// Refuses a folder that is not this user's or that its group or others may write.
pub fn check_private(dir: &Dir, shown: &Path) -> Result<()> {
    let st = dir
        .stat()
        .with_context(|| format!("checking {}", shown.display()))?;
    if st.st_uid != euid() {
        bail!(
            "{} belongs to uid {}, not to uid {} that runs backups; refusing to work in it \
             (chown it to uid {} or choose another BACKUP_DIR)",
            shown.display(),
            st.st_uid,
            euid(),
            euid()
        );
    }
    if st.st_mode & 0o022 != 0 {
        bail!(
            "{} is writable by its group or by others (mode {:o}); refusing to work in it \
             (chmod go-w it)",
            shown.display(),
            st.st_mode & 0o7777
        );
    }
    Ok(())
}

/// Opens one of the folders below `BACKUP_DIR` (creating it 0700 if missing),
/// checks it and closes it to everyone but its owner.
pub fn private_child(parent: &Dir, name: &str, shown: &Path) -> Result<Dir> {
    let d = parent
        .ensure_child(OsStr::new(name), 0o700)
        .with_context(|| format!("opening {} (it must be a real folder)", shown.display()))?;
    check_private(&d, shown)?;
    if d.stat()?.st_mode & 0o7777 != 0o700 {
        // SAFETY: fchmod on a folder fd we own.
        super::at::cvt(unsafe { libc::fchmod(d.fd(), 0o700) })
            .with_context(|| format!("closing {} to others", shown.display()))?;
    }
    Ok(d)
}

/// Opens `BACKUP_DIR` (created if missing) and its folders, refusing any that
/// is a symlink, not the running user's, or writable by group or others.
/// `root` is `BACKUP_DIR` (`manifest::Layout::root`); the folder names are
/// the layout's.
pub fn open(root: &Path) -> Result<Root> {
    crate::atomic::ensure_dir(root)?;
    let dir = Dir::open(root).with_context(|| {
        format!(
            "opening BACKUP_DIR {} (it must be a real folder, not a symlink)",
            root.display()
        )
    })?;
    check_private(&dir, root)?;
    let child = |name: &str| private_child(&dir, name, &root.join(name));
    Ok(Root {
        snapshots: child("snapshots")?,
        manifests: child("manifests")?,
        verify: child("verify")?,
        dir,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::manifest::Layout;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn group_writable_or_symlinked_folders_are_refused() {
        let t = tempfile::tempdir().unwrap();
        let layout = Layout::new(&t.path().join("b"));
        let r = open(&layout.root).unwrap();
        assert_eq!(r.verify.stat().unwrap().st_mode & 0o7777, 0o700);
        drop(r);
        std::fs::set_permissions(layout.manifests(), std::fs::Permissions::from_mode(0o770))
            .unwrap();
        let e = format!("{:#}", open(&layout.root).unwrap_err());
        assert!(e.contains("writable by its group"), "{e}");
        std::fs::remove_dir(layout.manifests()).unwrap();
        std::os::unix::fs::symlink(t.path(), layout.manifests()).unwrap();
        let e = format!("{:#}", open(&layout.root).unwrap_err());
        assert!(e.contains("real folder"), "{e}");
    }
}
