//! Alert evaluation: pure functions from one run's readings and
//! the trackers of earlier runs to the next trackers and the alerts that fire.
//!
//! Measured levels (CPU, RAM, disks, temperature) fire after
//! `ALERT_CONSECUTIVE` bad samples in a row and clear only once the value
//! drops below `threshold − ALERT_HYSTERESIS`, so a value hovering at the line
//! does not flap. Facts read from files or the mount table (data disk missing,
//! backup stale or failed) fire on the first sample: they are not noisy.
//! A service that is not active fires after `ALERT_CONSECUTIVE` samples too,
//! so a restart caught half-way is not reported. `since` is the start of the
//! bad streak and survives across runs while the alert lasts.

use std::collections::BTreeMap;

use crate::alert_code::AlertCode;
use crate::config::Config;
use crate::files::health::{Alert, HealthReport, Tracker};

/// What one run saw for one alert.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// A measured level: bad at or above `threshold`. `None` means no reading
    /// this run (first run, no sensor, no disk): the tracker stays as it was.
    Level { value: Option<f64>, threshold: f64 },
    /// A yes/no condition that needs `confirm` bad samples in a row to fire
    /// and clears on the first good one. `bad: None` means unknown this run
    /// (the probe failed): the tracker stays as it was.
    Flag {
        bad: Option<bool>,
        confirm: u32,
        value: Option<f64>,
        threshold: Option<f64>,
    },
}

/// One alert code and what this run saw for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub code: String,
    pub check: Check,
}

/// How levels turn into alerts (`ALERT_CONSECUTIVE`, `ALERT_HYSTERESIS`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rules {
    pub consecutive: u32,
    pub hysteresis: f64,
}

impl Rules {
    pub fn from_config(cfg: &Config) -> Rules {
        Rules {
            consecutive: cfg.alert_consecutive.max(1),
            hysteresis: cfg.alert_hysteresis,
        }
    }
}

/// Advances one tracker by one sample.
pub fn step(prev: &Tracker, check: &Check, rules: &Rules, now: &str) -> Tracker {
    let bad_again = |confirm: u32| {
        let streak = prev.streak.saturating_add(1);
        Tracker {
            streak,
            active: prev.active || streak >= confirm.max(1),
            since: Some(prev.since.clone().unwrap_or_else(|| now.to_string())),
        }
    };
    match *check {
        Check::Level { value: None, .. } | Check::Flag { bad: None, .. } => prev.clone(),
        Check::Level {
            value: Some(v),
            threshold,
        } => {
            // Once firing, the bar to stay bad drops by the hysteresis.
            if v >= threshold || (prev.active && v >= threshold - rules.hysteresis) {
                bad_again(rules.consecutive)
            } else {
                Tracker::default()
            }
        }
        Check::Flag {
            bad: Some(true),
            confirm,
            ..
        } => bad_again(confirm),
        Check::Flag {
            bad: Some(false), ..
        } => Tracker::default(),
    }
}

/// The trackers to keep and the alerts firing after one run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Evaluation {
    /// Only trackers with something to remember (a streak or an active alert).
    pub trackers: BTreeMap<String, Tracker>,
    /// Firing alerts, in the order of the readings.
    pub alerts: Vec<Alert>,
}

/// Steps every reading's tracker. Trackers whose code is no longer read (a
/// unit removed from `SERVICES`) are dropped.
pub fn evaluate(
    prev: &BTreeMap<String, Tracker>,
    readings: &[Reading],
    rules: &Rules,
    now: &str,
) -> Evaluation {
    let mut out = Evaluation::default();
    let empty = Tracker::default();
    for r in readings {
        let next = step(prev.get(&r.code).unwrap_or(&empty), &r.check, rules, now);
        if next.active {
            let (value, threshold) = match r.check {
                Check::Level { value, threshold } => (value, Some(threshold)),
                Check::Flag {
                    value, threshold, ..
                } => (value, threshold),
            };
            out.alerts.push(Alert {
                code: r.code.clone(),
                since: next.since.clone().unwrap_or_else(|| now.to_string()),
                value,
                threshold,
            });
        }
        if next != Tracker::default() {
            out.trackers.insert(r.code.clone(), next);
        }
    }
    out
}

/// Whether a systemd ActiveState counts as up. `reloading` is a running
/// service re-reading its config; `unknown` is this job's marker for a failed
/// probe and is handled as "no reading".
fn service_up(active: &str) -> Option<bool> {
    match active {
        "unknown" => None,
        "active" | "reloading" => Some(true),
        _ => Some(false),
    }
}

/// Turns a collected report into the readings for every alert this job owns.
pub fn readings(report: &HealthReport, cfg: &Config) -> Vec<Reading> {
    let t = &cfg.thresholds;
    let level = |code: AlertCode, value: Option<f64>, threshold: f64| Reading {
        code: code.as_str().to_string(),
        check: Check::Level { value, threshold },
    };
    let disk = |name: &str| report.disks.iter().find(|d| d.name == name);
    let root = disk("root").filter(|d| d.present).map(|d| d.percent);
    let data = disk("data");
    let mut out = vec![
        level(AlertCode::CpuHigh, report.cpu.percent, t.cpu),
        level(
            AlertCode::RamHigh,
            (report.memory.total_bytes > 0).then_some(report.memory.percent),
            t.ram,
        ),
        level(AlertCode::DiskRootHigh, root, t.disk),
        level(
            AlertCode::DiskDataHigh,
            data.filter(|d| d.present).map(|d| d.percent),
            t.disk_data,
        ),
        Reading {
            code: AlertCode::DataDiskMissing.as_str().to_string(),
            check: Check::Flag {
                bad: data.map(|d| !d.present),
                confirm: 1,
                value: None,
                threshold: None,
            },
        },
        level(AlertCode::TempHigh, report.temperature_c, t.temp),
    ];
    for s in &report.services {
        out.push(Reading {
            code: AlertCode::ServiceDown.with(&s.unit),
            check: Check::Flag {
                bad: service_up(&s.active).map(|up| !up),
                confirm: cfg.alert_consecutive,
                value: None,
                threshold: None,
            },
        });
    }
    let b = &report.backup;
    let known = b.last_status != "unknown";
    out.push(Reading {
        code: AlertCode::BackupStale.as_str().to_string(),
        check: Check::Flag {
            bad: known.then(|| b.age_h.is_some_and(|a| a > cfg.backup_max_age_h)),
            confirm: 1,
            value: b.age_h,
            threshold: Some(cfg.backup_max_age_h),
        },
    });
    out.push(Reading {
        code: AlertCode::BackupFailed.as_str().to_string(),
        check: Check::Flag {
            bad: known.then(|| b.last_status == "failed"),
            confirm: 1,
            value: None,
            threshold: None,
        },
    });
    out.push(Reading {
        code: AlertCode::BackupVerifyFailed.as_str().to_string(),
        check: Check::Flag {
            bad: b.verify_status.as_ref().map(|s| s == "failed"),
            confirm: 1,
            value: None,
            threshold: None,
        },
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: Rules = Rules {
        consecutive: 3,
        hysteresis: 5.0,
    };

    fn cpu(v: f64) -> Vec<Reading> {
        vec![Reading {
            code: AlertCode::CpuHigh.as_str().into(),
            check: Check::Level {
                value: Some(v),
                threshold: 90.0,
            },
        }]
    }

    /// Runs a sequence of CPU values through `evaluate`, minute by minute,
    /// returning the alerts after each sample.
    fn run(values: &[f64]) -> Vec<Vec<Alert>> {
        let mut trackers = BTreeMap::new();
        let mut out = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let now = format!("2026-11-25T19:{i:02}:00Z");
            let e = evaluate(&trackers, &cpu(*v), &RULES, &now);
            trackers = e.trackers;
            out.push(e.alerts);
        }
        out
    }

    #[test]
    fn fires_after_exactly_consecutive_bad_samples() {
        let got = run(&[95.0, 95.0, 95.0, 96.0]);
        assert!(got[0].is_empty());
        assert!(got[1].is_empty());
        assert_eq!(got[2].len(), 1, "third bad sample fires");
        assert_eq!(got[2][0].code, AlertCode::CpuHigh.as_str());
        assert_eq!(got[2][0].value, Some(95.0));
        assert_eq!(got[2][0].threshold, Some(90.0));
        assert_eq!(got[3].len(), 1);
    }

    #[test]
    fn a_good_sample_resets_the_streak() {
        let got = run(&[95.0, 95.0, 50.0, 95.0, 95.0]);
        assert!(got.iter().all(Vec::is_empty), "{got:?}");
    }

    #[test]
    fn threshold_itself_counts_as_bad() {
        let got = run(&[90.0, 90.0, 90.0]);
        assert_eq!(got[2].len(), 1);
    }

    #[test]
    fn clears_only_below_threshold_minus_hysteresis() {
        // Fires at minute 2; 86 and 85 are within the hysteresis band (>= 85) and keep it.
        let got = run(&[95.0, 95.0, 95.0, 86.0, 85.0, 84.9, 86.0]);
        assert_eq!(got[2].len(), 1);
        assert_eq!(got[3].len(), 1, "86 is inside the band");
        assert_eq!(got[4].len(), 1, "85 is exactly threshold - hysteresis");
        assert!(got[5].is_empty(), "84.9 clears");
        assert!(
            got[6].is_empty(),
            "86 after clearing is below the threshold"
        );
    }

    #[test]
    fn since_is_the_start_of_the_streak_and_is_preserved() {
        let got = run(&[50.0, 95.0, 95.0, 95.0, 88.0, 99.0]);
        for alerts in &got[3..] {
            assert_eq!(alerts[0].since, "2026-11-25T19:01:00Z");
        }
        assert_eq!(got[5][0].value, Some(99.0));
    }

    #[test]
    fn since_survives_a_state_round_trip() {
        let mut trackers = BTreeMap::new();
        for i in 0..3 {
            let now = format!("2026-11-25T19:0{i}:00Z");
            trackers = evaluate(&trackers, &cpu(95.0), &RULES, &now).trackers;
        }
        let json = serde_json::to_string(&trackers).unwrap();
        let back: BTreeMap<String, Tracker> = serde_json::from_str(&json).unwrap();
        let e = evaluate(&back, &cpu(93.0), &RULES, "2026-11-25T19:05:00Z");
        assert_eq!(e.alerts[0].since, "2026-11-25T19:00:00Z");
    }

    #[test]
    fn missing_reading_keeps_the_tracker() {
        let prev = Tracker {
            streak: 4,
            active: true,
            since: Some("x".into()),
        };
        let none = Check::Level {
            value: None,
            threshold: 90.0,
        };
        assert_eq!(step(&prev, &none, &RULES, "y"), prev);
        let unknown = Check::Flag {
            bad: None,
            confirm: 1,
            value: None,
            threshold: None,
        };
        assert_eq!(step(&prev, &unknown, &RULES, "y"), prev);
    }

    #[test]
    fn flags_fire_after_confirm_and_clear_at_once() {
        let flag = |bad| Check::Flag {
            bad: Some(bad),
            confirm: 2,
            value: None,
            threshold: None,
        };
        let t1 = step(&Tracker::default(), &flag(true), &RULES, "a");
        assert!(!t1.active);
        let t2 = step(&t1, &flag(true), &RULES, "b");
        assert!(t2.active);
        assert_eq!(t2.since.as_deref(), Some("a"));
        assert_eq!(step(&t2, &flag(false), &RULES, "c"), Tracker::default());
    }

    #[test]
    fn removed_codes_are_dropped_and_quiet_ones_not_stored() {
        let mut prev = BTreeMap::new();
        prev.insert(
            AlertCode::ServiceDown.with("gone.service"),
            Tracker {
                streak: 9,
                active: true,
                since: Some("x".into()),
            },
        );
        let e = evaluate(&prev, &cpu(10.0), &RULES, "now");
        assert!(e.trackers.is_empty());
        assert!(e.alerts.is_empty());
    }
}
