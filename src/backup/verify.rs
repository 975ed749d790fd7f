//! `verify`: re-hash a snapshot and compare it with its manifest, naming every
//! missing, changed or extra entry. `--sample P` hashes a rotating share of
//! files (by path bucket) while still checking the structure of all.

use std::collections::HashSet;
use std::ffi::{CString, OsStr};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::sync::{Arc, Mutex, mpsc};

use anyhow::{Context, Result, anyhow, bail};
use chrono::Utc;

use super::at::Dir;
use super::copy::BUF_SIZE;
use super::manifest::{self, Layout, escape_path};
use super::record::{Rec, cmp_path};
use super::sample::{BUCKETS, bucket, coverage, sample_buckets, widen_to_a_file};
use super::walk::{self, Found, Visitor};
use super::worker_threads;
use super::{index, lock, root};
use crate::atomic;
use crate::config::Config;
use crate::files::backup::{EntryKind, VerifyProblem, VerifyRecord, VerifySummary};
use crate::files::{SCHEMA, now_rfc3339};

/// At most this many problems are kept in the record (all are printed).
const MAX_PROBLEMS_KEPT: usize = 1000;
/// How many damaged paths the summary names for the bot, and how long each may be.
const DAMAGED_NAMED: usize = 10;
const DAMAGED_PATH_MAX: usize = 200;

/// The first [`DAMAGED_NAMED`] problem paths (already escaped), each cut
/// to [`DAMAGED_PATH_MAX`] characters.
fn named(problems: &[VerifyProblem]) -> Vec<String> {
    problems
        .iter()
        .take(DAMAGED_NAMED)
        .map(|p| {
            let mut s: String = p.path.chars().take(DAMAGED_PATH_MAX).collect();
            if s.len() < p.path.len() {
                s.push('…');
            }
            s
        })
        .collect()
}

/// Verifies a snapshot, records the result in `verify/<ID>.json` and the
/// index, and returns the record (its `problems` list every difference).
/// The snapshot is walked in path order and merged with the manifest's
/// record stream; files to hash go to worker threads as they are met.
pub fn verify(cfg: &Config, id: Option<&str>, sample: Option<f64>) -> Result<VerifyRecord> {
    if let Some(p) = sample
        && !(p > 0.0 && p <= 100.0)
    {
        bail!("--sample must be a percentage above 0 and at most 100, not {p}");
    }
    let layout = Layout::new(&cfg.backup_dir);
    let handles = root::open(&layout.root)?;
    let _lock = lock::wait(&handles.dir, lock::Mode::Shared, lock::WAIT, "verify")?;
    let id = manifest::resolve_id(&layout, id)?;
    let prev = index::read_verify(&layout, &id);
    let next = prev.as_ref().map_or(0, |r| r.next_bucket);
    let (mut chosen, mut next_bucket) = sample_buckets(next, sample);
    let snap = Arc::new(
        handles
            .snapshots
            .open_child(OsStr::new(&id))
            .with_context(|| format!("reading snapshot {}", layout.snapshot(&id).display()))?,
    );
    let earlier: HashSet<String> = prev
        .iter()
        .flat_map(|r| r.problems.iter())
        .filter(|p| p.kind == "changed")
        .map(|p| p.path.clone())
        .collect();
    let walk_snapshot = |pass: &mut Pass| {
        walk::walk_dir(
            &snap,
            &mut Vec::new(),
            &mut layout.snapshot(&id),
            None,
            pass,
        )?;
        pass.rest()
    };
    let (header, records) = manifest::open(&layout, &id)?;
    let mut pass = Pass::new(records, &chosen, &earlier);
    let hashed = hashing(&mut pass, walk_snapshot)?;
    let mut checked = pass.hashed;
    let mut problems = std::mem::take(&mut pass.problems);
    problems.extend(hashed);
    let counts = std::mem::take(&mut pass.counts);
    let still_files = std::mem::take(&mut pass.still_files);
    // A sample whose buckets hold no file takes the next bucket that does.
    let occupied: Vec<bool> = counts.iter().map(|c| *c > 0).collect();
    let before = chosen.clone();
    widen_to_a_file(&mut chosen, &mut next_bucket, &occupied);
    if chosen != before {
        let (_, records) = manifest::open(&layout, &id)?;
        let extra: Vec<bool> = chosen.iter().zip(&before).map(|(c, b)| *c && !b).collect();
        let mut again = Pass::new(records, &extra, &earlier);
        // The structure was checked above; only the new bucket's hashes count.
        problems.extend(hashing(&mut again, walk_snapshot)?);
        checked += again.hashed;
    }
    let reported: HashSet<String> = problems.iter().map(|p| p.path.clone()).collect();
    // Damage an earlier verify found in files this sample did not hash again
    // stands: a snapshot never heals, and dropping the finding would let the
    // next run link the damaged file forward.
    let stands: Vec<VerifyProblem> = prev
        .iter()
        .flat_map(|r| r.problems.iter())
        .filter(|p| p.kind == "changed" && still_files.contains(&p.path))
        .filter(|p| !chosen[bucket(&p.path) as usize] && !reported.contains(&p.path))
        .cloned()
        .collect();
    problems.extend(stands);
    problems.sort_by(|a, b| a.path.cmp(&b.path));

    let now = Utc::now().timestamp();
    let mut checked_at = prev.map(|r| r.bucket_checked_at).unwrap_or_default();
    checked_at.resize(BUCKETS as usize, 0);
    for (b, c) in chosen.iter().enumerate() {
        if *c {
            checked_at[b] = now;
        }
    }
    let record = VerifyRecord {
        schema: SCHEMA,
        last: VerifySummary {
            id: id.clone(),
            at: now_rfc3339(),
            status: if problems.is_empty() { "ok" } else { "failed" }.into(),
            checked_files: checked,
            total_files: header.totals.files,
            sample_percent: sample,
            problems: problems.len() as u64,
            coverage_percent: Some(coverage(&counts, &checked_at, now)),
            damaged: named(&problems),
        },
        problems,
        next_bucket,
        bucket_checked_at: checked_at,
    };
    let mut kept = record.clone();
    kept.problems.truncate(MAX_PROBLEMS_KEPT);
    // Records name damaged files from root-only trees: owner-only, in a 0700 folder.
    let mut bytes = serde_json::to_vec_pretty(&kept).context("serializing the verify record")?;
    bytes.push(b'\n');
    let name = format!("{id}.json");
    atomic::write_at(
        handles.verify.file(),
        OsStr::new(&name),
        &bytes,
        Some(0o600),
    )
    .with_context(|| format!("writing {}", layout.verify_record(&id).display()))?;
    if let Err(e) = index::refresh(&layout, &handles, &cfg.state_dir) {
        log::warn!("could not update the snapshot index: {e:#}");
    }
    Ok(record)
}

fn problem(kind: &str, path: &str, detail: &str) -> VerifyProblem {
    VerifyProblem {
        kind: kind.into(),
        path: path.into(),
        detail: detail.into(),
    }
}

/// A file to hash: its folder, name, escaped path and expected hash.
struct HashJob {
    dir: Arc<Dir>,
    name: CString,
    shown: String,
    expected: Option<[u8; 32]>,
}

/// One merge of the snapshot's walk with the manifest's records.
struct Pass<'a> {
    records: manifest::Reader,
    next: Option<Rec>,
    chosen: &'a [bool],
    earlier: &'a HashSet<String>,
    jobs: Option<mpsc::SyncSender<HashJob>>,
    problems: Vec<VerifyProblem>,
    /// Files per bucket (for coverage and for widening a sample).
    counts: Vec<u64>,
    hashed: u64,
    /// Paths of earlier damage that are still files in the manifest.
    still_files: HashSet<String>,
}

impl<'a> Pass<'a> {
    fn new(
        records: manifest::Reader,
        chosen: &'a [bool],
        earlier: &'a HashSet<String>,
    ) -> Pass<'a> {
        Pass {
            records,
            next: None,
            chosen,
            earlier,
            jobs: None,
            problems: Vec::new(),
            counts: vec![0; BUCKETS as usize],
            hashed: 0,
            still_files: HashSet::new(),
        }
    }

    /// Reports manifest records before `rel` as missing and returns the one
    /// at `rel`; with `None`, reports all that are left.
    fn take(&mut self, rel: Option<&[u8]>) -> Result<Option<Rec>> {
        loop {
            if self.next.is_none() {
                self.next = self.records.next().transpose()?;
            }
            let Some(r) = &self.next else {
                return Ok(None);
            };
            match rel.map_or(std::cmp::Ordering::Less, |x| cmp_path(&r.path, x)) {
                std::cmp::Ordering::Less => {
                    let r = self.next.take().expect("peeked");
                    self.count(&r);
                    self.problems.push(problem(
                        "missing",
                        &r.shown(),
                        "in the manifest but not in the snapshot",
                    ));
                }
                std::cmp::Ordering::Equal => return Ok(self.next.take()),
                std::cmp::Ordering::Greater => return Ok(None),
            }
        }
    }

    fn count(&mut self, r: &Rec) -> Option<(String, u32)> {
        if r.kind != EntryKind::File {
            return None;
        }
        let shown = r.shown();
        let b = bucket(&shown);
        self.counts[b as usize] += 1;
        if self.earlier.contains(&shown) {
            self.still_files.insert(shown.clone());
        }
        Some((shown, b))
    }

    /// The manifest's records after the last entry found are missing.
    fn rest(&mut self) -> Result<()> {
        self.take(None).map(drop)
    }
}

impl Visitor for Pass<'_> {
    fn entry(&mut self, f: &Found) -> Result<()> {
        let Some(r) = self.take(Some(f.rel))? else {
            let shown = escape_path(OsStr::from_bytes(f.rel));
            self.problems.push(problem(
                "extra",
                &shown,
                "in the snapshot but not in the manifest",
            ));
            return Ok(());
        };
        let counted = self.count(&r);
        if f.stat.kind != r.kind {
            let detail = format!("is a {:?}, the manifest says {:?}", f.stat.kind, r.kind);
            self.problems.push(problem("changed", &r.shown(), &detail));
            return Ok(());
        }
        match (r.kind, counted) {
            (EntryKind::File, Some((shown, b))) => {
                if f.stat.meta.size != r.meta.size {
                    let detail = format!(
                        "size {} bytes, the manifest says {}",
                        f.stat.meta.size, r.meta.size
                    );
                    self.problems.push(problem("changed", &shown, &detail));
                } else if self.chosen[b as usize] {
                    self.hashed += 1;
                    let job = HashJob {
                        dir: f.dir.clone(),
                        name: f.name.to_owned(),
                        shown,
                        expected: r.hash,
                    };
                    if let Some(j) = &self.jobs {
                        j.send(job)
                            .map_err(|_| anyhow!("the hash workers stopped"))?;
                    }
                }
            }
            (EntryKind::Symlink, _) => {
                let target = f.dir.read_link(OsStr::from_bytes(f.name.to_bytes())).ok();
                if target != r.target {
                    self.problems
                        .push(problem("changed", &r.shown(), "symlink target differs"));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn enter(&mut self, _rel: &[u8]) -> Result<()> {
        Ok(())
    }

    fn leave(&mut self, _rel: &[u8]) -> Result<()> {
        Ok(())
    }

    fn warn(&mut self, w: String) {
        self.problems.push(problem("unreadable", "", &w));
    }
}

/// Runs `walk` with hash workers fed by the pass and returns what they found.
fn hashing(
    pass: &mut Pass,
    walk: impl FnOnce(&mut Pass) -> Result<()>,
) -> Result<Vec<VerifyProblem>> {
    let (tx, rx) = mpsc::sync_channel::<HashJob>(256);
    let rx = Mutex::new(rx);
    let found = Mutex::new(Vec::new());
    pass.jobs = Some(tx);
    let r = std::thread::scope(|s| {
        for _ in 0..worker_threads() {
            s.spawn(|| {
                let mut buf = vec![0u8; BUF_SIZE];
                while let Ok(j) = crate::sync::lock(&rx).recv() {
                    if let Some(p) = check(&j, &mut buf) {
                        crate::sync::lock(&found).push(p);
                    }
                }
            });
        }
        let r = walk(pass);
        pass.jobs = None;
        r
    });
    r.map(|()| crate::sync::into_inner(found))
}

fn check(j: &HashJob, buf: &mut [u8]) -> Option<VerifyProblem> {
    let expected = j.expected.map(hex).unwrap_or_default();
    let name = OsStr::from_bytes(j.name.to_bytes());
    match j.dir.open_read(name).and_then(|f| hash_file(f, buf)) {
        Ok(h) if Some(h) == j.expected => None,
        Ok(h) => Some(problem(
            "changed",
            &j.shown,
            &format!("blake3 {}, the manifest says {expected}", hex(h)),
        )),
        Err(err) => Some(problem("changed", &j.shown, &format!("unreadable: {err}"))),
    }
}

fn hex(h: [u8; 32]) -> String {
    blake3::Hash::from(h).to_hex().to_string()
}

/// BLAKE3 of an open file.
pub fn hash_file(mut f: std::fs::File, buf: &mut [u8]) -> io::Result<[u8; 32]> {
    let mut h = blake3::Hasher::new();
    loop {
        match f.read(buf) {
            Ok(0) => break,
            Ok(n) => {
                h.update(&buf[..n]);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(*h.finalize().as_bytes())
}

/// The text `potion-backup verify` prints.
pub fn render(r: &VerifyRecord) -> String {
    let mut out = String::new();
    for p in &r.problems {
        out.push_str(&format!("{}: {}: {}\n", p.kind, p.path, p.detail));
    }
    let v = &r.last;
    let scope = match v.sample_percent {
        Some(p) => format!(
            "sample {p}%, {} of {} files hashed, {}% covered this week",
            v.checked_files,
            v.total_files,
            v.coverage_percent.unwrap_or(0.0)
        ),
        None => format!("{} of {} files hashed", v.checked_files, v.total_files),
    };
    if v.status == "ok" {
        out.push_str(&format!("verify {}: ok ({scope})\n", v.id));
    } else {
        out.push_str(&format!(
            "verify {}: FAILED, {} problems ({scope})\n",
            v.id, v.problems
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_the_first_few_damaged_paths_cut_short() {
        let many: Vec<VerifyProblem> = (0..25)
            .map(|i| problem("changed", &format!("/data/f{i:02}"), "blake3"))
            .collect();
        let n = named(&many);
        assert_eq!(n.len(), DAMAGED_NAMED);
        assert_eq!(n[0], "/data/f00");
        let long = "/x/".to_string() + &"é".repeat(500);
        let n = named(&[problem("missing", &long, "")]);
        assert_eq!(n[0].chars().count(), DAMAGED_PATH_MAX + 1);
        assert!(n[0].ends_with('…'));
        assert!(named(&[]).is_empty());
    }
}
