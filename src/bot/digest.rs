//! The daily digest task: at `DIGEST_TIME` (off when empty) it reads the job
//! files, builds the digest (`crate::digest`), and queues it with a 24 h chart
//! through the outbox, in the same atomic state write that records the day as
//! sent, so a restart neither repeats nor loses it.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone};

use crate::config::Config;
use crate::digest::{self, Digest, DigestInput};
use crate::files::backup::{BackupOutcome, SnapshotIndex};
use crate::files::bot::{OutboxChart, PendingUpdates};
use crate::files::health::HealthReport;
use crate::history;
use crate::validate::HhMm;

use super::charts::fits_caption;
use super::loaded::{Loaded, load};
use super::{Shared, alerts, lock};

/// Longest sleep between looks. The wait is on the monotonic clock, which
/// stands still while the laptop sleeps and does not follow clock changes, so
/// the task looks again at least once a minute.
pub const MAX_SLEEP: Duration = Duration::from_secs(60);
/// Range of the digest's chart.
pub const CHART_HOURS: u32 = 24;

/// Runs forever (aborted at shutdown).
pub async fn run(shared: Arc<Shared>) {
    loop {
        let cfg = shared.config();
        let now = chrono::Local::now();
        let last = lock(&shared.state).digest_sent;
        if let Some(at) = cfg.digest_time
            && digest::is_due(at, &now, last)
        {
            queue(&shared, &cfg, now.timestamp());
        }
        tokio::time::sleep(next_look(cfg.digest_time, &now)).await;
    }
}

/// How long to sleep before looking again: until `DIGEST_TIME`, at most [`MAX_SLEEP`].
pub fn next_look<Tz: TimeZone>(at: Option<HhMm>, now: &DateTime<Tz>) -> Duration {
    match at {
        None => MAX_SLEEP,
        Some(at) => {
            let s = digest::seconds_until_next(at, now).max(1) as u64;
            Duration::from_secs(s).min(MAX_SLEEP)
        }
    }
}

/// Builds the digest and queues it, marking today as sent in the same write.
fn queue(shared: &Shared, cfg: &Config, now: i64) {
    let mutes: Vec<String> = {
        let st = lock(&shared.state);
        let at = chrono::DateTime::from_timestamp(now, 0).unwrap_or_default();
        st.mutes
            .keys()
            .filter(|c| alerts::is_muted(c, &st.mutes, at))
            .cloned()
            .collect()
    };
    let pending = lock(&shared.state).pending_updates;
    let mut d = build(cfg, now, pending);
    for code in &mutes {
        d.add_muted(code);
    }
    let html = digest::render_text(&d, &shared.texts().digest);
    let chart = OutboxChart {
        metric: d.chart_metric().name().to_string(),
        hours: CHART_HOURS,
        to: now,
        small: false,
    };
    let r = shared.update_state(|st| {
        st.digest_sent = Some(now);
        for (html, chart) in messages(html, chart) {
            shared.enqueue_with(st, html, Vec::new(), chart);
        }
    });
    if let Err(e) = r {
        log::error!("digest (sending anyway, not persisted): {e:#}");
    }
    log::info!("daily digest queued");
    shared.outbox_wake.notify_one();
}

/// The digest's messages: one photo with the text as its caption when it
/// fits, else the text and then the chart with its own min/avg/max line.
pub fn messages(html: String, chart: OutboxChart) -> Vec<(String, Option<OutboxChart>)> {
    if fits_caption(&html) {
        vec![(html, Some(chart))]
    } else {
        vec![(html, None), (String::new(), Some(chart))]
    }
}

/// Reads what the digest needs; a missing or unreadable file leaves its part out.
fn build(cfg: &Config, now: i64, pending: Option<PendingUpdates>) -> Digest {
    let state = &cfg.state_dir;
    let samples = history::read_since(
        &state.join(crate::paths::HISTORY),
        now - digest::TREND_WINDOW_S,
    )
    .unwrap_or_else(|e| {
        log::warn!("digest: {e:#}");
        Vec::new()
    });
    let health = ok(load::<HealthReport>(&cfg.health_file()));
    let backup = ok(load::<BackupOutcome>(
        &state.join(crate::paths::LAST_BACKUP),
    ));
    let index = ok(load::<SnapshotIndex>(
        &state.join(crate::paths::BACKUP_INDEX),
    ));
    digest::compute(&DigestInput {
        now,
        host: health.as_ref().map(|h| h.host.as_str()),
        samples: &samples,
        uptime_s: health.as_ref().map(|h| h.uptime_s),
        backup: backup.as_ref(),
        snapshots: index.as_ref(),
        pending_updates: digest::fresh_pending(pending, now),
        warnings: health.as_ref().map_or(&[], |h| h.warnings.as_slice()),
    })
}

fn ok<T>(l: Loaded<T>) -> Option<T> {
    match l {
        Loaded::Ok(v) => Some(v),
        Loaded::Missing => None,
        Loaded::Corrupt(e) => {
            log::warn!("digest: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    fn wib(h: u32, m: u32, s: u32) -> DateTime<FixedOffset> {
        FixedOffset::east_opt(7 * 3600)
            .unwrap()
            .with_ymd_and_hms(2026, 11, 25, h, m, s)
            .unwrap()
    }

    #[test]
    fn sleeps_until_the_time_but_looks_every_minute() {
        let seven = Some(HhMm { hour: 7, minute: 0 });
        assert_eq!(next_look(seven, &wib(6, 59, 30)), Duration::from_secs(30));
        assert_eq!(next_look(seven, &wib(6, 0, 0)), MAX_SLEEP);
        assert_eq!(next_look(seven, &wib(7, 0, 0)), MAX_SLEEP);
        assert_eq!(next_look(None, &wib(6, 59, 59)), MAX_SLEEP);
    }

    fn chart() -> OutboxChart {
        OutboxChart {
            metric: "cpu".into(),
            hours: 24,
            to: 5,
            small: false,
        }
    }

    #[test]
    fn a_short_digest_is_the_photo_caption_a_long_one_goes_before_the_photo() {
        let short = "<b>Daily digest</b>\nUp for: 3 d".to_string();
        assert_eq!(
            messages(short.clone(), chart()),
            vec![(short, Some(chart()))]
        );
        let long = "• <code>SERVICE_DOWN</code>\n".repeat(100);
        assert_eq!(
            messages(long.clone(), chart()),
            vec![(long, None), (String::new(), Some(chart()))]
        );
    }

    #[test]
    fn the_digest_reads_the_job_files_and_survives_their_absence() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = Config::defaults();
        cfg.state_dir = dir.path().to_path_buf();
        let now = 1_795_608_000;
        let empty = build(&cfg, now, None);
        assert_eq!((empty.host.as_deref(), empty.uptime_s), (None, None));
        assert_eq!(empty.pending_updates, None);
        assert!(empty.backup.is_none() && empty.verify.is_none());
        let path = dir.path().join(crate::paths::HISTORY);
        for i in 0..120 {
            let t = now - 7200 + i * 60;
            let s = history::Sample {
                t,
                cpu: 95.0,
                ram: 30.0,
                swap: 0.0,
                disk_root: 50.0,
                disk_data: f32::NAN,
                temp: 40.0,
                load1: 1.0,
                alerts: crate::alert_code::AlertCode::CpuHigh.history_bit(),
                probe_ms: f32::NAN,
            };
            history::append(&path, &s).unwrap();
        }
        let index = r#"{"schema":1,"updated_at":"x","snapshots":[],"last_verify":{"id":"20261124T023000Z",
            "at":"2026-11-24T12:00:00Z","status":"ok","checked_files":12,"total_files":120,
            "sample_percent":10.0,"problems":0,"coverage_percent":40.0}}"#;
        std::fs::write(dir.path().join(crate::paths::BACKUP_INDEX), index).unwrap();
        let week_old = PendingUpdates {
            count: 3,
            checked_at: now - digest::PENDING_MAX_AGE_S - 1,
        };
        assert_eq!(build(&cfg, now, Some(week_old)).pending_updates, None);
        let pending = PendingUpdates {
            count: 3,
            checked_at: now - 3600,
        };
        let d = build(&cfg, now, Some(pending));
        assert_eq!(d.pending_updates, Some(3));
        assert_eq!(d.alerts.len(), 1);
        assert_eq!(d.alerts[0].code, "CPU_HIGH");
        assert_eq!(d.chart_metric(), crate::metric::Metric::Cpu);
        let v = d.verify.as_ref().expect("weekly verify from backups.json");
        assert_eq!(v.coverage_percent, Some(40.0));
        let text =
            digest::render_text(&d, &crate::bot::i18n::texts(crate::config::Lang::En).digest);
        assert!(text.contains("weekly coverage 40%"), "{text}");
        assert!(text.contains("3 packages"), "{text}");
    }
}
