//! Maintenance leases: `$STATE_DIR/lease-<job>.json`, one file per running job
//! (backup, verify, restore, apt upgrade, pip sync, git pull, a unit restart)
//! saying what runs, since when and until when at the latest.
//!
//! A job takes its lease with [`take`] and the guard removes the file when the
//! job ends, however it ends short of `kill -9` or a crash. A lease left behind
//! by a killed job stops counting at its expected end ([`Lease::is_held`]),
//! and one from an earlier boot (a crash mid-backup) never counts: each lease
//! names its boot, so alerts are never held for work that is not running.
//! The bot lists leases with [`read_all`] and decides with
//! `crate::notice::lease` which alerts the work predictably causes.
//!
//! The files live directly in `STATE_DIR` (root's folder that root's jobs
//! already write into), not in a subfolder the `potion` user could create and
//! swap for a symlink: the root-run backup job writes and removes its lease by
//! a name in a folder `potion` cannot replace, writes through `crate::atomic`
//! (exclusive temporary file, then rename, which never follows a planted
//! link) and reads back only through `read_json_if_exists` (no symlinks, size
//! cap).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::HasSchema;
use crate::validate;

/// Where the kernel tells this boot's id (a fresh UUID each boot).
pub const BOOT_ID_PATH: &str = "/proc/sys/kernel/random/boot_id";

/// File names of leases start with this and end in `.json`.
pub const PREFIX: &str = "lease-";

/// At most this many lease files are read; there are seven kinds of job, and
/// one restart lease per unit being restarted at that moment.
pub const MAX_LEASES: usize = 64;

/// The longest a lease may run: a first backup of a large disk takes hours,
/// but no job of ours takes days, and a lease must never hold alerts for long
/// by mistake (or because something running as `potion` planted one).
pub const MAX_SPAN: TimeDelta = TimeDelta::days(2);

/// The job holding a lease.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum Job {
    Backup,
    Verify,
    Restore,
    AptUpgrade,
    PipSync,
    GitPull,
    /// `/svc restart <unit>`; the unit is a checked `.service` name.
    SvcRestart {
        unit: String,
    },
}

impl Job {
    /// A restart of `unit`, checked like every unit name from chat.
    pub fn svc_restart(unit: &str) -> Result<Job> {
        let unit = validate::service_name(unit).map_err(anyhow::Error::msg)?;
        Ok(Job::SvcRestart { unit })
    }

    /// The job's name as the lease file and the notes show it
    /// (`backup`, `apt_upgrade`, `svc_restart`).
    pub fn name(&self) -> &'static str {
        match self {
            Job::Backup => "backup",
            Job::Verify => "verify",
            Job::Restore => "restore",
            Job::AptUpgrade => "apt_upgrade",
            Job::PipSync => "pip_sync",
            Job::GitPull => "git_pull",
            Job::SvcRestart { .. } => "svc_restart",
        }
    }

    /// The unit a restart lease is about.
    pub fn unit(&self) -> Option<&str> {
        match self {
            Job::SvcRestart { unit } => Some(unit),
            _ => None,
        }
    }

    /// `lease-backup.json`, `lease-svc_restart-nginx.service.json`.
    pub fn file_name(&self) -> String {
        match self.unit() {
            Some(unit) => format!("{PREFIX}{}-{unit}.json", self.name()),
            None => format!("{PREFIX}{}.json", self.name()),
        }
    }
}

/// `$STATE_DIR/lease-<job>.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub schema: u32,
    #[serde(flatten)]
    pub job: Job,
    /// The boot the job runs in ([`boot_id`]).
    pub boot_id: String,
    /// When the job started (unix seconds).
    pub since: i64,
    /// When the job will be over at the latest (unix seconds): its timeout.
    pub expected_end: i64,
    /// The process that took the lease; its guard removes only its own file.
    pub pid: u32,
}

impl HasSchema for Lease {
    fn schema(&self) -> u32 {
        self.schema
    }
}

impl Lease {
    /// True while the lease counts: from its start until its expected end,
    /// for a lease no longer than [`MAX_SPAN`].
    pub fn is_held(&self, now: DateTime<Utc>) -> bool {
        let t = now.timestamp();
        self.since <= t
            && t < self.expected_end
            && self.expected_end - self.since <= MAX_SPAN.num_seconds()
    }
}

/// Removes its lease file when dropped, if the file is still its own.
#[derive(Debug)]
#[must_use = "the lease ends when the guard is dropped"]
pub struct LeaseGuard {
    path: PathBuf,
    lease: Lease,
}

impl LeaseGuard {
    /// The lease as written.
    pub fn lease(&self) -> &Lease {
        &self.lease
    }
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        // Another run of the same job may have taken the name since (a second
        // restart of one unit); its lease is not ours to end.
        match super::read_json_if_exists::<Lease>(&self.path) {
            Ok(Some(on_disk)) if on_disk == self.lease => {
                if let Err(e) = std::fs::remove_file(&self.path) {
                    log::warn!("removing {}: {e}", self.path.display());
                }
            }
            Ok(_) => {}
            Err(e) => log::warn!("lease left alone: {e:#}"),
        }
    }
}

/// This boot's id, from [`BOOT_ID_PATH`].
pub fn boot_id() -> Result<String> {
    let raw =
        std::fs::read_to_string(BOOT_ID_PATH).with_context(|| format!("reading {BOOT_ID_PATH}"))?;
    let id = raw.trim();
    if id.len() != 36 || !id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        bail!("{BOOT_ID_PATH} holds {id:?}, not a boot id");
    }
    Ok(id.to_string())
}

/// Takes the lease for `job` in `state_dir` from now until `expected` from
/// now (at least a second, at most [`MAX_SPAN`]), replacing an older lease of
/// the same job.
pub fn take(state_dir: &Path, job: Job, expected: TimeDelta) -> Result<LeaseGuard> {
    let now = Utc::now().timestamp();
    let lease = Lease {
        schema: super::SCHEMA,
        job,
        boot_id: boot_id()?,
        since: now,
        expected_end: now
            + expected
                .clamp(TimeDelta::seconds(1), MAX_SPAN)
                .num_seconds(),
        pid: std::process::id(),
    };
    let path = state_dir.join(lease.job.file_name());
    crate::atomic::write_json(&path, &lease)
        .with_context(|| format!("taking the {} lease", lease.job.name()))?;
    Ok(LeaseGuard { path, lease })
}

/// Every lease of this boot in `state_dir`, oldest first. A file that cannot
/// be read, does not parse, names a bad unit or sits under another job's name
/// is left out with a warning: a broken lease holds nothing. One from an
/// earlier boot is left out quietly: its job died with that boot.
pub fn read_all(state_dir: &Path) -> Result<Vec<Lease>> {
    let boot = boot_id()?;
    let entries =
        std::fs::read_dir(state_dir).with_context(|| format!("listing {}", state_dir.display()))?;
    let mut names = Vec::new();
    for e in entries {
        let e = e.with_context(|| format!("listing {}", state_dir.display()))?;
        let name = e.file_name();
        if let Some(n) = name.to_str()
            && n.starts_with(PREFIX)
            && n.ends_with(".json")
        {
            names.push(n.to_string());
        }
    }
    names.sort();
    names.truncate(MAX_LEASES);
    let mut leases: Vec<Lease> = names
        .iter()
        .filter_map(|n| match read_one(&state_dir.join(n), n) {
            Ok(l) => l.filter(|l| l.boot_id == boot),
            Err(e) => {
                log::warn!("ignoring lease: {e:#}");
                None
            }
        })
        .collect();
    leases.sort_by(|a, b| (a.since, &a.job).cmp(&(b.since, &b.job)));
    Ok(leases)
}

fn read_one(path: &Path, name: &str) -> Result<Option<Lease>> {
    let Some(lease) = super::read_json_if_exists::<Lease>(path)? else {
        return Ok(None);
    };
    if let Some(unit) = lease.job.unit()
        && validate::service_name(unit).ok().as_deref() != Some(unit)
    {
        bail!("{} names the unit {unit:?}", path.display());
    }
    if lease.job.file_name() != name {
        bail!("{} holds a {} lease", path.display(), lease.job.name());
    }
    Ok(Some(lease))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hour() -> TimeDelta {
        TimeDelta::hours(1)
    }

    #[test]
    fn a_lease_is_written_read_back_and_removed_when_the_guard_drops() {
        let dir = tempfile::tempdir().unwrap();
        let before = Utc::now().timestamp();
        let guard = take(dir.path(), Job::Backup, hour()).unwrap();
        let path = dir.path().join("lease-backup.json");
        assert!(path.is_file());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(r#""job": "backup""#), "{text}");
        let all = read_all(dir.path()).unwrap();
        assert_eq!(all, vec![guard.lease().clone()]);
        let l = &all[0];
        assert!(l.since >= before && l.expected_end == l.since + 3600);
        assert_eq!(l.pid, std::process::id());
        drop(guard);
        assert!(!path.exists());
        assert!(read_all(dir.path()).unwrap().is_empty());
    }

    #[test]
    fn a_restart_lease_names_its_checked_unit() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Job::svc_restart("-x").is_err());
        assert!(Job::svc_restart("../x").is_err());
        let job = Job::svc_restart("nginx").unwrap();
        assert_eq!(job.unit(), Some("nginx.service"));
        let g = take(dir.path(), job.clone(), hour()).unwrap();
        assert!(
            dir.path()
                .join("lease-svc_restart-nginx.service.json")
                .is_file()
        );
        let text = std::fs::read_to_string(dir.path().join(job.file_name())).unwrap();
        assert!(text.contains(r#""unit": "nginx.service""#), "{text}");
        assert_eq!(read_all(dir.path()).unwrap()[0].job, job);
        drop(g);
    }

    #[test]
    fn a_guard_does_not_remove_a_newer_lease_of_the_same_job() {
        let dir = tempfile::tempdir().unwrap();
        let first = take(dir.path(), Job::GitPull, hour()).unwrap();
        let second = take(dir.path(), Job::GitPull, TimeDelta::hours(2)).unwrap();
        drop(first);
        assert_eq!(read_all(dir.path()).unwrap(), vec![second.lease().clone()]);
        drop(second);
        assert!(read_all(dir.path()).unwrap().is_empty());
    }

    #[test]
    fn a_lease_holds_from_its_start_until_its_expected_end() {
        let l = Lease {
            schema: 1,
            job: Job::Verify,
            boot_id: "b".into(),
            since: 1000,
            expected_end: 2000,
            pid: 1,
        };
        let at = |s| DateTime::from_timestamp(s, 0).unwrap();
        assert!(!l.is_held(at(999)));
        assert!(l.is_held(at(1000)));
        assert!(l.is_held(at(1999)));
        assert!(!l.is_held(at(2000)), "a killed job's lease stops counting");
        let days = Lease {
            expected_end: 1000 + MAX_SPAN.num_seconds() + 1,
            ..l
        };
        assert!(!days.is_held(at(1500)), "longer than any job of ours");
    }

    #[test]
    fn a_lease_is_taken_for_a_sane_span() {
        let dir = tempfile::tempdir().unwrap();
        let g = take(dir.path(), Job::Restore, TimeDelta::days(30)).unwrap();
        let l = g.lease();
        assert_eq!(l.expected_end - l.since, MAX_SPAN.num_seconds());
        assert!(l.is_held(Utc::now()));
        let g = take(dir.path(), Job::Restore, TimeDelta::seconds(-5)).unwrap();
        assert_eq!(g.lease().expected_end - g.lease().since, 1);
    }

    #[test]
    fn broken_misnamed_and_linked_lease_files_hold_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let good = take(d, Job::AptUpgrade, hour()).unwrap();
        std::fs::write(d.join("lease-pip_sync.json"), "{not json").unwrap();
        // A backup lease under the restore name would hold the wrong codes' note.
        let backup = serde_json::to_string(&Lease {
            job: Job::Backup,
            ..good.lease().clone()
        })
        .unwrap();
        std::fs::write(d.join("lease-restore.json"), &backup).unwrap();
        let bad_unit = backup.replace(
            r#""job":"backup""#,
            r#""job":"svc_restart","unit":"../../etc""#,
        );
        std::fs::write(d.join("lease-svc_restart-..%2F..%2Fetc.json"), bad_unit).unwrap();
        std::fs::write(
            d.join("lease-verify.json"),
            backup.replace(r#""schema":1"#, r#""schema":2"#),
        )
        .unwrap();
        std::os::unix::fs::symlink(
            d.join(good.lease().job.file_name()),
            d.join("lease-backup.json"),
        )
        .unwrap();
        std::fs::write(d.join("other.json"), &backup).unwrap();
        assert_eq!(read_all(d).unwrap(), vec![good.lease().clone()]);
    }

    #[test]
    fn a_lease_from_an_earlier_boot_holds_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let g = take(dir.path(), Job::Backup, hour()).unwrap();
        assert_eq!(g.lease().boot_id, boot_id().unwrap());
        assert_eq!(read_all(dir.path()).unwrap().len(), 1);
        // As if the machine crashed mid-backup and came back.
        let old = Lease {
            boot_id: "00000000-0000-0000-0000-000000000000".into(),
            ..g.lease().clone()
        };
        crate::atomic::write_json(&dir.path().join(old.job.file_name()), &old).unwrap();
        assert!(read_all(dir.path()).unwrap().is_empty());
        drop(g);
        assert!(
            dir.path().join("lease-backup.json").exists(),
            "not the guard's lease"
        );
    }

    #[test]
    fn leases_come_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let mk = |job: Job, since| Lease {
            schema: 1,
            job,
            boot_id: boot_id().unwrap(),
            since,
            expected_end: since + 10,
            pid: 1,
        };
        for l in [
            mk(Job::Backup, 30),
            mk(Job::Verify, 10),
            mk(Job::Restore, 20),
        ] {
            crate::atomic::write_json(&dir.path().join(l.job.file_name()), &l).unwrap();
        }
        let jobs: Vec<_> = read_all(dir.path())
            .unwrap()
            .into_iter()
            .map(|l| l.job)
            .collect();
        assert_eq!(jobs, vec![Job::Verify, Job::Restore, Job::Backup]);
    }
}
