//! `last_health.json` (contract §4): the health job's report, read by the bot;
//! and `health-state.json`: what `potion-health` keeps between runs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::HasSchema;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthReport {
    pub schema: u32,
    pub host: String,
    pub taken_at: String,
    pub cpu: CpuInfo,
    pub memory: MemoryInfo,
    pub disks: Vec<DiskInfo>,
    pub uptime_s: u64,
    pub temperature_c: Option<f64>,
    pub services: Vec<ServiceInfo>,
    pub backup: BackupInfo,
    pub alerts: Vec<Alert>,
    /// Probes that failed this run; the rest of the report is still good.
    pub errors: Vec<String>,
    /// Things worth knowing that are not failures (first run, state reset, no backup yet).
    #[serde(default)]
    pub notes: Vec<String>,
}

impl HasSchema for HealthReport {
    fn schema(&self) -> u32 {
        self.schema
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuInfo {
    /// Busy percent since the previous run; `null` on the first run.
    pub percent: Option<f64>,
    pub load: [f64; 3],
    pub cores: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryInfo {
    pub total_bytes: u64,
    pub available_bytes: u64,
    pub percent: f64,
    pub swap_percent: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiskInfo {
    /// `root` or `data`.
    pub name: String,
    pub mount: String,
    pub total_bytes: u64,
    pub used_bytes: u64,
    pub percent: f64,
    pub present: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceInfo {
    pub unit: String,
    /// systemd's ActiveState (`active`, `inactive`, `failed`, …).
    pub active: String,
    /// systemd's SubState (`running`, `dead`, …).
    pub sub: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BackupInfo {
    /// Id of the newest good snapshot (the one `last_ok_at` and `age_h` describe).
    pub last_id: Option<String>,
    pub last_ok_at: Option<String>,
    pub age_h: Option<f64>,
    /// `ok`, `failed`, `warnings`, or `none` before the first backup.
    pub last_status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// A code from contract §5, e.g. `CPU_HIGH` or `SERVICE_DOWN:ollama.service`.
    pub code: String,
    pub since: String,
    pub value: Option<f64>,
    pub threshold: Option<f64>,
}

/// `$STATE_DIR/health-state.json`: CPU counters and alert trackers carried
/// from one `potion-health` run to the next. Losing it costs one CPU sample
/// and restarts the alert streaks; it is never an error.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HealthState {
    pub schema: u32,
    pub taken_at: String,
    /// `/proc/stat` counters of the previous run.
    pub cpu: Option<CpuCounters>,
    /// Alert trackers by code (`CPU_HIGH`, `SERVICE_DOWN:ollama.service`, …).
    #[serde(default)]
    pub trackers: BTreeMap<String, Tracker>,
}

impl HasSchema for HealthState {
    fn schema(&self) -> u32 {
        self.schema
    }
}

/// Aggregate CPU jiffies from the first line of `/proc/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuCounters {
    /// Jiffies not spent idle or waiting for I/O.
    pub busy: u64,
    /// All jiffies (guest time is already inside user time, so it is not added).
    pub total: u64,
    /// Boot time (`btime`): counters from another boot are not comparable.
    pub boot_time: u64,
}

/// One alert's memory between runs.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Tracker {
    /// Bad samples in a row so far.
    pub streak: u32,
    /// Whether the alert is firing.
    pub active: bool,
    /// When the current bad streak began (RFC 3339); kept while it lasts.
    pub since: Option<String>,
}
