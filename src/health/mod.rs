//! The health job (`potion-health`): collect one sample, evaluate alerts,
//! write `last_health.json`, the state file, the history and `potion.prom`.
//!
//! Probes never stop a run: a probe that fails adds a line to the report's
//! `errors` and the rest is still written. Only failing to write the files
//! themselves is a failed run.

pub mod backup_age;
pub mod collect;
pub mod deadman;
pub mod disks;
pub mod http;
pub mod power;
pub mod probes;
pub mod prom;
pub mod report;
pub mod sdbus;
pub mod senses;
pub mod sensors;
pub mod services;
pub mod smart;
pub mod smartctl;
pub mod stage;
mod tls;

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::alert_code;
use crate::alerts::{self, Rules};
use crate::config::Config;
use crate::files::health::{CpuCounters, CpuInfo, HealthReport, HealthState, MemoryInfo, Warning};
use crate::files::{self, SCHEMA};
use crate::history::{self, Sample};
use crate::{atomic, paths};

pub use collect::Roots;

/// What one run produced.
#[derive(Debug)]
pub struct Outcome {
    pub report: HealthReport,
    /// Files that could not be written; any of them makes the run exit 1.
    pub write_errors: Vec<anyhow::Error>,
}

/// One whole health run against the running machine's `/proc` and `/sys`.
pub fn run(cfg: &Config, roots: &Roots) -> Outcome {
    let now = Utc::now();
    // The SMART state is written during collection, before the report files:
    // the folder must exist by then (a failure shows when the files are written).
    let _ = std::fs::create_dir_all(&cfg.state_dir);
    let state_path = cfg.state_dir.join(paths::HEALTH_STATE);
    let (prev, state_note) = load_state(&state_path);
    let (mut report, counters) = collect(roots, cfg, &prev, now);
    if let Some(note) = state_note {
        // "first run" would be wrong here: the state was lost, not absent.
        let first_run = collect::NoCpuPercent::FirstRun.note();
        report.notes.retain(|n| n != first_run);
        report.notes.insert(0, note);
    }
    let mut readings = alerts::readings(&report, cfg);
    readings.extend(senses::readings(&report, cfg, &prev, now));
    let eval = alerts::evaluate(
        &prev.trackers,
        &readings,
        &Rules::from_config(cfg),
        &report.taken_at,
    );
    report.alerts = eval.alerts;
    let state = HealthState {
        schema: SCHEMA,
        taken_at: report.taken_at.clone(),
        cpu: counters,
        trackers: eval.trackers,
        on_battery_since: report
            .power
            .as_ref()
            .and_then(|p| p.on_battery_since.clone()),
        battery_worn_at: senses::worn_at(&prev, &report.alerts, &report.taken_at),
    };
    let write_errors = write_files(cfg, &report, &state, now);
    if let Some(url) = &cfg.healthcheck_url {
        // After the files: the ping says the run happened, and never delays them.
        let ping = if report.alerts.is_empty() {
            deadman::Ping::Success
        } else {
            deadman::Ping::Fail
        };
        deadman::send(url, ping, deadman::TIMEOUT);
    }
    Outcome {
        report,
        write_errors,
    }
}

/// The previous run's state. A missing file is a first run; an unreadable one
/// starts fresh and says so in a note (never an error: nothing is lost but
/// one CPU sample and the alert streaks).
pub fn load_state(path: &std::path::Path) -> (HealthState, Option<String>) {
    match files::read_json_if_exists::<HealthState>(path) {
        Ok(s) => (s.unwrap_or_default(), None),
        Err(e) => (
            HealthState::default(),
            Some(format!(
                "previous state was unreadable and was started afresh ({e:#}); cpu percent appears from the next run and alert streaks restart"
            )),
        ),
    }
}

/// Reads every probe into a report (without alerts) and this run's CPU
/// counters. Asking systemd and the HTTP probes run on their own threads
/// while `/proc` and `/sys` are read.
pub fn collect(
    roots: &Roots,
    cfg: &Config,
    prev: &HealthState,
    now: DateTime<Utc>,
) -> (HealthReport, Option<CpuCounters>) {
    std::thread::scope(|s| {
        let services =
            (!cfg.services.is_empty()).then(|| s.spawn(|| services::probe(&cfg.services)));
        let probes = s.spawn(|| probes::run(&cfg.probe_urls, probes::TIMEOUT));
        let (mut report, counters) = collect_local(roots, cfg, prev, now);
        let mut errors = Errors(std::mem::take(&mut report.errors));
        report.services = errors
            .probe("services", services.map_or(Ok(Vec::new()), joined))
            .unwrap_or_else(|| services::unknown(&cfg.services));
        report.probes = probes.join().unwrap_or_default();
        let smart = smart::apply(&cfg.state_dir);
        report.smart = smart.disks;
        report.notes.extend(smart.notes);
        errors.0.extend(smart.errors);
        report.errors = errors.0;
        (report, counters)
    })
}

/// Everything read from `/proc` and `/sys` and the files of other jobs.
fn collect_local(
    roots: &Roots,
    cfg: &Config,
    prev: &HealthState,
    now: DateTime<Utc>,
) -> (HealthReport, Option<CpuCounters>) {
    let mut errors = Errors::default();
    let mut notes = Vec::new();

    let host = errors
        .probe(
            "host",
            roots
                .read_proc("sys/kernel/hostname")
                .map(|h| h.trim().to_string()),
        )
        .unwrap_or_else(|| "unknown".into());
    let stat = errors.probe(
        "cpu",
        roots
            .read_proc("stat")
            .and_then(|t| collect::parse_stat(&t)),
    );
    let load = errors.probe(
        "load",
        roots
            .read_proc("loadavg")
            .and_then(|t| collect::parse_loadavg(&t)),
    );
    let mem = errors.probe(
        "memory",
        roots
            .read_proc("meminfo")
            .and_then(|t| collect::parse_meminfo(&t)),
    );
    let uptime = errors.probe(
        "uptime",
        roots
            .read_proc("uptime")
            .and_then(|t| collect::parse_uptime(&t)),
    );
    let mounts = errors
        .probe("mounts", roots.read_proc("self/mountinfo"))
        .map(|t| crate::mounts::mount_points(&t));
    let root_usage = errors.probe("disk /", disks::statvfs(std::path::Path::new("/")));
    let data = &cfg.data_mount;
    // With BACKUP_ALLOW_SAME_DISK=1 a folder on the root disk is the data
    // disk: present when the folder is there.
    let data_mounted = match &mounts {
        _ if cfg.backup_allow_same_disk => data.is_dir(),
        Some(m) => crate::mounts::is_mount_point(data, m),
        None => disks::differs_from_parent(data),
    };
    let data_usage = if data_mounted {
        errors.probe(&format!("disk {}", data.display()), disks::statvfs(data))
    } else {
        None
    };
    let boot_id = errors
        .probe("boot_id", roots.read_proc("sys/kernel/random/boot_id"))
        .map(|b| b.trim().to_string());
    let power = errors
        .probe("power", power::read(roots))
        .flatten()
        .map(|supplies| power::info(&supplies, prev.on_battery_since.as_deref(), now));
    let backup_path = cfg.state_dir.join(paths::LAST_BACKUP);
    let mut backup = match errors.probe("backup", backup_age::read(&backup_path)) {
        Some(o) => backup_age::backup_info(o.as_ref(), now),
        None => backup_age::unknown(),
    };
    let index_path = cfg.state_dir.join(paths::BACKUP_INDEX);
    let index = files::read_json_if_exists::<crate::files::backup::SnapshotIndex>(&index_path);
    if let Some(index) = errors.probe("backup index", index) {
        backup_age::add_verify(&mut backup, index.as_ref());
    }
    if backup.last_status == backup_age::NONE {
        notes.push("no backup has run yet".to_string());
    }

    let percent = stat.map(|s| collect::cpu_percent(prev.cpu.as_ref(), &s.counters));
    if let Some(Err(why)) = percent {
        notes.insert(0, why.note().to_string());
    }
    let mem = mem.unwrap_or_default();
    let report = HealthReport {
        schema: SCHEMA,
        host,
        taken_at: files::rfc3339(now),
        cpu: CpuInfo {
            percent: percent.and_then(Result::ok),
            load: load.unwrap_or_default(),
            cores: stat.map_or(0, |s| s.cores),
        },
        memory: MemoryInfo {
            total_bytes: mem.total,
            available_bytes: mem.available,
            percent: mem.percent(),
            swap_percent: mem.swap_percent(),
        },
        disks: vec![
            disks::disk_info("root", std::path::Path::new("/"), root_usage),
            disks::disk_info("data", data, data_usage),
        ],
        uptime_s: uptime.unwrap_or(0),
        temperature_c: sensors::max_temperature(roots),
        services: Vec::new(),
        backup,
        boot_id,
        power,
        smart: Vec::new(),
        probes: Vec::new(),
        alerts: Vec::new(),
        errors: errors.0,
        notes,
        warnings: if cfg.backup_allow_same_disk {
            vec![Warning::BackupSameDisk]
        } else {
            Vec::new()
        },
    };
    (report, stat.map(|s| s.counters))
}

/// Probe failures, one readable line each.
#[derive(Default)]
struct Errors(Vec<String>);

impl Errors {
    /// The value, or `None` with a line naming the probe and what went wrong.
    fn probe<T>(&mut self, what: &str, r: Result<T>) -> Option<T> {
        r.map_err(|e| self.0.push(format!("{what}: {e:#}"))).ok()
    }
}

/// The history record for a report; unknown values are NaN.
pub fn sample(r: &HealthReport, now: DateTime<Utc>) -> Sample {
    let f = |v: Option<f64>| v.map_or(f32::NAN, |x| x as f32);
    let disk = |name: &str| {
        r.disks
            .iter()
            .find(|d| d.name == name && d.present)
            .map(|d| d.percent)
    };
    Sample {
        t: now.timestamp(),
        cpu: f(r.cpu.percent),
        ram: f((r.memory.total_bytes > 0).then_some(r.memory.percent)),
        swap: r.memory.swap_percent as f32,
        disk_root: f(disk("root")),
        disk_data: f(disk("data")),
        temp: f(r.temperature_c),
        load1: r.cpu.load[0] as f32,
        alerts: alert_code::history_bits(r.alerts.iter().map(|a| a.code.as_str())),
        probe_ms: f(r
            .probes
            .iter()
            .filter(|p| p.status.is_some())
            .filter_map(|p| p.latency_ms)
            .reduce(f64::max)),
    }
}

/// Appends the history sample first (the bot may chart it as soon as it sees
/// the new report), then writes the state, the textfile and
/// `last_health.json` at the same time. The three atomic writes are
/// independent files, and their fsyncs issued together share the file
/// system's journal commits: on a journaled disk this nearly halves the
/// run's wall time, which is mostly fsync.
fn write_files(
    cfg: &Config,
    report: &HealthReport,
    state: &HealthState,
    now: DateTime<Utc>,
) -> Vec<anyhow::Error> {
    let dir = &cfg.state_dir;
    if let Err(e) = atomic::ensure_dir(dir) {
        return vec![e];
    }
    let history = history::append(&dir.join(paths::HISTORY), &sample(report, now));
    let prom = prom::render(report, now.timestamp());
    let (state_w, prom_w, report_w) = std::thread::scope(|s| {
        let st = s.spawn(|| atomic::write_json(&dir.join(paths::HEALTH_STATE), state));
        let pr = s.spawn(|| atomic::write(&dir.join(paths::PROM_FILE), prom.as_bytes()));
        let rep = atomic::write_json(&dir.join(paths::LAST_HEALTH), report);
        (joined(st), joined(pr), rep)
    });
    [history, state_w, prom_w, report_w]
        .into_iter()
        .filter_map(Result::err)
        .collect()
}

/// A helper thread's result; a panic in it (never expected) becomes an error.
fn joined<T>(h: std::thread::ScopedJoinHandle<'_, Result<T>>) -> Result<T> {
    h.join()
        .unwrap_or_else(|_| Err(anyhow::anyhow!("a health helper thread panicked")))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::alerts::{self, Rules};

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/health")
            .join(name)
    }

    fn config(state_dir: &Path, data_mount: &str) -> Config {
        let pairs: BTreeMap<String, String> = [
            ("STATE_DIR", state_dir.display().to_string()),
            ("DATA_MOUNT", data_mount.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Config::from_pairs(&pairs).unwrap()
    }

    fn now() -> DateTime<Utc> {
        files::parse_rfc3339("2026-11-25T19:00:00Z").unwrap()
    }

    #[test]
    fn laptop_fixture_with_sensors() {
        let dir = tempfile::tempdir().unwrap();
        // `/` stands in for the data disk: it is mounted on every machine that runs the tests.
        let cfg = config(dir.path(), "/");
        let prev = CpuCounters {
            busy: 25_000,
            total: 190_000,
            boot_time: 1_764_028_800,
        };
        let (r, counters) = collect(
            &Roots::under(fixture("laptop")),
            &cfg,
            &HealthState {
                cpu: Some(prev),
                ..HealthState::default()
            },
            now(),
        );
        assert_eq!(r.errors, Vec::<String>::new());
        assert_eq!(r.host, "x450l");
        assert_eq!(r.cpu.cores, 4);
        assert_eq!(r.cpu.load, [0.1, 0.2, 0.3]);
        assert_eq!(r.cpu.percent, Some(10.0), "1000 busy of 10000 jiffies");
        assert_eq!(counters.unwrap().total, 200_000);
        assert_eq!(r.memory.total_bytes, 3_903_212 * 1024);
        assert_eq!(r.memory.percent, 50.0);
        assert_eq!(r.memory.swap_percent, 25.0);
        assert_eq!(r.uptime_s, 93_784);
        // 55 (hwmon0), 0 (broken, skipped), 61.5 (hwmon1/device), 48 (zone0), -273 (skipped).
        assert_eq!(r.temperature_c, Some(61.5));
        assert!(r.disks.iter().all(|d| d.present));
        assert_eq!(r.backup.last_status, "none");
        assert_eq!(
            r.boot_id.as_deref(),
            Some("6f2b8c1e-3a4d-4f5e-9b7a-0c1d2e3f4a5b")
        );
        let power = r.power.as_ref().expect("the laptop fixture has supplies");
        assert_eq!(power.ac_online, Some(false));
        assert_eq!(
            power.batteries.len(),
            1,
            "the mouse is not a system battery"
        );
        assert_eq!(
            power.on_battery_since.as_deref(),
            Some("2026-11-25T19:00:00Z")
        );
        let mounts = crate::mounts::mount_points(
            &Roots::under(fixture("laptop"))
                .read_proc("self/mountinfo")
                .unwrap(),
        );
        assert!(crate::mounts::is_mount_point(
            Path::new("/mnt/potion-data"),
            &mounts
        ));
    }

    #[test]
    fn machine_without_sensors_or_data_disk() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path(), "/mnt/potion-data-not-here");
        let (r, counters) = collect(
            &Roots::under(fixture("nosensors")),
            &cfg,
            &HealthState::default(),
            now(),
        );
        assert_eq!(r.errors, Vec::<String>::new());
        assert_eq!(r.temperature_c, None);
        assert_eq!(r.power, None, "no power_supply folder: no power section");
        assert_eq!(r.cpu.percent, None);
        assert!(counters.is_some());
        assert!(r.notes[0].starts_with("first run"), "{:?}", r.notes);
        assert_eq!(r.cpu.cores, 1);
        assert_eq!(
            r.memory.percent, 50.0,
            "no MemAvailable: free + buffers + cached"
        );
        assert_eq!(r.memory.swap_percent, 0.0);
        let data = &r.disks[1];
        assert_eq!((data.name.as_str(), data.present), ("data", false));
        let e = alerts::evaluate(
            &BTreeMap::new(),
            &alerts::readings(&r, &cfg),
            &Rules::from_config(&cfg),
            &r.taken_at,
        );
        let codes: Vec<_> = e.alerts.iter().map(|a| a.code.as_str()).collect();
        assert_eq!(codes, [alert_code::AlertCode::DataDiskMissing.as_str()]);
    }

    #[test]
    fn a_data_folder_on_the_root_disk_counts_only_when_allowed_and_warns() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("potion-data");
        std::fs::create_dir(&folder).unwrap();
        let mut cfg = config(dir.path(), &folder.display().to_string());
        let run = |cfg: &Config| {
            let (r, _) = collect(
                &Roots::under(fixture("nosensors")),
                cfg,
                &HealthState::default(),
                now(),
            );
            let e = alerts::evaluate(
                &BTreeMap::new(),
                &alerts::readings(&r, cfg),
                &Rules::from_config(cfg),
                &r.taken_at,
            );
            let codes: Vec<String> = e.alerts.into_iter().map(|a| a.code).collect();
            (r, codes)
        };
        let (r, codes) = run(&cfg);
        assert!(!r.disks[1].present);
        assert_eq!(codes, [alert_code::AlertCode::DataDiskMissing.as_str()]);
        assert!(r.warnings.is_empty());

        cfg.backup_allow_same_disk = true;
        let (r, codes) = run(&cfg);
        assert!(r.disks[1].present, "{:?}", r.disks[1]);
        assert!(r.disks[1].total_bytes > 0);
        assert!(codes.is_empty(), "{codes:?}");
        assert_eq!(r.warnings, [Warning::BackupSameDisk]);
        let json = serde_json::to_string(&r).unwrap();
        assert!(
            json.contains(r#""warnings":["BACKUP_SAME_DISK"]"#),
            "{json}"
        );
        // The folder gone is still a missing data disk.
        std::fs::remove_dir(&folder).unwrap();
        let (r, codes) = run(&cfg);
        assert!(!r.disks[1].present);
        assert_eq!(codes, [alert_code::AlertCode::DataDiskMissing.as_str()]);
    }

    #[test]
    fn unreadable_proc_gives_errors_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path(), "/mnt/potion-data-not-here");
        let (r, counters) = collect(
            &Roots::under(dir.path().join("nothing")),
            &cfg,
            &HealthState::default(),
            now(),
        );
        assert!(counters.is_none());
        for probe in [
            "host", "cpu", "load", "memory", "uptime", "mounts", "boot_id",
        ] {
            assert!(
                r.errors
                    .iter()
                    .any(|e| e.starts_with(&format!("{probe}: "))),
                "{probe} missing from {:?}",
                r.errors
            );
        }
        assert_eq!(r.host, "unknown");
    }

    #[test]
    fn corrupt_state_is_a_note_and_a_fresh_start() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(paths::HEALTH_STATE);
        assert_eq!(load_state(&p), (HealthState::default(), None));
        std::fs::write(&p, "{\"schema\": 1, \"taken_at\": tru").unwrap();
        let (state, note) = load_state(&p);
        assert_eq!(state, HealthState::default());
        assert!(note.unwrap().contains("unreadable"));
    }
}
