//! Copying: read each changed file once, hash and write it in the same pass;
//! hard-link unchanged files; recreate folders and symlinks with their owner,
//! mode and times. Source trouble is a warning, destination trouble is fatal.

use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use super::at::{Dir, cstr, cvt, set_meta_fd};
use super::scan::{Action, ScanEntry, SrcMeta};

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
    pub blake3: String,
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

/// Everything the workers share.
pub struct Ctx<'a> {
    pub entries: &'a [ScanEntry],
    pub actions: &'a [Option<Action>],
    /// Snapshot being built.
    pub dest_root: &'a Dir,
    /// Its path, for messages only.
    pub dest_shown: &'a Path,
    /// Previous complete snapshot, for hard links.
    pub prev_root: Option<&'a Dir>,
    pub counters: &'a Counters,
    /// Set on the first fatal error or by the space watcher; workers stop.
    pub stop: &'a AtomicBool,
    pub set_owner: bool,
}

/// Result slot per entry index.
pub type Results = Vec<Option<Result<Copied, String>>>;

/// Runs all regular-file jobs on `threads` workers. Returns per-entry results
/// (`Err` = warning text) or the first fatal destination error.
pub fn copy_all(ctx: &Ctx, threads: usize) -> Result<Results, CopyError> {
    let jobs: Vec<usize> = (0..ctx.entries.len())
        .filter(|&i| ctx.actions[i].is_some())
        .collect();
    let next = AtomicUsize::new(0);
    let results: Mutex<Results> = Mutex::new(vec![None; ctx.entries.len()]);
    let fatal: Mutex<Option<CopyError>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                let mut buf = vec![0u8; BUF_SIZE];
                let mut dirs = DirPair::default();
                let mut local = Vec::new();
                'work: loop {
                    // Contiguous chunks keep each worker in its own folders
                    // (no fight over a folder's lock) and let it reuse the
                    // open folder handles for `linkat`.
                    let start = next.fetch_add(CHUNK, Ordering::Relaxed);
                    let chunk = match jobs.get(start..jobs.len().min(start + CHUNK)) {
                        Some(c) if !c.is_empty() => c,
                        _ => break,
                    };
                    for &i in chunk {
                        if ctx.stop.load(Ordering::Relaxed) {
                            break 'work;
                        }
                        match one(ctx, i, &mut buf, &mut dirs) {
                            Ok(c) => local.push((i, Ok(c))),
                            Err(CopyError::Source(w)) => local.push((i, Err(w))),
                            Err(e) => {
                                ctx.stop.store(true, Ordering::Relaxed);
                                fatal.lock().unwrap().get_or_insert(e);
                                break 'work;
                            }
                        }
                    }
                }
                let mut r = results.lock().unwrap();
                for (i, v) in local {
                    r[i] = Some(v);
                }
            });
        }
    });
    if let Some(e) = fatal.into_inner().unwrap() {
        return Err(e);
    }
    Ok(results.into_inner().unwrap())
}

/// Jobs a worker claims at a time.
const CHUNK: usize = 32;

/// Open handles of the previous and the new snapshot's copy of one folder.
#[derive(Default)]
struct DirPair {
    parent: Option<PathBuf>,
    prev: Option<Dir>,
    dest: Option<Dir>,
}

impl DirPair {
    /// Opens the folder `parent` in the new snapshot (and, when there is
    /// one, in the previous), beneath the snapshots' handles.
    fn enter(&mut self, ctx: &Ctx, parent: &Path) -> io::Result<()> {
        if self.parent.as_deref() == Some(parent) {
            return Ok(());
        }
        self.parent = None;
        self.dest = Some(ctx.dest_root.open_dir(parent)?);
        // The previous copy's folder may be gone: then files are copied afresh.
        self.prev = ctx.prev_root.and_then(|p| p.open_dir(parent).ok());
        self.parent = Some(parent.to_path_buf());
        Ok(())
    }
}

fn one(ctx: &Ctx, i: usize, buf: &mut [u8], dirs: &mut DirPair) -> Result<Copied, CopyError> {
    let e = &ctx.entries[i];
    let shown = ctx.dest_shown.join(&e.rel);
    let parent = e.rel.parent().unwrap_or(Path::new(""));
    let name = e.rel.file_name().unwrap_or_default();
    dirs.enter(ctx, parent)
        .map_err(|err| dest_err(&shown, err))?;
    let dest = dirs.dest.as_ref().expect("entered");
    let cname = cstr(name).map_err(|err| dest_err(&shown, err))?;
    let out = match (&ctx.actions[i], &dirs.prev) {
        (Some(Action::Link { blake3 }), Some(prev)) => match prev.link_to(&cname, dest, &cname) {
            Ok(()) => Copied {
                blake3: blake3.clone(),
                meta: e.meta,
                copied: false,
                warning: None,
            },
            // The old copy is gone or has too many links: copy afresh.
            Err(err) if matches!(err.raw_os_error(), Some(libc::ENOENT) | Some(libc::EMLINK)) => {
                copy_file(&e.src, dest, name, &shown, buf, ctx.set_owner)?
            }
            Err(err) => return Err(dest_err(&shown, err)),
        },
        _ => copy_file(&e.src, dest, name, &shown, buf, ctx.set_owner)?,
    };
    ctx.counters.files_done.fetch_add(1, Ordering::Relaxed);
    ctx.counters
        .bytes_done
        .fetch_add(out.meta.size, Ordering::Relaxed);
    Ok(out)
}

fn open_source(src: &Path) -> io::Result<File> {
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

/// Copies `src` to a new file `name` in the folder `dest` while hashing it
/// (one read), then sets owner, mode and times; `shown` names the copy in
/// messages. Durability comes from one `syncfs` before the manifest is
/// written (measured: starting write-back per file with `sync_file_range`
/// cost more system time than it saved).
pub fn copy_file(
    src: &Path,
    dest: &Dir,
    name: &OsStr,
    shown: &Path,
    buf: &mut [u8],
    set_owner: bool,
) -> Result<Copied, CopyError> {
    let gone = |e: io::Error| CopyError::Source(format!("{} skipped: {e}", src.display()));
    let mut input = open_source(src).map_err(gone)?;
    let before = input.metadata().map_err(gone)?;
    if !before.is_file() {
        return Err(CopyError::Source(format!(
            "{} skipped: no longer a regular file",
            src.display()
        )));
    }
    let meta = SrcMeta::from_metadata(&before);
    let mut out = dest.create(name, 0o600).map_err(|e| dest_err(shown, e))?;
    let mut hasher = blake3::Hasher::new();
    let mut size = 0u64;
    loop {
        let n = match input.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                drop(out);
                let _ = dest.unlink(name);
                return Err(CopyError::Source(format!(
                    "{} skipped: read failed: {e}",
                    src.display()
                )));
            }
        };
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(|e| dest_err(shown, e))?;
        size += n as u64;
    }
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
        blake3: hasher.finalize().to_hex().to_string(),
        meta: SrcMeta { size, ..meta },
        copied: true,
        warning,
    })
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
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    #[test]
    fn copy_hashes_in_one_pass_and_keeps_mode_and_mtime() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&src, &data).unwrap();
        std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o640)).unwrap();
        let dest = dir.path().join("dest");
        let mut buf = vec![0; BUF_SIZE];
        let d = Dir::open(dir.path()).unwrap();
        let c = copy_file(&src, &d, OsStr::new("dest"), &dest, &mut buf, false).unwrap();
        assert_eq!(c.blake3, blake3::hash(&data).to_hex().to_string());
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
    fn vanished_source_is_a_warning_and_existing_dest_is_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let mut buf = vec![0; BUF_SIZE];
        let d = Dir::open(dir.path()).unwrap();
        let shown = dir.path().join("d");
        let r = copy_file(
            &dir.path().join("gone"),
            &d,
            OsStr::new("d"),
            &shown,
            &mut buf,
            false,
        );
        assert!(
            matches!(r, Err(CopyError::Source(ref w)) if w.contains("gone")),
            "{r:?}"
        );
        std::fs::write(dir.path().join("s"), b"x").unwrap();
        std::fs::write(dir.path().join("d"), b"y").unwrap();
        let r = copy_file(
            &dir.path().join("s"),
            &d,
            OsStr::new("d"),
            &shown,
            &mut buf,
            false,
        );
        assert!(matches!(r, Err(CopyError::Dest { .. })), "{r:?}");
        // A symlink planted as the destination is never followed.
        std::fs::remove_file(dir.path().join("d")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), dir.path().join("d")).unwrap();
        let r = copy_file(
            &dir.path().join("s"),
            &d,
            OsStr::new("d"),
            &shown,
            &mut buf,
            false,
        );
        assert!(!dir.path().join("elsewhere").exists());
        assert!(matches!(r, Err(CopyError::Dest { .. })), "{r:?}");
    }

    #[test]
    fn a_fifo_in_place_of_a_file_is_a_warning_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("was-a-file");
        let c = CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let mut buf = vec![0; BUF_SIZE];
        let d = Dir::open(dir.path()).unwrap();
        let shown = dir.path().join("d");
        let r = copy_file(&fifo, &d, OsStr::new("d"), &shown, &mut buf, false);
        assert!(
            matches!(r, Err(CopyError::Source(ref w)) if w.contains("no longer a regular file")),
            "{r:?}"
        );
    }
}
