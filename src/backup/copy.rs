//! Copying one file: read it once, hash and write it in the same pass, keep
//! its holes, set its owner, mode and times. Source trouble is a warning,
//! destination trouble is fatal.

use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;

use super::at::{Dir, cvt, set_meta_fd};
use super::scan::SrcMeta;

/// Read buffer per worker: large enough for BLAKE3's SIMD paths and few syscalls.
pub const BUF_SIZE: usize = 1 << 20;

/// Why copying one entry did not work.
#[derive(Debug)]
pub enum CopyError {
    /// The source vanished or could not be read: skip it with a warning.
    Source(String),
    /// Writing the snapshot failed (disk full, I/O error): the run fails.
    Dest { path: PathBuf, err: io::Error },
}

fn dest_err(path: &Path, err: io::Error) -> CopyError {
    CopyError::Dest {
        path: path.to_path_buf(),
        err,
    }
}

/// A finished regular file.
#[derive(Debug, Clone)]
pub struct Copied {
    pub blake3: [u8; 32],
    /// Source metadata as read (the copy's size is `meta.size`).
    pub meta: SrcMeta,
    /// False when hard-linked.
    pub copied: bool,
    /// Set when the source changed while it was read.
    pub warning: Option<String>,
}

/// Shared progress counters, read by the progress writer.
#[derive(Debug, Default)]
pub struct Counters {
    pub files_done: AtomicU64,
    pub bytes_done: AtomicU64,
}

/// Opens a file to copy by path, never through a symlink nor blocking on a FIFO.
pub fn open_source(src: &Path) -> io::Result<File> {
    let open = |flags| {
        OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | flags)
            .open(src)
    };
    // O_NONBLOCK: a file swapped for a FIFO since the scan must not hang the
    // run (it is then refused as not a regular file; reads of regular files
    // ignore the flag). O_NOATIME saves an inode write per file but is only
    // allowed for the owner (or root); fall back quietly.
    match open(libc::O_NOATIME) {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => open(0),
        r => r,
    }
}

/// Copies the open file `input` (`src` names it in messages) to a new file
/// `name` in the folder `dest` while hashing it (one read), then sets owner,
/// mode and times; `shown` names the copy in messages. A sparse source
/// (fewer blocks than its size needs) is copied by its data ranges
/// (`SEEK_DATA`/`SEEK_HOLE`), so its holes stay holes; the hash covers the
/// zeros they read as. Durability comes from one `syncfs` before the
/// manifest is written (measured: starting write-back per file with
/// `sync_file_range` cost more system time than it saved).
pub fn copy_file(
    mut input: File,
    src: &Path,
    dest: &Dir,
    name: &OsStr,
    shown: &Path,
    buf: &mut [u8],
    set_owner: bool,
) -> Result<Copied, CopyError> {
    let gone = |e: io::Error| CopyError::Source(format!("{} skipped: {e}", src.display()));
    let before = input.metadata().map_err(gone)?;
    if !before.is_file() {
        return Err(CopyError::Source(format!(
            "{} skipped: no longer a regular file",
            src.display()
        )));
    }
    let meta = SrcMeta::from_metadata(&before);
    let sparse = before.blocks() * 512 < before.len();
    let mut out = dest.create(name, 0o600).map_err(|e| dest_err(shown, e))?;
    let mut hasher = blake3::Hasher::new();
    let copied = if sparse {
        copy_ranges(&mut input, &mut out, &mut hasher, buf, before.len())
    } else {
        copy_all(&mut input, &mut out, &mut hasher, buf)
    };
    let size = match copied {
        Ok(n) => n,
        Err(Failed::Read(e)) => {
            drop(out);
            let _ = dest.unlink(name);
            return Err(CopyError::Source(format!(
                "{} skipped: read failed: {e}",
                src.display()
            )));
        }
        Err(Failed::Write(e)) => return Err(dest_err(shown, e)),
    };
    let after = input.metadata().map_err(gone)?;
    let changed = SrcMeta::from_metadata(&after) != meta || size != meta.size;
    let warning = changed.then(|| {
        format!(
            "{} changed while it was copied; the snapshot holds the bytes read",
            src.display()
        )
    });
    set_meta_fd(out.as_raw_fd(), &meta, set_owner).map_err(|e| dest_err(shown, e))?;
    Ok(Copied {
        blake3: *hasher.finalize().as_bytes(),
        meta: SrcMeta { size, ..meta },
        copied: true,
        warning,
    })
}

enum Failed {
    Read(io::Error),
    Write(io::Error),
}

fn read_some(input: &mut File, buf: &mut [u8]) -> Result<usize, Failed> {
    loop {
        match input.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            r => return r.map_err(Failed::Read),
        }
    }
}

fn copy_all(
    input: &mut File,
    out: &mut File,
    hasher: &mut blake3::Hasher,
    buf: &mut [u8],
) -> Result<u64, Failed> {
    let mut size = 0u64;
    loop {
        let n = read_some(input, buf)?;
        if n == 0 {
            return Ok(size);
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(Failed::Write)?;
        size += n as u64;
    }
}

fn seek(f: &File, to: u64, whence: libc::c_int) -> io::Result<u64> {
    // SAFETY: lseek on an fd we own.
    let r = unsafe { libc::lseek(f.as_raw_fd(), to as libc::off_t, whence) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as u64)
    }
}

/// Hashes `n` zero bytes (a hole reads as zeros).
fn hash_zeros(hasher: &mut blake3::Hasher, mut n: u64) {
    static ZEROS: [u8; 64 << 10] = [0; 64 << 10];
    while n > 0 {
        let k = n.min(ZEROS.len() as u64) as usize;
        hasher.update(&ZEROS[..k]);
        n -= k as u64;
    }
}

/// Copies only the data ranges of a sparse file; the copy gets the same
/// size with holes where the source has them.
fn copy_ranges(
    input: &mut File,
    out: &mut File,
    hasher: &mut blake3::Hasher,
    buf: &mut [u8],
    len: u64,
) -> Result<u64, Failed> {
    let mut pos = 0u64;
    while pos < len {
        let data = match seek(input, pos, libc::SEEK_DATA) {
            Ok(d) => d.min(len),
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => len,
            Err(e) => return Err(Failed::Read(e)),
        };
        hash_zeros(hasher, data - pos);
        if data >= len {
            pos = len;
            break;
        }
        let hole = seek(input, data, libc::SEEK_HOLE)
            .map_err(Failed::Read)?
            .min(len);
        seek(input, data, libc::SEEK_SET).map_err(Failed::Read)?;
        seek(out, data, libc::SEEK_SET).map_err(Failed::Write)?;
        let mut at = data;
        while at < hole {
            let want = ((hole - at) as usize).min(buf.len());
            let n = read_some(input, &mut buf[..want])?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(Failed::Write)?;
            at += n as u64;
        }
        pos = at;
        if at < hole {
            break;
        }
    }
    out.set_len(pos).map_err(Failed::Write)?;
    Ok(pos)
}

/// Flushes the filesystem that holds `dir` (one call instead of an fsync per file).
pub fn sync_filesystem(dir: &Dir) -> io::Result<()> {
    // SAFETY: syncfs on an fd we own.
    cvt(unsafe { libc::syncfs(dir.fd()) }).map(drop)
}

/// True when this process may give files away (root).
pub fn can_chown() -> bool {
    super::root::euid() == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn copy(src: &Path, dir: &Path, name: &str) -> Result<Copied, CopyError> {
        let d = Dir::open(dir).unwrap();
        let mut buf = vec![0; BUF_SIZE];
        let input = open_source(src).unwrap();
        copy_file(
            input,
            src,
            &d,
            OsStr::new(name),
            &dir.join(name),
            &mut buf,
            false,
        )
    }

    #[test]
    fn copy_hashes_in_one_pass_and_keeps_mode_and_mtime() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&src, &data).unwrap();
        std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o640)).unwrap();
        let c = copy(&src, dir.path(), "dest").unwrap();
        assert_eq!(c.blake3, *blake3::hash(&data).as_bytes());
        let dest = dir.path().join("dest");
        assert_eq!(std::fs::read(&dest).unwrap(), data);
        let (s, d) = (
            std::fs::metadata(&src).unwrap(),
            std::fs::metadata(&dest).unwrap(),
        );
        assert_eq!(d.mode() & 0o7777, 0o640);
        assert_eq!((d.mtime(), d.mtime_nsec()), (s.mtime(), s.mtime_nsec()));
        assert!(c.warning.is_none());
    }

    #[test]
    fn sparse_files_stay_sparse_and_hash_as_read() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("sparse");
        let f = File::create(&src).unwrap();
        // 64 MiB apparent, two small data ranges (one at the very end).
        f.set_len(64 << 20).unwrap();
        use std::os::unix::fs::FileExt;
        f.write_all_at(b"head", 1 << 20).unwrap();
        f.write_all_at(b"tail", (64 << 20) - 4).unwrap();
        drop(f);
        let c = copy(&src, dir.path(), "copy").unwrap();
        let content = std::fs::read(&src).unwrap();
        assert_eq!(c.blake3, *blake3::hash(&content).as_bytes());
        let d = std::fs::metadata(dir.path().join("copy")).unwrap();
        assert_eq!(d.len(), 64 << 20);
        assert!(
            d.blocks() * 512 < 1 << 20,
            "the copy is dense: {} blocks",
            d.blocks()
        );
        assert_eq!(std::fs::read(dir.path().join("copy")).unwrap(), content);
    }

    #[test]
    fn an_existing_or_symlinked_destination_is_fatal_and_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("s"), b"x").unwrap();
        std::fs::write(dir.path().join("d"), b"y").unwrap();
        let r = copy(&dir.path().join("s"), dir.path(), "d");
        assert!(matches!(r, Err(CopyError::Dest { .. })), "{r:?}");
        std::fs::remove_file(dir.path().join("d")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), dir.path().join("d")).unwrap();
        let r = copy(&dir.path().join("s"), dir.path(), "d");
        assert!(matches!(r, Err(CopyError::Dest { .. })), "{r:?}");
        assert!(!dir.path().join("elsewhere").exists());
    }

    #[test]
    fn a_fifo_in_place_of_a_file_is_a_warning_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("was-a-file");
        let c = super::super::at::cstr(fifo.as_os_str()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let r = copy(&fifo, dir.path(), "d");
        assert!(
            matches!(r, Err(CopyError::Source(ref w)) if w.contains("no longer a regular file")),
            "{r:?}"
        );
    }
}
