//! `verify`: re-hash a snapshot and compare it with its manifest, naming every
//! missing, changed or extra entry. `--sample P` hashes a rotating share of
//! files (by path bucket) while still checking the structure of all.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, bail};
use chrono::Utc;

use super::copy::BUF_SIZE;
use super::manifest::{self, Layout, escape_path, unescape_path};
use super::scan::{self, Excludes};
use super::worker_threads;
use super::{index, lock, root};
use crate::atomic;
use crate::config::Config;
use crate::files::backup::{EntryKind, ManifestEntry, VerifyProblem, VerifyRecord, VerifySummary};
use crate::files::{SCHEMA, now_rfc3339};

/// Number of path buckets for `--sample` rotation (one per percent).
pub const BUCKETS: u32 = 100;
/// Coverage counts buckets checked within this many seconds.
const COVERAGE_WINDOW_S: i64 = 7 * 24 * 3600;
/// At most this many problems are kept in the record (all are printed).
const MAX_PROBLEMS_KEPT: usize = 1000;

/// Path bucket of a manifest path: stable across runs and independent of content.
pub fn bucket(path: &str) -> u32 {
    let h = blake3::hash(path.as_bytes());
    let b: [u8; 8] = h.as_bytes()[..8].try_into().expect("8 bytes");
    (u64::from_le_bytes(b) % BUCKETS as u64) as u32
}

/// Buckets a run checks and where the next run starts: `percent` of the
/// buckets (rounded up), starting at `next`. `None` (a full verify) checks all.
pub fn sample_buckets(next: u32, percent: Option<f64>) -> (Vec<bool>, u32) {
    let Some(p) = percent else {
        return (vec![true; BUCKETS as usize], next % BUCKETS);
    };
    let count = ((p / 100.0 * BUCKETS as f64).ceil() as u32).clamp(1, BUCKETS);
    let mut chosen = vec![false; BUCKETS as usize];
    for k in 0..count {
        chosen[((next + k) % BUCKETS) as usize] = true;
    }
    (chosen, (next + count) % BUCKETS)
}

/// Makes sure a sample hashes at least one file when there is any to hash:
/// when none of the `chosen` buckets holds a file (`occupied`), the first
/// occupied bucket from `next_bucket` on joins the sample and the rotation
/// goes on after it. With a handful of files, 15 % of the buckets would
/// otherwise often hash nothing at all.
pub fn widen_to_a_file(chosen: &mut [bool], next_bucket: &mut u32, occupied: &[bool]) {
    if chosen.iter().zip(occupied).any(|(c, o)| *c && *o) {
        return;
    }
    let n = BUCKETS as usize;
    if let Some(b) = (0..n)
        .map(|k| (*next_bucket as usize + k) % n)
        .find(|&b| occupied.get(b).copied().unwrap_or(false))
    {
        chosen[b] = true;
        *next_bucket = ((b + 1) % n) as u32;
    }
}

/// Share of files (0–100) whose bucket was checked since `now - window`.
pub fn coverage(file_buckets: &[u32], checked_at: &[i64], now: i64) -> f64 {
    if file_buckets.is_empty() {
        return 100.0;
    }
    let fresh = |b: u32| {
        checked_at
            .get(b as usize)
            .is_some_and(|&t| t > 0 && now - t <= COVERAGE_WINDOW_S)
    };
    let n = file_buckets.iter().filter(|&&b| fresh(b)).count();
    (n as f64 * 1000.0 / file_buckets.len() as f64).round() / 10.0
}

/// What is on disk for one path.
struct Found {
    kind: EntryKind,
    size: u64,
}

/// Verifies a snapshot, records the result in `verify/<ID>.json` and the
/// index, and returns the record (its `problems` list every difference).
pub fn verify(cfg: &Config, id: Option<&str>, sample: Option<f64>) -> Result<VerifyRecord> {
    if let Some(p) = sample
        && !(p > 0.0 && p <= 100.0)
    {
        bail!("--sample must be a percentage above 0 and at most 100, not {p}");
    }
    let layout = Layout::new(&cfg.backup_dir);
    let handles = root::open(&layout)?;
    let _lock = lock::wait(&handles.dir, lock::Mode::Shared, lock::WAIT, "verify")?;
    let id = manifest::resolve_id(&layout, id)?;
    let m = manifest::read_manifest(&layout, &id)?;
    let root = layout.snapshot(&id);
    let prev = index::read_verify(&layout, &id);
    let next = prev.as_ref().map_or(0, |r| r.next_bucket);
    let (mut chosen, mut next_bucket) = sample_buckets(next, sample);

    let (found, walk_warnings) = walk(&root)?;
    let mut problems: Vec<VerifyProblem> = walk_warnings
        .iter()
        .map(|w| problem("unreadable", &escape_path(root.as_os_str()), w))
        .collect();
    let mut hashable: Vec<(u32, &ManifestEntry)> = Vec::new();
    let mut file_buckets = Vec::new();
    for e in &m.files {
        let Some(f) = found.get(e.path.as_str()) else {
            problems.push(problem(
                "missing",
                &e.path,
                "in the manifest but not in the snapshot",
            ));
            continue;
        };
        if f.kind != e.kind {
            problems.push(problem(
                "changed",
                &e.path,
                &format!("is a {:?}, the manifest says {:?}", f.kind, e.kind),
            ));
            continue;
        }
        match e.kind {
            EntryKind::File => {
                let b = bucket(&e.path);
                file_buckets.push(b);
                if f.size != e.size {
                    problems.push(problem(
                        "changed",
                        &e.path,
                        &format!("size {} bytes, the manifest says {}", f.size, e.size),
                    ));
                } else {
                    hashable.push((b, e));
                }
            }
            EntryKind::Symlink => {
                let target = std::fs::read_link(root.join(unescape_path(&e.path)))
                    .map(|t| escape_path(t.as_os_str()))
                    .unwrap_or_default();
                if Some(&target) != e.target.as_ref() {
                    problems.push(problem("changed", &e.path, "symlink target differs"));
                }
            }
            EntryKind::Dir => {}
        }
    }
    let known: std::collections::HashSet<&str> = m.files.iter().map(|e| e.path.as_str()).collect();
    let mut extra: Vec<&String> = found
        .keys()
        .filter(|k| !known.contains(k.as_str()))
        .collect();
    extra.sort();
    for k in extra {
        problems.push(problem(
            "extra",
            k,
            "in the snapshot but not in the manifest",
        ));
    }
    let mut occupied = vec![false; BUCKETS as usize];
    for (b, _) in &hashable {
        occupied[*b as usize] = true;
    }
    widen_to_a_file(&mut chosen, &mut next_bucket, &occupied);
    let to_hash: Vec<&ManifestEntry> = hashable
        .iter()
        .filter(|(b, _)| chosen[*b as usize])
        .map(|(_, e)| *e)
        .collect();
    let checked = to_hash.len() as u64;
    problems.extend(hash_all(&root, &to_hash));
    if let Some(prev) = &prev {
        problems.extend(unchecked_damage(prev, &m.files, &chosen, &problems));
    }
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
            total_files: m.totals.files,
            sample_percent: sample,
            problems: problems.len() as u64,
            coverage_percent: Some(coverage(&file_buckets, &checked_at, now)),
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

/// Damage an earlier verify found in files this sample did not hash again. A
/// snapshot never heals, so the finding stands until its bucket is hashed
/// again; dropping it would make the snapshot look good and let the next
/// run link the damaged file forward. Files whose size or kind no longer
/// match are already reported afresh by the walk.
fn unchecked_damage(
    prev: &VerifyRecord,
    files: &[ManifestEntry],
    chosen: &[bool],
    current: &[VerifyProblem],
) -> Vec<VerifyProblem> {
    let is_file: std::collections::HashSet<&str> = files
        .iter()
        .filter(|e| e.kind == EntryKind::File)
        .map(|e| e.path.as_str())
        .collect();
    let reported: std::collections::HashSet<&str> =
        current.iter().map(|p| p.path.as_str()).collect();
    prev.problems
        .iter()
        .filter(|p| p.kind == "changed" && is_file.contains(p.path.as_str()))
        .filter(|p| !chosen[bucket(&p.path) as usize] && !reported.contains(p.path.as_str()))
        .cloned()
        .collect()
}

fn problem(kind: &str, path: &str, detail: &str) -> VerifyProblem {
    VerifyProblem {
        kind: kind.into(),
        path: path.into(),
        detail: detail.into(),
    }
}

/// Every entry under the snapshot root, keyed by escaped relative path
/// (listed on all workers, like the scan of a run).
fn walk(root: &Path) -> Result<(HashMap<String, Found>, Vec<String>)> {
    std::fs::metadata(root).with_context(|| format!("reading snapshot {}", root.display()))?;
    let none = Excludes::new(&[])?;
    let tree = scan::walk_parallel(root, Path::new(""), &none, worker_threads());
    let map = tree
        .entries
        .into_iter()
        .map(|e| {
            let size = if e.kind == EntryKind::File {
                e.meta.size
            } else {
                0
            };
            (e.key, Found { kind: e.kind, size })
        })
        .collect();
    Ok((map, tree.warnings))
}

/// Hashes files on all workers; returns a problem for each mismatch.
fn hash_all(root: &Path, files: &[&ManifestEntry]) -> Vec<VerifyProblem> {
    let next = AtomicUsize::new(0);
    let problems = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..worker_threads() {
            s.spawn(|| {
                let mut buf = vec![0u8; BUF_SIZE];
                while let Some(e) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let expected = e.blake3.as_deref().unwrap_or("");
                    let found = match hash_file(&root.join(unescape_path(&e.path)), &mut buf) {
                        Ok(h) if h == expected => continue,
                        Ok(h) => problem(
                            "changed",
                            &e.path,
                            &format!("blake3 {h}, the manifest says {expected}"),
                        ),
                        Err(err) => problem("changed", &e.path, &format!("unreadable: {err}")),
                    };
                    problems.lock().unwrap().push(found);
                }
            });
        }
    });
    problems.into_inner().unwrap()
}

/// Hex BLAKE3 of a file.
pub fn hash_file(p: &Path, buf: &mut [u8]) -> io::Result<String> {
    // Never follow a symlink out of the snapshot nor block on a FIFO.
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(p)?;
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
    Ok(h.finalize().to_hex().to_string())
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
    fn sample_rotation_covers_every_bucket_in_order() {
        let mut next = 0;
        let mut seen = vec![0u32; BUCKETS as usize];
        for _ in 0..10 {
            let (chosen, n) = sample_buckets(next, Some(10.0));
            assert_eq!(chosen.iter().filter(|c| **c).count(), 10);
            for (b, c) in chosen.iter().enumerate() {
                seen[b] += *c as u32;
            }
            next = n;
        }
        assert!(seen.iter().all(|&s| s == 1), "{seen:?}");
        assert_eq!(next, 0);
        let (chosen, n) = sample_buckets(95, Some(7.5));
        assert_eq!(n, 3);
        assert!(chosen[95] && chosen[99] && chosen[2] && !chosen[3] && !chosen[94]);
        let (all, n) = sample_buckets(42, None);
        assert!(all.iter().all(|c| *c));
        assert_eq!(n, 42);
    }

    #[test]
    fn a_sample_hashes_at_least_one_file_when_there_is_one() {
        let mut occupied = vec![false; BUCKETS as usize];
        occupied[40] = true;
        occupied[70] = true;
        // 15 % from bucket 0 holds neither file: the next one joins.
        let (mut chosen, mut next) = sample_buckets(0, Some(15.0));
        assert_eq!(next, 15);
        widen_to_a_file(&mut chosen, &mut next, &occupied);
        assert!(chosen[40] && !chosen[70]);
        assert_eq!(chosen.iter().filter(|c| **c).count(), 16);
        assert_eq!(next, 41);
        // The rotation goes on to the other file, then wraps to the first.
        let (mut chosen, mut next) = sample_buckets(next, Some(15.0));
        widen_to_a_file(&mut chosen, &mut next, &occupied);
        assert!(chosen[70] && !chosen[40]);
        assert_eq!(next, 71);
        let (mut chosen, mut next) = sample_buckets(next, Some(15.0));
        widen_to_a_file(&mut chosen, &mut next, &occupied);
        assert!(chosen[40] && !chosen[70]);
        assert_eq!(next, 41);
        // A sample that already holds a file is left alone.
        let (mut chosen, mut next) = sample_buckets(30, Some(15.0));
        let before = chosen.clone();
        widen_to_a_file(&mut chosen, &mut next, &occupied);
        assert_eq!((chosen, next), (before, 45));
        // No file at all: nothing to widen to.
        let (mut chosen, mut next) = sample_buckets(0, Some(15.0));
        widen_to_a_file(&mut chosen, &mut next, &vec![false; BUCKETS as usize]);
        assert_eq!(chosen.iter().filter(|c| **c).count(), 15);
        assert_eq!(next, 15);
    }

    #[test]
    fn buckets_are_stable_and_spread() {
        assert_eq!(bucket("opt/a"), bucket("opt/a"));
        let distinct: std::collections::HashSet<u32> =
            (0..1000).map(|i| bucket(&format!("f{i}"))).collect();
        assert!(distinct.len() > 90, "{}", distinct.len());
    }

    #[test]
    fn coverage_counts_recent_buckets_only() {
        let mut at = vec![0i64; 100];
        at[1] = 1_000_000;
        at[2] = 1_000_000 - COVERAGE_WINDOW_S - 1;
        assert_eq!(coverage(&[1, 1, 2, 3], &at, 1_000_000), 50.0);
        assert_eq!(coverage(&[], &at, 0), 100.0);
    }
}
