//! Atomic file writes: the one way any job or the bot puts a file on disk.
//!
//! A reader must never see half a file, and a crash must leave either the old
//! or the new content. So every write goes to a temporary file in the same
//! folder, is fsynced, renamed over the target, and the folder is fsynced.
//! Everything after the folder is opened works on that folder's handle
//! (`openat`, `renameat`, `fsync`), and the temporary file is created with
//! `O_EXCL | O_NOFOLLOW` under a random name: root writing into a folder
//! another user may write (`STATE_DIR`) can neither be redirected through a
//! planted symlink nor stopped by a planted temporary file.

use std::ffi::{CString, OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

/// Tries at creating a fresh temporary name before giving up.
const TEMP_TRIES: usize = 16;

/// Writes `bytes` to `path` atomically with mode 0644 (or the existing file's mode).
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    write_inner(path, bytes, None)
}

/// Writes `bytes` to `path` atomically with exactly `mode` (e.g. 0o600 for secrets).
pub fn write_with_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    write_inner(path, bytes, Some(mode))
}

/// Serializes `value` as pretty JSON (with a trailing newline) and writes it atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    write(path, &json_bytes(value)?)
}

/// Like [`write_json`] with exactly `mode`.
pub fn write_json_with_mode<T: Serialize>(path: &Path, value: &T, mode: u32) -> Result<()> {
    write_with_mode(path, &json_bytes(value)?, mode)
}

fn json_bytes<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(value).context("serializing JSON")?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Creates `dir` and its parents if missing, with a clear error naming it.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating folder {}", dir.display()))
}

/// Fsyncs a folder so that a rename or a new entry in it survives a crash.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing folder {}", dir.display()))
}

/// Eight random bytes from the kernel, as 16 lowercase hex digits.
pub fn random_suffix() -> io::Result<String> {
    let mut b = [0u8; 8];
    // SAFETY: getrandom writes at most `b.len()` bytes into a buffer we own.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    if n != b.len() as isize {
        return Err(io::Error::last_os_error());
    }
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

fn temp_name(name: &OsStr) -> io::Result<OsString> {
    let mut tmp = OsString::from(".");
    tmp.push(name);
    tmp.push(".tmp.");
    tmp.push(random_suffix()?);
    Ok(tmp)
}

/// True for the names [`write`] gives its temporary files
/// (`.NAME.tmp.` and 16 hex digits), so a backup can leave out files that
/// exist only for the moment of a write.
pub fn is_temp_name(name: &OsStr) -> bool {
    let Some(s) = name.to_str() else {
        return false;
    };
    let Some((stem, random)) = s.strip_prefix('.').and_then(|r| r.rsplit_once(".tmp.")) else {
        return false;
    };
    !stem.is_empty()
        && random.len() == 16
        && random
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn cstr(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

fn cvt(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// Writes `bytes` as `name` in the open folder `dir`, atomically: a new
/// temporary file (`O_CREAT | O_EXCL | O_NOFOLLOW`, random name, retried on a
/// clash), fsync, `renameat` over `name` (which replaces a symlink, never
/// follows it), fsync of the folder. `mode` `None` keeps an existing regular
/// file's permission bits (never a symlink target's, never set-id bits, never
/// write for group or others) or uses 0644.
pub fn write_at(dir: &File, name: &OsStr, bytes: &[u8], mode: Option<u32>) -> io::Result<()> {
    write_at_with(dir, name, mode, |f| f.write_all(bytes))
}

/// Like [`write_at`], with the content written by `fill` into the new file.
pub fn write_at_with(
    dir: &File,
    name: &OsStr,
    mode: Option<u32>,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let dfd = dir.as_raw_fd();
    let cname = cstr(name)?;
    let mode = match mode {
        Some(m) => m,
        None => {
            // SAFETY: fstatat fills a stat we own; the name is NUL-terminated.
            let mut st: libc::stat = unsafe { std::mem::zeroed() };
            let rc =
                unsafe { libc::fstatat(dfd, cname.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) };
            if rc == 0 && st.st_mode & libc::S_IFMT == libc::S_IFREG {
                // A file planted by another user before root's first write
                // must not make root's file writable by others.
                st.st_mode & 0o755
            } else {
                0o644
            }
        }
    };
    let mut tries = 0;
    let (tmp, mut file) = loop {
        let tmp = cstr(&temp_name(name)?)?;
        // SAFETY: openat with a NUL-terminated name; the fd is owned below.
        let fd = unsafe {
            libc::openat(
                dfd,
                tmp.as_ptr(),
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                0o600 as libc::c_uint,
            )
        };
        if fd >= 0 {
            // SAFETY: a fresh fd that nothing else owns.
            break (tmp, unsafe { File::from_raw_fd(fd) });
        }
        let err = io::Error::last_os_error();
        tries += 1;
        if err.raw_os_error() != Some(libc::EEXIST) || tries >= TEMP_TRIES {
            return Err(err);
        }
    };
    let result = (|| {
        // Set exactly: the umask may have narrowed the mode.
        // SAFETY: fchmod on an fd we own.
        cvt(unsafe { libc::fchmod(file.as_raw_fd(), mode as libc::mode_t) })?;
        fill(&mut file)?;
        file.sync_all()?;
        // SAFETY: renameat within one folder handle, both names NUL-terminated.
        cvt(unsafe { libc::renameat(dfd, tmp.as_ptr(), dfd, cname.as_ptr()) })?;
        dir.sync_all()
    })();
    if result.is_err() {
        // SAFETY: unlinkat of the name we created, in the same folder handle.
        unsafe { libc::unlinkat(dfd, tmp.as_ptr(), 0) };
    }
    result
}

fn write_inner(path: &Path, bytes: &[u8], mode: Option<u32>) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .with_context(|| format!("{} has no file name", path.display()))?;
    // Root never writes through a folder that is a symlink: the service user
    // may create entries beside STATE_DIR, so a missing STATE_DIR could be
    // planted as a link to a folder of root's.
    // SAFETY: geteuid has no preconditions.
    let nofollow = if unsafe { libc::geteuid() } == 0 {
        libc::O_NOFOLLOW
    } else {
        0
    };
    let handle = File::options()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC | nofollow)
        .open(&dir)
        .with_context(|| format!("opening folder {}", dir.display()))?;
    write_at(&handle, name, bytes, mode).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn root_does_not_write_through_a_symlinked_folder() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("roots");
        fs::create_dir(&target).unwrap();
        let link = dir.path().join("state");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let r = write(&link.join("a.json"), b"x");
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            assert!(r.is_err(), "root followed the link");
            assert!(fs::read_dir(&target).unwrap().next().is_none());
        } else {
            r.unwrap();
        }
    }

    #[test]
    fn writes_replaces_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        write(&p, b"one").unwrap();
        write(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "temp files left behind");
    }

    #[test]
    fn temp_names_are_recognised() {
        let tmp = temp_name(OsStr::new("last_health.json")).unwrap();
        assert!(is_temp_name(&tmp), "{tmp:?}");
        assert_ne!(tmp, temp_name(OsStr::new("last_health.json")).unwrap());
        for other in [
            "last_health.json",
            ".env",
            ".tmp.0123456789abcdef",
            ".a.tmp.0123456789abcdeg",
            ".a.tmp.0123456789abcde",
            "a.tmp.0123456789abcdef",
        ] {
            assert!(!is_temp_name(std::ffi::OsStr::new(other)), "{other}");
        }
    }

    #[test]
    fn mode_is_exact_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".env");
        write_with_mode(&p, b"A=1\n", 0o600).unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        write(&p, b"A=2\n").unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn a_planted_writable_file_does_not_make_the_new_file_writable_by_others() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("backups.json");
        fs::write(&p, b"planted").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o666)).unwrap();
        write(&p, b"{}").unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o644
        );
    }

    #[test]
    fn a_planted_symlink_is_replaced_and_its_target_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("secret");
        fs::write(&target, b"keep").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();
        let p = dir.path().join("last_backup.json");
        std::os::unix::fs::symlink(&target, &p).unwrap();
        write(&p, b"{}").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"keep");
        let m = fs::symlink_metadata(&p).unwrap();
        assert!(m.is_file());
        assert_eq!(m.permissions().mode() & 0o777, 0o644);
    }

    #[test]
    fn planted_temp_files_and_symlinks_cannot_stop_or_redirect_a_write() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        fs::write(&outside, b"keep").unwrap();
        // Every name of the old predictable scheme, plus a symlink for each.
        for n in 0..64 {
            let planted = dir
                .path()
                .join(format!(".last_backup.json.tmp.{}.{n}", std::process::id()));
            std::os::unix::fs::symlink(&outside, &planted).unwrap();
        }
        fs::write(
            dir.path().join(".last_backup.json.tmp.0000000000000000"),
            b"x",
        )
        .unwrap();
        let p = dir.path().join("last_backup.json");
        write(&p, b"{}").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"{}");
        assert_eq!(fs::read(&outside).unwrap(), b"keep");
    }

    #[test]
    fn missing_folder_is_an_error_naming_the_path() {
        let err = write(Path::new("/nonexistent-potion/x.json"), b"x").unwrap_err();
        assert!(format!("{err:#}").contains("/nonexistent-potion"));
    }
}
