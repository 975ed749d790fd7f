//! The alerts of the laptop-server's own senses (power, SMART, HTTP probes)
//! and what they carry between runs, on top of `alerts::readings`.

use chrono::{DateTime, Utc};

use super::{power, probes, smart};
use crate::alert_code::AlertCode;
use crate::alerts::Reading;
use crate::config::Config;
use crate::files::health::{Alert, HealthReport, HealthState};

/// Readings for `ON_BATTERY`, `BATTERY_LOW`, `BATTERY_WORN`,
/// `PROBE_DOWN:<name>` and `DISK_SMART:<disk>`.
pub fn readings(
    report: &HealthReport,
    cfg: &Config,
    prev: &HealthState,
    now: DateTime<Utc>,
) -> Vec<Reading> {
    let limits = power::Limits {
        low_percent: cfg.battery_low,
        wear_percent: cfg.battery_wear,
    };
    let worn_active = prev
        .trackers
        .get(AlertCode::BatteryWorn.as_str())
        .is_some_and(|t| t.active);
    let mut out = power::readings(
        report.power.as_ref(),
        limits,
        worn_active,
        prev.battery_worn_at.as_deref(),
        now,
    );
    out.extend(probes::readings(
        &report.probes,
        cfg.alert_consecutive.max(1),
    ));
    out.extend(smart::readings(&report.smart));
    out
}

/// When `BATTERY_WORN` last fired: now if it fires this run, else as before.
pub fn worn_at(prev: &HealthState, alerts: &[Alert], now: &str) -> Option<String> {
    let was = prev
        .trackers
        .get(AlertCode::BatteryWorn.as_str())
        .is_some_and(|t| t.active);
    let is = alerts
        .iter()
        .any(|a| a.code == AlertCode::BatteryWorn.as_str());
    if is && !was {
        Some(now.to_string())
    } else {
        prev.battery_worn_at.clone()
    }
}
