//! The alert vocabulary: every alert code family, spelled once.
//!
//! A code on the wire (`last_health.json`, mutes, the outbox) is a family name
//! such as `CPU_HIGH`, or a family with a subject such as
//! `SERVICE_DOWN:ollama.service`. Everything that depends on a family (its
//! history bit, its chart metric, the names in both catalogues, the codes
//! `/alert_disable` accepts, the digest's list) derives from [`AlertCode`], so
//! adding a code is one variant here plus its name in each catalogue.

use std::fmt;

use crate::metric::Metric;

/// One alert code family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlertCode {
    CpuHigh,
    RamHigh,
    TempHigh,
    DiskRootHigh,
    DiskDataHigh,
    DataDiskMissing,
    /// One per unit: `SERVICE_DOWN:<unit>`.
    ServiceDown,
    BackupStale,
    BackupFailed,
    /// The latest verify found missing or changed files in a snapshot.
    BackupVerifyFailed,
    /// Computed by the bot from the age of `last_health.json`, never by the health job.
    HealthStale,
    /// Mains is off: the machine runs on its battery.
    OnBattery,
    BatteryLow,
    /// At most once a week.
    BatteryWorn,
    /// One per disk: `DISK_SMART:<disk>` (`sda`, `nvme0n1`).
    DiskSmart,
    /// One per `PROBE_URLS` entry: `PROBE_DOWN:<name>`.
    ProbeDown,
}

/// What follows the `:` of a parameterised code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A systemd unit name.
    Unit,
    /// A kernel disk name (`sda`).
    Disk,
    /// A `PROBE_URLS` name.
    Probe,
}

impl AlertCode {
    /// Every family, in display order (the digest lists them in this order).
    pub const ALL: [AlertCode; 16] = [
        AlertCode::CpuHigh,
        AlertCode::RamHigh,
        AlertCode::TempHigh,
        AlertCode::DiskRootHigh,
        AlertCode::DiskDataHigh,
        AlertCode::DataDiskMissing,
        AlertCode::ServiceDown,
        AlertCode::BackupStale,
        AlertCode::BackupFailed,
        AlertCode::BackupVerifyFailed,
        AlertCode::HealthStale,
        AlertCode::OnBattery,
        AlertCode::BatteryLow,
        AlertCode::BatteryWorn,
        AlertCode::DiskSmart,
        AlertCode::ProbeDown,
    ];

    /// The family name as it appears in files and chat.
    pub const fn as_str(self) -> &'static str {
        match self {
            AlertCode::CpuHigh => "CPU_HIGH",
            AlertCode::RamHigh => "RAM_HIGH",
            AlertCode::TempHigh => "TEMP_HIGH",
            AlertCode::DiskRootHigh => "DISK_ROOT_HIGH",
            AlertCode::DiskDataHigh => "DISK_DATA_HIGH",
            AlertCode::DataDiskMissing => "DATA_DISK_MISSING",
            AlertCode::ServiceDown => "SERVICE_DOWN",
            AlertCode::BackupStale => "BACKUP_STALE",
            AlertCode::BackupFailed => "BACKUP_FAILED",
            AlertCode::BackupVerifyFailed => "BACKUP_VERIFY_FAILED",
            AlertCode::HealthStale => "HEALTH_STALE",
            AlertCode::OnBattery => "ON_BATTERY",
            AlertCode::BatteryLow => "BATTERY_LOW",
            AlertCode::BatteryWorn => "BATTERY_WORN",
            AlertCode::DiskSmart => "DISK_SMART",
            AlertCode::ProbeDown => "PROBE_DOWN",
        }
    }

    /// A family by its exact name.
    pub fn parse(name: &str) -> Option<AlertCode> {
        AlertCode::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The family and subject of a full code: `SERVICE_DOWN:a.service` →
    /// `(ServiceDown, Some("a.service"))`. `None` for an unknown family or a
    /// subject on a family that takes none (or none on one that needs it).
    pub fn split(code: &str) -> Option<(AlertCode, Option<&str>)> {
        let (name, subject) = match code.split_once(':') {
            Some((n, s)) => (n, Some(s)),
            None => (code, None),
        };
        let c = AlertCode::parse(name)?;
        (c.subject().is_some() == subject.is_some()).then_some((c, subject))
    }

    /// The family of a full code, ignoring its subject.
    pub fn family_of(code: &str) -> Option<AlertCode> {
        AlertCode::parse(code.split(':').next().unwrap_or(code))
    }

    /// The full code for one subject: `SERVICE_DOWN:<unit>`.
    pub fn with(self, subject: &str) -> String {
        format!("{}:{subject}", self.as_str())
    }

    /// What kind of subject the code carries, if any.
    pub const fn subject(self) -> Option<Subject> {
        match self {
            AlertCode::ServiceDown => Some(Subject::Unit),
            AlertCode::DiskSmart => Some(Subject::Disk),
            AlertCode::ProbeDown => Some(Subject::Probe),
            _ => None,
        }
    }

    /// This family's bit in a history sample (`history.bin`); 0 for codes the
    /// history does not record. Bits are part of the file format: never reuse one.
    pub const fn history_bit(self) -> u32 {
        match self {
            AlertCode::CpuHigh => 1 << 0,
            AlertCode::RamHigh => 1 << 1,
            AlertCode::DiskRootHigh => 1 << 2,
            AlertCode::DiskDataHigh => 1 << 3,
            AlertCode::TempHigh => 1 << 4,
            AlertCode::DataDiskMissing => 1 << 5,
            AlertCode::ServiceDown => 1 << 6,
            AlertCode::BackupStale => 1 << 7,
            AlertCode::BackupFailed => 1 << 8,
            AlertCode::HealthStale => 0,
            AlertCode::OnBattery => 1 << 9,
            AlertCode::BatteryLow => 1 << 10,
            AlertCode::BatteryWorn => 1 << 11,
            AlertCode::DiskSmart => 1 << 12,
            AlertCode::ProbeDown => 1 << 13,
            AlertCode::BackupVerifyFailed => 1 << 14,
        }
    }

    /// The metric the alert is about, for its chart; none for facts.
    pub const fn metric(self) -> Option<Metric> {
        match self {
            AlertCode::CpuHigh => Some(Metric::Cpu),
            AlertCode::RamHigh => Some(Metric::Ram),
            AlertCode::TempHigh => Some(Metric::Temp),
            AlertCode::DiskRootHigh => Some(Metric::Disk),
            AlertCode::DiskDataHigh => Some(Metric::DiskData),
            _ => None,
        }
    }
}

impl fmt::Display for AlertCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The history bits of a set of full codes.
pub fn history_bits<'a>(codes: impl IntoIterator<Item = &'a str>) -> u32 {
    codes
        .into_iter()
        .filter_map(AlertCode::family_of)
        .fold(0, |bits, c| bits | c.history_bit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_distinct() {
        for c in AlertCode::ALL {
            assert_eq!(AlertCode::parse(c.as_str()), Some(c));
            assert_eq!(c.to_string(), c.as_str());
        }
        let mut names: Vec<_> = AlertCode::ALL.iter().map(|c| c.as_str()).collect();
        names.dedup();
        assert_eq!(names.len(), AlertCode::ALL.len());
        assert_eq!(AlertCode::parse("cpu_high"), None, "names are exact");
    }

    #[test]
    fn history_bits_are_the_file_format_and_distinct() {
        assert_eq!(AlertCode::CpuHigh.history_bit(), 1);
        assert_eq!(AlertCode::TempHigh.history_bit(), 16);
        assert_eq!(AlertCode::BackupFailed.history_bit(), 256);
        let all = AlertCode::ALL.iter().fold(0u32, |acc, c| {
            assert_eq!(acc & c.history_bit(), 0, "{c} reuses a bit");
            acc | c.history_bit()
        });
        assert_eq!(all, 0x7fff);
        assert_eq!(AlertCode::HealthStale.history_bit(), 0);
    }

    #[test]
    fn subjects_split_and_join() {
        let code = AlertCode::ServiceDown.with("ollama.service");
        assert_eq!(code, "SERVICE_DOWN:ollama.service");
        assert_eq!(
            AlertCode::split(&code),
            Some((AlertCode::ServiceDown, Some("ollama.service")))
        );
        assert_eq!(
            AlertCode::split("CPU_HIGH"),
            Some((AlertCode::CpuHigh, None))
        );
        assert_eq!(AlertCode::split("CPU_HIGH:x"), None);
        assert_eq!(AlertCode::split("SERVICE_DOWN"), None);
        assert_eq!(AlertCode::family_of(&code), Some(AlertCode::ServiceDown));
        assert_eq!(AlertCode::family_of("GPU_HIGH"), None);
        assert_eq!(
            history_bits([code.as_str(), "CPU_HIGH", "NOPE"]),
            0b100_0001
        );
    }

    #[test]
    fn metrics_map_back_to_their_codes() {
        for c in AlertCode::ALL {
            if let Some(m) = c.metric() {
                assert_eq!(m.alert_code(), Some(c));
            }
        }
        assert_eq!(Metric::Load.alert_code(), None);
    }
}
