//! Preflight checks on the backup disk: is `DATA_MOUNT` really mounted, and is
//! there room for the planned copy plus a safety margin.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Mount points listed in `/proc/self/mountinfo` text (field 5, octal escapes undone).
pub fn mount_points(mountinfo: &str) -> Vec<PathBuf> {
    mountinfo
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|m| {
            PathBuf::from(
                <std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(unescape_octal(
                    m,
                )),
            )
        })
        .collect()
}

fn unescape_octal(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Fails unless `mount` is a mount point (so a missing data disk never lets the
/// backup fill the root disk through an empty mount folder).
pub fn require_mount_point(mount: &Path) -> Result<()> {
    let real = std::fs::canonicalize(mount).with_context(|| {
        format!(
            "data disk {} is missing; mount it (DATA_MOUNT) before backing up",
            mount.display()
        )
    })?;
    let text =
        std::fs::read_to_string("/proc/self/mountinfo").context("reading /proc/self/mountinfo")?;
    if !mount_points(&text).contains(&real) {
        bail!(
            "data disk {} is not mounted (DATA_MOUNT is not a mount point); mount it and run the backup again",
            mount.display()
        );
    }
    Ok(())
}

/// Size and free space of the filesystem holding a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskSpace {
    pub total: u64,
    pub avail: u64,
    pub block: u64,
}

pub fn disk_space(p: &Path) -> Result<DiskSpace> {
    let c = CString::new(p.as_os_str().as_bytes()).context("path with a NUL byte")?;
    // SAFETY: statvfs fills the struct we pass; the path is NUL-terminated.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("checking free space on {}", p.display()));
    }
    let frsize = if s.f_frsize > 0 {
        s.f_frsize
    } else {
        s.f_bsize
    } as u64;
    Ok(DiskSpace {
        total: s.f_blocks as u64 * frsize,
        avail: s.f_bavail as u64 * frsize,
        block: frsize.max(512),
    })
}

/// Space a run must leave free: 2% of the disk, at least 4 MiB, at most 8 GiB.
pub fn safety_margin(total: u64) -> u64 {
    (total / 50).clamp(4 << 20, 8 << 30)
}

/// Bytes a run will use: copied files rounded up to blocks, one block per other
/// entry (folders, symlinks, link entries) and the manifest.
pub fn estimate_need(copy_sizes: impl Iterator<Item = u64>, other_entries: u64, block: u64) -> u64 {
    let files: u64 = copy_sizes.map(|s| s.div_ceil(block) * block).sum();
    files + other_entries * block / 8 + (other_entries + 1) * 320
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
    fn mountinfo_fields_and_escapes() {
        let text = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n\
                    40 22 8:17 / /mnt/potion\\040data rw - ext4 /dev/sdb1 rw\n";
        assert_eq!(
            mount_points(text),
            [PathBuf::from("/"), PathBuf::from("/mnt/potion data")]
        );
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

    #[test]
    fn estimate_rounds_files_to_blocks() {
        assert_eq!(
            estimate_need([1, 4096, 4097].into_iter(), 0, 4096),
            4096 * 4 + 320
        );
    }
}
