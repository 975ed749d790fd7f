//! `/proc` parsing for the health job: CPU counters and cores, load, memory
//! and swap, uptime, host name.
//!
//! Parsers take text and are pure; readers take a [`Roots`] so tests point
//! them at fixture trees. This is hand-parsed rather than the `procfs` crate:
//! the job reads five small files once a minute, and a few dozen lines of
//! `split_whitespace` keep the binary and its start-up smaller than the
//! crate's generic parsers and their allocations.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};

use crate::files::health::CpuCounters;

/// Where `/proc` and `/sys` live; tests use fixture trees.
#[derive(Debug, Clone, PartialEq)]
pub struct Roots {
    pub proc: PathBuf,
    pub sys: PathBuf,
}

impl Roots {
    /// The running machine.
    pub fn system() -> Roots {
        Roots {
            proc: PathBuf::from("/proc"),
            sys: PathBuf::from("/sys"),
        }
    }

    /// A fixture tree with `proc/` and `sys/` inside `dir`.
    pub fn under(dir: impl Into<PathBuf>) -> Roots {
        let dir = dir.into();
        Roots {
            proc: dir.join("proc"),
            sys: dir.join("sys"),
        }
    }

    /// Reads a file below the proc root, naming it in the error.
    pub fn read_proc(&self, rel: &str) -> Result<String> {
        let p = self.proc.join(rel);
        std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))
    }
}

/// What `/proc/stat` tells the health job.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    pub counters: CpuCounters,
    /// Online CPUs (`cpuN` lines).
    pub cores: u32,
}

/// Parses `/proc/stat`: the aggregate `cpu` line, the per-CPU lines and `btime`.
pub fn parse_stat(text: &str) -> Result<Stat> {
    let mut counters = None;
    let mut cores = 0;
    let mut boot_time = 0;
    for line in text.lines() {
        let mut f = line.split_whitespace();
        match f.next() {
            Some("cpu") => {
                let v: Vec<u64> = f.map(|x| x.parse().unwrap_or(0)).collect();
                if v.len() < 4 {
                    bail!("the cpu line of /proc/stat has {} fields", v.len());
                }
                // user nice system idle iowait irq softirq steal (guest is inside user).
                let total: u64 = v.iter().take(8).sum();
                let idle = v[3] + v.get(4).copied().unwrap_or(0);
                counters = Some((total.saturating_sub(idle), total));
            }
            Some(name) if name.starts_with("cpu") => cores += 1,
            Some("btime") => boot_time = f.next().and_then(|x| x.parse().ok()).unwrap_or(0),
            _ => {}
        }
    }
    let (busy, total) = counters.ok_or_else(|| anyhow!("/proc/stat has no cpu line"))?;
    Ok(Stat {
        counters: CpuCounters {
            busy,
            total,
            boot_time,
        },
        cores,
    })
}

/// Why there is no CPU percent this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoCpuPercent {
    FirstRun,
    Rebooted,
    TooSoon,
}

impl NoCpuPercent {
    pub fn note(self) -> &'static str {
        match self {
            NoCpuPercent::FirstRun => {
                "first run: cpu percent is measured between runs and appears from the next run"
            }
            NoCpuPercent::Rebooted => {
                "the machine restarted since the previous run: cpu percent appears from the next run"
            }
            NoCpuPercent::TooSoon => {
                "the previous run was too recent to measure cpu percent; it appears from the next run"
            }
        }
    }
}

/// Busy percent between two counter samples.
pub fn cpu_percent(prev: Option<&CpuCounters>, now: &CpuCounters) -> Result<f64, NoCpuPercent> {
    let prev = prev.ok_or(NoCpuPercent::FirstRun)?;
    if prev.boot_time != now.boot_time || now.total < prev.total || now.busy < prev.busy {
        return Err(NoCpuPercent::Rebooted);
    }
    let dt = now.total - prev.total;
    if dt == 0 {
        return Err(NoCpuPercent::TooSoon);
    }
    let db = (now.busy - prev.busy).min(dt);
    Ok(round1(db as f64 * 100.0 / dt as f64))
}

/// Parses the three load averages from `/proc/loadavg`.
pub fn parse_loadavg(text: &str) -> Result<[f64; 3]> {
    let mut f = text.split_whitespace().map(str::parse::<f64>);
    let mut next = || -> Result<f64> {
        f.next()
            .and_then(Result::ok)
            .filter(|x| x.is_finite())
            .ok_or_else(|| anyhow!("/proc/loadavg is not three numbers: {text:?}"))
    };
    Ok([next()?, next()?, next()?])
}

/// Memory and swap from `/proc/meminfo`, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Memory {
    pub total: u64,
    pub available: u64,
    pub swap_total: u64,
    pub swap_free: u64,
}

impl Memory {
    pub fn percent(&self) -> f64 {
        percent(self.total.saturating_sub(self.available), self.total)
    }

    pub fn swap_percent(&self) -> f64 {
        percent(
            self.swap_total.saturating_sub(self.swap_free),
            self.swap_total,
        )
    }
}

/// Parses `/proc/meminfo`. Kernels before 3.14 have no `MemAvailable`; there
/// free + buffers + cached is the usual estimate.
pub fn parse_meminfo(text: &str) -> Result<Memory> {
    let mut get = std::collections::HashMap::new();
    for line in text.lines() {
        let Some((k, rest)) = line.split_once(':') else {
            continue;
        };
        let kb: Option<u64> = rest.split_whitespace().next().and_then(|x| x.parse().ok());
        if let Some(kb) = kb {
            get.insert(k, kb * 1024);
        }
    }
    let total = *get
        .get("MemTotal")
        .ok_or_else(|| anyhow!("/proc/meminfo has no MemTotal"))?;
    let available = match get.get("MemAvailable") {
        Some(a) => *a,
        None => ["MemFree", "Buffers", "Cached"]
            .iter()
            .map(|k| get.get(k).copied().unwrap_or(0))
            .sum(),
    };
    Ok(Memory {
        total,
        available: available.min(total),
        swap_total: get.get("SwapTotal").copied().unwrap_or(0),
        swap_free: get.get("SwapFree").copied().unwrap_or(0),
    })
}

/// Seconds since boot from `/proc/uptime`.
pub fn parse_uptime(text: &str) -> Result<u64> {
    text.split_whitespace()
        .next()
        .and_then(|x| x.parse::<f64>().ok())
        .filter(|x| x.is_finite() && *x >= 0.0)
        .map(|x| x as u64)
        .ok_or_else(|| anyhow!("/proc/uptime is not a number: {text:?}"))
}

/// `part` of `whole` in percent with one decimal; 0 when `whole` is 0.
pub fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        round1(part as f64 * 100.0 / whole as f64)
    }
}

/// Rounds to one decimal, the precision every report value carries.
pub fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "cpu  100 0 50 800 50 0 0 0 0 0\n\
                        cpu0 50 0 25 400 25 0 0 0 0 0\n\
                        cpu1 50 0 25 400 25 0 0 0 0 0\n\
                        intr 1 2 3\nctxt 99\nbtime 1764000000\nprocs_running 1\n";

    #[test]
    fn stat_counts_busy_total_and_cores() {
        let s = parse_stat(STAT).unwrap();
        assert_eq!(s.cores, 2);
        assert_eq!(s.counters.total, 1000);
        assert_eq!(s.counters.busy, 150);
        assert_eq!(s.counters.boot_time, 1_764_000_000);
        assert!(parse_stat("intr 1\n").is_err());
    }

    #[test]
    fn cpu_percent_between_samples() {
        let a = CpuCounters {
            busy: 150,
            total: 1000,
            boot_time: 7,
        };
        let b = CpuCounters {
            busy: 175,
            total: 1200,
            boot_time: 7,
        };
        assert_eq!(cpu_percent(Some(&a), &b), Ok(12.5));
        assert_eq!(cpu_percent(None, &b), Err(NoCpuPercent::FirstRun));
        assert_eq!(cpu_percent(Some(&a), &a), Err(NoCpuPercent::TooSoon));
        let rebooted = CpuCounters { boot_time: 8, ..b };
        assert_eq!(
            cpu_percent(Some(&a), &rebooted),
            Err(NoCpuPercent::Rebooted)
        );
        assert_eq!(cpu_percent(Some(&b), &a), Err(NoCpuPercent::Rebooted));
    }

    #[test]
    fn meminfo_with_and_without_memavailable() {
        let m = parse_meminfo(
            "MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 250 kB\nSwapTotal: 400 kB\nSwapFree: 300 kB\n",
        )
        .unwrap();
        assert_eq!(m.total, 1000 * 1024);
        assert_eq!(m.percent(), 75.0);
        assert_eq!(m.swap_percent(), 25.0);
        let old = parse_meminfo(
            "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 50 kB\nSwapTotal: 0 kB\n",
        )
        .unwrap();
        assert_eq!(old.available, 200 * 1024);
        assert_eq!(old.swap_percent(), 0.0);
        assert!(parse_meminfo("nonsense").is_err());
    }

    #[test]
    fn loadavg_and_uptime() {
        assert_eq!(
            parse_loadavg("0.10 0.20 0.30 1/200 1234\n").unwrap(),
            [0.1, 0.2, 0.3]
        );
        assert!(parse_loadavg("0.1 x").is_err());
        assert_eq!(parse_uptime("12345.67 999.0\n").unwrap(), 12345);
        assert!(parse_uptime("").is_err());
    }
}
