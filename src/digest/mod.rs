//! The daily digest: a summary of the last day computed from values the bot
//! already holds (sample history, backup files, uptime), and the decision
//! whether it is due; `render.rs` turns it into text. Pure: no files, no clock.

use chrono::{DateTime, NaiveTime, TimeZone};

use crate::alert_code::AlertCode;
use crate::chart::alert_spans;
use crate::files::backup::{BackupOutcome, SnapshotIndex, VerifySummary};
use crate::files::bot::PendingUpdates;
use crate::files::health::Warning;
use crate::history::Sample;
use crate::metric::Metric;
use crate::validate::HhMm;

mod render;

/// The window "alerts of the day" looks at.
pub const DAY_S: i64 = 86_400;
/// The window the disk trend is fitted over.
pub const TREND_WINDOW_S: i64 = 7 * DAY_S;
/// Less history than this gives no trend: a few hours of noise say nothing about weeks.
pub const TREND_MIN_SPAN_S: i64 = DAY_S;
pub use render::{DigestTexts, duration, render_text};

/// A pending-updates count older than this is not shown: the lists have moved on.
pub const PENDING_MAX_AGE_S: i64 = 7 * DAY_S;

/// What the digest is computed from; everything the bot has read already.
#[derive(Debug, Clone, Copy)]
pub struct DigestInput<'a> {
    /// Unix seconds.
    pub now: i64,
    /// Host name from `last_health.json`, for the title.
    pub host: Option<&'a str>,
    /// Sample history, oldest first; the last 7 days are used.
    pub samples: &'a [Sample],
    pub uptime_s: Option<u64>,
    /// `last_backup.json`.
    pub backup: Option<&'a BackupOutcome>,
    /// `backups.json`, for the latest verify.
    pub snapshots: Option<&'a SnapshotIndex>,
    /// Packages waiting for `apt upgrade`, when known.
    pub pending_updates: Option<u32>,
    /// Standing warnings from `last_health.json`.
    pub warnings: &'a [Warning],
}

/// The digest's facts, ready to render.
#[derive(Debug, Clone, PartialEq)]
pub struct Digest {
    pub now: i64,
    pub host: Option<String>,
    pub uptime_s: Option<u64>,
    /// Alerts active at some point in the last 24 h, plus muted ones the bot adds.
    pub alerts: Vec<AlertOfDay>,
    pub backup: Option<BackupOutcome>,
    pub verify: Option<VerifySummary>,
    /// Root disk first, then the data disk when it has any data.
    pub disks: Vec<DiskTrend>,
    pub pending_updates: Option<u32>,
    pub warnings: Vec<Warning>,
}

/// One alert kind over the last 24 h.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertOfDay {
    /// Alert code (`SERVICE_DOWN` without a unit: the history does not keep it).
    pub code: String,
    /// How many times it started within the window (1 if it was already active at its start).
    pub times: u32,
    /// Seconds it was active within the window.
    pub active_s: i64,
    /// Still active at the newest sample.
    pub active_now: bool,
    /// Muted with `/alert_disable` (the bot knows; the history does not).
    pub muted: bool,
}

/// Which disk a trend is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disk {
    Root,
    Data,
}

impl Disk {
    /// This disk's fill percent in one sample (NaN when missing).
    pub fn value(self, s: &Sample) -> f32 {
        match self {
            Disk::Root => s.disk_root,
            Disk::Data => s.disk_data,
        }
    }
}

/// Fill trend of one disk.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DiskTrend {
    pub disk: Disk,
    /// The newest finite value.
    pub percent: f64,
    pub growth: Growth,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Growth {
    /// Less than [`TREND_MIN_SPAN_S`] of history.
    NotEnoughData,
    /// Least-squares slope at or below zero.
    NotGrowing,
    Growing {
        percent_per_day: f64,
        /// At this pace, from the newest value to 100 %.
        days_until_full: f64,
    },
}

/// Computes the digest. The bot then marks muted alerts with [`Digest::add_muted`].
pub fn compute(input: &DigestInput<'_>) -> Digest {
    let now = input.now;
    let disks = [Disk::Root, Disk::Data]
        .into_iter()
        .filter_map(|disk| {
            let values = input
                .samples
                .iter()
                .map(|s| (s.t, f64::from(disk.value(s))));
            disk_trend(disk, values, now)
        })
        .collect();
    Digest {
        now,
        host: input.host.map(str::to_string),
        uptime_s: input.uptime_s,
        alerts: alerts_of_day(input.samples, now),
        backup: input.backup.cloned(),
        verify: input.snapshots.and_then(|i| i.last_verify.clone()),
        disks,
        pending_updates: input.pending_updates,
        warnings: input.warnings.to_vec(),
    }
}

impl Digest {
    /// Records that `code` is muted; adds it when the history did not show it active.
    /// `SERVICE_DOWN:unit` folds into `SERVICE_DOWN`, as the history does.
    pub fn add_muted(&mut self, code: &str) {
        let code = code.split(':').next().unwrap_or(code);
        match self.alerts.iter_mut().find(|a| a.code == code) {
            Some(a) => a.muted = true,
            None => self.alerts.push(AlertOfDay {
                code: code.to_string(),
                times: 0,
                active_s: 0,
                active_now: false,
                muted: true,
            }),
        }
    }
}

impl Digest {
    /// The metric for the digest's 24 h chart: the one whose alert was active
    /// longest today, else CPU.
    pub fn chart_metric(&self) -> Metric {
        self.alerts
            .iter()
            .filter(|a| a.active_s > 0)
            .filter_map(|a| {
                let metric = AlertCode::family_of(&a.code).and_then(AlertCode::metric);
                metric.map(|m| (a.active_s, m))
            })
            .max_by_key(|(s, _)| *s)
            .map_or(Metric::Cpu, |(_, m)| m)
    }
}

/// Alert kinds active at some point in the 24 h before `now`.
pub fn alerts_of_day(samples: &[Sample], now: i64) -> Vec<AlertOfDay> {
    let from = now - DAY_S;
    let day: &[Sample] = {
        let start = samples.partition_point(|s| s.t < from);
        let end = samples.partition_point(|s| s.t <= now);
        &samples[start..end.max(start)]
    };
    AlertCode::ALL
        .into_iter()
        .filter(|c| c.history_bit() != 0)
        .filter_map(|c| {
            let (bit, code) = (c.history_bit(), c.as_str());
            let on = |s: &Sample| s.alerts & bit != 0;
            let mut times = 0;
            let mut was_on = false;
            for s in day {
                if on(s) && !was_on {
                    times += 1;
                }
                was_on = on(s);
            }
            (times > 0).then(|| AlertOfDay {
                code: code.to_string(),
                times,
                active_s: alert_spans(day, bit, from, now)
                    .iter()
                    .map(|(a, b)| b - a)
                    .sum(),
                active_now: day.last().is_some_and(on),
                muted: false,
            })
        })
        .collect()
}

/// Least-squares fill trend over the [`TREND_WINDOW_S`] before `now`. Non-finite
/// values are skipped and gaps need no care: the fit uses each sample's own
/// time. `None` when the disk has no finite value at all (no data disk).
pub fn disk_trend(
    disk: Disk,
    values: impl IntoIterator<Item = (i64, f64)>,
    now: i64,
) -> Option<DiskTrend> {
    let from = now - TREND_WINDOW_S;
    let points: Vec<(i64, f64)> = values
        .into_iter()
        .filter(|(t, v)| *t >= from && *t <= now && v.is_finite())
        .collect();
    let (first, last) = (points.first()?, points.last()?);
    let percent = last.1;
    let growth = match slope_per_day(&points) {
        _ if last.0 - first.0 < TREND_MIN_SPAN_S => Growth::NotEnoughData,
        None => Growth::NotEnoughData,
        Some(s) if s <= 0.0 => Growth::NotGrowing,
        Some(s) => Growth::Growing {
            percent_per_day: s,
            days_until_full: ((100.0 - percent) / s).max(0.0),
        },
    };
    Some(DiskTrend {
        disk,
        percent,
        growth,
    })
}

/// Slope of the least-squares line through `(t, v)`, in units per day.
fn slope_per_day(points: &[(i64, f64)]) -> Option<f64> {
    let t0 = points.first()?.0;
    let n = points.len() as f64;
    // Days since the first point keep the sums small and exact enough in f64.
    let x = |t: i64| (t - t0) as f64 / DAY_S as f64;
    let mean_x = points.iter().map(|p| x(p.0)).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for &(t, v) in points {
        let dx = x(t) - mean_x;
        sxy += dx * (v - mean_y);
        sxx += dx * dx;
    }
    (sxx > 0.0).then(|| sxy / sxx)
}

/// Whether the digest should go out now: once `DIGEST_TIME` has passed today
/// (local time in `now`'s zone) and nothing was sent yet today. A bot that was
/// down at that time catches up once when it comes back the same day; a day it
/// missed entirely is not sent late the next morning.
pub fn is_due<Tz: TimeZone>(at: HhMm, now: &DateTime<Tz>, last_sent: Option<i64>) -> bool {
    let local = now.naive_local();
    if local.time() < slot(at) {
        return false;
    }
    match last_sent.and_then(|t| DateTime::from_timestamp(t, 0)) {
        None => true,
        Some(sent) => sent.with_timezone(&now.timezone()).date_naive() < local.date(),
    }
}

/// Seconds from `now` until the next `DIGEST_TIME` (today's if still ahead, else tomorrow's),
/// for the bot's sleep; at least 1.
pub fn seconds_until_next<Tz: TimeZone>(at: HhMm, now: &DateTime<Tz>) -> i64 {
    let local = now.naive_local();
    let today = local.date().and_time(slot(at));
    let next = if today > local {
        today
    } else {
        today + chrono::Duration::days(1)
    };
    (next - local).num_seconds().max(1)
}

fn slot(at: HhMm) -> NaiveTime {
    NaiveTime::from_hms_opt(at.hour.into(), at.minute.into(), 0).unwrap_or(NaiveTime::MIN)
}

/// The pending-updates count the digest may show at `now`: the recorded one
/// when it was measured at most [`PENDING_MAX_AGE_S`] ago, else unknown (also
/// for a time ahead of `now`, whose age cannot be told after a clock change).
pub fn fresh_pending(recorded: Option<PendingUpdates>, now: i64) -> Option<u32> {
    let p = recorded?;
    (0..=PENDING_MAX_AGE_S)
        .contains(&(now - p.checked_at))
        .then_some(p.count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bot::i18n::texts;
    use crate::config::Lang;
    use chrono::FixedOffset;

    /// 2026-11-25 12:00:00 UTC.
    const NOW: i64 = 1_795_608_000;

    #[test]
    fn a_pending_count_is_shown_for_seven_days_then_unknown() {
        let at = |count, checked_at| Some(PendingUpdates { count, checked_at });
        assert_eq!(fresh_pending(None, NOW), None);
        assert_eq!(fresh_pending(at(5, NOW), NOW), Some(5));
        assert_eq!(fresh_pending(at(0, NOW - 3600), NOW), Some(0));
        assert_eq!(fresh_pending(at(5, NOW - PENDING_MAX_AGE_S), NOW), Some(5));
        assert_eq!(fresh_pending(at(5, NOW - PENDING_MAX_AGE_S - 1), NOW), None);
        assert_eq!(fresh_pending(at(5, NOW + 60), NOW), None, "from the future");
    }

    fn sample(t: i64) -> Sample {
        Sample {
            t,
            cpu: 10.0,
            ram: 40.0,
            swap: 0.0,
            disk_root: 50.0,
            disk_data: f32::NAN,
            temp: 50.0,
            load1: 0.3,
            alerts: 0,
            probe_ms: f32::NAN,
        }
    }

    /// One sample a minute over the `days` before `NOW`.
    fn minutes(days: i64) -> Vec<Sample> {
        (0..days * 1440)
            .map(|i| sample(NOW - days * DAY_S + i * 60))
            .collect()
    }

    fn growing(t: &DiskTrend) -> (f64, f64) {
        match t.growth {
            Growth::Growing {
                percent_per_day,
                days_until_full,
            } => (percent_per_day, days_until_full),
            other => panic!("expected growth, got {other:?}"),
        }
    }

    fn root_trend(samples: &[Sample]) -> Option<DiskTrend> {
        let values = samples.iter().map(|s| (s.t, f64::from(s.disk_root)));
        disk_trend(Disk::Root, values, NOW)
    }

    #[test]
    fn trend_slope_and_days_until_full() {
        // 40 % a week ago, half a percent a day since.
        let series: Vec<(i64, f64)> = (0..7 * 1440)
            .map(|i| {
                let t = NOW - 7 * DAY_S + i * 60;
                (
                    t,
                    40.0 + 0.5 * (t - (NOW - 7 * DAY_S)) as f64 / DAY_S as f64,
                )
            })
            .collect();
        let trend = disk_trend(Disk::Root, series.clone(), NOW).unwrap();
        let (slope, days) = growing(&trend);
        assert!((slope - 0.5).abs() < 1e-9, "slope {slope}");
        let last = series.last().unwrap().1;
        assert!((trend.percent - last).abs() < 1e-9);
        assert!((days - (100.0 - last) / 0.5).abs() < 1e-6, "{days}");
        assert!((112.0..114.0).contains(&days));

        // Falling and flat disks are not growing; a full one is full now.
        let falling = series.iter().map(|&(t, v)| (t, 100.0 - v));
        let t = disk_trend(Disk::Data, falling, NOW).unwrap();
        assert_eq!(t.growth, Growth::NotGrowing);
        let flat = series.iter().map(|&(t, _)| (t, 70.0));
        assert_eq!(
            disk_trend(Disk::Root, flat, NOW).unwrap().growth,
            Growth::NotGrowing
        );
        let over = series.iter().map(|&(t, v)| (t, v + 70.0));
        assert_eq!(growing(&disk_trend(Disk::Root, over, NOW).unwrap()).1, 0.0);
    }

    #[test]
    fn trend_survives_gaps_nan_and_noise() {
        let mut samples = minutes(7);
        for s in &mut samples {
            let day = (s.t - (NOW - 7 * DAY_S)) as f32 / DAY_S as f32;
            // Half a percent a day, with a sawtooth of ±1 % on top.
            s.disk_root = 40.0 + 0.5 * day + ((s.t / 60) % 5) as f32 * 0.5 - 1.0;
        }
        // The laptop was off for two days; every third sample lost its disk value.
        samples.retain(|s| !(NOW - 5 * DAY_S..NOW - 3 * DAY_S).contains(&s.t));
        for s in samples.iter_mut().step_by(3) {
            s.disk_root = f32::NAN;
        }
        // An infinity must not poison the fit either.
        samples[10].disk_root = f32::INFINITY;
        let (slope, days) = growing(&root_trend(&samples).unwrap());
        assert!((slope - 0.5).abs() < 0.01, "slope {slope}");
        assert!((100.0..125.0).contains(&days), "{days}");
        // The data disk was never there: no line for it.
        let values = samples.iter().map(|s| (s.t, f64::from(s.disk_data)));
        assert_eq!(disk_trend(Disk::Data, values, NOW), None);
    }

    #[test]
    fn trend_needs_a_day_and_ignores_older_history() {
        let recent: Vec<Sample> = minutes(7).split_off(7 * 1440 - 6 * 60);
        assert_eq!(root_trend(&recent).unwrap().growth, Growth::NotEnoughData);
        assert_eq!(
            root_trend(&[sample(NOW)]).unwrap().growth,
            Growth::NotEnoughData
        );
        assert_eq!(root_trend(&[]), None);
        // Two weeks ago the disk was nearly full, then cleaned up: only the last 7 days count.
        let mut samples = minutes(14);
        for s in samples.iter_mut().filter(|s| s.t < NOW - 8 * DAY_S) {
            s.disk_root = 95.0;
        }
        assert_eq!(root_trend(&samples).unwrap().growth, Growth::NotGrowing);
    }

    #[test]
    fn alerts_of_the_day() {
        let mut samples = minutes(2);
        let at = |t: i64| ((t - (NOW - 2 * DAY_S)) / 60) as usize;
        // Yesterday's CPU alert is outside the window.
        for s in &mut samples[at(NOW - 30 * 3600)..at(NOW - 29 * 3600)] {
            s.alerts |= AlertCode::CpuHigh.history_bit();
        }
        // Today: CPU high twice (30 and 15 minutes), RAM high for the last 10 minutes.
        for range in [
            at(NOW - 10 * 3600)..at(NOW - 10 * 3600 + 1800),
            at(NOW - 3600)..at(NOW - 3600 + 900),
        ] {
            for s in &mut samples[range] {
                s.alerts |= AlertCode::CpuHigh.history_bit();
            }
        }
        let n = samples.len();
        for s in &mut samples[n - 10..] {
            s.alerts |= AlertCode::RamHigh.history_bit();
        }
        let alerts = alerts_of_day(&samples, NOW);
        assert_eq!(alerts.len(), 2, "{alerts:?}");
        let cpu = &alerts[0];
        assert_eq!(
            (cpu.code.as_str(), cpu.times, cpu.active_s, cpu.active_now),
            ("CPU_HIGH", 2, 45 * 60, false)
        );
        let ram = &alerts[1];
        assert_eq!(
            (ram.code.as_str(), ram.times, ram.active_s, ram.active_now),
            ("RAM_HIGH", 1, 10 * 60, true)
        );

        let mut d = compute(&input(&samples));
        d.add_muted("SERVICE_DOWN:ollama.service");
        d.add_muted("CPU_HIGH");
        assert!(d.alerts[0].muted && !d.alerts[1].muted);
        assert_eq!(d.alerts[2].code, "SERVICE_DOWN");
        assert!(d.alerts[2].muted && d.alerts[2].times == 0);
        assert!(alerts_of_day(&[], NOW).is_empty());
        // CPU was high for 45 minutes, RAM for 10: the digest charts CPU.
        assert_eq!(d.chart_metric(), Metric::Cpu);
        d.alerts[1].active_s = 3600;
        assert_eq!(d.chart_metric(), Metric::Ram);
        assert_eq!(compute(&input(&[])).chart_metric(), Metric::Cpu);
    }

    fn wib(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<FixedOffset> {
        FixedOffset::east_opt(7 * 3600)
            .unwrap()
            .with_ymd_and_hms(y, mo, d, h, mi, 0)
            .unwrap()
    }

    #[test]
    fn due_once_a_day_with_catch_up() {
        let at = HhMm { hour: 7, minute: 0 };
        let yesterday = Some(wib(2026, 11, 24, 7, 0).timestamp());
        assert!(!is_due(at, &wib(2026, 11, 25, 6, 59), yesterday));
        assert!(is_due(at, &wib(2026, 11, 25, 7, 0), yesterday));
        assert!(is_due(at, &wib(2026, 11, 25, 7, 0), None));
        let sent = Some(wib(2026, 11, 25, 7, 0).timestamp());
        assert!(!is_due(at, &wib(2026, 11, 25, 7, 1), sent));
        assert!(!is_due(at, &wib(2026, 11, 25, 23, 59), sent));
        // The bot was down at 07:00: it catches up once that evening, then waits for tomorrow.
        assert!(is_due(at, &wib(2026, 11, 25, 21, 0), yesterday));
        let caught_up = Some(wib(2026, 11, 25, 21, 0).timestamp());
        assert!(!is_due(at, &wib(2026, 11, 25, 22, 0), caught_up));
        assert!(!is_due(at, &wib(2026, 11, 26, 6, 59), caught_up));
        assert!(is_due(at, &wib(2026, 11, 26, 7, 0), caught_up));
        // A day missed entirely is not sent the next morning before its time.
        let two_days_ago = Some(wib(2026, 11, 23, 7, 0).timestamp());
        assert!(!is_due(at, &wib(2026, 11, 25, 6, 0), two_days_ago));
        // Moving DIGEST_TIME later after today's digest does not send a second one.
        let later = HhMm { hour: 9, minute: 0 };
        assert!(!is_due(later, &wib(2026, 11, 25, 9, 0), sent));
    }

    #[test]
    fn due_across_midnight_in_local_time() {
        let late = HhMm {
            hour: 23,
            minute: 59,
        };
        let sent = Some(wib(2026, 11, 24, 23, 59).timestamp());
        assert!(!is_due(late, &wib(2026, 11, 25, 0, 1), sent));
        assert!(!is_due(late, &wib(2026, 11, 25, 23, 58), sent));
        assert!(is_due(late, &wib(2026, 11, 25, 23, 59), sent));
        let midnight = HhMm { hour: 0, minute: 0 };
        let sent = Some(wib(2026, 11, 24, 0, 0).timestamp());
        assert!(is_due(midnight, &wib(2026, 11, 25, 0, 0), sent));
        // 06:00 WIB is 23:00 UTC the day before: "today" must be the local day.
        let six = HhMm { hour: 6, minute: 0 };
        let sent = Some(wib(2026, 11, 25, 6, 0).timestamp());
        assert!(!is_due(six, &wib(2026, 11, 25, 8, 0), sent));

        assert_eq!(seconds_until_next(six, &wib(2026, 11, 25, 5, 30)), 1800);
        assert_eq!(seconds_until_next(six, &wib(2026, 11, 25, 6, 0)), DAY_S);
        assert_eq!(
            seconds_until_next(late, &wib(2026, 11, 26, 0, 1)),
            DAY_S - 120
        );
    }

    fn input(samples: &[Sample]) -> DigestInput<'_> {
        DigestInput {
            now: NOW,
            host: Some("x450l"),
            samples,
            uptime_s: Some(3 * 86_400 + 4 * 3600 + 120),
            backup: None,
            snapshots: None,
            pending_updates: None,
            warnings: &[],
        }
    }

    fn outcome(status: &str) -> BackupOutcome {
        BackupOutcome {
            schema: 1,
            id: Some("20261125T023000Z".into()),
            status: status.into(),
            started_at: "2026-11-25T02:30:00Z".into(),
            finished_at: "2026-11-25T02:31:10Z".into(),
            error: (status == "failed").then(|| "rsync <exit 23> & friends".into()),
            warnings: if status == "warnings" {
                vec!["/opt/x/<tmp> vanished".into()]
            } else {
                vec![]
            },
            files: 1234,
            bytes: 3 * 1024 * 1024 * 1024 / 2,
            new_bytes: 35 * 1024 * 1024,
            last_ok_at: Some("2026-11-23T02:31:10Z".into()),
            last_ok_id: Some("20261123T023000Z".into()),
        }
    }

    fn index() -> SnapshotIndex {
        SnapshotIndex {
            schema: 1,
            updated_at: "2026-11-25T03:00:00Z".into(),
            snapshots: vec![],
            last_verify: Some(VerifySummary {
                id: "20261124T023000Z".into(),
                at: "2026-11-24T12:00:00Z".into(),
                status: "ok".into(),
                checked_files: 120,
                total_files: 1200,
                sample_percent: Some(10.0),
                problems: 0,
                coverage_percent: Some(62.4),
                damaged: Vec::new(),
            }),
        }
    }

    #[test]
    fn text_in_both_languages_has_the_facts() {
        let mut samples = minutes(7);
        for s in &mut samples {
            s.disk_root = 40.0 + 0.5 * (s.t - (NOW - 7 * DAY_S)) as f32 / DAY_S as f32;
            s.disk_data = 70.0;
        }
        let n = samples.len();
        for s in &mut samples[n - 90..n - 30] {
            s.alerts |= AlertCode::TempHigh.history_bit();
        }
        let backup = outcome("ok");
        let idx = index();
        let mut d = compute(&DigestInput {
            backup: Some(&backup),
            snapshots: Some(&idx),
            pending_updates: Some(12),
            ..input(&samples)
        });
        d.add_muted("SERVICE_DOWN:ollama.service");

        let id = render_text(&d, &texts(Lang::Id).digest);
        for fact in [
            "<b>Ringkasan harian · x450l</b>",
            "Waktu nyala: 3 hari 4 jam",
            "Suhu tinggi <code>TEMP_HIGH</code>: 1×, 1 jam",
            "Layanan mati <code>SERVICE_DOWN</code> (dibisukan)",
            "✅ Backup berhasil <code>20261125T023000Z</code> (9 jam 28 menit lalu): 1234 file, 1.5 GiB (35.0 MiB baru)",
            "✅ Verifikasi (1 hari lalu): 120/1200 file, 0 masalah; cakupan seminggu 62%",
            "Disk /: 43.5%, naik 0.50%/hari, penuh dalam ~113 hari",
            "Disk data: 70.0%, tidak bertambah",
            "Pembaruan tertunda: 12 paket",
        ] {
            assert!(id.contains(fact), "missing {fact:?} in:\n{id}");
        }
        let en = render_text(&d, &texts(Lang::En).digest);
        for fact in [
            "<b>Daily digest · x450l</b>",
            "Up for: 3 d 4 h",
            "Temperature high <code>TEMP_HIGH</code>: 1×, 1 h",
            "Service down <code>SERVICE_DOWN</code> (muted)",
            "✅ Backup ok <code>20261125T023000Z</code> (9 h 28 min ago): 1234 files, 1.5 GiB (35.0 MiB new)",
            "✅ Verify (1 d ago): 120/1200 files, 0 problems; weekly coverage 62%",
            "Disk /: 43.5%, growing 0.50%/day, full in ~113 days",
            "Data disk: 70.0%, not growing",
            "Pending updates: 12 packages",
        ] {
            assert!(en.contains(fact), "missing {fact:?} in:\n{en}");
        }
    }

    #[test]
    fn text_for_failures_and_a_fresh_install() {
        let failed = outcome("failed");
        let d = compute(&DigestInput {
            backup: Some(&failed),
            pending_updates: Some(0),
            host: Some("<lab>"),
            ..input(&[])
        });
        let en = render_text(&d, &texts(Lang::En).digest);
        for fact in [
            "Daily digest · &lt;lab&gt;",
            "None, all quiet.",
            "❌ Backup failed (9 h 28 min ago): rsync &lt;exit 23&gt; &amp; friends",
            "Last good backup: 2 d 9 h ago",
            "Never verified yet.",
            "not enough data yet",
            "Pending updates: none",
        ] {
            assert!(en.contains(fact), "missing {fact:?} in:\n{en}");
        }
        assert!(!en.contains("<exit"), "unescaped:\n{en}");

        let warned = outcome("warnings");
        let d = compute(&DigestInput {
            backup: Some(&warned),
            uptime_s: None,
            ..input(&[])
        });
        let id = render_text(&d, &texts(Lang::Id).digest);
        assert!(id.contains("⚠️ Backup selesai dengan peringatan"), "{id}");
        assert!(
            id.contains("Contoh file yang dilewati: /opt/x/&lt;tmp&gt; vanished"),
            "{id}"
        );
        assert!(
            !id.contains("Waktu nyala") && !id.contains("Pembaruan"),
            "{id}"
        );
        let none = render_text(&compute(&input(&[])), &texts(Lang::Id).digest);
        assert!(none.contains("Belum ada backup yang tercatat."), "{none}");
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(duration(0, &texts(Lang::En).digest), "1 min");
        assert_eq!(duration(59 * 60, &texts(Lang::Id).digest), "59 menit");
        assert_eq!(duration(3600, &texts(Lang::Id).digest), "1 jam");
        assert_eq!(duration(86_400 + 59, &texts(Lang::En).digest), "1 d");
    }

    #[test]
    fn the_same_disk_warning_stands_in_the_digest_in_both_languages() {
        let samples = minutes(2);
        let warned = [Warning::BackupSameDisk];
        let d = compute(&DigestInput {
            warnings: &warned,
            ..input(&samples)
        });
        assert!(render_text(&d, &texts(Lang::Id).digest).contains("disk yang sama"));
        assert!(render_text(&d, &texts(Lang::En).digest).contains("same disk"));
        let quiet = compute(&input(&samples));
        assert!(!render_text(&quiet, &texts(Lang::En).digest).contains("same disk"));
    }
}
