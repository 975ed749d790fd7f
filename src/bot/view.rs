//! Read-only replies rendered from the job files (`/status`, `/uptime`,
//! `/alerts`, `/svc_list`, `/backup_list`). Pure: the caller reads the files
//! into [`Loaded`] values; missing, stale or corrupt files become a clear
//! sentence, never an error.

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::files::backup::{BackupOutcome, SnapshotIndex, VerifySummary};
use crate::files::health::HealthReport;
use crate::files::parse_rfc3339;

use super::i18n::Texts;
use super::loaded::Loaded;
use super::text::{bytes, duration, esc, fill, num, when};

fn file_problem<T>(t: &Texts, file: &str, l: &Loaded<T>) -> Option<String> {
    match l {
        Loaded::Missing => Some(fill(t.no_data, &[("file", file)])),
        // The parser's own words, verbatim.
        Loaded::Corrupt(e) => Some(fill(
            t.corrupt,
            &[("file", file), ("err", &super::i18n::pre(e))],
        )),
        Loaded::Ok(_) => None,
    }
}

fn age_s(at: &str, now: DateTime<Utc>) -> Option<u64> {
    parse_rfc3339(at).map(|t| (now - t).num_seconds().max(0) as u64)
}

/// The stale warning line for a health report, if it is older than allowed.
pub fn stale_line(t: &Texts, r: &HealthReport, stale_s: u64, now: DateTime<Utc>) -> Option<String> {
    match age_s(&r.taken_at, now) {
        Some(a) if a <= stale_s => None,
        Some(a) => Some(fill(
            t.stale,
            &[
                ("age", &duration(a)),
                ("at", &when(&t.clock, &r.taken_at, now)),
            ],
        )),
        None => Some(fill(
            t.stale,
            &[("age", "?"), ("at", &when(&t.clock, &r.taken_at, now))],
        )),
    }
}

fn with_health(
    t: &Texts,
    cfg: &Config,
    h: &Loaded<HealthReport>,
    now: DateTime<Utc>,
    body: impl FnOnce(&HealthReport) -> String,
) -> String {
    let r = match h {
        Loaded::Ok(r) => r,
        other => return file_problem(t, crate::paths::LAST_HEALTH, other).unwrap_or_default(),
    };
    match stale_line(t, r, cfg.health_stale_s, now) {
        Some(s) => format!("{s}\n\n{}", body(r)),
        None => body(r),
    }
}

/// `/status`.
pub fn status(t: &Texts, cfg: &Config, h: &Loaded<HealthReport>, now: DateTime<Utc>) -> String {
    with_health(t, cfg, h, now, |r| {
        let mut s = format!(
            "🖥 <b>{}</b> · {}\n",
            esc(&r.host),
            when(&t.clock, &r.taken_at, now)
        );
        let cpu = r
            .cpu
            .percent
            .map(|p| format!("{}%", num(p)))
            .unwrap_or("–".into());
        s += &format!(
            "{}: {cpu} · load {:.2} {:.2} {:.2} · {} {}\n",
            t.l_cpu, r.cpu.load[0], r.cpu.load[1], r.cpu.load[2], r.cpu.cores, t.l_cores
        );
        s += &format!(
            "{}: {}% ({} {} / {}) · swap {}%\n",
            t.l_ram,
            num(r.memory.percent),
            bytes(
                r.memory
                    .total_bytes
                    .saturating_sub(r.memory.available_bytes)
            ),
            t.l_used,
            bytes(r.memory.total_bytes),
            num(r.memory.swap_percent)
        );
        for d in &r.disks {
            if d.present {
                s += &format!(
                    "{} {}: {}% ({} / {})\n",
                    t.l_disk,
                    esc(&d.mount),
                    num(d.percent),
                    bytes(d.used_bytes),
                    bytes(d.total_bytes)
                );
            } else {
                s += &format!("{} {}: {}\n", t.l_disk, esc(&d.mount), t.not_mounted);
            }
        }
        let temp = r
            .temperature_c
            .map(|c| format!("{} °C", num(c)))
            .unwrap_or_else(|| t.no_sensor.to_string());
        s += &format!("{}: {temp}\n", t.l_temp);
        s += &format!("{}: {}\n", t.l_uptime, duration(r.uptime_s));
        s += &format!("{}: {}\n", t.l_backup, backup_line(t, r));
        let down = r.services.iter().filter(|x| x.active != "active").count();
        if !r.services.is_empty() {
            s += &format!(
                "{}: {}/{} {}\n",
                t.l_services,
                r.services.len() - down,
                r.services.len(),
                t.l_active
            );
        }
        // A stale report's own list is old news; the staleness itself is an
        // alert the bot raises, so it is listed rather than "none".
        let stale = stale_line(t, r, cfg.health_stale_s, now).is_some();
        if r.alerts.is_empty() && !stale {
            s += &format!("{}: {}\n", t.l_alerts, t.none);
        } else {
            // Human titles ("Disk sistem penuh"), not codes.
            let stale_code = stale.then_some(crate::alert_code::AlertCode::HealthStale.as_str());
            let titles: Vec<String> = stale_code
                .into_iter()
                .chain(r.alerts.iter().map(|a| a.code.as_str()))
                .map(|code| super::alerts::title(t, code))
                .collect();
            s += &format!("⚠️ {}: {}\n", t.l_alerts, titles.join(", "));
        }
        for w in &r.warnings {
            s += &format!("{}\n", (t.digest.warning)(*w));
        }
        if !r.errors.is_empty() {
            let parts = super::i18n::health_parts(t.errors, &r.errors);
            s += &format!(
                "{}\n",
                fill(t.errors.health_unreadable, &[("parts", &parts)])
            );
        }
        s
    })
}

fn backup_line(t: &Texts, r: &HealthReport) -> String {
    match (&r.backup.last_ok_at, r.backup.age_h) {
        (Some(_), Some(age)) => fill(
            t.backup_age,
            &[
                ("status", (t.errors.backup_status)(&r.backup.last_status)),
                ("age", &num(age)),
            ],
        ),
        _ => (t.errors.backup_status)(&r.backup.last_status).to_string(),
    }
}

/// `/uptime`.
pub fn uptime(t: &Texts, cfg: &Config, h: &Loaded<HealthReport>, now: DateTime<Utc>) -> String {
    with_health(t, cfg, h, now, |r| {
        fill(
            t.uptime,
            &[
                ("host", &esc(&r.host)),
                ("up", &duration(r.uptime_s)),
                (
                    "load",
                    &format!(
                        "{:.2} {:.2} {:.2}",
                        r.cpu.load[0], r.cpu.load[1], r.cpu.load[2]
                    ),
                ),
            ],
        )
    })
}

/// `/alerts`: what is firing now and what is muted.
pub fn alerts(
    t: &Texts,
    cfg: &Config,
    h: &Loaded<HealthReport>,
    mutes: &std::collections::BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> String {
    let mut s = with_health(t, cfg, h, now, |r| {
        if r.alerts.is_empty() {
            return t.no_alerts.to_string();
        }
        let mut s = format!("<b>{}</b>\n", t.l_alerts);
        for a in &r.alerts {
            s += &format!("• {}\n", super::alerts::describe(t, a));
        }
        s
    });
    let active: Vec<_> = mutes
        .iter()
        .filter(|(_, until)| parse_rfc3339(until).is_some_and(|u| u > now))
        .collect();
    if !active.is_empty() {
        s += &format!("\n<b>{}</b>\n", t.l_muted);
        for (code, until) in active {
            s += &format!("• {} → {}\n", esc(code), when(&t.clock, until, now));
        }
    }
    s
}

/// `/svc_list`: the whitelist with each unit's state from the last health run.
pub fn svc_list(t: &Texts, cfg: &Config, h: &Loaded<HealthReport>, now: DateTime<Utc>) -> String {
    if cfg.services.is_empty() {
        return t.no_services.to_string();
    }
    let report = match h {
        Loaded::Ok(r) => Some(r),
        _ => None,
    };
    let mut s = format!("<b>{}</b>\n", t.l_services);
    if let Some(r) = report
        && let Some(line) = stale_line(t, r, cfg.health_stale_s, now)
    {
        s = format!("{line}\n\n{s}");
    }
    for unit in &cfg.services {
        let state = report.and_then(|r| r.services.iter().find(|x| &x.unit == unit));
        let (icon, text) = match state {
            Some(x) if x.active == "active" => ("🟢", (t.errors.unit_state)(&x.active).to_string()),
            Some(x) => ("🔴", (t.errors.unit_state)(&x.active).to_string()),
            None => ("⚪", t.unknown.to_string()),
        };
        s += &format!("{icon} <code>{}</code> {}\n", esc(unit), esc(&text));
    }
    if let Some(p) = file_problem(t, crate::paths::LAST_HEALTH, h) {
        s += &format!("\n{p}");
    }
    s
}

/// `/backup_list`: the latest outcome and the snapshot index.
pub fn backup_list(
    t: &Texts,
    last: &Loaded<BackupOutcome>,
    index: &Loaded<SnapshotIndex>,
) -> String {
    let mut s = String::new();
    match last {
        Loaded::Ok(b) => s += &outcome_line(t, b),
        other => {
            s += &file_problem(t, crate::paths::LAST_BACKUP, other).unwrap_or_default();
        }
    }
    s += "\n\n";
    match index {
        Loaded::Ok(ix) if ix.snapshots.is_empty() => s += t.no_snapshots,
        Loaded::Ok(ix) => {
            s += &format!("<b>{}</b> ({})\n", t.l_snapshots, ix.snapshots.len());
            for snap in ix.snapshots.iter().take(20) {
                let verify = match &snap.verify {
                    Some(v) if v.status == "ok" => " ✅",
                    Some(_) => " ❌",
                    None => "",
                };
                s += &format!(
                    "• <code>{}</code> {} {}, {} {}{verify}\n",
                    esc(&snap.id),
                    snap.files,
                    t.l_files,
                    bytes(snap.bytes),
                    fill(t.new_bytes, &[("n", &bytes(snap.new_bytes))]),
                );
            }
        }
        other => s += &file_problem(t, crate::paths::BACKUP_INDEX, other).unwrap_or_default(),
    }
    s
}

/// One line about a finished backup run (also the end of `/backup_now`).
/// How a verify ended: intact, or how many problems it found (HTML).
pub fn verify_outcome(t: &Texts, v: &VerifySummary) -> String {
    let tpl = if v.status == "ok" && v.problems == 0 {
        t.verify_ok
    } else {
        t.verify_damaged
    };
    let head = fill(
        tpl,
        &[
            ("id", &esc(&v.id)),
            ("problems", &v.problems.to_string()),
            ("checked", &v.checked_files.to_string()),
            ("total", &v.total_files.to_string()),
        ],
    );
    head + &super::alerts::damaged_list(t, v)
}

pub fn outcome_line(t: &Texts, b: &BackupOutcome) -> String {
    let icon = match b.status.as_str() {
        "ok" => "✅",
        "warnings" => "⚠️",
        _ => "❌",
    };
    let mut s = fill(
        t.backup_outcome,
        &[
            ("icon", icon),
            ("status", (t.errors.backup_status)(&b.status)),
            ("id", &esc(b.id.as_deref().unwrap_or("–"))),
            ("at", &when(&t.clock, &b.finished_at, chrono::Utc::now())),
            ("files", &b.files.to_string()),
            ("bytes", &bytes(b.bytes)),
        ],
    );
    // The backup job's own words, verbatim.
    let said: Vec<&str> = b
        .error
        .iter()
        .chain(b.warnings.iter().take(5))
        .map(String::as_str)
        .collect();
    if !said.is_empty() {
        s += &format!("\n{}", super::i18n::pre(&said.join("\n")));
    }
    s
}

/// The in-place progress message for `/backup_now`.
pub fn progress(t: &Texts, p: &crate::files::backup::BackupProgress) -> String {
    let pct = if p.bytes_total > 0 {
        p.bytes_done as f64 * 100.0 / p.bytes_total as f64
    } else {
        0.0
    };
    fill(
        t.backup_progress,
        &[
            ("phase", &esc(&p.phase)),
            ("pct", &num(pct)),
            ("files", &format!("{}/{}", p.files_done, p.files_total)),
            (
                "bytes",
                &format!("{} / {}", bytes(p.bytes_done), bytes(p.bytes_total)),
            ),
        ],
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::bot::i18n::texts;
    use crate::config::Lang;

    pub fn report(taken_at: &str) -> HealthReport {
        serde_json::from_str(&format!(
            r#"{{"schema":1,"host":"x450l","taken_at":"{taken_at}",
            "cpu":{{"percent":12.5,"load":[0.10,0.20,0.30],"cores":4}},
            "memory":{{"total_bytes":8000000000,"available_bytes":4000000000,"percent":50.0,"swap_percent":0.0}},
            "disks":[{{"name":"root","mount":"/","total_bytes":100,"used_bytes":40,"percent":40.0,"present":true}},
                     {{"name":"data","mount":"/mnt/potion-data","total_bytes":0,"used_bytes":0,"percent":0.0,"present":false}}],
            "uptime_s":90000,"temperature_c":55.0,
            "services":[{{"unit":"ollama.service","active":"failed","sub":"dead"}}],
            "backup":{{"last_id":"20261125T023000Z","last_ok_at":"2026-11-25T02:31:10Z","age_h":16.5,"last_status":"ok"}},
            "alerts":[{{"code":"CPU_HIGH","since":"2026-11-25T18:58:00Z","value":97.0,"threshold":90.0}}],
            "errors":[]}}"#
        ))
        .unwrap()
    }

    fn now() -> DateTime<Utc> {
        parse_rfc3339("2026-11-25T19:01:00Z").unwrap()
    }

    #[test]
    fn status_shows_the_numbers() {
        let cfg = Config::defaults();
        let s = status(
            texts(Lang::En),
            &cfg,
            &Loaded::Ok(report("2026-11-25T19:00:00Z")),
            now(),
        );
        assert!(s.contains("x450l"), "{s}");
        assert!(s.contains("12.5%"), "{s}");
        assert!(s.contains("55 °C"), "{s}");
        assert!(
            s.contains("⚠️ Alerts: CPU high"),
            "human titles, not codes: {s}"
        );
        assert!(s.contains("not mounted"), "{s}");
        assert!(!s.contains("stale"), "{s}");
        assert!(!s.contains("same disk"), "{s}");
        let mut r = report("2026-11-25T19:00:00Z");
        r.warnings = vec![crate::files::health::Warning::BackupSameDisk];
        let s = status(texts(Lang::Id), &cfg, &Loaded::Ok(r), now());
        assert!(s.contains("disk yang sama"), "a standing warning: {s}");
    }

    #[test]
    fn stale_missing_and_corrupt_are_explained() {
        let cfg = Config::defaults();
        let t = texts(Lang::En);
        let s = status(t, &cfg, &Loaded::Ok(report("2026-11-25T18:00:00Z")), now());
        assert!(s.contains("stale"), "{s}");
        assert!(
            s.contains("Health data stale"),
            "the stale alert is listed: {s}"
        );
        assert!(!s.contains("Alerts: none"), "{s}");
        let s = status(t, &cfg, &Loaded::Missing, now());
        assert!(s.contains("No data yet"), "{s}");
        let s = status(t, &cfg, &Loaded::Corrupt("bad <json>".into()), now());
        assert!(s.contains("bad &lt;json&gt;"), "{s}");
        let s = uptime(t, &cfg, &Loaded::Missing, now());
        assert!(s.contains("No data yet"), "{s}");
    }

    #[test]
    fn host_names_are_escaped() {
        let mut r = report("2026-11-25T19:00:00Z");
        r.host = "<evil>".into();
        let s = status(texts(Lang::Id), &Config::defaults(), &Loaded::Ok(r), now());
        assert!(s.contains("&lt;evil&gt;") && !s.contains("<evil>"));
    }

    #[test]
    fn svc_list_marks_states() {
        let mut cfg = Config::defaults();
        cfg.services = vec!["ollama.service".into(), "other.service".into()];
        let s = svc_list(
            texts(Lang::En),
            &cfg,
            &Loaded::Ok(report("2026-11-25T19:00:00Z")),
            now(),
        );
        assert!(
            s.contains("🔴 <code>ollama.service</code> down (failed)"),
            "{s}"
        );
        assert!(s.contains("⚪ <code>other.service</code>"), "{s}");
        cfg.services.clear();
        let s = svc_list(texts(Lang::En), &cfg, &Loaded::Missing, now());
        assert!(s.contains("SERVICES"), "{s}");
    }

    #[test]
    fn alerts_lists_firing_and_muted() {
        let cfg = Config::defaults();
        let mut mutes = std::collections::BTreeMap::new();
        mutes.insert("TEMP_HIGH".to_string(), "2026-11-25T20:00:00Z".to_string());
        mutes.insert("RAM_HIGH".to_string(), "2026-11-25T10:00:00Z".to_string());
        let s = alerts(
            texts(Lang::En),
            &cfg,
            &Loaded::Ok(report("2026-11-25T19:00:00Z")),
            &mutes,
            now(),
        );
        assert!(s.contains("CPU"), "{s}");
        assert!(s.contains("TEMP_HIGH") && !s.contains("RAM_HIGH"), "{s}");
    }

    #[test]
    fn backup_list_handles_missing_and_present() {
        let t = texts(Lang::En);
        let s = backup_list(t, &Loaded::Missing, &Loaded::Missing);
        assert!(
            s.contains("last_backup.json") && s.contains("backups.json"),
            "{s}"
        );
        let last: BackupOutcome = serde_json::from_str(
            r#"{"schema":1,"id":"20261125T023000Z","status":"failed","started_at":"a","finished_at":"b",
            "error":"disk full","last_ok_at":null,"last_ok_id":null}"#,
        )
        .unwrap();
        let ix: SnapshotIndex = serde_json::from_str(
            r#"{"schema":1,"updated_at":"x","snapshots":[{"id":"20261124T023000Z","finished_at":"y",
            "files":3,"bytes":2048,"new_bytes":1024,"verify":null}],"last_verify":null}"#,
        )
        .unwrap();
        let s = backup_list(t, &Loaded::Ok(last), &Loaded::Ok(ix));
        assert!(s.contains("❌") && s.contains("disk full"), "{s}");
        assert!(
            s.contains("20261124T023000Z") && s.contains("2.0 KiB"),
            "{s}"
        );
    }
}
