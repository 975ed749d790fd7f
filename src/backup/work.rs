//! A run's worker threads: they copy new and changed files, and `linkat`
//! unchanged ones in batches (one batch holds files of one folder, so the
//! walk `fstatat`s the next folder while a worker links this one, and two
//! workers rarely contend for one folder's lock). Results go back to the
//! walk's reorder queue by sequence number.
//!
//! **Invariant:** a worker writes only inside the run's own snapshot folder,
//! through the folder handles it was given; a copy never takes room beyond
//! the shared [`Budget`].

use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};

use super::at::Dir;
use super::copy::{self, BUF_SIZE, Copied, CopyError};
use super::walk::Found;

/// Unchanged files linked per batch (at most one folder's worth).
pub const LINK_BATCH: usize = 512;

/// Bytes that may still be copied before the disk's safety margin, shared by
/// the walk and the workers.
#[derive(Debug)]
pub struct Budget(AtomicU64);

impl Budget {
    pub fn new(bytes: u64) -> Budget {
        Budget(AtomicU64::new(bytes))
    }

    /// Takes `n` bytes; false (and nothing taken) when fewer are left.
    pub fn take(&self, n: u64) -> bool {
        self.0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| b.checked_sub(n))
            .is_ok()
    }
}

/// One file to copy.
pub struct Copy {
    pub seq: u64,
    pub src: Arc<Dir>,
    pub name: CString,
    /// The source path, for messages.
    pub abs: PathBuf,
    pub dest: Arc<Dir>,
}

/// One unchanged file of a [`Links`] batch.
pub struct Item {
    pub seq: u64,
    pub name: CString,
    /// Allocated bytes, taken from the budget if the file must be copied after all.
    pub allocated: u64,
}

/// Unchanged files of one folder: `linkat` each from the previous snapshot.
pub struct Links {
    /// The source folder and its path (a file whose old copy is gone is copied from there).
    pub src: Arc<Dir>,
    pub src_abs: PathBuf,
    pub prev: Arc<Dir>,
    pub dest: Arc<Dir>,
    /// The destination folder's path, for messages.
    pub dest_shown: PathBuf,
    pub items: Vec<Item>,
}

impl Links {
    /// A batch for the folder that holds `f`, starting with `item`.
    pub fn new(f: &Found, prev: Arc<Dir>, dest: Arc<Dir>, tmp_shown: &Path, item: Item) -> Links {
        let folder = f.rel.iter().rposition(|c| *c == b'/').unwrap_or(0);
        Links {
            src: f.dir.clone(),
            src_abs: f.abs.parent().unwrap_or(Path::new("/")).to_path_buf(),
            prev,
            dest_shown: tmp_shown.join(OsStr::from_bytes(&f.rel[..folder])),
            dest,
            items: vec![item],
        }
    }

    /// True when a file of the folder `src`, to be linked into `dest`, belongs here.
    pub fn takes(&self, src: &Arc<Dir>, dest: &Arc<Dir>) -> bool {
        Arc::ptr_eq(&self.dest, dest) && Arc::ptr_eq(&self.src, src)
    }
}

pub enum Job {
    Copy(Copy),
    Links(Links),
}

/// A linked file is `Ok(None)`; one copied (afresh) is `Ok(Some(_))`.
pub type Placed = Result<Option<Copied>, CopyError>;

pub enum Done {
    Copy(u64, Result<Copied, CopyError>),
    Links(Vec<(u64, Placed)>),
}

/// The worker loop: takes jobs until the walk closes the queue or `stop` is set.
pub fn worker(
    jobs: &Mutex<Receiver<Job>>,
    done: Sender<Done>,
    stop: &AtomicBool,
    budget: &Budget,
    set_owner: bool,
) {
    let mut buf = vec![0u8; BUF_SIZE];
    loop {
        let Ok(j) = crate::sync::lock(jobs).recv() else {
            return;
        };
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let d = match j {
            Job::Copy(c) => Done::Copy(
                c.seq,
                copy_one(&c.src, &c.name, &c.abs, &c.dest, &mut buf, set_owner),
            ),
            Job::Links(l) => Done::Links(
                l.items
                    .iter()
                    .map(|it| (it.seq, link_one(&l, it, budget, &mut buf, set_owner)))
                    .collect(),
            ),
        };
        if done.send(d).is_err() {
            return;
        }
    }
}

fn copy_one(
    src: &Dir,
    name: &CStr,
    abs: &Path,
    dest: &Dir,
    buf: &mut [u8],
    set_owner: bool,
) -> Result<Copied, CopyError> {
    let os = OsStr::from_bytes(name.to_bytes());
    match src.open_source(name) {
        Ok(f) => copy::copy_file(f, abs, dest, os, abs, buf, set_owner),
        Err(e) => Err(CopyError::Source(format!("{} skipped: {e}", abs.display()))),
    }
}

fn link_one(l: &Links, it: &Item, budget: &Budget, buf: &mut [u8], set_owner: bool) -> Placed {
    let name = OsStr::from_bytes(it.name.to_bytes());
    match l.prev.link_to(&it.name, &l.dest, &it.name) {
        Ok(()) => Ok(None),
        // The old copy is gone or has too many links: copy afresh.
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::EMLINK)) => {
            let abs = l.src_abs.join(name);
            if !budget.take(it.allocated) {
                return Err(CopyError::Dest {
                    path: l.dest_shown.join(name),
                    err: io::Error::from_raw_os_error(libc::ENOSPC),
                });
            }
            copy_one(&l.src, &it.name, &abs, &l.dest, buf, set_owner).map(Some)
        }
        Err(err) => Err(CopyError::Dest {
            path: l.dest_shown.join(name),
            err,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn budget_never_goes_below_zero() {
        let b = Budget::new(10);
        assert!(b.take(4));
        assert!(!b.take(7));
        assert!(b.take(6));
        assert!(!b.take(1));
        assert!(b.take(0));
    }

    /// A batch links what the previous snapshot still has and copies what it lost.
    #[test]
    fn a_batch_links_unchanged_files_and_copies_a_lost_one() {
        let t = tempfile::tempdir().unwrap();
        for d in ["src", "prev", "dest"] {
            std::fs::create_dir(t.path().join(d)).unwrap();
        }
        for f in ["a", "b"] {
            std::fs::write(t.path().join("src").join(f), f).unwrap();
        }
        std::fs::write(t.path().join("prev/a"), "a").unwrap();
        let open = |d: &str| Arc::new(Dir::open(&t.path().join(d)).unwrap());
        let item = |seq, n: &str| Item {
            seq,
            name: CString::new(n).unwrap(),
            allocated: 4096,
        };
        let links = Links {
            src: open("src"),
            src_abs: t.path().join("src"),
            prev: open("prev"),
            dest: open("dest"),
            dest_shown: t.path().join("dest"),
            items: vec![item(7, "a"), item(8, "b")],
        };
        let (job_tx, job_rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        job_tx.send(Job::Links(links)).unwrap();
        drop(job_tx);
        let budget = Budget::new(1 << 20);
        worker(
            &Mutex::new(job_rx),
            done_tx,
            &AtomicBool::new(false),
            &budget,
            false,
        );
        let Ok(Done::Links(r)) = done_rx.recv() else {
            panic!("no batch result");
        };
        assert_eq!(r.len(), 2);
        assert!(matches!(r[0], (7, Ok(None))), "a is linked");
        let (seq, Ok(Some(c))) = &r[1] else {
            panic!("b is copied");
        };
        assert_eq!(*seq, 8);
        assert_eq!(c.blake3, *blake3::hash(b"b").as_bytes());
        let ino = |p: &str| std::fs::metadata(t.path().join(p)).unwrap().ino();
        assert_eq!(ino("dest/a"), ino("prev/a"));
        assert_eq!(std::fs::read(t.path().join("dest/b")).unwrap(), b"b");
        // The copy came out of the budget; with none left it is refused.
        assert!(!budget.take((1 << 20) - 4095));
    }
}
