//! Reading settings files without trusting the path: `.env` as a file the
//! service user may swap, `system.env` (as root) only when root alone could
//! have written it and every folder above it, checked through handles.

use std::ffi::CString;
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use super::problem::{FileProblem, Problem, ProblemKind};

/// Largest settings file read; a bigger file is not a settings file.
pub const MAX_ENV_BYTES: u64 = 1 << 20;

/// Why a settings file was not read.
#[derive(Debug)]
pub struct FileError {
    pub path: PathBuf,
    pub kind: FileErrorKind,
}

#[derive(Debug)]
pub enum FileErrorKind {
    /// The path (or a folder on it) is a symlink.
    Symlink,
    /// Not a regular file with a single link (FIFO, device, hard link, folder).
    NotPlain,
    TooLarge,
    /// A process running as root was given a relative path, or one with `..`.
    BadPath,
    /// A process running as root found it, or the folder `at` above it,
    /// changeable by someone other than root.
    Untrusted {
        at: PathBuf,
        uid: u32,
        mode: u32,
    },
    Io(std::io::Error),
}

impl FileError {
    fn new(path: &Path, kind: FileErrorKind) -> FileError {
        FileError {
            path: path.to_path_buf(),
            kind,
        }
    }

    /// True when the file simply is not there.
    pub fn is_missing(&self) -> bool {
        matches!(&self.kind, FileErrorKind::Io(e) if e.kind() == std::io::ErrorKind::NotFound)
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.path.display();
        match &self.kind {
            FileErrorKind::Symlink => write!(
                f,
                "refusing to read {p}: it is a symlink; give the file itself"
            ),
            FileErrorKind::NotPlain => write!(
                f,
                "refusing to read {p}: not a plain file with a single link"
            ),
            FileErrorKind::TooLarge => write!(
                f,
                "refusing to read {p}: larger than {} KiB, which no settings file is",
                MAX_ENV_BYTES >> 10
            ),
            FileErrorKind::BadPath => write!(
                f,
                "refusing to take system settings from {p}: it must be an absolute path to a file, without '..'"
            ),
            FileErrorKind::Untrusted { at, uid, mode } => write!(
                f,
                "refusing to take system settings from {p}: {} is owned by uid {uid} with mode {mode:o}; it and every folder above it must be root's and writable only by root",
                at.display()
            ),
            FileErrorKind::Io(e) => write!(f, "cannot read {p}: {e}"),
        }
    }
}

impl std::error::Error for FileError {}

impl FileError {
    /// The problem to show a person (the key is the file's path).
    pub fn problem(&self) -> Problem {
        let kind = match &self.kind {
            FileErrorKind::Symlink => FileProblem::Symlink,
            FileErrorKind::NotPlain => FileProblem::NotPlain,
            FileErrorKind::TooLarge => FileProblem::TooLarge {
                kib: MAX_ENV_BYTES >> 10,
            },
            FileErrorKind::BadPath => FileProblem::BadPath,
            FileErrorKind::Untrusted { at, uid, mode } => FileProblem::Untrusted {
                at: at.clone(),
                uid: *uid,
                mode: *mode,
            },
            FileErrorKind::Io(e) => match e.kind() {
                std::io::ErrorKind::NotFound => FileProblem::Missing,
                std::io::ErrorKind::PermissionDenied => FileProblem::Denied,
                _ => FileProblem::Io(e.to_string()),
            },
        };
        Problem::new(
            &self.path.display().to_string(),
            "",
            ProblemKind::File(kind),
        )
    }
}

fn c_name(name: &std::ffi::OsStr) -> Result<CString, std::io::Error> {
    CString::new(name.as_bytes()).map_err(|_| std::io::ErrorKind::InvalidInput.into())
}

/// `openat(dir, name, flags)` as an owned handle (`O_CLOEXEC` added).
pub(crate) fn open_at(
    dir: Option<&OwnedFd>,
    name: &std::ffi::OsStr,
    flags: i32,
) -> std::io::Result<OwnedFd> {
    use std::os::fd::AsRawFd;
    let c = c_name(name)?;
    let at = dir.map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
    // SAFETY: `c` is a valid NUL-terminated string and `at` a valid handle or AT_FDCWD.
    let fd = unsafe { libc::openat(at, c.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: openat returned a fresh handle that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn refine(path: &Path, e: std::io::Error) -> FileError {
    match e.raw_os_error() {
        Some(libc::ELOOP) | Some(libc::ENOTDIR) => FileError::new(path, FileErrorKind::Symlink),
        _ => FileError::new(path, FileErrorKind::Io(e)),
    }
}

/// Opens the folder `path` one component at a time from `/` with
/// `O_NOFOLLOW`, so no component may be a symlink.
pub(crate) fn open_dir_nofollow(path: &Path) -> std::io::Result<OwnedFd> {
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW;
    let mut dir = open_at(None, "/".as_ref(), flags)?;
    for c in path.components() {
        match c {
            Component::RootDir => {}
            Component::Normal(n) => dir = open_at(Some(&dir), n, flags)?,
            _ => return Err(std::io::ErrorKind::InvalidInput.into()),
        }
    }
    Ok(dir)
}

/// Whether a file or folder with this owner and mode can be changed by root
/// alone. A sticky folder above (like `/tmp`) may be shared: there only an
/// entry's owner may rename or remove it.
pub fn root_only(uid: u32, mode: u32, is_leaf: bool) -> bool {
    let shared_write = mode & 0o022 != 0;
    uid == 0 && (!shared_write || (!is_leaf && mode & 0o1000 != 0))
}

/// Reads a file the size-capped, no-symlink, no-FIFO way from an open handle.
fn read_handle(path: &Path, f: File) -> Result<String, FileError> {
    let m = f.metadata().map_err(|e| refine(path, e))?;
    if !m.file_type().is_file() || m.nlink() != 1 {
        return Err(FileError::new(path, FileErrorKind::NotPlain));
    }
    if m.len() > MAX_ENV_BYTES {
        return Err(FileError::new(path, FileErrorKind::TooLarge));
    }
    let mut text = String::new();
    f.take(MAX_ENV_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| refine(path, e))?;
    if text.len() as u64 > MAX_ENV_BYTES {
        // It grew after the size check: refuse rather than cut a line in two.
        return Err(FileError::new(path, FileErrorKind::TooLarge));
    }
    Ok(text)
}

/// Reads `.env` the way a root job must: it belongs to the service user, so
/// it is opened without following a symlink and without blocking, and must
/// be a regular file with a single link and at most [`MAX_ENV_BYTES`];
/// otherwise its owner could make root read (and quote) another file, or
/// hang it on a FIFO. `/dev/null` reads as an empty file: `--env /dev/null`
/// says "no preferences file".
pub fn read_env_text(path: &Path) -> Result<String, FileError> {
    if path == Path::new("/dev/null") {
        return Ok(String::new());
    }
    let f = open_at(
        None,
        path.as_os_str(),
        libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK,
    )
    .map_err(|e| refine(path, e))?;
    read_handle(path, File::from(f))
}

/// Reads `path` only if root alone controls it: it is walked from `/` one
/// folder handle at a time (`openat` with `O_NOFOLLOW`, so no component may
/// be a symlink), and the file and every folder on the way must be root's
/// and writable by nobody else (a sticky folder above excepted). A process
/// running as root reads `system.env` only this way.
pub fn read_root_only(path: &Path) -> Result<String, FileError> {
    let bad_path = || FileError::new(path, FileErrorKind::BadPath);
    let untrusted = |at: &Path, m: &std::fs::Metadata| {
        let kind = FileErrorKind::Untrusted {
            at: at.to_path_buf(),
            uid: m.uid(),
            mode: m.mode() & 0o7777,
        };
        FileError::new(path, kind)
    };
    if !path.is_absolute() || path.components().any(|c| c == Component::ParentDir) {
        return Err(bad_path());
    }
    let dir_flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW;
    let mut dir = open_at(None, "/".as_ref(), dir_flags).map_err(|e| refine(path, e))?;
    let mut at = PathBuf::from("/");
    let names: Vec<_> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n),
            _ => None,
        })
        .collect();
    let Some((file_name, folders)) = names.split_last() else {
        return Err(bad_path());
    };
    let check_dir = |d: &OwnedFd, at: &Path| -> Result<(), FileError> {
        let m = File::from(d.try_clone().map_err(|e| refine(path, e))?)
            .metadata()
            .map_err(|e| refine(path, e))?;
        if root_only(m.uid(), m.mode(), false) {
            Ok(())
        } else {
            Err(untrusted(at, &m))
        }
    };
    check_dir(&dir, &at)?;
    for name in folders {
        dir = open_at(Some(&dir), name, dir_flags).map_err(|e| refine(path, e))?;
        at.push(name);
        check_dir(&dir, &at)?;
    }
    let f = open_at(
        Some(&dir),
        file_name,
        libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK,
    )
    .map_err(|e| refine(path, e))?;
    let f = File::from(f);
    let m = f.metadata().map_err(|e| refine(path, e))?;
    if !root_only(m.uid(), m.mode(), true) {
        return Err(untrusted(path, &m));
    }
    read_handle(path, f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn is_root() -> bool {
        // SAFETY: geteuid has no preconditions.
        unsafe { libc::geteuid() == 0 }
    }

    #[test]
    fn env_file_must_be_a_plain_file_under_its_own_name() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.env");
        std::fs::write(&real, "SECRET_LOOKING=1\n").unwrap();
        let link = dir.path().join(".env");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let e = read_env_text(&link).unwrap_err().to_string();
        assert!(e.contains("symlink"), "{e}");
        let hard = dir.path().join("hard.env");
        std::fs::hard_link(&real, &hard).unwrap();
        let e = read_env_text(&hard).unwrap_err().to_string();
        assert!(e.contains("single link"), "{e}");
        let e = read_env_text(dir.path()).unwrap_err().to_string();
        assert!(e.contains("plain file"), "{e}");
        assert_eq!(read_env_text(Path::new("/dev/null")).unwrap(), "");
        assert!(read_env_text(Path::new("/dev/zero")).is_err());
        let big = dir.path().join("big.env");
        std::fs::File::create(&big)
            .unwrap()
            .set_len(MAX_ENV_BYTES + 1)
            .unwrap();
        let e = read_env_text(&big).unwrap_err().to_string();
        assert!(e.contains("larger than"), "{e}");
        assert!(
            read_env_text(&dir.path().join("nope"))
                .unwrap_err()
                .is_missing()
        );
    }

    #[test]
    fn root_only_reads_need_root_owners_all_the_way_up() {
        assert!(root_only(0, 0o40755, true));
        assert!(!root_only(1000, 0o40755, true), "owned by a user");
        assert!(!root_only(0, 0o40775, true), "group-writable");
        assert!(
            !root_only(0, 0o41777, true),
            "a sticky leaf is still shared"
        );
        assert!(root_only(0, 0o41777, false), "sticky /tmp above is fine");
        assert!(!root_only(0, 0o40777, false));
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path().join("etc");
        std::fs::create_dir(&etc).unwrap();
        std::fs::set_permissions(&etc, std::fs::Permissions::from_mode(0o755)).unwrap();
        let f = etc.join("system.env");
        std::fs::write(&f, "BACKUP_DIR=/b\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        if !is_root() {
            // Owned by the test user: never root's word.
            assert!(matches!(
                read_root_only(&f).unwrap_err().kind,
                FileErrorKind::Untrusted { .. }
            ));
            return;
        }
        assert_eq!(read_root_only(&f).unwrap(), "BACKUP_DIR=/b\n");
        // A symlink anywhere on the way is refused, not followed.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&etc, &link).unwrap();
        let e = read_root_only(&link.join("system.env")).unwrap_err();
        assert!(matches!(e.kind, FileErrorKind::Symlink), "{e}");
        // A folder above that another user may write.
        std::fs::set_permissions(&etc, std::fs::Permissions::from_mode(0o775)).unwrap();
        let e = read_root_only(&f).unwrap_err().to_string();
        assert!(e.contains("etc is owned by uid 0 with mode 775"), "{e}");
        std::fs::set_permissions(&etc, std::fs::Permissions::from_mode(0o755)).unwrap();
        // The file itself owned by someone else, or writable by the group.
        std::os::unix::fs::chown(&f, Some(1000), None).unwrap();
        assert!(read_root_only(&f).is_err());
        std::os::unix::fs::chown(&f, Some(0), None).unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o664)).unwrap();
        assert!(read_root_only(&f).is_err());
    }
}
