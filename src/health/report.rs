//! The human summary `potion-health --print` shows: plain English lines, one per topic.

use std::fmt::Write;

use crate::files::health::HealthReport;
use crate::human::bytes;

/// Renders the report as a short, readable summary.
pub fn summary(r: &HealthReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} at {} (up {})",
        r.host,
        r.taken_at,
        duration(r.uptime_s)
    );
    let cpu = match r.cpu.percent {
        Some(p) => format!("{p:.1}%"),
        None => "n/a (first sample)".to_string(),
    };
    let _ = writeln!(
        s,
        "{:<10}{cpu}, load {:.2} {:.2} {:.2} on {} {}",
        "CPU",
        r.cpu.load[0],
        r.cpu.load[1],
        r.cpu.load[2],
        r.cpu.cores,
        if r.cpu.cores == 1 { "core" } else { "cores" }
    );
    let m = &r.memory;
    let _ = writeln!(
        s,
        "Memory    {:.1}% used, {} of {} available, swap {:.1}%",
        m.percent,
        bytes(m.available_bytes),
        bytes(m.total_bytes),
        m.swap_percent
    );
    for d in &r.disks {
        let label = format!("Disk {}", d.name);
        if d.present {
            let _ = writeln!(
                s,
                "{label:<10}{:.1}% used, {} of {} ({})",
                d.percent,
                bytes(d.used_bytes),
                bytes(d.total_bytes),
                d.mount
            );
        } else {
            let _ = writeln!(s, "{label:<10}missing: nothing is mounted at {}", d.mount);
        }
    }
    let temp = r
        .temperature_c
        .map_or("no sensor".to_string(), |t| format!("{t:.1} °C"));
    let _ = writeln!(s, "Temp      {temp}");
    for svc in &r.services {
        let _ = writeln!(s, "Service   {} {} ({})", svc.unit, svc.active, svc.sub);
    }
    let b = &r.backup;
    let backup = match (b.last_status.as_str(), b.age_h) {
        ("none", _) => "no backup has run yet".to_string(),
        (status, Some(age)) => format!("last good one {age:.1} h ago, latest run {status}"),
        (status, None) => format!("no good backup yet, latest run {status}"),
    };
    let _ = writeln!(s, "Backup    {backup}");
    senses(&mut s, r);
    if r.alerts.is_empty() {
        let _ = writeln!(s, "Alerts    none, all good");
    }
    for a in &r.alerts {
        let detail = match (a.value, a.threshold) {
            (Some(v), Some(t)) => format!(" {v:.1} (limit {t:.0})"),
            _ => String::new(),
        };
        let _ = writeln!(s, "ALERT     {}{detail} since {}", a.code, a.since);
    }
    for n in &r.notes {
        let _ = writeln!(s, "Note      {n}");
    }
    for e in &r.errors {
        let _ = writeln!(s, "Error     {e}");
    }
    s
}

/// Power, SMART and probe lines of the summary.
fn senses(s: &mut String, r: &HealthReport) {
    if let Some(p) = &r.power {
        let mains = match (p.ac_online, &p.on_battery_since) {
            (Some(false), Some(since)) => format!("OFF, on battery since {since}"),
            (Some(false), None) => "OFF, on battery".to_string(),
            (Some(true), _) => "on".to_string(),
            (None, _) => "not reported".to_string(),
        };
        let back = p
            .on_battery_for_s
            .map(|secs| format!(" (back after {} on battery)", duration(secs)))
            .unwrap_or_default();
        let _ = writeln!(s, "Power     mains {mains}{back}");
        for b in &p.batteries {
            let pct = b.percent.map_or("?".to_string(), |v| format!("{v:.0}%"));
            let wear = b
                .wear_percent
                .map_or(String::new(), |w| format!(", {w:.0}% worn"));
            let _ = writeln!(s, "Battery   {} {pct} {}{wear}", b.name, b.status);
        }
    }
    for d in &r.smart {
        let state = match (d.standby, d.passed) {
            (true, _) => "asleep, last reading".to_string(),
            (false, Some(true)) => "PASSED".to_string(),
            (false, Some(false)) => "FAILED".to_string(),
            (false, None) => "no verdict".to_string(),
        };
        let model = d.model.as_deref().unwrap_or("unknown model");
        let hours = d
            .power_on_hours
            .map_or(String::new(), |h| format!(", {h} h powered on"));
        let problems = if d.problems.is_empty() {
            String::new()
        } else {
            format!(": {}", d.problems.join("; "))
        };
        let _ = writeln!(s, "SMART     {} {model} {state}{hours}{problems}", d.device);
    }
    for p in &r.probes {
        let what = match (p.status, p.latency_ms, &p.error) {
            (Some(code), Some(ms), _) => format!("{code} in {ms:.0} ms"),
            (_, _, Some(e)) => e.clone(),
            _ => "no answer".to_string(),
        };
        let ok = if p.ok { "ok" } else { "DOWN" };
        let _ = writeln!(s, "Probe     {} {ok}: {what} ({})", p.name, p.url);
    }
}

/// The one line a run logs to the journal: `cpu 12.5% ram 40.1% disk 48.0%
/// data 12.0% temp 51.0C alerts: none` (services and a count of probe
/// errors only when there are any).
pub fn line(r: &HealthReport) -> String {
    let mut s = match r.cpu.percent {
        Some(p) => format!("cpu {p:.1}%"),
        None => "cpu n/a".to_string(),
    };
    let _ = write!(s, " ram {:.1}%", r.memory.percent);
    for d in &r.disks {
        let name = if d.name == "root" { "disk" } else { &d.name };
        if d.present {
            let _ = write!(s, " {name} {:.1}%", d.percent);
        } else {
            let _ = write!(s, " {name} missing");
        }
    }
    if let Some(t) = r.temperature_c {
        let _ = write!(s, " temp {t:.1}C");
    }
    if !r.services.is_empty() {
        let up = r.services.iter().filter(|v| v.active == "active").count();
        let _ = write!(s, " services {up}/{} active", r.services.len());
    }
    if !r.probes.is_empty() {
        let up = r.probes.iter().filter(|p| p.ok).count();
        let _ = write!(s, " probes {up}/{} ok", r.probes.len());
    }
    if let Some(p) = r.power.as_ref().filter(|p| p.ac_online == Some(false)) {
        let pct = p
            .batteries
            .iter()
            .filter_map(|b| b.percent)
            .reduce(f64::min);
        let _ = write!(s, " on battery");
        if let Some(pct) = pct {
            let _ = write!(s, " {pct:.0}%");
        }
    }
    s.push_str(" alerts: ");
    if r.alerts.is_empty() {
        s.push_str("none");
    } else {
        let codes: Vec<&str> = r.alerts.iter().map(|a| a.code.as_str()).collect();
        s.push_str(&codes.join(", "));
    }
    if !r.errors.is_empty() {
        let _ = write!(s, "; probe errors: {}", r.errors.len());
    }
    s
}

/// `3d 4h`, `5h 12m`, `42m`.
fn duration(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60);
    match (d, h) {
        (0, 0) => format!("{m}m"),
        (0, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A first-run report of the `nosensors` fixture machine at 2026-11-25T19:00:00Z.
    fn nosensors_report() -> HealthReport {
        let fixture = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/health/nosensors"
        );
        let dir = tempfile::tempdir().unwrap();
        let pairs = [("STATE_DIR".to_string(), dir.path().display().to_string())].into();
        let cfg = crate::config::Config::from_pairs(&pairs).unwrap();
        let now = crate::files::parse_rfc3339("2026-11-25T19:00:00Z").unwrap();
        let roots = crate::health::Roots::under(fixture);
        crate::health::collect(&roots, &cfg, &Default::default(), now).0
    }

    #[test]
    fn summary_of_a_machine_without_sensors_or_data_disk() {
        let mut r = nosensors_report();
        r.alerts.push(crate::files::health::Alert {
            code: "RAM_HIGH".into(),
            since: "2026-11-25T18:58:00Z".into(),
            value: Some(97.0),
            threshold: Some(90.0),
        });
        let text = summary(&r);
        assert!(
            text.starts_with("old-box at 2026-11-25T19:00:00Z (up 1m)\n"),
            "{text}"
        );
        assert!(text.contains("CPU       n/a (first sample), load 1.50 0.75 0.25 on 1 core\n"));
        assert!(text.contains("Disk data missing: nothing is mounted at /mnt/potion-data\n"));
        assert!(text.contains("Temp      no sensor\n"));
        assert!(text.contains("Backup    no backup has run yet\n"));
        assert!(text.contains("ALERT     RAM_HIGH 97.0 (limit 90) since 2026-11-25T18:58:00Z\n"));
        assert!(text.contains("Note      first run"));
    }

    #[test]
    fn one_log_line_per_run() {
        let mut r = nosensors_report();
        let first = line(&r);
        assert!(first.starts_with("cpu n/a ram "), "{first}");
        assert!(first.contains(" disk "), "{first}");
        assert!(first.ends_with(" data missing alerts: none"), "{first}");
        assert!(!first.contains('\n'), "{first}");

        r.cpu.percent = Some(12.345);
        r.memory.percent = 40.06;
        r.disks[0].percent = 48.0;
        r.temperature_c = Some(51.0);
        r.services.push(crate::files::health::ServiceInfo {
            unit: "ollama.service".into(),
            active: "failed".into(),
            sub: "failed".into(),
        });
        for code in ["DATA_DISK_MISSING", "SERVICE_DOWN:ollama.service"] {
            r.alerts.push(crate::files::health::Alert {
                code: code.into(),
                since: "2026-11-25T18:58:00Z".into(),
                value: None,
                threshold: None,
            });
        }
        r.errors.push("temperature: unreadable".into());
        assert_eq!(
            line(&r),
            "cpu 12.3% ram 40.1% disk 48.0% data missing temp 51.0C services 0/1 active \
             alerts: DATA_DISK_MISSING, SERVICE_DOWN:ollama.service; probe errors: 1"
        );
    }

    #[test]
    fn power_smart_and_probes_in_summary_and_line() {
        let mut r = nosensors_report();
        let supplies = crate::health::power::read(&crate::health::Roots::under(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/health/laptop"
        )))
        .unwrap()
        .unwrap();
        let now = crate::files::parse_rfc3339("2026-11-25T19:00:00Z").unwrap();
        r.power = Some(crate::health::power::info(&supplies, None, now));
        r.smart.push(crate::files::health::SmartDisk {
            device: "/dev/sda".into(),
            model: Some("ST500LM021-1KJ152".into()),
            passed: Some(true),
            power_on_hours: Some(33712),
            problems: vec!["pending_sectors grew from 0 to 2".into()],
            ..Default::default()
        });
        for (name, ok, status, err) in [
            ("ollama", true, Some(200), None),
            ("rag", false, None, Some("timed out reading")),
        ] {
            r.probes.push(crate::files::health::ProbeInfo {
                name: name.into(),
                url: format!("http://127.0.0.1/{name}"),
                ok,
                status,
                latency_ms: status.map(|_| 12.4),
                error: err.map(String::from),
            });
        }
        let text = summary(&r);
        for want in [
            "Power     mains OFF, on battery since 2026-11-25T19:00:00Z\n",
            "Battery   BAT0 20% Discharging, 42% worn\n",
            "SMART     /dev/sda ST500LM021-1KJ152 PASSED, 33712 h powered on: pending_sectors grew from 0 to 2\n",
            "Probe     ollama ok: 200 in 12 ms (http://127.0.0.1/ollama)\n",
            "Probe     rag DOWN: timed out reading (http://127.0.0.1/rag)\n",
        ] {
            assert!(text.contains(want), "{want:?} not in\n{text}");
        }
        assert!(!text.contains("hidpp"), "{text}");
        let l = line(&r);
        assert!(l.contains(" probes 1/2 ok on battery 20% alerts: "), "{l}");
    }

    #[test]
    fn units() {
        assert_eq!(duration(42 * 60), "42m");
        assert_eq!(duration(5 * 3600 + 12 * 60), "5h 12m");
        assert_eq!(duration(3 * 86_400 + 4 * 3600 + 59), "3d 4h");
    }
}
