//! `potion.prom`: the report in node_exporter's textfile-collector format
//! (`# HELP`, `# TYPE`, one sample a line), so a user who outgrows one machine
//! can scrape it. Unknown values (no sensor, first run) are left out, not zeroed.

use std::fmt::Write;

use crate::files::health::HealthReport;

/// Writes one metric family: HELP and TYPE lines, then its samples.
struct Family<'a> {
    out: &'a mut String,
}

impl Family<'_> {
    fn gauge(&mut self, name: &str, help: &str, samples: &[(String, f64)]) {
        if samples.is_empty() {
            return;
        }
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} gauge");
        for (labels, v) in samples {
            let _ = writeln!(self.out, "{name}{labels} {v}");
        }
    }
}

/// Escapes a label value as the exposition format wants (`\\`, `\"`, `\n`).
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn labels(pairs: &[(&str, &str)]) -> String {
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", esc(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

fn one(v: f64) -> Vec<(String, f64)> {
    vec![(String::new(), v)]
}

fn opt(v: Option<f64>) -> Vec<(String, f64)> {
    v.map(one).unwrap_or_default()
}

/// Renders the whole textfile.
pub fn render(r: &HealthReport, taken_at_unix: i64) -> String {
    let mut out = String::new();
    let mut f = Family { out: &mut out };
    f.gauge(
        "potion_cpu_percent",
        "CPU busy percent since the previous health run.",
        &opt(r.cpu.percent),
    );
    let load: Vec<(String, f64)> = ["1m", "5m", "15m"]
        .iter()
        .zip(r.cpu.load)
        .map(|(p, v)| (labels(&[("period", p)]), v))
        .collect();
    f.gauge("potion_load_average", "System load average.", &load);
    f.gauge(
        "potion_cpu_cores",
        "Online CPU cores.",
        &one(r.cpu.cores.into()),
    );
    let m = &r.memory;
    f.gauge(
        "potion_memory_total_bytes",
        "Total memory.",
        &one(m.total_bytes as f64),
    );
    f.gauge(
        "potion_memory_available_bytes",
        "Memory available to new work (MemAvailable).",
        &one(m.available_bytes as f64),
    );
    f.gauge(
        "potion_memory_percent",
        "Memory in use, percent.",
        &one(m.percent),
    );
    f.gauge(
        "potion_swap_percent",
        "Swap in use, percent.",
        &one(m.swap_percent),
    );
    let disk = |pick: fn(&crate::files::health::DiskInfo) -> Option<f64>| -> Vec<(String, f64)> {
        r.disks
            .iter()
            .filter_map(|d| Some((labels(&[("name", &d.name), ("mount", &d.mount)]), pick(d)?)))
            .collect()
    };
    f.gauge(
        "potion_disk_present",
        "1 when the disk is mounted.",
        &disk(|d| Some(if d.present { 1.0 } else { 0.0 })),
    );
    f.gauge(
        "potion_disk_total_bytes",
        "Disk size.",
        &disk(|d| d.present.then_some(d.total_bytes as f64)),
    );
    f.gauge(
        "potion_disk_used_bytes",
        "Disk space used.",
        &disk(|d| d.present.then_some(d.used_bytes as f64)),
    );
    f.gauge(
        "potion_disk_percent",
        "Disk space used, percent (as df shows it).",
        &disk(|d| d.present.then_some(d.percent)),
    );
    f.gauge(
        "potion_uptime_seconds",
        "Seconds since boot.",
        &one(r.uptime_s as f64),
    );
    f.gauge(
        "potion_temperature_celsius",
        "Hottest sensible temperature sensor.",
        &opt(r.temperature_c),
    );
    let services: Vec<(String, f64)> = r
        .services
        .iter()
        .map(|s| {
            let l = labels(&[("unit", &s.unit), ("active", &s.active), ("sub", &s.sub)]);
            (l, if s.active == "active" { 1.0 } else { 0.0 })
        })
        .collect();
    f.gauge(
        "potion_service_up",
        "1 when the unit's ActiveState is active.",
        &services,
    );
    f.gauge(
        "potion_backup_age_hours",
        "Age of the newest good backup snapshot.",
        &opt(r.backup.age_h),
    );
    f.gauge(
        "potion_backup_failed",
        "1 when the latest backup run failed.",
        &one(if r.backup.last_status == "failed" {
            1.0
        } else {
            0.0
        }),
    );
    senses(&mut f, r);
    let alerts: Vec<(String, f64)> = r
        .alerts
        .iter()
        .map(|a| (labels(&[("code", &a.code)]), 1.0))
        .collect();
    f.gauge("potion_alert_active", "Alerts firing now.", &alerts);
    f.gauge(
        "potion_health_errors",
        "Probes that failed in the latest health run.",
        &one(r.errors.len() as f64),
    );
    f.gauge(
        "potion_health_last_run_timestamp_seconds",
        "When the latest health run took its sample.",
        &one(taken_at_unix as f64),
    );
    out
}

/// Power, SMART and HTTP probes; a section the run could not read has no samples.
fn senses(f: &mut Family<'_>, r: &HealthReport) {
    let bool01 = |b: bool| if b { 1.0 } else { 0.0 };
    let power = r.power.as_ref();
    f.gauge(
        "potion_power_ac_online",
        "1 when mains power is online.",
        &opt(power.and_then(|p| p.ac_online).map(bool01)),
    );
    let batteries = power.map_or(&[][..], |p| &p.batteries[..]);
    let per_battery =
        |v: fn(&crate::files::health::BatteryInfo) -> Option<f64>| -> Vec<(String, f64)> {
            batteries
                .iter()
                .filter_map(|b| Some((labels(&[("battery", &b.name)]), v(b)?)))
                .collect()
        };
    f.gauge(
        "potion_battery_percent",
        "Charge of each system battery.",
        &per_battery(|b| b.percent),
    );
    f.gauge(
        "potion_battery_wear_percent",
        "Lost capacity of each system battery against its design.",
        &per_battery(|b| b.wear_percent),
    );
    let disks = |v: fn(&crate::files::health::SmartDisk) -> Option<f64>| -> Vec<(String, f64)> {
        r.smart
            .iter()
            .filter_map(|d| Some((labels(&[("device", &d.device)]), v(d)?)))
            .collect()
    };
    f.gauge(
        "potion_smart_passed",
        "1 when the disk's SMART overall health check passed.",
        &disks(|d| d.passed.map(|p| if p { 1.0 } else { 0.0 })),
    );
    f.gauge(
        "potion_smart_problems",
        "Reasons DISK_SMART fires for the disk (0 = fine).",
        &disks(|d| Some(d.problems.len() as f64)),
    );
    f.gauge(
        "potion_smart_temperature_celsius",
        "Disk temperature as SMART reports it.",
        &disks(|d| d.temperature_c),
    );
    let probes = |v: fn(&crate::files::health::ProbeInfo) -> Option<f64>| -> Vec<(String, f64)> {
        r.probes
            .iter()
            .filter_map(|p| Some((labels(&[("probe", &p.name)]), v(p)?)))
            .collect()
    };
    f.gauge(
        "potion_probe_up",
        "1 when the probe URL answered 2xx in time.",
        &probes(|p| Some(if p.ok { 1.0 } else { 0.0 })),
    );
    f.gauge(
        "potion_probe_latency_seconds",
        "Time to the probe's status line.",
        &probes(|p| p.latency_ms.map(|ms| ms / 1000.0)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::files::health::*;

    fn report() -> HealthReport {
        HealthReport {
            schema: 1,
            host: "x".into(),
            taken_at: "2026-11-25T19:00:00Z".into(),
            cpu: CpuInfo {
                percent: None,
                load: [0.5, 0.25, 0.125],
                cores: 2,
            },
            memory: MemoryInfo {
                total_bytes: 100,
                available_bytes: 40,
                percent: 60.0,
                swap_percent: 0.0,
            },
            disks: vec![DiskInfo {
                name: "data".into(),
                mount: "/mnt/potion-data".into(),
                total_bytes: 0,
                used_bytes: 0,
                percent: 0.0,
                present: false,
            }],
            uptime_s: 10,
            temperature_c: None,
            services: vec![ServiceInfo {
                unit: "ollama.service".into(),
                active: "failed".into(),
                sub: "failed".into(),
            }],
            backup: BackupInfo::default(),
            boot_id: None,
            power: None,
            smart: Vec::new(),
            probes: Vec::new(),
            alerts: vec![Alert {
                code: "DATA_DISK_MISSING".into(),
                since: "2026-11-25T19:00:00Z".into(),
                value: None,
                threshold: None,
            }],
            errors: vec![],
            notes: vec![],
            warnings: vec![],
        }
    }

    #[test]
    fn every_sample_has_help_and_type_and_unknowns_are_left_out() {
        let text = render(&report(), 1_764_097_200);
        let mut typed = std::collections::HashSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                assert!(rest.ends_with(" gauge"), "{line}");
                typed.insert(rest.split(' ').next().unwrap().to_string());
            } else if !line.starts_with("# HELP ") {
                let name = line.split(['{', ' ']).next().unwrap();
                assert!(typed.contains(name), "{name} has no TYPE line");
                assert!(
                    line.rsplit(' ').next().unwrap().parse::<f64>().is_ok(),
                    "{line}"
                );
            }
        }
        assert!(
            !text.contains("potion_cpu_percent"),
            "first run has no cpu percent"
        );
        assert!(!text.contains("potion_temperature_celsius"));
        assert!(
            !text.contains("potion_disk_percent"),
            "absent disk has no usage"
        );
        assert!(text.contains("potion_disk_present{name=\"data\",mount=\"/mnt/potion-data\"} 0\n"));
        assert!(text.contains(
            "potion_service_up{unit=\"ollama.service\",active=\"failed\",sub=\"failed\"} 0\n"
        ));
        assert!(text.contains("potion_alert_active{code=\"DATA_DISK_MISSING\"} 1\n"));
        assert!(text.contains("potion_load_average{period=\"5m\"} 0.25\n"));
        assert!(
            !text.contains("potion_power_"),
            "no power section, no power samples"
        );
    }

    #[test]
    fn power_smart_and_probes() {
        let mut r = report();
        r.power = Some(PowerInfo {
            ac_online: Some(false),
            batteries: vec![BatteryInfo {
                name: "BAT0".into(),
                percent: Some(20.0),
                status: "Discharging".into(),
                wear_percent: None,
            }],
            ..PowerInfo::default()
        });
        r.smart.push(SmartDisk {
            device: "/dev/sda".into(),
            passed: Some(false),
            problems: vec!["overall health check FAILED".into()],
            ..SmartDisk::default()
        });
        r.probes.push(ProbeInfo {
            name: "ollama".into(),
            url: "http://127.0.0.1:11434/api/tags".into(),
            ok: true,
            status: Some(200),
            latency_ms: Some(12.5),
            error: None,
        });
        let text = render(&r, 1_764_097_200);
        for want in [
            "potion_power_ac_online 0\n",
            "potion_battery_percent{battery=\"BAT0\"} 20\n",
            "potion_smart_passed{device=\"/dev/sda\"} 0\n",
            "potion_smart_problems{device=\"/dev/sda\"} 1\n",
            "potion_probe_up{probe=\"ollama\"} 1\n",
            "potion_probe_latency_seconds{probe=\"ollama\"} 0.0125\n",
        ] {
            assert!(text.contains(want), "{want:?} not in\n{text}");
        }
        assert!(
            !text.contains("potion_battery_wear_percent"),
            "unknown wear is left out"
        );
        assert!(!text.contains("potion_smart_temperature_celsius"));
    }

    #[test]
    fn labels_are_escaped() {
        assert_eq!(
            labels(&[("unit", "a\"b\\c\nd")]),
            "{unit=\"a\\\"b\\\\c\\nd\"}"
        );
    }
}
