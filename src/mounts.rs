//! The mount table and filesystem sizes, shared by the health job (disk
//! metrics, is the data disk there) and the backup job (mount check, room).

use std::ffi::{CString, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// Mount points listed in `/proc/self/mountinfo` text (field 5), with the
/// kernel's octal escapes (`\040` for a space) undone byte for byte, so a
/// mount point whose name is not UTF-8 still compares equal to its path.
pub fn mount_points(mountinfo: &str) -> Vec<PathBuf> {
    mountinfo
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|m| PathBuf::from(OsString::from_vec(unescape_octal(m))))
        .collect()
}

fn unescape_octal(s: &str) -> Vec<u8> {
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
    out
}

/// Whether `path` is a mount point: resolved through symlinks where it
/// exists, then looked up in the mount table.
pub fn is_mount_point(path: &Path, mounts: &[PathBuf]) -> bool {
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    mounts.contains(&real)
}

/// A filesystem's size from statvfs(3), in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsSize {
    pub total: u64,
    pub free: u64,
    /// Free to unprivileged users (the root reserve excluded).
    pub avail: u64,
    /// Allocation unit (at least 512).
    pub block: u64,
}

/// statvfs(3) on `path`.
pub fn statvfs(path: &Path) -> std::io::Result<FsSize> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    // SAFETY: `c` is a valid NUL-terminated string and `st` is a properly
    // sized out-parameter that statvfs fills on success.
    let st = unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c.as_ptr(), &mut st) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        st
    };
    let frsize = if st.f_frsize > 0 {
        st.f_frsize
    } else {
        st.f_bsize
    } as u64;
    Ok(FsSize {
        total: st.f_blocks as u64 * frsize,
        free: st.f_bfree as u64 * frsize,
        avail: st.f_bavail as u64 * frsize,
        block: frsize.max(512),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_points_with_escapes_and_any_bytes() {
        let text = "22 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw\n\
                    25 22 0:5 / /proc rw,nosuid - proc proc rw\n\
                    40 22 8:17 / /mnt/my\\040disk rw,relatime shared:9 - ext4 /dev/sdb1 rw\n\
                    41 22 8:18 / /mnt/caf\\351 rw - ext4 /dev/sdb2 rw\n\
                    42 22 8:19 / /mnt/a\\04 rw - ext4 /dev/sdb3 rw\n";
        let m = mount_points(text);
        assert_eq!(
            m,
            [
                PathBuf::from("/"),
                PathBuf::from("/proc"),
                PathBuf::from("/mnt/my disk"),
                PathBuf::from(OsString::from_vec(b"/mnt/caf\xe9".to_vec())),
                PathBuf::from("/mnt/a\\04"),
            ]
        );
        assert!(is_mount_point(Path::new("/"), &m));
        assert!(!is_mount_point(Path::new("/definitely/not/here"), &m));
    }

    #[test]
    fn statvfs_of_root_works() {
        let s = statvfs(Path::new("/")).unwrap();
        assert!(s.total > 0 && s.free <= s.total && s.avail <= s.free);
        assert!(s.block >= 512);
        assert!(statvfs(Path::new("/no/such/path")).is_err());
    }
}
