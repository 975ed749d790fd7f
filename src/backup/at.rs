//! Folder handles: every write root makes under `BACKUP_DIR` (and into a
//! restore's destination) goes through an open folder and `*at` calls that
//! never follow a symlink, so a name swapped for a symlink between two steps
//! cannot carry a write, `chmod` or `chown` anywhere else.
//!
//! **Invariant:** nothing here takes a path that is resolved from `/` except
//! [`Dir::open`] (the trusted starting point); everything below it is opened
//! with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS` (`openat2`) or, on kernels
//! without `openat2`, one `O_NOFOLLOW` `openat` per component.

use std::ffi::{CStr, CString, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};
use std::sync::atomic::{AtomicBool, Ordering};

use super::scan::SrcMeta;

/// Set once `openat2` is found missing, so later opens go straight to the walk.
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

const DIR_FLAGS: libc::c_int = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;

/// An open folder.
#[derive(Debug)]
pub struct Dir(File);

pub(crate) fn cstr(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

pub(crate) fn cvt(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn owned(fd: RawFd) -> io::Result<File> {
    cvt(fd)?;
    // SAFETY: a fresh fd returned by the kernel that nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// `stat` of an fd, or of a name in a folder without following a symlink.
pub fn stat_at(dir: RawFd, name: Option<&CStr>) -> io::Result<libc::stat> {
    // SAFETY: the kernel fills a stat we own; names are NUL-terminated.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let rc = match name {
        Some(n) => unsafe { libc::fstatat(dir, n.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) },
        None => unsafe { libc::fstat(dir, &mut st) },
    };
    cvt(rc).map(|_| st)
}

fn times(meta: &SrcMeta) -> [libc::timespec; 2] {
    let ts = libc::timespec {
        tv_sec: meta.mtime as libc::time_t,
        tv_nsec: meta.mtime_ns as libc::c_long,
    };
    [ts, ts]
}

/// Sets owner (when allowed), mode and mtime on an open file or folder.
pub fn set_meta_fd(fd: RawFd, meta: &SrcMeta, set_owner: bool) -> io::Result<()> {
    // SAFETY: plain syscalls on an fd the caller owns; `times` lives across the call.
    unsafe {
        if set_owner {
            cvt(libc::fchown(fd, meta.uid, meta.gid))?;
        }
        cvt(libc::fchmod(fd, meta.mode as libc::mode_t))?;
        cvt(libc::futimens(fd, times(meta).as_ptr())).map(drop)
    }
}

impl Dir {
    /// Opens the trusted starting folder; its last component must not be a symlink.
    pub fn open(path: &Path) -> io::Result<Dir> {
        let c = cstr(path.as_os_str())?;
        // SAFETY: open with a NUL-terminated path.
        owned(unsafe { libc::open(c.as_ptr(), DIR_FLAGS | libc::O_NOFOLLOW) }).map(Dir)
    }

    /// Opens a folder by path, following a symlink (a backup source may be one).
    pub fn open_follow(path: &Path) -> io::Result<Dir> {
        let c = cstr(path.as_os_str())?;
        // SAFETY: open with a NUL-terminated path.
        owned(unsafe { libc::open(c.as_ptr(), DIR_FLAGS) }).map(Dir)
    }

    /// The target of the symlink `name` in this folder.
    pub fn read_link(&self, name: &OsStr) -> io::Result<Vec<u8>> {
        let c = cstr(name)?;
        let mut buf = vec![0u8; libc::PATH_MAX as usize];
        // SAFETY: readlinkat writes at most `buf.len()` bytes into a buffer we own.
        let n =
            unsafe { libc::readlinkat(self.fd(), c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        buf.truncate(n as usize);
        Ok(buf)
    }

    /// Hard-links the entry at the relative path `from` below this folder as
    /// `to_name` in `to` (the path is one this run created, below its own
    /// snapshot folder).
    pub fn link_path(&self, from: &[u8], to: &Dir, to_name: &OsStr) -> io::Result<()> {
        let (a, b) = (cstr(OsStr::from_bytes(from))?, cstr(to_name)?);
        // SAFETY: linkat on fds we own with NUL-terminated names; flags 0 never follows the last component.
        cvt(unsafe { libc::linkat(self.fd(), a.as_ptr(), to.fd(), b.as_ptr(), 0) }).map(drop)
    }

    pub fn fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }

    pub fn file(&self) -> &File {
        &self.0
    }

    pub fn stat(&self) -> io::Result<libc::stat> {
        stat_at(self.fd(), None)
    }

    /// `stat` of `name` in this folder (a symlink is reported as one).
    pub fn stat_name(&self, name: &OsStr) -> io::Result<libc::stat> {
        stat_at(self.fd(), Some(&cstr(name)?))
    }

    /// Opens the folder `rel` below this one; `rel` may have several
    /// components but no `..`, and no component may be a symlink.
    pub fn open_dir(&self, rel: &Path) -> io::Result<Dir> {
        if rel.components().any(|c| !matches!(c, Component::Normal(_))) && rel != Path::new("") {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a plain relative path", rel.display()),
            ));
        }
        let c = cstr(if rel.as_os_str().is_empty() {
            OsStr::new(".")
        } else {
            rel.as_os_str()
        })?;
        if !NO_OPENAT2.load(Ordering::Relaxed) {
            // SAFETY: open_how is plain data; zero is valid for every field.
            let mut how: libc::open_how = unsafe { std::mem::zeroed() };
            how.flags = (DIR_FLAGS | libc::O_NOFOLLOW) as u64;
            how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS;
            // SAFETY: openat2 with a valid open_how of the size passed.
            let fd = unsafe {
                libc::syscall(
                    libc::SYS_openat2,
                    self.fd(),
                    c.as_ptr(),
                    &how as *const libc::open_how,
                    std::mem::size_of::<libc::open_how>(),
                )
            };
            match owned(fd as RawFd) {
                // ENOSYS: an old kernel; EPERM: a seccomp filter that does
                // not know it. The walk below finds any real error itself.
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS) | Some(libc::EPERM)) => {
                    NO_OPENAT2.store(true, Ordering::Relaxed);
                }
                r => return r.map(Dir),
            }
        }
        let mut cur = self.open_child(OsStr::new("."))?;
        for part in rel.iter() {
            cur = cur.open_child(part)?;
        }
        Ok(cur)
    }

    /// Opens the folder `name` directly in this one, never through a symlink.
    pub fn open_child(&self, name: &OsStr) -> io::Result<Dir> {
        let c = cstr(name)?;
        // SAFETY: openat with a NUL-terminated name.
        owned(unsafe { libc::openat(self.fd(), c.as_ptr(), DIR_FLAGS | libc::O_NOFOLLOW) }).map(Dir)
    }

    /// Creates the folder `name` with `mode`.
    pub fn mkdir(&self, name: &OsStr, mode: u32) -> io::Result<()> {
        let c = cstr(name)?;
        // SAFETY: mkdirat with a NUL-terminated name.
        cvt(unsafe { libc::mkdirat(self.fd(), c.as_ptr(), mode as libc::mode_t) }).map(drop)
    }

    /// Creates the folder `name` if missing and opens it; an existing entry
    /// must be a real folder (a symlink is refused with `ELOOP`/`ENOTDIR`).
    pub fn ensure_child(&self, name: &OsStr, mode: u32) -> io::Result<Dir> {
        match self.mkdir(name, mode) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
            _ => {}
        }
        self.open_child(name)
    }

    /// Creates a symlink `name` pointing at `target`.
    pub fn symlink(&self, target: &OsStr, name: &OsStr) -> io::Result<()> {
        let (t, n) = (cstr(target)?, cstr(name)?);
        // SAFETY: symlinkat with NUL-terminated strings.
        cvt(unsafe { libc::symlinkat(t.as_ptr(), self.fd(), n.as_ptr()) }).map(drop)
    }

    /// Creates a new regular file `name` (never an existing one, never through a symlink).
    pub fn create(&self, name: &OsStr, mode: u32) -> io::Result<File> {
        let c = cstr(name)?;
        let flags =
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        // SAFETY: openat with a NUL-terminated name.
        owned(unsafe { libc::openat(self.fd(), c.as_ptr(), flags, mode as libc::c_uint) })
    }

    /// Creates a new file `name` to write and read back (0600), like [`Dir::create`].
    pub fn create_scratch(&self, name: &OsStr) -> io::Result<File> {
        let c = cstr(name)?;
        let flags =
            libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        // SAFETY: openat with a NUL-terminated name.
        owned(unsafe { libc::openat(self.fd(), c.as_ptr(), flags, 0o600 as libc::c_uint) })
    }

    /// Opens `name` for reading without following a symlink or blocking on a FIFO.
    pub fn open_read(&self, name: &OsStr) -> io::Result<File> {
        let c = cstr(name)?;
        let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;
        // SAFETY: openat with a NUL-terminated name.
        owned(unsafe { libc::openat(self.fd(), c.as_ptr(), flags) })
    }

    /// Opens a source file to copy like [`Dir::open_read`], without updating
    /// its access time where the kernel allows that (owner or root).
    pub fn open_source(&self, name: &CStr) -> io::Result<File> {
        let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;
        // SAFETY: openat with a NUL-terminated name.
        let fd = unsafe { libc::openat(self.fd(), name.as_ptr(), flags | libc::O_NOATIME) };
        if fd < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EPERM) {
            // SAFETY: as above.
            return owned(unsafe { libc::openat(self.fd(), name.as_ptr(), flags) });
        }
        owned(fd)
    }

    /// Opens (creating if needed) a lock file `name`, never through a symlink.
    pub fn open_lock(&self, name: &OsStr) -> io::Result<File> {
        let c = cstr(name)?;
        let flags = libc::O_RDWR | libc::O_CREAT | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        let f =
            owned(unsafe { libc::openat(self.fd(), c.as_ptr(), flags, 0o600 as libc::c_uint) })?;
        let st = stat_at(f.as_raw_fd(), None)?;
        if st.st_mode & libc::S_IFMT != libc::S_IFREG {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        Ok(f)
    }

    /// Hard-links `name` in this folder as `to_name` in `to`.
    pub fn link_to(&self, name: &CStr, to: &Dir, to_name: &CStr) -> io::Result<()> {
        // SAFETY: linkat on fds we own with NUL-terminated names; flags 0 never follows.
        cvt(unsafe { libc::linkat(self.fd(), name.as_ptr(), to.fd(), to_name.as_ptr(), 0) })
            .map(drop)
    }

    /// Renames `name` in this folder to `to_name` in `to` (never follows either).
    pub fn rename(&self, name: &OsStr, to: &Dir, to_name: &OsStr) -> io::Result<()> {
        let (a, b) = (cstr(name)?, cstr(to_name)?);
        // SAFETY: renameat with NUL-terminated names.
        cvt(unsafe { libc::renameat(self.fd(), a.as_ptr(), to.fd(), b.as_ptr()) }).map(drop)
    }

    /// Removes the file or symlink `name`.
    pub fn unlink(&self, name: &OsStr) -> io::Result<()> {
        let c = cstr(name)?;
        // SAFETY: unlinkat with a NUL-terminated name.
        cvt(unsafe { libc::unlinkat(self.fd(), c.as_ptr(), 0) }).map(drop)
    }

    /// Sets owner (when allowed) and mtime of a symlink `name` itself.
    pub fn set_symlink_meta(
        &self,
        name: &OsStr,
        meta: &SrcMeta,
        set_owner: bool,
    ) -> io::Result<()> {
        let c = cstr(name)?;
        let nf = libc::AT_SYMLINK_NOFOLLOW;
        // SAFETY: *at syscalls with a NUL-terminated name; `times` lives across the call.
        unsafe {
            if set_owner {
                cvt(libc::fchownat(
                    self.fd(),
                    c.as_ptr(),
                    meta.uid,
                    meta.gid,
                    nf,
                ))?;
            }
            cvt(libc::utimensat(
                self.fd(),
                c.as_ptr(),
                times(meta).as_ptr(),
                nf,
            ))
            .map(drop)
        }
    }

    /// Names in this folder (without `.` and `..`).
    pub fn names(&self) -> io::Result<Vec<CString>> {
        // SAFETY: fdopendir takes a dup we own; the stream is closed below.
        let dup = cvt(unsafe { libc::fcntl(self.fd(), libc::F_DUPFD_CLOEXEC, 0) })?;
        let stream = unsafe { libc::fdopendir(dup) };
        if stream.is_null() {
            let e = io::Error::last_os_error();
            unsafe { libc::close(dup) };
            return Err(e);
        }
        unsafe { libc::rewinddir(stream) };
        let mut out = Vec::new();
        loop {
            // SAFETY: readdir on the open stream; the name is copied before the next call.
            let ent = unsafe { libc::readdir(stream) };
            if ent.is_null() {
                break;
            }
            let name = unsafe { CStr::from_ptr((*ent).d_name.as_ptr()) };
            if name.to_bytes() != b"." && name.to_bytes() != b".." {
                out.push(name.to_owned());
            }
        }
        unsafe { libc::closedir(stream) };
        Ok(out)
    }

    /// Removes `name` and everything below it, never following a symlink
    /// (a symlink is removed, not its target). Folders are opened to their
    /// owner first, so read-only copies of read-only sources go too.
    pub fn remove_tree(&self, name: &OsStr) -> io::Result<()> {
        let st = match self.stat_name(name) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            r => r?,
        };
        if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
            return self.unlink(name);
        }
        let child = self.open_child(name)?;
        // SAFETY: fchmod on a folder fd we own.
        cvt(unsafe { libc::fchmod(child.fd(), 0o700) })?;
        for n in child.names()? {
            child.remove_tree(OsStr::from_bytes(n.to_bytes()))?;
        }
        let c = cstr(name)?;
        // SAFETY: unlinkat with a NUL-terminated name.
        cvt(unsafe { libc::unlinkat(self.fd(), c.as_ptr(), libc::AT_REMOVEDIR) }).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_below_only_through_real_folders() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("a/b")).unwrap();
        std::fs::create_dir(t.path().join("outside")).unwrap();
        std::os::unix::fs::symlink(t.path().join("outside"), t.path().join("a/link")).unwrap();
        let root = Dir::open(&t.path().join("a")).unwrap();
        root.open_dir(Path::new("b")).unwrap();
        root.open_dir(Path::new("")).unwrap();
        for bad in ["link", "link/x", "../outside", "b/../../outside"] {
            assert!(root.open_dir(Path::new(bad)).is_err(), "{bad}");
        }
        assert!(root.open_child(OsStr::new("link")).is_err());
        assert!(Dir::open(&t.path().join("a/link")).is_err());
        // A lock file that is a symlink is refused and its target untouched.
        std::os::unix::fs::symlink(t.path().join("outside/f"), t.path().join("a/.lock")).unwrap();
        assert!(root.open_lock(OsStr::new(".lock")).is_err());
        assert!(!t.path().join("outside/f").exists());
        assert!(root.create(OsStr::new("link"), 0o600).is_err());
    }

    #[test]
    fn remove_tree_removes_a_symlink_not_its_target() {
        let t = tempfile::tempdir().unwrap();
        let keep = t.path().join("keep");
        std::fs::create_dir(&keep).unwrap();
        std::fs::write(keep.join("f"), b"x").unwrap();
        let tree = t.path().join("tree/sub");
        std::fs::create_dir_all(&tree).unwrap();
        std::fs::write(tree.join("f"), b"x").unwrap();
        std::os::unix::fs::symlink(&keep, tree.join("l")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tree, std::fs::Permissions::from_mode(0o500)).unwrap();
        let root = Dir::open(t.path()).unwrap();
        root.remove_tree(OsStr::new("tree")).unwrap();
        assert!(!t.path().join("tree").exists());
        assert!(keep.join("f").exists());
        root.remove_tree(OsStr::new("absent")).unwrap();
    }
}
