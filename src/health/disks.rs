//! Disk usage of `/` and `DATA_MOUNT`: statvfs for the numbers, the mount
//! table (`/proc/self/mountinfo`) to tell a mounted data disk from the empty
//! folder left behind when the HDD is missing.

use std::path::Path;

use anyhow::{Result, anyhow};

use super::collect::percent;
use crate::files::health::DiskInfo;

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
    let s = crate::mounts::statvfs(path).map_err(|e| anyhow!("statvfs {}: {e}", path.display()))?;
    Ok(Usage {
        total: s.total,
        free: s.free,
        avail: s.avail,
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
}
