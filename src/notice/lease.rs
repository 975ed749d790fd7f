//! Our own work causes alerts: while a maintenance lease
//! (`crate::files::lease`) is held, the firings that job predictably causes
//! are held back. `CPU_HIGH`, `RAM_HIGH` and `TEMP_HIGH` for a backup, verify,
//! restore, `apt upgrade`, `pip_sync` or `git_pull`; `SERVICE_DOWN:<unit>` for
//! a restart of that unit. Critical codes are never held.
//!
//! A held firing that clears is dropped without a word (and so is its
//! clearing). One still on [`AFTER`] the lease ended is released, and the bot
//! sends it with the note "during/after <job>".

use chrono::{DateTime, TimeDelta, Utc};

use super::at;
use super::quiet::Critical;
use crate::alert_code::AlertCode;
use crate::files::lease::{Job, Lease};
use crate::files::notice::LeaseHold;

/// How long after its lease ends a held alert must still be on to be sent.
pub const AFTER: TimeDelta = TimeDelta::minutes(2);

/// The load a backup, verify, restore or update predictably drives up. The
/// health job measures no I/O pressure yet; its code belongs here once it does.
const LOAD: &[AlertCode] = &[AlertCode::CpuHigh, AlertCode::RamHigh, AlertCode::TempHigh];

/// True when `job` predictably causes `code`.
pub fn causes(job: &Job, code: &str) -> bool {
    match job {
        Job::SvcRestart { unit } => code == AlertCode::ServiceDown.with(unit),
        Job::Backup
        | Job::Verify
        | Job::Restore
        | Job::AptUpgrade
        | Job::PipSync
        | Job::GitPull => AlertCode::split(code).is_some_and(|(c, _)| LOAD.contains(&c)),
    }
}

/// On a firing of `code` at `when`: holds it when a lease held at `now` covers
/// it and it is not critical. True when held (send nothing now).
pub fn hold_fired(
    held: &mut Vec<LeaseHold>,
    code: &str,
    when: DateTime<Utc>,
    critical: &Critical,
    leases: &[Lease],
    now: DateTime<Utc>,
) -> bool {
    if critical.is_critical(code) {
        return false;
    }
    if held.iter().any(|h| h.code == code) {
        return true;
    }
    let Some(lease) = leases
        .iter()
        .find(|l| l.is_held(now) && causes(&l.job, code))
    else {
        return false;
    };
    held.push(LeaseHold {
        code: code.to_string(),
        fired_at: when.timestamp(),
        job: lease.job.clone(),
        ended_at: None,
    });
    true
}

/// On a clearing of `code`: true when its firing was held, so neither is sent.
pub fn drop_cleared(held: &mut Vec<LeaseHold>, code: &str) -> bool {
    let before = held.len();
    held.retain(|h| h.code != code);
    held.len() != before
}

/// A held firing that outlived its job: send it with the note "during/after `job`".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Released {
    pub code: String,
    pub fired_at: DateTime<Utc>,
    pub job: Job,
}

/// The bot's periodic check: notes when each hold's lease stopped being held
/// (file gone or past its expected end), and releases the holds whose lease
/// ended at least [`AFTER`] ago. Every hold left is still on: clearings took
/// theirs away.
pub fn release(held: &mut Vec<LeaseHold>, leases: &[Lease], now: DateTime<Utc>) -> Vec<Released> {
    for h in held.iter_mut().filter(|h| h.ended_at.is_none()) {
        if !leases.iter().any(|l| l.job == h.job && l.is_held(now)) {
            h.ended_at = Some(now.timestamp());
        }
    }
    let mut out = Vec::new();
    held.retain(|h| match h.ended_at {
        Some(end) if at(end) + AFTER <= now => {
            out.push(Released {
                code: h.code.clone(),
                fired_at: at(h.fired_at),
                job: h.job.clone(),
            });
            false
        }
        _ => true,
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CPU_HIGH: &str = AlertCode::CpuHigh.as_str();
    const DISK_ROOT_HIGH: &str = AlertCode::DiskRootHigh.as_str();
    const RAM_HIGH: &str = AlertCode::RamHigh.as_str();

    fn m(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + minutes * 60, 0).unwrap()
    }

    fn lease(job: Job, from: i64, to: i64) -> Lease {
        Lease {
            schema: 1,
            boot_id: "b".into(),
            job,
            since: m(from).timestamp(),
            expected_end: m(to).timestamp(),
            pid: 1,
        }
    }

    fn nginx() -> Job {
        Job::svc_restart("nginx").unwrap()
    }

    #[test]
    fn each_job_holds_only_what_it_causes() {
        for job in [
            Job::Backup,
            Job::Verify,
            Job::Restore,
            Job::AptUpgrade,
            Job::PipSync,
            Job::GitPull,
        ] {
            for code in LOAD {
                assert!(causes(&job, code.as_str()), "{job:?} {code}");
            }
            assert!(!causes(&job, DISK_ROOT_HIGH));
            assert!(!causes(&job, &AlertCode::ServiceDown.with("nginx.service")));
        }
        assert!(causes(
            &nginx(),
            &AlertCode::ServiceDown.with("nginx.service")
        ));
        assert!(!causes(
            &nginx(),
            &AlertCode::ServiceDown.with("ollama.service")
        ));
        assert!(!causes(&nginx(), CPU_HIGH));
    }

    #[test]
    fn a_backup_holds_cpu_that_clears_and_sends_cpu_that_outlives_it() {
        let crit = Critical::default();
        let leases = vec![lease(Job::Backup, 0, 60)];
        let mut held = Vec::new();

        // Fires and clears during the backup: nothing is ever sent.
        assert!(hold_fired(&mut held, CPU_HIGH, m(5), &crit, &leases, m(5)));
        assert!(
            hold_fired(&mut held, CPU_HIGH, m(6), &crit, &leases, m(6)),
            "held once"
        );
        assert_eq!(held.len(), 1);
        assert!(release(&mut held, &leases, m(10)).is_empty());
        assert!(drop_cleared(&mut held, CPU_HIGH));
        assert!(held.is_empty());

        // Fires again and is still on after the backup: sent 2 minutes after it ended.
        assert!(hold_fired(
            &mut held,
            CPU_HIGH,
            m(30),
            &crit,
            &leases,
            m(30)
        ));
        assert!(release(&mut held, &leases, m(59)).is_empty());
        let gone: Vec<Lease> = Vec::new();
        assert!(
            release(&mut held, &gone, m(61)).is_empty(),
            "lease just ended"
        );
        assert_eq!(held[0].ended_at, Some(m(61).timestamp()));
        assert!(release(&mut held, &gone, m(63) - TimeDelta::seconds(1)).is_empty());
        assert_eq!(
            release(&mut held, &gone, m(63)),
            vec![Released {
                code: CPU_HIGH.into(),
                fired_at: m(30),
                job: Job::Backup,
            }]
        );
        assert!(held.is_empty());
        assert!(
            !drop_cleared(&mut held, CPU_HIGH),
            "its clearing is sent as usual"
        );
    }

    #[test]
    fn a_lease_past_its_expected_end_holds_nothing_and_ends_holds() {
        let crit = Critical::default();
        let stale = vec![lease(Job::Backup, 0, 60)];
        let mut held = Vec::new();
        assert!(!hold_fired(
            &mut held,
            CPU_HIGH,
            m(60),
            &crit,
            &stale,
            m(60)
        ));
        assert!(hold_fired(&mut held, RAM_HIGH, m(59), &crit, &stale, m(59)));
        assert!(release(&mut held, &stale, m(60)).is_empty());
        assert_eq!(release(&mut held, &stale, m(62)).len(), 1);
    }

    #[test]
    fn critical_codes_and_other_jobs_codes_are_never_held() {
        let crit = Critical::parse("RAM_HIGH,SERVICE_DOWN:ollama").unwrap();
        let leases = vec![
            lease(Job::AptUpgrade, 0, 60),
            lease(nginx(), 0, 60),
            lease(Job::svc_restart("ollama").unwrap(), 0, 60),
        ];
        let mut held = Vec::new();
        let mut go = |code: &str| hold_fired(&mut held, code, m(1), &crit, &leases, m(1));
        assert!(!go(RAM_HIGH), "critical");
        assert!(
            !go(&AlertCode::ServiceDown.with("ollama.service")),
            "critical"
        );
        assert!(!go(DISK_ROOT_HIGH), "not caused by any job");
        assert!(
            !go(&AlertCode::ServiceDown.with("redis.service")),
            "not the unit restarted"
        );
        assert!(go(CPU_HIGH));
        assert!(go(&AlertCode::ServiceDown.with("nginx.service")));
        assert_eq!(
            held.iter().map(|h| &h.job).collect::<Vec<_>>(),
            vec![&Job::AptUpgrade, &nginx()]
        );
    }

    #[test]
    fn a_hold_waits_for_its_own_job_not_for_another() {
        let crit = Critical::default();
        let both = vec![lease(Job::Backup, 0, 60), lease(nginx(), 0, 60)];
        let mut held = Vec::new();
        hold_fired(
            &mut held,
            &AlertCode::ServiceDown.with("nginx.service"),
            m(1),
            &crit,
            &both,
            m(1),
        );
        // The restart is over while the backup still runs.
        let backup_only = vec![lease(Job::Backup, 0, 60)];
        assert!(release(&mut held, &backup_only, m(2)).is_empty());
        let out = release(&mut held, &backup_only, m(4));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].job, nginx());
    }
}
