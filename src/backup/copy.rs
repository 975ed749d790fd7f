//! Copying: read each changed file once, hash and write it in the same pass;
//! hard-link unchanged files; recreate folders and symlinks with their owner,
//! mode and times. Source trouble is a warning, destination trouble is fatal.

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

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
    pub dest_root: &'a Path,
    /// Previous complete snapshot, for hard links.
    pub prev_root: Option<&'a Path>,
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
    prev: Option<File>,
    dest: Option<File>,
}

impl DirPair {
    /// Hard-links `rel` from the previous snapshot into the new one with
    /// `linkat` on open folder handles (no path walk per file).
    fn link(&mut self, prev_root: &Path, dest_root: &Path, rel: &Path) -> io::Result<()> {
        let parent = rel.parent().unwrap_or(Path::new(""));
        if self.parent.as_deref() != Some(parent) {
            self.parent = None;
            self.prev = Some(File::open(prev_root.join(parent))?);
            self.dest = Some(File::open(dest_root.join(parent))?);
            self.parent = Some(parent.to_path_buf());
        }
        let name = cpath(Path::new(rel.file_name().unwrap_or_default()))?;
        let (p, d) = (
            self.prev.as_ref().expect("opened"),
            self.dest.as_ref().expect("opened"),
        );
        // SAFETY: linkat on fds we own with a NUL-terminated name.
        cvt(unsafe {
            libc::linkat(
                p.as_raw_fd(),
                name.as_ptr(),
                d.as_raw_fd(),
                name.as_ptr(),
                0,
            )
        })
    }
}

fn one(ctx: &Ctx, i: usize, buf: &mut [u8], dirs: &mut DirPair) -> Result<Copied, CopyError> {
    let e = &ctx.entries[i];
    let dest = ctx.dest_root.join(&e.rel);
    let out = match (&ctx.actions[i], ctx.prev_root) {
        (Some(Action::Link { blake3 }), Some(prev)) => match dirs.link(prev, ctx.dest_root, &e.rel)
        {
            Ok(()) => Copied {
                blake3: blake3.clone(),
                meta: e.meta,
                copied: false,
                warning: None,
            },
            // The old copy (or its folder) is gone or has too many links: copy afresh.
            Err(err) if matches!(err.raw_os_error(), Some(libc::ENOENT) | Some(libc::EMLINK)) => {
                dirs.parent = None;
                copy_file(&e.src, &dest, buf, ctx.set_owner)?
            }
            Err(err) => return Err(dest_err(&dest, err)),
        },
        _ => copy_file(&e.src, &dest, buf, ctx.set_owner)?,
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

/// Copies `src` to a new file `dest` while hashing it (one read), then sets
/// owner, mode and times. Durability comes from one `syncfs` before the
/// manifest is written (measured: starting write-back per file with
/// `sync_file_range` cost more system time than it saved).
pub fn copy_file(
    src: &Path,
    dest: &Path,
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
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dest)
        .map_err(|e| dest_err(dest, e))?;
    let mut hasher = blake3::Hasher::new();
    let mut size = 0u64;
    loop {
        let n = match input.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                drop(out);
                let _ = std::fs::remove_file(dest);
                return Err(CopyError::Source(format!(
                    "{} skipped: read failed: {e}",
                    src.display()
                )));
            }
        };
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(|e| dest_err(dest, e))?;
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
    set_meta_fd(&out, &meta, set_owner).map_err(|e| dest_err(dest, e))?;
    Ok(Copied {
        blake3: hasher.finalize().to_hex().to_string(),
        meta: SrcMeta { size, ..meta },
        copied: true,
        warning,
    })
}

fn cvt(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn times(meta: &SrcMeta) -> [libc::timespec; 2] {
    let ts = libc::timespec {
        tv_sec: meta.mtime as libc::time_t,
        tv_nsec: meta.mtime_ns as libc::c_long,
    };
    [ts, ts]
}

/// Sets owner (when allowed), mode and mtime on an open file.
pub fn set_meta_fd(f: &File, meta: &SrcMeta, set_owner: bool) -> io::Result<()> {
    let fd = f.as_raw_fd();
    // SAFETY: plain syscalls on an fd we own; `times` lives across the call.
    unsafe {
        if set_owner {
            cvt(libc::fchown(fd, meta.uid, meta.gid))?;
        }
        cvt(libc::fchmod(fd, meta.mode as libc::mode_t))?;
        cvt(libc::futimens(fd, times(meta).as_ptr()))
    }
}

fn cpath(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

/// Sets owner, mode and mtime on a folder or (without mode) a symlink, by path.
pub fn set_meta_path(p: &Path, meta: &SrcMeta, symlink: bool, set_owner: bool) -> io::Result<()> {
    let c = cpath(p)?;
    // SAFETY: plain syscalls with a valid NUL-terminated path.
    unsafe {
        if set_owner {
            cvt(libc::lchown(c.as_ptr(), meta.uid, meta.gid))?;
        }
        if !symlink {
            cvt(libc::chmod(c.as_ptr(), meta.mode as libc::mode_t))?;
        }
        cvt(libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            times(meta).as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        ))
    }
}

/// Creates a folder that only its owner can enter while the snapshot is built
/// (its real mode is set at the end, after its contents are in place).
pub fn make_dir(p: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new().mode(0o700).create(p)
}

/// Creates `dir` (and its parents) and closes it to everyone but its owner.
/// Snapshot folders keep their sources' modes, so a source folder the
/// `potion` user may write (`STATE_DIR`) would be just as writable inside
/// every snapshot and every staged restore; a closed `snapshots/` and
/// `restored/` keep other users out of what root later links forward,
/// verifies, prunes and restores (manifests, which name every file, too).
pub fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let meta = std::fs::symlink_metadata(dir)?;
    if !meta.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} is not a folder", dir.display()),
        ));
    }
    if meta.permissions().mode() & 0o7777 != 0o700 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Flushes the filesystem that holds `dir` (one call instead of an fsync per file).
pub fn sync_filesystem(dir: &Path) -> io::Result<()> {
    let f = File::open(dir)?;
    // SAFETY: syncfs on an fd we own.
    cvt(unsafe { libc::syncfs(f.as_raw_fd()) })
}

/// True when this process may give files away (root).
pub fn can_chown() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Removes a tree even where folders were left without write permission.
pub fn remove_tree(p: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(p) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
        Ok(_) => {}
    }
    for d in walkdir::WalkDir::new(p)
        .follow_links(false)
        .into_iter()
        .flatten()
    {
        if d.file_type().is_dir() {
            let _ = std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o700));
        }
    }
    std::fs::remove_dir_all(p)
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let c = copy_file(&src, &dest, &mut buf, false).unwrap();
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
        let r = copy_file(
            &dir.path().join("gone"),
            &dir.path().join("d"),
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
            &dir.path().join("d"),
            &mut buf,
            false,
        );
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
        let r = copy_file(&fifo, &dir.path().join("d"), &mut buf, false);
        assert!(
            matches!(r, Err(CopyError::Source(ref w)) if w.contains("no longer a regular file")),
            "{r:?}"
        );
    }
}
