//! Which files a `verify --sample P` hashes: 100 path buckets (BLAKE3 of the
//! escaped path mod 100), a rotation that starts where the last sample
//! stopped, and the share of files checked within a week. Pure.

/// Number of path buckets for `--sample` rotation (one per percent).
pub const BUCKETS: u32 = 100;
/// Coverage counts buckets checked within this many seconds.
const COVERAGE_WINDOW_S: i64 = 7 * 24 * 3600;
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

/// Share of files (0–100) whose bucket was checked since `now - window`;
/// `counts` holds the number of files in each bucket.
pub fn coverage(counts: &[u64], checked_at: &[i64], now: i64) -> f64 {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return 100.0;
    }
    let fresh = |b: usize| {
        checked_at
            .get(b)
            .is_some_and(|&t| t > 0 && now - t <= COVERAGE_WINDOW_S)
    };
    let n: u64 = counts
        .iter()
        .enumerate()
        .filter(|(b, _)| fresh(*b))
        .map(|(_, c)| c)
        .sum();
    (n as f64 * 1000.0 / total as f64).round() / 10.0
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
        // Files in buckets 1, 1, 2 and 3.
        let mut counts = vec![0u64; BUCKETS as usize];
        for b in [1, 1, 2, 3] {
            counts[b] += 1;
        }
        assert_eq!(coverage(&counts, &at, 1_000_000), 50.0);
        assert_eq!(coverage(&[0; 100], &at, 0), 100.0);
    }
}
