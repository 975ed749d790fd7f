//! What to draw: a metric over a time range, at a size, with its threshold
//! and the words to title it.

use chrono::{DateTime, FixedOffset, Offset, TimeZone};

use super::{ALERT_HOURS, ChartLabels};
use crate::config::Thresholds;
use crate::metric::Metric;

/// Pixel size of a chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartSize {
    /// `/chart` and the digest: 800×400.
    Full,
    /// Attached to an alert: 600×250.
    Small,
}

impl ChartSize {
    pub fn pixels(self) -> (u32, u32) {
        match self {
            ChartSize::Full => (800, 400),
            ChartSize::Small => (600, 250),
        }
    }

    pub(super) fn max_time_labels(self) -> i64 {
        match self {
            ChartSize::Full => 9,
            ChartSize::Small => 6,
        }
    }
}

/// What to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartSpec {
    pub metric: Metric,
    /// Unix seconds, inclusive.
    pub from: i64,
    /// Unix seconds, inclusive; normally now.
    pub to: i64,
    /// Drawn as a dashed red line; `None` draws none.
    pub threshold: Option<f64>,
    pub size: ChartSize,
    /// Words for the title and the empty-chart note.
    pub labels: &'static ChartLabels,
    /// Offset for the time axis labels (local time on the server).
    pub utc_offset: FixedOffset,
}

impl ChartSpec {
    /// The last `hours` up to `now` at full size, labelled in the server's local
    /// time, with the metric's threshold from `thresholds`.
    pub fn last_hours(
        metric: Metric,
        hours: u32,
        now: i64,
        thresholds: &Thresholds,
        labels: &'static ChartLabels,
    ) -> ChartSpec {
        ChartSpec {
            metric,
            from: now - i64::from(hours) * 3600,
            to: now,
            threshold: thresholds.get(metric),
            size: ChartSize::Full,
            labels,
            utc_offset: local_offset(now),
        }
    }

    /// The small chart of the last [`ALERT_HOURS`] sent with an alert.
    pub fn for_alert(
        metric: Metric,
        now: i64,
        thresholds: &Thresholds,
        labels: &'static ChartLabels,
    ) -> ChartSpec {
        ChartSpec {
            size: ChartSize::Small,
            ..ChartSpec::last_hours(metric, ALERT_HOURS, now, thresholds, labels)
        }
    }

    /// `CPU · 24 jam terakhir`.
    pub fn title(&self) -> String {
        let hours = ((self.to - self.from) as f64 / 3600.0).round().max(0.0) as i64;
        let l = self.labels;
        format!("{} · {}", l.metric(self.metric), l.range_title(hours))
    }
}

/// The server's UTC offset at `at` (falls back to UTC for an out-of-range time).
pub fn local_offset(at: i64) -> FixedOffset {
    DateTime::from_timestamp(at, 0)
        .map(|t| chrono::Local.offset_from_utc_datetime(&t.naive_utc()).fix())
        .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset"))
}
