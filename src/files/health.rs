//! `last_health.json` (contract §4): the health job's report, read by the bot.

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
    pub errors: Vec<String>,
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
