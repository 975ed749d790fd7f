//! SMART of the disks behind `/` and `DATA_MOUNT`: `smartctl -j -a -n standby`
//! at most every `SMART_INTERVAL` minutes (a sleeping disk is never woken),
//! the first answer of a disk as its baseline, and `DISK_SMART:<disk>` when
//! the overall status fails, a watched counter grows over its baseline, or
//! an NVMe drive reports 90 % of its rated life used.
//!
//! `smartctl` is the job's only child process and runs only when a check is
//! due; the readings and baselines live in `smart-state.json` between checks.

#[cfg(test)]
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::Roots;
use crate::alert_code::AlertCode;
use crate::alerts::{Check, Reading};
use crate::files::health::{SmartDisk, SmartState};
use crate::files::{self, SCHEMA};
use crate::process::Cmd;
use crate::{atomic, paths};

/// ATA attributes whose raw count must not grow: reallocated, reported
/// uncorrectable, command timeouts, pending, offline uncorrectable, CRC errors.
const ATA_WATCHED: &[(u64, &str)] = &[
    (5, "reallocated_sectors"),
    (187, "reported_uncorrectable"),
    (188, "command_timeout"),
    (197, "pending_sectors"),
    (198, "offline_uncorrectable"),
    (199, "udma_crc_errors"),
];
const MEDIA_ERRORS: &str = "media_errors";
/// NVMe `percentage_used` at which the drive counts as worn out.
const NVME_WORN: u64 = 90;

/// What one `smartctl` call said about a disk.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Values read (baseline and problems not yet filled in).
    Read(SmartDisk),
    /// The disk was asleep and was left asleep.
    Standby,
    /// smartctl could not read this device (no SMART, no permission); the reason.
    Unavailable(String),
}

/// Parses `smartctl -j -a` output for `device` (ATA and NVMe).
pub fn parse(json: &str, device: &str, checked_at: &str) -> Result<Answer> {
    let v: Value = serde_json::from_str(json)?;
    let messages: Vec<&str> = v["smartctl"]["messages"]
        .as_array()
        .map(|m| m.iter().filter_map(|x| x["string"].as_str()).collect())
        .unwrap_or_default();
    if messages
        .iter()
        .any(|m| m.contains("in STANDBY mode") || m.contains("in SLEEP mode"))
    {
        return Ok(Answer::Standby);
    }
    let exit = v["smartctl"]["exit_status"].as_u64().unwrap_or(0);
    // Bits 0 and 1: the command line or opening the device failed; nothing was read.
    if exit & 0b11 != 0 || v.get("device").is_none() {
        let why = messages.first().copied().unwrap_or("no SMART data");
        return Ok(Answer::Unavailable(why.to_string()));
    }
    let text = |k: &str| v[k].as_str().map(|s| s.trim().to_string());
    let mut d = SmartDisk {
        device: device.to_string(),
        model: text("model_name"),
        serial: text("serial_number"),
        checked_at: checked_at.to_string(),
        passed: v["smart_status"]["passed"].as_bool(),
        power_on_hours: v["power_on_time"]["hours"].as_u64(),
        temperature_c: v["temperature"]["current"].as_f64(),
        ..SmartDisk::default()
    };
    if let Some(table) = v["ata_smart_attributes"]["table"].as_array() {
        for attr in table {
            let id = attr["id"].as_u64();
            if let Some((_, name)) = ATA_WATCHED.iter().find(|(i, _)| Some(*i) == id) {
                if let Some(raw) = attr["raw"]["value"].as_u64() {
                    d.counters.insert(name.to_string(), raw);
                }
            }
        }
    }
    let nvme = &v["nvme_smart_health_information_log"];
    if nvme.is_object() {
        if let Some(n) = nvme[MEDIA_ERRORS].as_u64() {
            d.counters.insert(MEDIA_ERRORS.to_string(), n);
        }
        d.percentage_used = nvme["percentage_used"].as_u64();
    }
    if d.passed.is_none() && d.counters.is_empty() {
        bail!("smartctl gave neither a health status nor counters");
    }
    Ok(Answer::Read(d))
}

/// The disk's entry after this answer: a new reading keeps the earlier
/// baseline (the first reading is the baseline; a counter first seen now
/// starts its own); standby keeps the earlier reading, marked so.
pub fn merge(prev: Option<&SmartDisk>, device: &str, answer: Answer) -> Option<SmartDisk> {
    let mut d = match answer {
        Answer::Read(d) => d,
        Answer::Standby => {
            let mut d = prev.cloned().unwrap_or_else(|| SmartDisk {
                device: device.to_string(),
                ..SmartDisk::default()
            });
            d.standby = true;
            return Some(d);
        }
        Answer::Unavailable(_) => return None,
    };
    let mut baseline = prev.map(|p| p.baseline.clone()).unwrap_or_default();
    // A different disk in the same slot starts afresh.
    if prev.is_some_and(|p| p.serial != d.serial) {
        baseline.clear();
    }
    for (k, v) in &d.counters {
        baseline.entry(k.clone()).or_insert(*v);
    }
    d.baseline = baseline;
    d.problems = problems(&d);
    Some(d)
}

/// Why `DISK_SMART` fires for this disk, one short line each.
pub fn problems(d: &SmartDisk) -> Vec<String> {
    let mut out = Vec::new();
    if d.passed == Some(false) {
        out.push("overall health check FAILED".to_string());
    }
    for (k, v) in &d.counters {
        let base = d.baseline.get(k).copied().unwrap_or(*v);
        if *v > base {
            out.push(format!("{k} grew from {base} to {v}"));
        }
    }
    if let Some(p) = d.percentage_used.filter(|p| *p >= NVME_WORN) {
        out.push(format!("{p}% of rated life used"));
    }
    out
}

/// Accepts the disk's current counts as its baseline (`/smart_ack`); false
/// when there is no such disk.
pub fn accept(state: &mut SmartState, device: &str) -> bool {
    let Some(d) = state.disks.iter_mut().find(|d| d.device == device) else {
        return false;
    };
    d.baseline = d.counters.clone();
    d.problems = problems(d);
    true
}

/// `DISK_SMART:<disk>` for each disk; a disk never read yet is no reading.
pub fn readings(disks: &[SmartDisk]) -> Vec<Reading> {
    disks
        .iter()
        .map(|d| Reading {
            code: AlertCode::DiskSmart.with(d.device.trim_start_matches("/dev/")),
            check: Check::Flag {
                bad: (d.passed.is_some() || !d.counters.is_empty())
                    .then_some(!d.problems.is_empty()),
                confirm: 1,
                value: None,
                threshold: None,
            },
        })
        .collect()
}

/// The whole disk (`/dev/sda`) holding the file system at `path`: its
/// device number leads to `/sys/dev/block/MAJ:MIN`, a partition to its
/// parent, a device-mapper volume (LVM, LUKS) to the disk beneath it.
pub fn disk_for(path: &Path, roots: &Roots) -> Option<String> {
    let dev = std::fs::metadata(path).ok()?.dev();
    let node = roots.sys.join(format!(
        "dev/block/{}:{}",
        libc::major(dev),
        libc::minor(dev)
    ));
    let mut at = std::fs::canonicalize(node).ok()?;
    for _ in 0..8 {
        if at.join("partition").exists() {
            at = at.parent()?.to_path_buf();
        }
        let slave = std::fs::read_dir(at.join("slaves"))
            .ok()
            .and_then(|mut s| s.next())
            .and_then(|e| e.ok());
        match slave {
            Some(e) => at = std::fs::canonicalize(e.path()).ok()?,
            None => return Some(format!("/dev/{}", at.file_name()?.to_string_lossy())),
        }
    }
    None
}

/// `smartctl` on `$PATH` (the job's own `PATH`, never a chat value), if any.
pub fn find_smartctl() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("smartctl"))
        .find(|p| p.is_file())
}

/// This run's SMART picture: the cached one, or a fresh check when due
/// (`interval_min` 0 = every run). Notes and errors go to the report.
pub struct Outcome {
    pub disks: Vec<SmartDisk>,
    pub notes: Vec<String>,
    pub errors: Vec<String>,
}

/// Runs a check with `smartctl` (`find_smartctl`) when due, keeping
/// `smart-state.json` in `state_dir`.
pub fn check(
    smartctl: Option<&Path>,
    devices: &[String],
    interval_min: u64,
    state_dir: &Path,
    now: DateTime<Utc>,
) -> Outcome {
    let mut out = Outcome {
        disks: Vec::new(),
        notes: Vec::new(),
        errors: Vec::new(),
    };
    let path = state_dir.join(paths::SMART_STATE);
    let prev = match files::read_json_if_exists::<SmartState>(&path) {
        Ok(s) => s.unwrap_or_default(),
        Err(e) => {
            out.notes.push(format!(
                "SMART state was unreadable and starts afresh ({e:#})"
            ));
            SmartState::default()
        }
    };
    let due = prev
        .checked_at
        .as_deref()
        .and_then(files::parse_rfc3339)
        .is_none_or(|t| {
            let age = (now - t).num_seconds();
            age < 0 || age >= (interval_min * 60) as i64
        });
    if !due || devices.is_empty() {
        out.disks = prev.disks;
        out.disks.retain(|d| devices.contains(&d.device));
        return out;
    }
    let Some(smartctl) = smartctl else {
        out.notes.push(
            "smartctl is not installed, so disks are not checked (apt install smartmontools)"
                .into(),
        );
        return out;
    };
    let stamp = files::rfc3339(now);
    for dev in devices {
        let prev_disk = prev.disks.iter().find(|d| &d.device == dev);
        let answer = Cmd::new(smartctl)
            .args(["-j", "-a", "-n", "standby", "--", dev])
            .timeout(Duration::from_secs(30))
            .max_output(1 << 20)
            .run()
            .and_then(|o| parse(&o.stdout_lossy(), dev, &stamp));
        match answer {
            Ok(Answer::Unavailable(why)) => out
                .notes
                .push(format!("SMART is not readable on {dev}: {why}")),
            Ok(a) => out.disks.extend(merge(prev_disk, dev, a)),
            Err(e) => {
                out.errors.push(format!("smart {dev}: {e:#}"));
                out.disks.extend(prev_disk.cloned());
            }
        }
    }
    let state = SmartState {
        schema: SCHEMA,
        checked_at: Some(stamp),
        disks: out.disks.clone(),
    };
    if let Err(e) = atomic::write_json(&path, &state) {
        out.errors.push(format!("smart: {e:#}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/health/smart")
            .join(name);
        std::fs::read_to_string(p).unwrap()
    }

    fn read(name: &str, dev: &str) -> Answer {
        parse(&fixture(name), dev, "2026-11-25T19:00:00Z").unwrap()
    }

    fn codes_bad(disks: &[SmartDisk]) -> Vec<(String, Option<bool>)> {
        readings(disks)
            .into_iter()
            .map(|r| match r.check {
                Check::Flag { bad, .. } => (r.code, bad),
                Check::Level { .. } => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn ata_first_reading_is_the_baseline_and_growth_fires() {
        let Answer::Read(first) = read("ata.json", "/dev/sda") else {
            panic!()
        };
        assert_eq!(first.model.as_deref(), Some("ST500LM021-1KJ152"));
        assert_eq!(
            (first.power_on_hours, first.temperature_c),
            (Some(33712), Some(37.0))
        );
        assert_eq!(first.counters.len(), 6, "{:?}", first.counters);
        assert_eq!(
            first.counters["command_timeout"], 4_295_032_833,
            "the raw value, packed as smartctl gives it"
        );
        let first = merge(None, "/dev/sda", Answer::Read(first)).unwrap();
        assert_eq!(first.baseline, first.counters);
        assert!(first.problems.is_empty());
        assert_eq!(
            codes_bad(std::slice::from_ref(&first)),
            [("DISK_SMART:sda".to_string(), Some(false))]
        );

        let grown = merge(Some(&first), "/dev/sda", read("ata-grown.json", "/dev/sda")).unwrap();
        assert_eq!(
            grown.baseline["reallocated_sectors"], 0,
            "the baseline stays"
        );
        assert_eq!(
            grown.problems,
            [
                "pending_sectors grew from 0 to 2",
                "reallocated_sectors grew from 0 to 8"
            ]
        );
        assert_eq!(codes_bad(std::slice::from_ref(&grown))[0].1, Some(true));

        // The owner accepts the counts: quiet again until they grow further.
        let mut state = SmartState {
            disks: vec![grown],
            ..SmartState::default()
        };
        assert!(accept(&mut state, "/dev/sda"));
        assert!(!accept(&mut state, "/dev/sdb"));
        assert!(state.disks[0].problems.is_empty());
        let again = merge(
            state.disks.first(),
            "/dev/sda",
            read("ata-grown.json", "/dev/sda"),
        )
        .unwrap();
        assert!(again.problems.is_empty(), "{:?}", again.problems);

        let failing = merge(
            Some(&again),
            "/dev/sda",
            read("ata-failing.json", "/dev/sda"),
        )
        .unwrap();
        assert_eq!(failing.problems[0], "overall health check FAILED");
    }

    #[test]
    fn nvme_media_errors_and_wear() {
        let first = merge(None, "/dev/nvme0n1", read("nvme.json", "/dev/nvme0n1")).unwrap();
        assert_eq!(
            first.counters,
            BTreeMap::from([("media_errors".to_string(), 0)])
        );
        assert_eq!(first.percentage_used, Some(3));
        assert!(first.problems.is_empty());
        let worn = merge(
            Some(&first),
            "/dev/nvme0n1",
            read("nvme-worn.json", "/dev/nvme0n1"),
        )
        .unwrap();
        assert_eq!(
            worn.problems,
            ["media_errors grew from 0 to 2", "91% of rated life used"]
        );
        assert_eq!(codes_bad(&[worn])[0].0, "DISK_SMART:nvme0n1");
    }

    #[test]
    fn standby_keeps_the_last_reading_and_other_disks_start_afresh() {
        assert_eq!(read("standby.json", "/dev/sda"), Answer::Standby);
        let grown = merge(None, "/dev/sda", read("ata.json", "/dev/sda")).unwrap();
        let asleep = merge(Some(&grown), "/dev/sda", Answer::Standby).unwrap();
        assert!(asleep.standby);
        assert_eq!(asleep.counters, grown.counters);
        let never = merge(None, "/dev/sdb", Answer::Standby).unwrap();
        assert_eq!(
            codes_bad(&[never])[0].1,
            None,
            "nothing known yet: no reading"
        );
        // A swapped disk (other serial) gets its own baseline.
        let mut old = grown.clone();
        old.serial = Some("OTHER".into());
        old.baseline.insert("reallocated_sectors".into(), 0);
        let grown_disk = merge(Some(&old), "/dev/sda", read("ata-grown.json", "/dev/sda")).unwrap();
        assert!(grown_disk.problems.is_empty(), "{:?}", grown_disk.problems);
    }

    #[test]
    fn unreadable_devices_and_garbage() {
        match read("virtio.json", "/dev/vda") {
            Answer::Unavailable(why) => {
                assert!(why.contains("Unable to detect device type"), "{why}")
            }
            other => panic!("{other:?}"),
        }
        assert!(parse("not json", "/dev/sda", "x").is_err());
        assert!(
            parse(
                r#"{"device":{"name":"/dev/sda"},"smartctl":{"exit_status":0}}"#,
                "/dev/sda",
                "x"
            )
            .is_err()
        );
    }

    #[test]
    fn check_without_smartctl_is_one_note_and_respects_the_interval() {
        let dir = tempfile::tempdir().unwrap();
        let now = files::parse_rfc3339("2026-11-25T19:00:00Z").unwrap();
        let devices = vec!["/dev/sda".to_string()];
        // A fresh cached check: smartctl is not needed at all.
        let cached = SmartState {
            schema: SCHEMA,
            checked_at: Some("2026-11-25T18:30:00Z".into()),
            disks: vec![merge(None, "/dev/sda", read("ata.json", "/dev/sda")).unwrap()],
        };
        atomic::write_json(&dir.path().join(paths::SMART_STATE), &cached).unwrap();
        let out = check(None, &devices, 60, dir.path(), now);
        assert_eq!(out.disks, cached.disks);
        assert!(out.notes.is_empty() && out.errors.is_empty());
        // A disk no longer behind / or DATA_MOUNT drops out.
        assert!(
            check(None, &["/dev/sdb".to_string()], 60, dir.path(), now)
                .disks
                .is_empty()
        );
        // Due (interval 0 = every run), and no smartctl: one note, no error.
        let out = check(None, &devices, 0, dir.path(), now);
        assert_eq!(out.notes.len(), 1);
        assert!(out.notes[0].contains("smartctl is not installed"));
        assert!(out.errors.is_empty());
    }

    #[test]
    fn root_file_system_maps_to_a_whole_disk() {
        // The machine running the tests has a block device under / (or an
        // overlay, which has none): whatever it is, it is a /dev name, not a partition.
        if let Some(d) = disk_for(Path::new("/"), &Roots::system()) {
            let name = d.trim_start_matches("/dev/");
            assert!(Path::new("/sys/block").join(name).exists(), "{d}");
        }
    }
}
