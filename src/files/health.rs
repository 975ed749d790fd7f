//! `last_health.json` (`docs/contract.md` §4): the health job's report, read by the bot;
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
    /// `/proc/sys/kernel/random/boot_id`: changes on every boot.
    #[serde(default)]
    pub boot_id: Option<String>,
    /// Mains and the system batteries; `None` on a machine without `/sys/class/power_supply`.
    #[serde(default)]
    pub power: Option<PowerInfo>,
    /// SMART of the disks behind `/` and `DATA_MOUNT` (the last check, maybe from an earlier run).
    #[serde(default)]
    pub smart: Vec<SmartDisk>,
    /// The `PROBE_URLS` answers of this run.
    #[serde(default)]
    pub probes: Vec<ProbeInfo>,
    pub alerts: Vec<Alert>,
    /// Probes that failed this run; the rest of the report is still good.
    pub errors: Vec<String>,
    /// Things worth knowing that are not failures (first run, state reset, no backup yet).
    #[serde(default)]
    pub notes: Vec<String>,
    /// Standing conditions the owner chose, shown with `/status` and the
    /// digest for as long as they hold (not alerts: nothing clears them).
    #[serde(default)]
    pub warnings: Vec<Warning>,
}

/// A standing warning in `last_health.json`, spelled `BACKUP_SAME_DISK` there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Warning {
    /// `BACKUP_ALLOW_SAME_DISK=1`: backups live on the disk they protect, so
    /// a dead disk takes the originals and the backups together.
    BackupSameDisk,
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

/// Mains and batteries from `/sys/class/power_supply`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PowerInfo {
    /// Whether a mains supply is online; `None` when the machine shows none.
    pub ac_online: Option<bool>,
    /// System batteries only (peripherals such as a wireless mouse are left out).
    pub batteries: Vec<BatteryInfo>,
    /// When the machine went on battery (RFC 3339), while it is.
    #[serde(default)]
    pub on_battery_since: Option<String>,
    /// On the run mains came back: how long the machine ran on battery.
    #[serde(default)]
    pub on_battery_for_s: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatteryInfo {
    pub name: String,
    pub percent: Option<f64>,
    /// The kernel's word: `Charging`, `Discharging`, `Full`, `Not charging`, `Unknown`.
    pub status: String,
    /// 100 − full/design capacity, in percent.
    pub wear_percent: Option<f64>,
}

/// One disk's SMART reading and the baseline its counters are compared with.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SmartDisk {
    /// `/dev/sda`, `/dev/nvme0n1`.
    pub device: String,
    pub model: Option<String>,
    pub serial: Option<String>,
    /// When smartctl last answered for this disk (RFC 3339).
    pub checked_at: String,
    /// The overall health self-assessment; `None` when unknown (asleep, no answer).
    pub passed: Option<bool>,
    pub power_on_hours: Option<u64>,
    pub temperature_c: Option<f64>,
    /// NVMe wear estimate (`percentage_used`).
    pub percentage_used: Option<u64>,
    /// The watched counters by name (`reallocated_sectors`, `media_errors`, …).
    pub counters: BTreeMap<String, u64>,
    /// Accepted counts: the first reading, or what the owner acknowledged.
    pub baseline: BTreeMap<String, u64>,
    /// The disk was asleep and was left so; the other values are from an earlier check.
    #[serde(default)]
    pub standby: bool,
    /// Why `DISK_SMART` fires for this disk; empty when it is fine.
    pub problems: Vec<String>,
}

/// One `PROBE_URLS` GET.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeInfo {
    pub name: String,
    /// The URL without any user or password part.
    pub url: String,
    /// A 2xx answer within the timeout.
    pub ok: bool,
    pub status: Option<u16>,
    pub latency_ms: Option<f64>,
    /// Why there was no answer (refused, timed out, …).
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BackupInfo {
    /// Id of the newest good snapshot (the one `last_ok_at` and `age_h` describe).
    pub last_id: Option<String>,
    pub last_ok_at: Option<String>,
    pub age_h: Option<f64>,
    /// `ok`, `failed`, `warnings`, or `none` before the first backup.
    pub last_status: String,
    /// The latest verify's status (`ok` or `failed`) from `backups.json`;
    /// absent before the first verify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_status: Option<String>,
    /// Missing, changed or extra files the latest verify found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_problems: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// A code from `docs/contract.md` §5, e.g. `CPU_HIGH` or `SERVICE_DOWN:ollama.service`.
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
    /// When the machine went on battery, while it is.
    #[serde(default)]
    pub on_battery_since: Option<String>,
    /// When a `BATTERY_WORN` alert was last raised (it repeats at most weekly).
    #[serde(default)]
    pub battery_worn_at: Option<String>,
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

/// `$STATE_DIR/smart-state.json`: when SMART was last checked and each
/// disk's last reading with its baseline. Written by the health job when
/// `smart-readings.json` brings a new check; the bot's `/smart_ack` edits it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SmartState {
    pub schema: u32,
    /// When `smartctl` was last run (whatever it answered).
    pub checked_at: Option<String>,
    #[serde(default)]
    pub disks: Vec<SmartDisk>,
}

impl HasSchema for SmartState {
    fn schema(&self) -> u32 {
        self.schema
    }
}

/// `$STATE_DIR/smart-readings.json`: root's latest `smartctl` answers
/// (`potion-health smart`, run by its own unit), without baselines. Root
/// writes it and never reads anything the service user wrote; the health
/// job merges it into `smart-state.json`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SmartReadings {
    pub schema: u32,
    /// When the check ran (RFC 3339).
    pub checked_at: String,
    /// The whole disks behind `/` and `DATA_MOUNT` that were checked.
    pub devices: Vec<String>,
    /// One entry per disk that answered; a sleeping disk has only
    /// `device` and `standby`.
    pub disks: Vec<SmartDisk>,
    /// No smartctl, a device without SMART: worth knowing, not failures.
    pub notes: Vec<String>,
    /// smartctl answers that could not be read.
    pub errors: Vec<String>,
}

impl HasSchema for SmartReadings {
    fn schema(&self) -> u32 {
        self.schema
    }
}
