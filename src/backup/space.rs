//! Checks on the backup disk: is `DATA_MOUNT` really mounted, and does the
//! safety margin stay free (before a run; `build` budgets each copy by its
//! allocated blocks against the room above it).

use std::path::Path;

use anyhow::{Context, Result, bail};

/// Fails unless `mount` is a mount point (so a missing data disk never lets the
/// backup fill the root disk through an empty mount folder). With
/// `same_disk_allowed` (`BACKUP_ALLOW_SAME_DISK=1`, a single-disk laptop) a
/// folder that exists is enough.
pub fn require_mount_point(mount: &Path, same_disk_allowed: bool) -> Result<()> {
    let real = std::fs::canonicalize(mount).with_context(|| {
        format!(
            "data disk {} is missing; mount it (DATA_MOUNT) before backing up",
            mount.display()
        )
    })?;
    if same_disk_allowed {
        if !real.is_dir() {
            bail!("DATA_MOUNT {} is not a folder", mount.display());
        }
        return Ok(());
    }
    let text =
        std::fs::read_to_string("/proc/self/mountinfo").context("reading /proc/self/mountinfo")?;
    if !crate::mounts::mount_points(&text).contains(&real) {
        bail!(
            "data disk {} is not mounted (DATA_MOUNT is not a mount point); mount it and run the backup again",
            mount.display()
        );
    }
    Ok(())
}

/// Size and free space of the filesystem holding a path.
pub type DiskSpace = crate::mounts::FsSize;

pub fn disk_space(p: &Path) -> Result<DiskSpace> {
    crate::mounts::statvfs(p).with_context(|| format!("checking free space on {}", p.display()))
}

/// Space a run must leave free: 2% of the disk, at least 4 MiB, at most 8 GiB.
pub fn safety_margin(total: u64) -> u64 {
    (total / 50).clamp(4 << 20, 8 << 30)
}

/// Refuses when `need` would eat into the safety margin.
pub fn check_room(space: DiskSpace, need: u64, where_: &Path) -> Result<()> {
    let margin = safety_margin(space.total);
    if space.avail < need.saturating_add(margin) {
        bail!(
            "not enough space on the backup disk {}: this run needs about {}, {} is free and {} must stay free; \
             free some space or prune old snapshots",
            where_.display(),
            crate::human::bytes(need),
            crate::human::bytes(space.avail),
            crate::human::bytes(margin)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_folder_is_a_data_disk_only_when_same_disk_is_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("data");
        std::fs::create_dir(&folder).unwrap();
        let e = require_mount_point(&folder, false).unwrap_err().to_string();
        assert!(e.contains("is not mounted"), "{e}");
        require_mount_point(&folder, true).unwrap();
        std::fs::write(dir.path().join("file"), "").unwrap();
        assert!(require_mount_point(&dir.path().join("file"), true).is_err());
        assert!(require_mount_point(&dir.path().join("gone"), true).is_err());
        require_mount_point(Path::new("/"), false).unwrap();
    }

    #[test]
    fn margin_is_two_percent_within_bounds() {
        assert_eq!(safety_margin(500 << 30), 8 << 30);
        assert_eq!(safety_margin(100 << 30), 2 << 30);
        assert_eq!(safety_margin(16 << 20), 4 << 20);
    }

    #[test]
    fn room_check_counts_the_margin() {
        let s = DiskSpace {
            total: 1000 << 20,
            free: 100 << 20,
            avail: 100 << 20,
            block: 4096,
        };
        // margin is 20 MiB
        check_room(s, 79 << 20, Path::new("/b")).unwrap();
        let err = check_room(s, 81 << 20, Path::new("/b"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not enough space") && err.contains("/b"),
            "{err}"
        );
    }
}
