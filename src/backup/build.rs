//! Building a snapshot as a stream: the walk (one `fstatat` per entry)
//! decides each file by merging with the previous manifest's sorted records,
//! hands unchanged files to the workers in per-folder batches to link
//! (`linkat` on the open folder handles of both snapshots, no read) and
//! changed ones to copy ([`super::work`]), and a reorder
//! queue writes manifest records in path order as they complete, sets folder
//! modes and times once a folder's contents are in, and links the second
//! and later names of a hard-linked file to its first.
//!
//! **Invariant:** memory is bounded by the queue ([`MAX_PENDING`]), the
//! folders on the current path and the hard-linked files seen; never by the
//! number of files.

use std::collections::{HashMap, HashSet, VecDeque};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};

use anyhow::{Result, anyhow};

use super::at::{self, Dir};
use super::copy::{self, CopyError, Counters};
use super::manifest::{Reader, Writer};
use super::record::{Rec, cmp_path};
use super::scan::SrcMeta;
use super::walk::{Found, Visitor};
use super::work::{self, Budget, Done, Item, Job, LINK_BATCH, Links};
use crate::files::backup::{EntryKind, ManifestTotals};

/// Records waiting for an earlier copy before the walk waits too.
pub const MAX_PENDING: usize = 4096;

/// A file is unchanged only when size, mtime, mode, owner, ctime and inode
/// all match the previous record; then its hash carries over. The ctime
/// catches a rewrite that restored the old mtime, and the inode a file
/// replaced by another with the same times.
pub fn decide(cur: &SrcMeta, prev: Option<&Rec>) -> Option<[u8; 32]> {
    prev.filter(|p| p.kind == EntryKind::File && p.meta == *cur)
        .and_then(|p| p.hash)
}

enum Wait {
    Ready,
    Copying,
    /// A later name of a hard-linked file: link it to the first name.
    Follower {
        dest: Arc<Dir>,
        leader: u64,
    },
    Failed(String),
}

enum Pending {
    Rec(Rec, Wait),
    /// A folder whose contents are all placed: set its mode and times.
    DirMeta(Arc<Dir>, SrcMeta),
}

struct Frame {
    dest: Arc<Dir>,
    prev: Option<Arc<Dir>>,
    meta: SrcMeta,
}

/// The visitor that builds one snapshot.
pub struct Builder<'a> {
    pub tmp: Arc<Dir>,
    pub tmp_shown: PathBuf,
    pub prev: Option<Reader>,
    pub prev_next: Option<Rec>,
    /// Files the last verify of the previous snapshot found damaged.
    pub damaged: HashSet<Vec<u8>>,
    pub jobs: Option<SyncSender<Job>>,
    pub done: Receiver<Done>,
    pub writer: Writer,
    pub counters: &'a Counters,
    pub stop: &'a AtomicBool,
    pub set_owner: bool,
    /// Bytes that may still be copied before the disk's safety margin.
    pub budget: &'a Budget,
    pub totals: ManifestTotals,
    pub warnings: Vec<String>,
    frames: Vec<Frame>,
    leaders: HashMap<(u64, u64), (Vec<u8>, u64)>,
    leader_seqs: HashSet<u64>,
    leader_hashes: HashMap<u64, [u8; 32]>,
    pending: VecDeque<Pending>,
    base: u64,
    last_dir: SrcMeta,
    /// Unchanged files of the current folder not yet sent to a worker.
    batch: Option<Links>,
}

impl<'a> Builder<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        tmp: Arc<Dir>,
        tmp_shown: PathBuf,
        prev_root: Option<Arc<Dir>>,
        prev: Option<Reader>,
        damaged: HashSet<Vec<u8>>,
        jobs: SyncSender<Job>,
        done: Receiver<Done>,
        writer: Writer,
        counters: &'a Counters,
        stop: &'a AtomicBool,
        budget: &'a Budget,
    ) -> Builder<'a> {
        let root = Frame {
            dest: tmp.clone(),
            prev: prev_root,
            meta: SrcMeta::default(),
        };
        Builder {
            tmp,
            tmp_shown,
            prev,
            prev_next: None,
            damaged,
            jobs: Some(jobs),
            done,
            writer,
            counters,
            stop,
            set_owner: copy::can_chown(),
            budget,
            totals: ManifestTotals::default(),
            warnings: Vec::new(),
            frames: vec![root],
            leaders: HashMap::new(),
            leader_seqs: HashSet::new(),
            leader_hashes: HashMap::new(),
            pending: VecDeque::new(),
            base: 0,
            last_dir: SrcMeta::default(),
            batch: None,
        }
    }

    /// The previous snapshot's record for `rel`, advancing its stream.
    fn previous(&mut self, rel: &[u8]) -> Result<Option<Rec>> {
        loop {
            if self.prev_next.is_none() {
                match self.prev.as_mut().and_then(Iterator::next) {
                    Some(r) => self.prev_next = Some(r?),
                    None => return Ok(None),
                }
            }
            let p = self.prev_next.as_ref().expect("filled");
            match cmp_path(&p.path, rel) {
                std::cmp::Ordering::Less => self.prev_next = None,
                std::cmp::Ordering::Equal => return Ok(self.prev_next.take()),
                std::cmp::Ordering::Greater => return Ok(None),
            }
        }
    }

    fn dest_err(&self, rel: &[u8], err: std::io::Error) -> anyhow::Error {
        super::state::disk_error(&self.tmp_shown.join(OsStr::from_bytes(rel)), err)
    }

    fn push(&mut self, p: Pending) -> u64 {
        self.pending.push_back(p);
        self.base + self.pending.len() as u64 - 1
    }

    fn file(&mut self, f: &Found, rec: Rec, prev: Option<Rec>) -> Result<()> {
        let frame = self.frames.last().expect("the root frame stays");
        let dest = frame.dest.clone();
        if f.stat.nlink > 1 {
            let key = (f.stat.dev, f.stat.meta.ino);
            if let Some((leader_path, leader)) = self.leaders.get(&key) {
                let mut rec = rec;
                rec.link = Some(leader_path.clone());
                let leader = *leader;
                self.push(Pending::Rec(rec, Wait::Follower { dest, leader }));
                return Ok(());
            }
            let seq = self.base + self.pending.len() as u64;
            self.leaders.insert(key, (rec.path.clone(), seq));
            self.leader_seqs.insert(seq);
        }
        let damaged = self.damaged.contains(&rec.path);
        let hash = decide(&f.stat.meta, prev.as_ref().filter(|_| !damaged));
        if let (Some(h), Some(p)) = (hash, frame.prev.clone()) {
            let rec = Rec {
                hash: Some(h),
                ..rec
            };
            return self.link(f, rec, p, dest);
        }
        if !self.budget.take(f.stat.allocated) {
            return Err(anyhow!(
                "not enough space on the backup disk {}: copying {} needs about {} more, \
                 and the disk's safety margin must stay free; free some space or prune old snapshots",
                self.tmp_shown.display(),
                f.abs.display(),
                crate::human::bytes(f.stat.allocated)
            ));
        }
        let seq = self.push(Pending::Rec(rec, Wait::Copying));
        self.send(Job::Copy(work::Copy {
            seq,
            src: f.dir.clone(),
            name: f.name.to_owned(),
            abs: f.abs.to_path_buf(),
            dest,
        }))
    }

    /// An unchanged file: queued for a worker to link, in a batch of its folder.
    fn link(&mut self, f: &Found, rec: Rec, prev: Arc<Dir>, dest: Arc<Dir>) -> Result<()> {
        let seq = self.push(Pending::Rec(rec, Wait::Copying));
        let item = Item {
            seq,
            name: f.name.to_owned(),
            allocated: f.stat.allocated,
        };
        match &mut self.batch {
            Some(b) if b.takes(f.dir, &dest) => b.items.push(item),
            _ => {
                self.flush()?;
                self.batch = Some(Links::new(f, prev, dest, &self.tmp_shown, item));
            }
        }
        match &self.batch {
            Some(b) if b.items.len() >= LINK_BATCH => self.flush(),
            _ => Ok(()),
        }
    }

    /// Sends the pending batch of links to the workers.
    fn flush(&mut self) -> Result<()> {
        let batch = self.batch.take();
        batch.map_or(Ok(()), |b| self.send(Job::Links(b)))
    }

    fn send(&self, job: Job) -> Result<()> {
        self.jobs
            .as_ref()
            .expect("open while walking")
            .send(job)
            .map_err(|_| anyhow!("the copy workers stopped"))
    }

    fn take_result(&mut self, d: Done) -> Result<()> {
        match d {
            Done::Copy(seq, r) => self.placed(seq, r.map(Some)),
            Done::Links(v) => v.into_iter().try_for_each(|(seq, r)| self.placed(seq, r)),
        }
    }

    /// A worker's result for the record `seq`: linked (`None`) or copied.
    fn placed(&mut self, seq: u64, r: work::Placed) -> Result<()> {
        let Some(Pending::Rec(rec, wait)) = self.pending.get_mut((seq - self.base) as usize) else {
            return Err(anyhow!("internal error: no record waits for copy {seq}"));
        };
        match r {
            Ok(copied) => {
                if let Some(c) = copied {
                    rec.meta = c.meta;
                    rec.hash = Some(c.blake3);
                    self.totals.new_files += 1;
                    self.totals.new_bytes += c.meta.size;
                    self.warnings.extend(c.warning);
                }
                self.counters.files_done.fetch_add(1, Ordering::Relaxed);
                let size = rec.meta.size;
                self.counters.bytes_done.fetch_add(size, Ordering::Relaxed);
                *wait = Wait::Ready;
            }
            Err(CopyError::Source(w)) => *wait = Wait::Failed(w),
            Err(CopyError::Dest { path, err }) => {
                self.stop.store(true, Ordering::Relaxed);
                return Err(super::state::disk_error(&path, err));
            }
        }
        Ok(())
    }

    /// Writes out what is complete at the front of the queue; with `all`,
    /// waits until everything is.
    pub fn drain(&mut self, all: bool) -> Result<()> {
        while let Ok(d) = self.done.try_recv() {
            self.take_result(d)?;
        }
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return Err(anyhow!("stopped"));
            }
            let Some(front) = self.pending.front() else {
                return Ok(());
            };
            if matches!(front, Pending::Rec(_, Wait::Copying)) {
                if !all && self.pending.len() < MAX_PENDING {
                    return Ok(());
                }
                // What the front waits for may still be in the batch.
                self.flush()?;
                let d = self
                    .done
                    .recv()
                    .map_err(|_| anyhow!("the copy workers stopped"))?;
                self.take_result(d)?;
                continue;
            }
            let seq = self.base;
            let front = self.pending.pop_front().expect("checked");
            self.base += 1;
            self.finish(seq, front)?;
        }
    }

    fn finish(&mut self, seq: u64, p: Pending) -> Result<()> {
        let (mut rec, wait) = match p {
            Pending::DirMeta(d, meta) => {
                return at::set_meta_fd(d.fd(), &meta, self.set_owner)
                    .map_err(|e| self.dest_err(b"", e));
            }
            Pending::Rec(r, w) => (r, w),
        };
        match wait {
            Wait::Failed(w) => {
                self.warnings.push(w);
                return Ok(());
            }
            Wait::Follower { dest, leader } => {
                let Some(h) = self.leader_hashes.get(&leader).copied() else {
                    self.warnings.push(format!(
                        "{} skipped: the file it is a hard link of was skipped",
                        rec.shown()
                    ));
                    return Ok(());
                };
                let name = OsStr::from_bytes(rec.path.rsplit(|c| *c == b'/').next().unwrap_or(b""));
                let leader_path = rec.link.clone().unwrap_or_default();
                self.tmp
                    .link_path(&leader_path, &dest, name)
                    .map_err(|e| self.dest_err(&rec.path, e))?;
                rec.hash = Some(h);
                self.counters.files_done.fetch_add(1, Ordering::Relaxed);
            }
            Wait::Ready | Wait::Copying => {}
        }
        if self.leader_seqs.remove(&seq)
            && let Some(h) = rec.hash
        {
            self.leader_hashes.insert(seq, h);
        }
        match rec.kind {
            EntryKind::File => {
                self.totals.files += 1;
                self.totals.bytes += rec.meta.size;
            }
            EntryKind::Dir => self.totals.dirs += 1,
            EntryKind::Symlink => self.totals.symlinks += 1,
        }
        self.writer.push(&rec).map_err(|e| self.dest_err(b"", e))
    }

    /// Closes the job queue (the workers end) and waits for the rest.
    pub fn close(&mut self) -> Result<()> {
        self.flush()?;
        self.jobs = None;
        self.drain(true)
    }
}

impl Visitor for Builder<'_> {
    fn entry(&mut self, f: &Found) -> Result<()> {
        if self.stop.load(Ordering::Relaxed) {
            return Err(anyhow!("stopped"));
        }
        let prev = self.previous(f.rel)?;
        let name = OsStr::from_bytes(f.name.to_bytes());
        let mut rec = Rec {
            path: f.rel.to_vec(),
            kind: f.stat.kind,
            meta: f.stat.meta,
            hash: None,
            target: None,
            link: None,
        };
        if rec.kind != EntryKind::File {
            rec.meta.size = 0;
        }
        let dest = self.frames.last().expect("root frame").dest.clone();
        match f.stat.kind {
            EntryKind::Dir => {
                dest.mkdir(name, 0o700)
                    .map_err(|e| self.dest_err(f.rel, e))?;
                self.last_dir = f.stat.meta;
                self.push(Pending::Rec(rec, Wait::Ready));
            }
            EntryKind::Symlink => {
                let target = match f.dir.read_link(name) {
                    Ok(t) => t,
                    Err(e) => {
                        self.warn(format!("{} skipped: {e}", f.abs.display()));
                        return Ok(());
                    }
                };
                dest.symlink(OsStr::from_bytes(&target), name)
                    .and_then(|()| dest.set_symlink_meta(name, &f.stat.meta, self.set_owner))
                    .map_err(|e| self.dest_err(f.rel, e))?;
                rec.target = Some(target);
                self.push(Pending::Rec(rec, Wait::Ready));
            }
            EntryKind::File => self.file(f, rec, prev)?,
        }
        self.drain(false)
    }

    fn enter(&mut self, rel: &[u8]) -> Result<()> {
        let name = OsStr::from_bytes(rel.rsplit(|c| *c == b'/').next().unwrap_or(rel));
        let top = self.frames.last().expect("root frame");
        let dest = top
            .dest
            .open_child(name)
            .map_err(|e| self.dest_err(rel, e))?;
        let prev = top
            .prev
            .as_ref()
            .and_then(|p| p.open_child(name).ok())
            .map(Arc::new);
        self.frames.push(Frame {
            dest: Arc::new(dest),
            prev,
            meta: self.last_dir,
        });
        Ok(())
    }

    fn leave(&mut self, _rel: &[u8]) -> Result<()> {
        self.flush()?;
        let f = self.frames.pop().expect("entered");
        self.push(Pending::DirMeta(f.dest, f.meta));
        self.drain(false)
    }

    fn warn(&mut self, w: String) {
        self.warnings.push(w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> SrcMeta {
        SrcMeta {
            size: 10,
            mtime: 100,
            mtime_ns: 5,
            mode: 0o644,
            uid: 1000,
            gid: 1000,
            ctime: 200,
            ctime_ns: 7,
            ino: 42,
        }
    }

    fn prev() -> Rec {
        Rec {
            path: b"a".to_vec(),
            kind: EntryKind::File,
            meta: meta(),
            hash: Some([7; 32]),
            target: None,
            link: None,
        }
    }

    #[test]
    fn unchanged_file_is_linked_with_its_old_hash() {
        assert_eq!(decide(&meta(), Some(&prev())), Some([7; 32]));
    }

    #[test]
    fn any_changed_field_means_copy() {
        let changes: [fn(&mut SrcMeta); 9] = [
            |p| p.size += 1,
            |p| p.mtime += 1,
            |p| p.mtime_ns += 1,
            |p| p.mode = 0o600,
            |p| p.uid = 0,
            |p| p.gid = 0,
            |p| p.ctime += 1,
            |p| p.ctime_ns += 1,
            |p| p.ino += 1,
        ];
        for change in changes {
            let mut p = prev();
            change(&mut p.meta);
            assert_eq!(decide(&meta(), Some(&p)), None, "{p:?}");
        }
        assert_eq!(decide(&meta(), None), None);
        let no_hash = Rec {
            hash: None,
            ..prev()
        };
        assert_eq!(decide(&meta(), Some(&no_hash)), None);
        let was_dir = Rec {
            kind: EntryKind::Dir,
            ..prev()
        };
        assert_eq!(decide(&meta(), Some(&was_dir)), None);
    }
}
