//! The metrics the health job samples: one vocabulary for thresholds
//! (`/set_threshold`, `THRESHOLD_*`), charts and the history file.

use std::fmt;

use crate::alert_code::AlertCode;
use crate::config::Thresholds;
use crate::history::Sample;

/// A sampled metric: the ones with an alert threshold, the 1-minute load
/// and the probe latency (the slowest `PROBE_URLS` answer of a run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    Cpu,
    Ram,
    Disk,
    DiskData,
    Temp,
    Load,
    Probe,
}

/// How a metric's values read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Percent,
    Celsius,
    Plain,
    Millis,
}

/// A metric name that is not known (or, for thresholds, has no threshold).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownMetric {
    pub name: String,
    /// The names that would have been accepted.
    pub choices: &'static str,
}

impl fmt::Display for UnknownMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown metric {:?}; use one of {}",
            self.name, self.choices
        )
    }
}

impl std::error::Error for UnknownMetric {}

impl Metric {
    /// Every metric, in button order.
    pub const ALL: [Metric; 7] = [
        Metric::Cpu,
        Metric::Ram,
        Metric::Disk,
        Metric::DiskData,
        Metric::Temp,
        Metric::Load,
        Metric::Probe,
    ];

    /// The metrics that have an alert threshold, in [`Metric::ALL`] order.
    pub const THRESHOLDED: [Metric; 5] = [
        Metric::Cpu,
        Metric::Ram,
        Metric::Disk,
        Metric::DiskData,
        Metric::Temp,
    ];

    /// Accepts every name and its aliases (`mem`, `root`, `load1`, …) and
    /// the Indonesian words the bot's own buttons use (`suhu`, `beban`,
    /// `respons`), any case.
    pub fn parse(raw: &str) -> Result<Metric, UnknownMetric> {
        let name = raw.trim().to_ascii_lowercase();
        match name.as_str() {
            "cpu" => Ok(Metric::Cpu),
            "ram" | "mem" | "memory" | "memori" => Ok(Metric::Ram),
            "disk" | "disk_root" | "root" => Ok(Metric::Disk),
            "disk_data" | "data" => Ok(Metric::DiskData),
            "temp" | "temperature" | "suhu" => Ok(Metric::Temp),
            "load" | "load1" | "loadavg" | "beban" => Ok(Metric::Load),
            "probe" | "probes" | "latency" | "respons" => Ok(Metric::Probe),
            _ => Err(UnknownMetric {
                name,
                choices: "cpu, ram, disk, disk_data, temp, load, probe",
            }),
        }
    }

    /// Like [`Metric::parse`], but only metrics with a threshold.
    pub fn parse_thresholded(raw: &str) -> Result<Metric, UnknownMetric> {
        let unknown = || UnknownMetric {
            name: raw.trim().to_ascii_lowercase(),
            choices: "cpu, ram, disk, disk_data, temp",
        };
        Metric::parse(raw)
            .ok()
            .filter(|m| m.env_key().is_some())
            .ok_or_else(unknown)
    }

    /// The canonical name (chart buttons, outbox files, `/set_threshold`).
    pub fn name(self) -> &'static str {
        match self {
            Metric::Cpu => "cpu",
            Metric::Ram => "ram",
            Metric::Disk => "disk",
            Metric::DiskData => "disk_data",
            Metric::Temp => "temp",
            Metric::Load => "load",
            Metric::Probe => "probe",
        }
    }

    /// The `.env` key holding this metric's threshold; none for load and probe latency.
    pub fn env_key(self) -> Option<&'static str> {
        match self {
            Metric::Cpu => Some("THRESHOLD_CPU"),
            Metric::Ram => Some("THRESHOLD_RAM"),
            Metric::Disk => Some("THRESHOLD_DISK"),
            Metric::DiskData => Some("THRESHOLD_DISK_DATA"),
            Metric::Temp => Some("THRESHOLD_TEMP"),
            Metric::Load | Metric::Probe => None,
        }
    }

    /// Highest sensible threshold: percentages stop at 100, temperatures at 150 °C.
    pub fn max_threshold(self) -> f64 {
        if self == Metric::Temp { 150.0 } else { 100.0 }
    }

    /// The threshold in force; none for load.
    pub fn threshold(self, thresholds: &Thresholds) -> Option<f64> {
        thresholds.get(self)
    }

    /// The alert that fires on this metric; none for load.
    pub fn alert_code(self) -> Option<AlertCode> {
        AlertCode::ALL
            .into_iter()
            .find(|c| c.metric() == Some(self))
    }

    /// The history bit whose periods a chart shades; 0 for load.
    pub fn alert_bit(self) -> u32 {
        self.alert_code().map_or(0, AlertCode::history_bit)
    }

    /// This metric's value in one sample (NaN when missing).
    pub fn value(self, s: &Sample) -> f32 {
        match self {
            Metric::Cpu => s.cpu,
            Metric::Ram => s.ram,
            Metric::Disk => s.disk_root,
            Metric::DiskData => s.disk_data,
            Metric::Temp => s.temp,
            Metric::Load => s.load1,
            Metric::Probe => s.probe_ms,
        }
    }

    pub fn unit(self) -> Unit {
        match self {
            Metric::Temp => Unit::Celsius,
            Metric::Load => Unit::Plain,
            Metric::Probe => Unit::Millis,
            _ => Unit::Percent,
        }
    }

    /// A value with its unit: `12.5%`, `61.0 °C`, `0.52`, `35.2 ms`.
    pub fn format_value(self, v: f64) -> String {
        match self.unit() {
            Unit::Percent => format!("{v:.1}%"),
            Unit::Celsius => format!("{v:.1} °C"),
            Unit::Plain => format!("{v:.2}"),
            Unit::Millis => format!("{v:.1} ms"),
        }
    }

    /// A value on a chart's axis: fewer decimals than [`Metric::format_value`].
    pub fn axis_label(self, v: f64) -> String {
        match self.unit() {
            Unit::Percent => format!("{v:.0}%"),
            Unit::Celsius => format!("{v:.0} °C"),
            Unit::Plain => format!("{v:.1}"),
            Unit::Millis => format!("{v:.0} ms"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases() {
        for m in Metric::ALL {
            assert_eq!(Metric::parse(m.name()), Ok(m));
        }
        assert_eq!(Metric::parse(" MEM "), Ok(Metric::Ram));
        assert_eq!(Metric::parse("root"), Ok(Metric::Disk));
        assert_eq!(Metric::parse("loadavg"), Ok(Metric::Load));
        assert_eq!(Metric::parse("Latency"), Ok(Metric::Probe));
        let e = Metric::parse("gpu").unwrap_err().to_string();
        assert!(e.contains("use one of cpu") && e.contains("load"), "{e}");
    }

    #[test]
    fn only_thresholded_metrics_take_thresholds() {
        assert_eq!(Metric::parse_thresholded("temperature"), Ok(Metric::Temp));
        let e = Metric::parse_thresholded("load").unwrap_err().to_string();
        assert!(!e.contains("load") || e.starts_with("unknown metric \"load\""));
        assert!(e.ends_with("cpu, ram, disk, disk_data, temp"), "{e}");
        for m in Metric::ALL {
            assert_eq!(m.env_key().is_some(), Metric::THRESHOLDED.contains(&m));
        }
    }

    #[test]
    fn shading_bits_follow_the_alert_codes() {
        assert_eq!(Metric::Cpu.alert_bit(), AlertCode::CpuHigh.history_bit());
        assert_eq!(Metric::Disk.alert_code(), Some(AlertCode::DiskRootHigh));
        assert_eq!(Metric::Load.alert_bit(), 0);
        assert_eq!(Metric::Temp.format_value(61.0), "61.0 °C");
        assert_eq!(Metric::Load.axis_label(0.5), "0.5");
        assert_eq!(Metric::Probe.alert_bit(), 0);
        assert_eq!(Metric::Probe.format_value(35.24), "35.2 ms");
        assert_eq!(Metric::Probe.axis_label(1500.0), "1500 ms");
    }
}
