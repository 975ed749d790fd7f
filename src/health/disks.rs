//! Disk usage of `/` and `DATA_MOUNT`: statvfs for the numbers, the mount
//! table (`/proc/self/mountinfo`) to tell a mounted data disk from the empty
//! folder left behind when the HDD is missing.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};

use super::collect::percent;
use crate::files::health::DiskInfo;

/// Mount points listed in `/proc/self/mountinfo` (field 5), with the kernel's
/// octal escapes (`\040` for a space) undone.
pub fn parse_mountinfo(text: &str) -> Vec<PathBuf> {
    text.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|m| PathBuf::from(unescape(m)))
        .collect()
}

fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `path` is a mount point: resolved through symlinks where it
/// exists, then looked up in the mount table.
pub fn is_mount_point(path: &Path, mounts: &[PathBuf]) -> bool {
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    mounts.contains(&real)
}

/// Whether `path` sits on another device than its parent: the fallback when
/// the mount table cannot be read.
pub fn differs_from_parent(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(real) = std::fs::canonicalize(path) else {
        return false;
    };
    let parent = real.parent().unwrap_or(Path::new("/"));
    match (std::fs::metadata(&real), std::fs::metadata(parent)) {
        (Ok(a), Ok(b)) => a.dev() != b.dev() || real == parent,
        _ => false,
    }
}

/// Sizes from statvfs, in bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    pub total: u64,
    pub free: u64,
    /// Free to unprivileged users (the root reserve excluded).
    pub avail: u64,
}

impl Usage {
    pub fn used(&self) -> u64 {
        self.total.saturating_sub(self.free)
    }

    /// Used share as `df` and psutil show it: the root reserve counts as neither used nor available.
    pub fn percent(&self) -> f64 {
        percent(self.used(), self.used() + self.avail)
    }
}

/// statvfs(3) on `path`.
pub fn statvfs(path: &Path) -> Result<Usage> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| anyhow!("{} contains a NUL byte", path.display()))?;
    // SAFETY: `c` is a valid NUL-terminated string and `st` is a properly
    // sized out-parameter that statvfs fills on success.
    let st = unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c.as_ptr(), &mut st) != 0 {
            return Err(anyhow!(
                "statvfs {}: {}",
                path.display(),
                std::io::Error::last_os_error()
            ));
        }
        st
    };
    let frsize = st.f_frsize as u64;
    Ok(Usage {
        total: st.f_blocks as u64 * frsize,
        free: st.f_bfree as u64 * frsize,
        avail: st.f_bavail as u64 * frsize,
    })
}

/// The report entry for one disk; `None` usage means not present.
pub fn disk_info(name: &str, mount: &Path, usage: Option<Usage>) -> DiskInfo {
    DiskInfo {
        name: name.to_string(),
        mount: mount.display().to_string(),
        total_bytes: usage.map_or(0, |u| u.total),
        used_bytes: usage.map_or(0, |u| u.used()),
        percent: usage.map_or(0.0, |u| u.percent()),
        present: usage.is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
22 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw
25 22 0:5 / /proc rw,nosuid - proc proc rw
40 22 8:17 / /mnt/my\\040disk rw,relatime shared:9 - ext4 /dev/sdb1 rw
";

    #[test]
    fn mountinfo_mount_points_with_escapes() {
        let m = parse_mountinfo(MOUNTINFO);
        assert_eq!(
            m,
            vec![
                PathBuf::from("/"),
                PathBuf::from("/proc"),
                PathBuf::from("/mnt/my disk")
            ]
        );
        assert!(is_mount_point(Path::new("/"), &m));
        assert!(!is_mount_point(Path::new("/definitely/not/here"), &m));
    }

    #[test]
    fn usage_percent_like_df() {
        let u = Usage {
            total: 1000,
            free: 150,
            avail: 100,
        };
        assert_eq!(u.used(), 850);
        assert_eq!(u.percent(), 89.5);
        let d = disk_info("data", Path::new("/mnt/potion-data"), None);
        assert!(!d.present);
        assert_eq!(d.total_bytes, 0);
    }

    #[test]
    fn statvfs_of_root_works() {
        let u = statvfs(Path::new("/")).unwrap();
        assert!(u.total > 0 && u.used() <= u.total);
        assert!(statvfs(Path::new("/no/such/path")).is_err());
    }
}
