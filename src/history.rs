//! The compact sample history behind charts and the digest (`history.bin`).
//!
//! One fixed-size little-endian record per health run, appended. A torn
//! last record (a crash mid-append) is ignored by readers. When the file
//! holds more than [`MAX_RECORDS`] it is rewritten atomically keeping the
//! newest [`KEEP_RECORDS`], so it stays under about 900 KiB while always
//! covering at least 8 days at one sample a minute.
//!
//! Version 2 added the probe latency at the end of each record; a version-1
//! file (40-byte records) is still read, and the next append rewrites it
//! as version 2.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

/// File header: format name and version.
pub const MAGIC: &[u8; 8] = b"POTHIST2";
/// Bytes per record.
pub const RECORD_LEN: usize = 44;
/// The version-1 header and record size (no probe latency), still read.
const MAGIC_V1: &[u8; 8] = b"POTHIST1";
const RECORD_LEN_V1: usize = 40;
/// Records kept after a trim: 8 days of minutes.
pub const KEEP_RECORDS: usize = 8 * 24 * 60;
/// Records that trigger a trim: 14 days of minutes.
pub const MAX_RECORDS: usize = 14 * 24 * 60;

/// One health sample. Missing values are NaN (no sensor, no data disk, first run).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Unix seconds, UTC.
    pub t: i64,
    pub cpu: f32,
    pub ram: f32,
    pub swap: f32,
    pub disk_root: f32,
    pub disk_data: f32,
    pub temp: f32,
    pub load1: f32,
    /// Which alerts were active: [`crate::alert_code::AlertCode::history_bit`]s.
    pub alerts: u32,
    /// The slowest `PROBE_URLS` answer of the run, in milliseconds.
    pub probe_ms: f32,
}

impl Sample {
    pub fn encode(&self) -> [u8; RECORD_LEN] {
        let mut b = [0u8; RECORD_LEN];
        b[0..8].copy_from_slice(&self.t.to_le_bytes());
        let fs = [
            self.cpu,
            self.ram,
            self.swap,
            self.disk_root,
            self.disk_data,
            self.temp,
            self.load1,
        ];
        for (i, v) in fs.iter().enumerate() {
            b[8 + i * 4..12 + i * 4].copy_from_slice(&v.to_le_bytes());
        }
        b[36..40].copy_from_slice(&self.alerts.to_le_bytes());
        b[40..44].copy_from_slice(&self.probe_ms.to_le_bytes());
        b
    }

    /// Reads one record: [`RECORD_LEN`] bytes, or a version-1 record
    /// without the probe latency (see [`decode_all`]).
    fn decode(b: &[u8]) -> Sample {
        let f =
            |i: usize| f32::from_le_bytes(b[8 + i * 4..12 + i * 4].try_into().expect("4 bytes"));
        Sample {
            t: i64::from_le_bytes(b[0..8].try_into().expect("8 bytes")),
            cpu: f(0),
            ram: f(1),
            swap: f(2),
            disk_root: f(3),
            disk_data: f(4),
            temp: f(5),
            load1: f(6),
            alerts: u32::from_le_bytes(b[36..40].try_into().expect("4 bytes")),
            probe_ms: b.get(40..44).map_or(f32::NAN, |p| {
                f32::from_le_bytes(p.try_into().expect("4 bytes"))
            }),
        }
    }
}

/// Decodes a whole history file (either version); a wrong header gives no
/// samples, a torn tail is dropped.
pub fn decode_all(bytes: &[u8]) -> Vec<Sample> {
    let len = match bytes.get(..MAGIC.len()) {
        Some(h) if h == MAGIC => RECORD_LEN,
        Some(h) if h == MAGIC_V1 => RECORD_LEN_V1,
        _ => return Vec::new(),
    };
    bytes[MAGIC.len()..]
        .chunks_exact(len)
        .map(Sample::decode)
        .collect()
}

/// Reads every sample (oldest first). A missing file is an empty history.
pub fn read(path: &Path) -> Result<Vec<Sample>> {
    match std::fs::read(path) {
        Ok(b) => Ok(decode_all(&b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Samples at or after `since` (unix seconds).
pub fn read_since(path: &Path, since: i64) -> Result<Vec<Sample>> {
    let mut all = read(path)?;
    all.retain(|s| s.t >= since);
    Ok(all)
}

/// Appends one sample, starting a new file (or replacing a damaged one) when needed,
/// and trims the file when it grew past [`MAX_RECORDS`].
pub fn append(path: &Path, sample: &Sample) -> Result<()> {
    let len = std::fs::metadata(path).map(|m| m.len() as usize).ok();
    let healthy = match len {
        Some(n) if n >= MAGIC.len() && (n - MAGIC.len()) % RECORD_LEN == 0 => {
            let mut head = [0u8; 8];
            std::fs::File::open(path)
                .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
                .is_ok()
                && &head == MAGIC
        }
        _ => false,
    };
    if !healthy {
        // Missing, torn, version 1 or foreign: rebuild from whatever whole records survive.
        let mut samples = read(path).unwrap_or_default();
        samples.push(*sample);
        return rewrite(path, &samples);
    }
    let records = (len.unwrap_or(0) - MAGIC.len()) / RECORD_LEN;
    if records + 1 > MAX_RECORDS {
        let mut samples = read(path)?;
        samples.push(*sample);
        let skip = samples.len().saturating_sub(KEEP_RECORDS);
        return rewrite(path, &samples[skip..]);
    }
    let mut f = OpenOptions::new()
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    f.write_all(&sample.encode())
        .with_context(|| format!("appending to {}", path.display()))
}

fn rewrite(path: &Path, samples: &[Sample]) -> Result<()> {
    let mut bytes = Vec::with_capacity(MAGIC.len() + samples.len() * RECORD_LEN);
    bytes.extend_from_slice(MAGIC);
    for s in samples {
        bytes.extend_from_slice(&s.encode());
    }
    crate::atomic::write(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert_code::AlertCode;

    fn sample(t: i64) -> Sample {
        Sample {
            t,
            cpu: 1.5,
            ram: 2.0,
            swap: 0.0,
            disk_root: 50.0,
            disk_data: f32::NAN,
            temp: 40.0,
            load1: 0.5,
            alerts: AlertCode::CpuHigh.history_bit(),
            probe_ms: 12.5,
        }
    }

    #[test]
    fn round_trip_and_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("history.bin");
        for t in 0..5 {
            append(&p, &sample(t)).unwrap();
        }
        let got = read(&p).unwrap();
        assert_eq!(got.len(), 5);
        assert_eq!(got[4].t, 4);
        assert!(got[0].disk_data.is_nan());
        assert_eq!(got[0].alerts, AlertCode::CpuHigh.history_bit());
        // A torn append leaves a partial record: readers skip it, the next append repairs it.
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(&[1, 2, 3]).unwrap();
        assert_eq!(read(&p).unwrap().len(), 5);
        append(&p, &sample(5)).unwrap();
        let got = read(&p).unwrap();
        assert_eq!(got.len(), 6);
        assert_eq!(got[5].t, 5);
    }

    #[test]
    fn a_version_1_file_is_read_and_rewritten_as_version_2() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("history.bin");
        let mut v1 = MAGIC_V1.to_vec();
        for t in 0..3 {
            v1.extend_from_slice(&sample(t).encode()[..RECORD_LEN_V1]);
        }
        v1.extend_from_slice(&[7, 7]);
        std::fs::write(&p, &v1).unwrap();
        let old = read(&p).unwrap();
        assert_eq!(old.len(), 3, "the torn tail is dropped");
        assert_eq!(old[2].t, 2);
        assert_eq!(old[2].alerts, AlertCode::CpuHigh.history_bit());
        assert!(old[2].probe_ms.is_nan(), "version 1 had no probe latency");
        append(&p, &sample(3)).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(&bytes[..8], MAGIC);
        assert_eq!(bytes.len(), 8 + 4 * RECORD_LEN);
        let got = read(&p).unwrap();
        assert_eq!(got.len(), 4);
        assert_eq!(got[3].probe_ms, 12.5);
        assert!(got[0].probe_ms.is_nan());
    }

    #[test]
    fn garbage_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("history.bin");
        std::fs::write(&p, b"garbage!").unwrap();
        append(&p, &sample(9)).unwrap();
        assert_eq!(read(&p).unwrap().len(), 1);
    }

    #[test]
    fn trims_to_bounded_size_keeping_newest() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("history.bin");
        let all: Vec<Sample> = (0..MAX_RECORDS as i64).map(sample).collect();
        rewrite(&p, &all).unwrap();
        append(&p, &sample(MAX_RECORDS as i64)).unwrap();
        let got = read(&p).unwrap();
        assert_eq!(got.len(), KEEP_RECORDS);
        assert_eq!(got.last().unwrap().t, MAX_RECORDS as i64);
        const { assert!(KEEP_RECORDS >= 7 * 24 * 60) };
        assert_eq!(read_since(&p, MAX_RECORDS as i64 - 9).unwrap().len(), 10);
    }
}
