//! SMART of the disks behind `/` and `DATA_MOUNT`: parsing `smartctl -j -a`
//! (run as root by `smartctl.rs`), the first answer of a disk as its
//! baseline, and `DISK_SMART:<disk>` when the overall status fails, a
//! watched counter grows over its baseline, or an NVMe drive reports 90 %
//! of its rated life used.
//!
//! The health job runs no `smartctl`: it merges root's answers
//! (`smart-readings.json`) into the readings and baselines it keeps in
//! `smart-state.json`, which the bot's `/smart_ack` may change. Both
//! writers hold [`locked`] while they read, change and write it, so an
//! acknowledgement and a merge never overwrite each other.

#[cfg(test)]
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use anyhow::{Result, bail};
use serde_json::Value;

use super::Roots;
use crate::alert_code::AlertCode;
use crate::alerts::{Check, Reading};
use crate::files::health::{SmartDisk, SmartReadings, SmartState};
use crate::files::{self, SCHEMA};
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
/// The lock file in `STATE_DIR` held around every change of `smart-state.json`.
pub const LOCK: &str = "smart-state.lock";

/// Runs `f` holding the exclusive `flock` on `STATE_DIR/smart-state.lock`
/// (made 0600 if absent, never through a symlink). The health job's merge
/// and the bot's `/smart_ack` both take it, each only for a read, a change
/// and an atomic write; it is released when `f` returns.
pub fn locked<R>(state_dir: &Path, f: impl FnOnce() -> R) -> std::io::Result<R> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(state_dir.join(LOCK))?;
    loop {
        // SAFETY: flock(2) on a descriptor this function owns; closing it
        // when `file` drops releases the lock.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    let r = f();
    drop(file);
    Ok(r)
}

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

/// This run's SMART picture, with the notes and errors for the report.
pub struct Outcome {
    pub disks: Vec<SmartDisk>,
    pub notes: Vec<String>,
    pub errors: Vec<String>,
}

/// Brings root's latest answers (`smart-readings.json`, see `smartctl`)
/// into `smart-state.json` when they are new: each disk's reading merged
/// with its baseline. The health job runs no `smartctl` itself.
pub fn apply(state_dir: &Path) -> Outcome {
    let mut out = Outcome {
        disks: Vec::new(),
        notes: Vec::new(),
        errors: Vec::new(),
    };
    let readings =
        match files::read_json_if_exists::<SmartReadings>(&state_dir.join(paths::SMART_READINGS)) {
            Ok(Some(r)) => r,
            Ok(None) => {
                out.notes.push(format!(
                    "SMART has not been checked yet ({} runs smartctl as root)",
                    paths::SMART_TIMER
                ));
                return out;
            }
            Err(e) => {
                out.errors.push(format!("smart: {e:#}"));
                return out;
            }
        };
    match locked(state_dir, || {
        merge_into_state(state_dir, readings, &mut out)
    }) {
        Ok(()) => {}
        Err(e) => out.errors.push(format!("smart: {LOCK}: {e}")),
    }
    out
}

/// Merges `readings` into `smart-state.json` (under [`locked`]).
fn merge_into_state(state_dir: &Path, readings: SmartReadings, out: &mut Outcome) {
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
    out.notes.extend(readings.notes);
    out.errors
        .extend(readings.errors.iter().map(|e| format!("smart {e}")));
    if prev.checked_at.as_deref() == Some(readings.checked_at.as_str()) {
        out.disks = prev.disks;
        out.disks.retain(|d| readings.devices.contains(&d.device));
        return;
    }
    // A disk without an answer this time (no smartctl, an error) keeps its
    // last reading and baseline rather than losing them.
    out.disks = readings
        .devices
        .iter()
        .filter_map(|dev| {
            let before = prev.disks.iter().find(|p| &p.device == dev);
            match readings.disks.iter().find(|d| &d.device == dev) {
                Some(d) if d.standby => merge(before, dev, Answer::Standby),
                Some(d) => merge(before, dev, Answer::Read(d.clone())),
                None => before.cloned(),
            }
        })
        .collect();
    let state = SmartState {
        schema: SCHEMA,
        checked_at: Some(readings.checked_at),
        disks: out.disks.clone(),
    };
    if let Err(e) = atomic::write_json(&path, &state) {
        out.errors.push(format!("smart: {e:#}"));
    }
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

    fn write_readings(dir: &Path, checked_at: &str, disks: Vec<SmartDisk>, notes: &[&str]) {
        let r = SmartReadings {
            schema: SCHEMA,
            checked_at: checked_at.into(),
            devices: vec!["/dev/sda".into()],
            disks,
            notes: notes.iter().map(|n| n.to_string()).collect(),
            errors: Vec::new(),
        };
        atomic::write_json(&dir.join(paths::SMART_READINGS), &r).unwrap();
    }

    fn answer(name: &str) -> SmartDisk {
        match read(name, "/dev/sda") {
            Answer::Read(d) => d,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn apply_merges_roots_answers_with_the_kept_baselines() {
        let dir = tempfile::tempdir().unwrap();
        // No check has run yet: one note, nothing else.
        let out = apply(dir.path());
        assert!(out.disks.is_empty() && out.errors.is_empty());
        assert_eq!(out.notes.len(), 1);
        assert!(
            out.notes[0].contains("not been checked yet"),
            "{:?}",
            out.notes
        );

        write_readings(
            dir.path(),
            "2026-11-25T18:00:00Z",
            vec![answer("ata.json")],
            &[],
        );
        let first = apply(dir.path());
        assert_eq!(
            first.disks[0].baseline, first.disks[0].counters,
            "first reading is the baseline"
        );
        assert!(first.notes.is_empty() && first.errors.is_empty());

        write_readings(
            dir.path(),
            "2026-11-25T19:00:00Z",
            vec![answer("ata-grown.json")],
            &[],
        );
        let grown = apply(dir.path());
        assert_eq!(
            grown.disks[0].problems.len(),
            2,
            "{:?}",
            grown.disks[0].problems
        );
        // The same answers again (no new check): the kept state, not a second merge.
        assert_eq!(apply(dir.path()).disks, grown.disks);

        // The owner accepts the counts (the bot's /smart_ack edits smart-state.json).
        let state_path = dir.path().join(paths::SMART_STATE);
        let mut state: SmartState = files::read_json(&state_path).unwrap();
        assert!(accept(&mut state, "/dev/sda"));
        atomic::write_json(&state_path, &state).unwrap();
        assert!(apply(dir.path()).disks[0].problems.is_empty());

        // Asleep at the next check: the last reading stays, marked.
        let asleep = SmartDisk {
            device: "/dev/sda".into(),
            checked_at: "2026-11-25T20:00:00Z".into(),
            standby: true,
            ..SmartDisk::default()
        };
        write_readings(
            dir.path(),
            "2026-11-25T20:00:00Z",
            vec![asleep],
            &["a note"],
        );
        let out = apply(dir.path());
        assert!(out.disks[0].standby);
        assert_eq!(out.disks[0].counters["pending_sectors"], 2);
        assert!(out.disks[0].problems.is_empty());
        assert_eq!(out.notes, ["a note"]);

        // A broken readings file is an error line, never a panic.
        std::fs::write(dir.path().join(paths::SMART_READINGS), "{").unwrap();
        let out = apply(dir.path());
        assert!(out.errors[0].starts_with("smart: "), "{:?}", out.errors);
    }

    #[test]
    fn the_lock_keeps_a_second_writer_waiting() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Barrier};
        let dir = tempfile::tempdir().unwrap();
        let inside = Arc::new(AtomicBool::new(false));
        let started = Arc::new(Barrier::new(2));
        let other = std::thread::spawn({
            let (dir, inside, started) = (dir.path().to_owned(), inside.clone(), started.clone());
            move || {
                started.wait();
                // Blocks until the first holder is done, then sees its change.
                locked(&dir, || inside.load(Ordering::SeqCst)).unwrap()
            }
        });
        locked(dir.path(), || {
            started.wait();
            std::thread::sleep(std::time::Duration::from_millis(200));
            inside.store(true, Ordering::SeqCst);
        })
        .unwrap();
        assert!(
            other.join().unwrap(),
            "the second writer ran before the first let go"
        );
        // A symlink planted as the lock file is not followed.
        let planted = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/etc/passwd", planted.path().join(LOCK)).unwrap();
        assert!(locked(planted.path(), || ()).is_err());
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
