//! The root side of SMART: `potion-health smart`, run by
//! `potion-runner-smart.service`, asks `smartctl -j -a -n standby` about the
//! whole disks behind `/` and `DATA_MOUNT` (a sleeping disk is never woken)
//! at most every `SMART_INTERVAL` minutes, and writes the answers to
//! `smart-readings.json` in `STATE_DIR`.
//!
//! The health job runs as the service user in a sandbox without devices,
//! so it cannot open a disk; this check can, and is kept small because it
//! runs as root. It takes its devices and interval from system settings
//! only, reads no file the service user may write (its own previous
//! answers count only when root owns them), and writes through
//! `atomic`'s folder handle. Baselines and alerts stay with the health job
//! (`smart::apply`), so the bot's `/smart_ack` never touches a root file.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::Roots;
use super::smart::{self, Answer};
use crate::config::Config;
use crate::files::health::{SmartDisk, SmartReadings};
use crate::files::{self, SCHEMA};
use crate::process::Cmd;
use crate::{atomic, paths};

/// How long one `smartctl` call may take.
const TIMEOUT: Duration = Duration::from_secs(60);

/// What a `potion-health smart` run did.
#[derive(Debug, PartialEq)]
pub enum Checked {
    /// The last check is younger than `SMART_INTERVAL` and saw the same
    /// disks: nothing was run or written.
    NotDue,
    /// A check ran and `smart-readings.json` holds its answers.
    Wrote(SmartReadings),
}

/// The whole disks behind `/` and `DATA_MOUNT`, each once.
pub fn devices(cfg: &Config, roots: &Roots) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in [Path::new("/"), cfg.data_mount.as_path()] {
        if let Some(d) = smart::disk_for(p, roots)
            && !out.contains(&d)
        {
            out.push(d);
        }
    }
    out
}

/// `smartctl` on `$PATH` (the unit's own environment, set by systemd), if any.
pub fn find_smartctl() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("smartctl"))
        .find(|p| p.is_file())
}

/// Runs a check of `devices` with `smartctl` when one is due (`interval_min`
/// 0: every run) and writes `smart-readings.json` into `state_dir`.
/// `Err` only when the file cannot be written.
pub fn check(
    smartctl: Option<&Path>,
    devices: &[String],
    interval_min: u64,
    state_dir: &Path,
    now: DateTime<Utc>,
) -> Result<Checked> {
    let path = state_dir.join(paths::SMART_READINGS);
    let prev = own_readings(&path);
    if let Some(prev) = &prev
        && prev.devices == devices
        && !is_due(&prev.checked_at, interval_min, now)
    {
        return Ok(Checked::NotDue);
    }
    // The health job knows a new check by its time: two checks within one
    // second (interval 0, started by hand) must not share it.
    let mut stamp = files::rfc3339(now);
    if prev.is_some_and(|p| p.checked_at == stamp) {
        stamp = files::rfc3339(now + chrono::TimeDelta::seconds(1));
    }
    let mut out = SmartReadings {
        schema: SCHEMA,
        checked_at: stamp.clone(),
        devices: devices.to_vec(),
        ..SmartReadings::default()
    };
    match smartctl {
        None => out.notes.push(
            "smartctl is not installed, so disks are not checked (apt install smartmontools)"
                .into(),
        ),
        Some(smartctl) => {
            for dev in devices {
                ask(smartctl, dev, &stamp, &mut out);
            }
        }
    }
    atomic::ensure_dir(state_dir)?;
    atomic::write_json_with_mode(&path, &out, 0o644)?;
    Ok(Checked::Wrote(out))
}

/// One `smartctl` call; its answer lands in `out`.
fn ask(smartctl: &Path, dev: &str, stamp: &str, out: &mut SmartReadings) {
    let answer = Cmd::new(smartctl)
        .args(["-j", "-a", "-n", "standby", "--", dev])
        .timeout(TIMEOUT)
        .max_output(1 << 20)
        .run()
        .and_then(|o| smart::parse(&o.stdout_lossy(), dev, stamp));
    match answer {
        Ok(Answer::Read(d)) => out.disks.push(d),
        Ok(Answer::Standby) => out.disks.push(SmartDisk {
            device: dev.to_string(),
            checked_at: stamp.to_string(),
            standby: true,
            ..SmartDisk::default()
        }),
        Ok(Answer::Unavailable(why)) => out
            .notes
            .push(format!("SMART is not readable on {dev}: {why}")),
        Err(e) => out.errors.push(format!("{dev}: {e:#}")),
    }
}

/// True when a check at `checked_at` is at least `interval_min` old (or in
/// the future: the clock moved back).
fn is_due(checked_at: &str, interval_min: u64, now: DateTime<Utc>) -> bool {
    files::parse_rfc3339(checked_at).is_none_or(|t| {
        let age = (now - t).num_seconds();
        age < 0 || age >= (interval_min * 60) as i64
    })
}

/// The previous answers, only when this process's user owns the file: in
/// the shared state folder another user could have put a file of that
/// name there first (the sticky bit then keeps it from replacing root's).
fn own_readings(path: &Path) -> Option<SmartReadings> {
    let meta = path.symlink_metadata().ok()?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    if !meta.is_file() || meta.uid() != unsafe { libc::geteuid() } {
        return None;
    }
    files::read_json_if_exists(path).ok().flatten()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn now() -> DateTime<Utc> {
        files::parse_rfc3339("2026-11-25T19:00:00Z").unwrap()
    }

    /// A stand-in `smartctl` that prints a fixture for any device.
    fn fake_smartctl(dir: &Path, fixture: &str) -> PathBuf {
        let json = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/health/smart")
            .join(fixture);
        let p = dir.join("smartctl");
        std::fs::write(
            &p,
            format!("#!/bin/sh\nexec /bin/cat '{}'\n", json.display()),
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    #[test]
    fn no_smartctl_is_one_note_and_the_interval_holds() {
        let dir = tempfile::tempdir().unwrap();
        let devices = vec!["/dev/sda".to_string()];
        let Checked::Wrote(r) = check(None, &devices, 60, dir.path(), now()).unwrap() else {
            panic!("the first run is due")
        };
        assert_eq!(r.notes.len(), 1);
        assert!(r.notes[0].contains("smartctl is not installed"));
        assert!(r.errors.is_empty() && r.disks.is_empty());
        let later = now() + chrono::TimeDelta::minutes(59);
        assert_eq!(
            check(None, &devices, 60, dir.path(), later).unwrap(),
            Checked::NotDue
        );
        // Another disk behind DATA_MOUNT is checked at once.
        let two = vec!["/dev/sda".to_string(), "/dev/sdb".to_string()];
        assert!(matches!(
            check(None, &two, 60, dir.path(), later).unwrap(),
            Checked::Wrote(_)
        ));
        // Interval 0: every run, and two checks within one second still
        // get different times.
        let Checked::Wrote(again) = check(None, &two, 0, dir.path(), later).unwrap() else {
            panic!()
        };
        assert_eq!(again.checked_at, "2026-11-25T19:59:01Z");
        // The clock went back: due.
        assert!(is_due(
            "2026-11-25T19:00:00Z",
            60,
            now() - chrono::TimeDelta::minutes(5)
        ));
    }

    #[test]
    fn answers_are_written_without_baselines() {
        let dir = tempfile::tempdir().unwrap();
        let bin = tempfile::tempdir().unwrap();
        let devices = vec!["/dev/sda".to_string()];
        let ata = fake_smartctl(bin.path(), "ata-grown.json");
        let Checked::Wrote(r) = check(Some(&ata), &devices, 60, dir.path(), now()).unwrap() else {
            panic!()
        };
        assert_eq!(r.disks.len(), 1);
        assert_eq!(r.disks[0].counters["pending_sectors"], 2);
        assert!(
            r.disks[0].baseline.is_empty(),
            "baselines are the health job's"
        );
        let on_disk: SmartReadings =
            files::read_json(&dir.path().join(paths::SMART_READINGS)).unwrap();
        assert_eq!(on_disk, r);

        let asleep = fake_smartctl(bin.path(), "standby.json");
        let Checked::Wrote(r) = check(Some(&asleep), &devices, 0, dir.path(), now()).unwrap()
        else {
            panic!()
        };
        assert!(r.disks[0].standby && r.disks[0].counters.is_empty());

        let virtio = fake_smartctl(bin.path(), "virtio.json");
        let Checked::Wrote(r) = check(Some(&virtio), &devices, 0, dir.path(), now()).unwrap()
        else {
            panic!()
        };
        assert!(r.disks.is_empty());
        assert!(
            r.notes[0].starts_with("SMART is not readable on /dev/sda"),
            "{:?}",
            r.notes
        );
    }

    #[test]
    fn a_file_of_another_user_does_not_count_as_a_check() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("SKIPPED: needs root to own a file as another user");
            assert!(
                std::env::var_os("CI").is_none(),
                "CI runs the tests as root"
            );
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let devices = vec!["/dev/sda".to_string()];
        let planted = SmartReadings {
            schema: SCHEMA,
            checked_at: files::rfc3339(now()),
            devices: devices.clone(),
            ..SmartReadings::default()
        };
        let path = dir.path().join(paths::SMART_READINGS);
        atomic::write_json(&path, &planted).unwrap();
        std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
        let r = check(None, &devices, 60, dir.path(), now()).unwrap();
        assert!(matches!(r, Checked::Wrote(_)), "{r:?}");
        assert_eq!(
            path.symlink_metadata().unwrap().uid(),
            0,
            "root's file replaced it"
        );
        assert_eq!(
            check(None, &devices, 60, dir.path(), now()).unwrap(),
            Checked::NotDue
        );
    }
}
