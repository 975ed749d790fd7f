//! Binary-level tests of `potion-health`: the real binary in a sandbox,
//! checked through the files it writes and its exit codes.

mod common;

use std::path::Path;
use std::process::Output;

use common::{Sandbox, run};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_potion-health");

fn health(sb: &Sandbox, env_extra: &str, args: &[&str]) -> Output {
    let env = sb.write_env(env_extra);
    let mut c = sb.cmd(BIN);
    c.arg("--env").arg(env).args(args);
    run(c)
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn report(sb: &Sandbox) -> Value {
    read_json(&sb.state_dir().join("last_health.json"))
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn codes(r: &Value) -> Vec<String> {
    r["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn writes_report_state_history_and_textfile() {
    let sb = Sandbox::new();
    let out = health(&sb, "", &[]);
    ok(&out);
    let r = report(&sb);
    assert_eq!(r["schema"], 1);
    for key in [
        "host",
        "taken_at",
        "cpu",
        "memory",
        "disks",
        "uptime_s",
        "temperature_c",
        "services",
        "backup",
        "alerts",
        "errors",
    ] {
        assert!(r.get(key).is_some(), "{key} missing from {r}");
    }
    assert!(r["cpu"]["cores"].as_u64().unwrap() >= 1);
    assert!(r["memory"]["total_bytes"].as_u64().unwrap() > 0);
    assert_eq!(r["disks"][0]["mount"], "/");
    assert_eq!(r["disks"][0]["present"], true);
    assert_eq!(r["backup"]["last_status"], "none");
    assert_eq!(r["errors"], Value::Array(vec![]), "{r}");
    let state = read_json(&sb.state_dir().join("health-state.json"));
    assert!(state["cpu"]["total"].as_u64().unwrap() > 0);
    let hist = std::fs::read(sb.state_dir().join("history.bin")).unwrap();
    assert_eq!(
        hist.len(),
        8 + potion_runner::history::RECORD_LEN,
        "header and one record"
    );
    let sample = potion_runner::history::read(&sb.state_dir().join("history.bin")).unwrap()[0];
    assert!(sample.probe_ms.is_nan(), "no PROBE_URLS: no latency");
    let prom = std::fs::read_to_string(sb.state_dir().join("potion.prom")).unwrap();
    assert!(prom.contains("# TYPE potion_memory_percent gauge\npotion_memory_percent "));
    assert!(prom.contains("potion_disk_present{name=\"data\","));
}

#[test]
fn cpu_percent_comes_from_counters_between_two_runs() {
    let sb = Sandbox::new();
    ok(&health(&sb, "", &[]));
    let first = report(&sb);
    assert!(first["cpu"]["percent"].is_null());
    let notes = first["notes"].to_string();
    assert!(notes.contains("first run"), "{notes}");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    ok(&health(&sb, "", &[]));
    let second = report(&sb);
    let p = second["cpu"]["percent"]
        .as_f64()
        .expect("a percent on the second run");
    assert!((0.0..=100.0).contains(&p), "{p}");
    assert!(!second["notes"].to_string().contains("first run"));
    let hist = std::fs::read(sb.state_dir().join("history.bin")).unwrap();
    assert_eq!(hist.len(), 8 + 2 * potion_runner::history::RECORD_LEN);
}

#[test]
fn corrupt_state_file_still_succeeds_and_says_so() {
    let sb = Sandbox::new();
    std::fs::write(sb.state_dir().join("health-state.json"), "{\"schema\":1,").unwrap();
    std::fs::write(sb.state_dir().join("history.bin"), "not a history").unwrap();
    let out = health(&sb, "", &[]);
    ok(&out);
    let r = report(&sb);
    assert!(r["notes"].to_string().contains("unreadable"), "{r}");
    assert!(!r["notes"].to_string().contains("first run"), "{r}");
    assert_eq!(r["errors"], Value::Array(vec![]));
    // The next run reads the state this one wrote.
    ok(&health(&sb, "", &[]));
    assert!(!report(&sb)["notes"].to_string().contains("unreadable"));
}

#[test]
fn bad_config_exits_2_naming_the_key() {
    // A bad preference is ignored with a warning and the run goes on on the
    // default; a bad system setting stops it.
    let sb = Sandbox::new();
    let out = health(&sb, "THRESHOLD_CPU=lots", &[]);
    ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ignoring THRESHOLD_CPU") && err.contains("lots"),
        "{err}"
    );
    std::fs::remove_file(sb.state_dir().join("last_health.json")).unwrap();
    let out = health(&sb, "HEALTH_STALE_S=60\nLOG_DIR=logs", &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("LOG_DIR") && err.contains("logs"), "{err}");
    assert!(!sb.state_dir().join("last_health.json").exists());
    let usage = health(&sb, "", &["--no-such-flag"]);
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn missing_data_mount_is_reported_not_a_crash() {
    let sb = Sandbox::new();
    ok(&health(&sb, "", &[]));
    let r = report(&sb);
    let data = &r["disks"][1];
    assert_eq!(data["name"], "data");
    assert_eq!(data["present"], false);
    assert_eq!(codes(&r), ["DATA_DISK_MISSING"]);
}

#[test]
fn mounted_data_disk_is_present() {
    let sb = Sandbox::new();
    // `/` is a mount point everywhere the tests run.
    ok(&health(&sb, "DATA_MOUNT=/", &[]));
    let r = report(&sb);
    assert_eq!(r["disks"][1]["present"], true);
    assert!(r["disks"][1]["total_bytes"].as_u64().unwrap() > 0);
    assert!(!codes(&r).contains(&"DATA_DISK_MISSING".to_string()));
}

#[test]
fn print_and_json_outputs() {
    let sb = Sandbox::new();
    let out = health(&sb, "", &["--print"]);
    ok(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("CPU") && text.contains("DATA_DISK_MISSING"),
        "{text}"
    );
    let out = health(&sb, "", &["--json"]);
    ok(&out);
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed, report(&sb));
}

/// Outside journald a run by hand says nothing on stderr; its one-line
/// summary (what the journal gets at info level) shows with POTION_LOG=debug.
/// The journald side is checked under a real systemd in tests/systemd.rs.
#[test]
fn run_line_is_quiet_on_a_terminal_and_shown_at_debug() {
    let sb = Sandbox::new();
    let out = health(&sb, "", &[]);
    ok(&out);
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
    let env = sb.write_env("");
    let mut c = sb.cmd(BIN);
    c.arg("--env").arg(env).env("POTION_LOG", "debug");
    let out = run(c);
    ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.starts_with("potion-health: debug: cpu "))
        .unwrap_or_else(|| panic!("no run line: {err}"));
    assert!(line.contains(" ram ") && line.contains(" disk "), "{line}");
    assert!(line.contains("alerts: DATA_DISK_MISSING"), "{line}");
}

#[test]
fn creates_state_dir_and_exits_1_when_it_cannot_write() {
    let sb = Sandbox::new();
    let fresh = sb.path().join("new/deeper/state");
    ok(&health(&sb, &format!("STATE_DIR={}", fresh.display()), &[]));
    assert!(fresh.join("last_health.json").exists());
    let blocker = sb.path().join("a-file");
    std::fs::write(&blocker, "").unwrap();
    let out = health(&sb, &format!("STATE_DIR={}/state", blocker.display()), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("a-file"));
}

#[test]
fn stale_and_failed_backups_alert() {
    let sb = Sandbox::new();
    let last = r#"{"schema":1,"id":null,"status":"failed","started_at":"2026-11-20T02:30:00Z",
        "finished_at":"2026-11-20T02:31:00Z","error":"disk full","last_ok_at":"2026-11-01T02:31:10Z",
        "last_ok_id":"20261101T023000Z"}"#;
    std::fs::write(sb.state_dir().join("last_backup.json"), last).unwrap();
    ok(&health(&sb, "DATA_MOUNT=/", &[]));
    let r = report(&sb);
    assert_eq!(r["backup"]["last_status"], "failed");
    assert_eq!(r["backup"]["last_id"], "20261101T023000Z");
    assert!(r["backup"]["age_h"].as_f64().unwrap() > 26.0);
    assert_eq!(codes(&r), ["BACKUP_STALE", "BACKUP_FAILED"]);
    std::fs::write(sb.state_dir().join("last_backup.json"), "{broken").unwrap();
    ok(&health(&sb, "DATA_MOUNT=/", &[]));
    let r = report(&sb);
    assert_eq!(r["backup"]["last_status"], "unknown");
    assert!(r["errors"].to_string().contains("backup: "), "{r}");
}

#[test]
fn a_verify_that_found_damage_alerts_until_a_good_one() {
    let sb = Sandbox::new();
    let index = |status: &str, problems: u32| {
        format!(
            r#"{{"schema":1,"updated_at":"2026-11-26T01:00:00Z","snapshots":[],"last_verify":
            {{"id":"20261126T010000Z","at":"2026-11-26T01:00:00Z","status":"{status}","checked_files":40,
            "total_files":100,"sample_percent":15.0,"problems":{problems}}}}}"#
        )
    };
    std::fs::write(sb.state_dir().join("backups.json"), index("failed", 2)).unwrap();
    ok(&health(&sb, "DATA_MOUNT=/", &[]));
    let r = report(&sb);
    assert_eq!(r["backup"]["verify_status"], "failed");
    assert_eq!(r["backup"]["verify_problems"], 2);
    assert!(
        codes(&r).contains(&"BACKUP_VERIFY_FAILED".to_string()),
        "{r}"
    );
    std::fs::write(sb.state_dir().join("backups.json"), index("ok", 0)).unwrap();
    ok(&health(&sb, "DATA_MOUNT=/", &[]));
    assert!(!codes(&report(&sb)).contains(&"BACKUP_VERIFY_FAILED".to_string()));
}

#[test]
fn no_bus_is_an_error_line_and_no_child_process() {
    let sb = Sandbox::new();
    let empty = sb.path().join("emptybin");
    std::fs::create_dir(&empty).unwrap();
    let env = sb.write_env("SERVICES=ollama.service");
    let mut c = sb.cmd(BIN);
    // No bus at this address, and no systemctl to fall back on either.
    c.env("PATH", &empty)
        .env(
            "DBUS_SYSTEM_BUS_ADDRESS",
            format!("unix:path={}", sb.path().join("no-bus").display()),
        )
        .arg("--env")
        .arg(&env);
    ok(&run(c));
    let r = report(&sb);
    let e = r["errors"][0].as_str().unwrap();
    assert!(
        e.starts_with("services: connecting to the system bus"),
        "{r}"
    );
    assert_eq!(r["services"][0]["active"], "unknown");
}

/// A local HTTP server answering `/ok` with 200 and everything else with
/// 500; returns its base URL and the paths it was asked for.
fn http_server() -> (String, std::sync::mpsc::Receiver<String>) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let base = format!("http://{}", server.server_addr().to_ip().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for req in server.incoming_requests() {
            let code = if req.url() == "/ok" { 200 } else { 500 };
            tx.send(req.url().to_string()).ok();
            req.respond(tiny_http::Response::empty(code)).ok();
        }
    });
    (base, rx)
}

#[test]
fn probes_and_dead_man_ping_against_local_servers() {
    let (base, asked) = http_server();
    // Refused: a port that was free a moment ago. Timeout: a listener that never answers.
    let refused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let refused_url = format!("http://{}/", refused.local_addr().unwrap());
    drop(refused);
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}/", silent.local_addr().unwrap());
    let sb = Sandbox::new();
    let env = format!(
        "DATA_MOUNT=/\nALERT_CONSECUTIVE=2\nHEALTHCHECK_URL={base}/ping/secret-uuid\n\
         PROBE_URLS=up={base}/ok,broken={base}/err,refused={refused_url},hung={silent_url}\n"
    );
    let started = std::time::Instant::now();
    ok(&health(&sb, &env, &[]));
    // Four probes in parallel, each bounded by 2 s: the run is not the sum.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let r = report(&sb);
    let probes = r["probes"].as_array().unwrap();
    let by = |name: &str| probes.iter().find(|p| p["name"] == name).unwrap().clone();
    assert_eq!(
        (by("up")["ok"].clone(), by("up")["status"].clone()),
        (true.into(), 200.into())
    );
    let up_ms = by("up")["latency_ms"].as_f64().unwrap();
    assert!(up_ms < 2000.0);
    // The history keeps the slowest answer (the 500 counts; the refused and
    // the hung ones gave none), for /chart probe.
    let answered = ["up", "broken"].map(|n| by(n)["latency_ms"].as_f64().unwrap());
    let hist = potion_runner::history::read(&sb.state_dir().join("history.bin")).unwrap();
    assert_eq!(
        f64::from(hist[0].probe_ms),
        f64::from(answered[0].max(answered[1]) as f32)
    );
    assert_eq!(
        (by("broken")["ok"].clone(), by("broken")["status"].clone()),
        (false.into(), 500.into())
    );
    assert!(
        by("refused")["error"]
            .as_str()
            .unwrap()
            .contains("connecting"),
        "{r}"
    );
    assert!(
        by("hung")["error"].as_str().unwrap().contains("timed out"),
        "{r}"
    );
    assert_eq!(by("hung")["status"], Value::Null);
    // ALERT_CONSECUTIVE=2: nothing fires yet, so the ping is the plain URL.
    assert!(codes(&r).is_empty(), "{r}");
    let paths: Vec<String> = asked.try_iter().collect();
    assert!(
        paths.contains(&"/ping/secret-uuid".to_string()),
        "{paths:?}"
    );

    ok(&health(&sb, &env, &[]));
    let r = report(&sb);
    let mut down = codes(&r);
    down.sort();
    assert_eq!(
        down,
        ["PROBE_DOWN:broken", "PROBE_DOWN:hung", "PROBE_DOWN:refused"]
    );
    let paths: Vec<String> = asked.try_iter().collect();
    assert!(
        paths.contains(&"/ping/secret-uuid/fail".to_string()),
        "{paths:?}"
    );
    drop(silent);

    // A dead-man service that is down never fails the run, and its secret path stays out of the log.
    let env = format!("DATA_MOUNT=/\nHEALTHCHECK_URL={refused_url}secret-uuid\n");
    let e = sb.write_env(&env);
    let mut c = sb.cmd(BIN);
    c.env("POTION_LOG", "debug").arg("--env").arg(e);
    let out = run(c);
    ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("dead-man ping to http://127.0.0.1:"),
        "{stderr}"
    );
    assert!(!stderr.contains("secret-uuid"), "{stderr}");
}

/// A stand-in `smartctl` in its own folder that prints `fixture` for any disk.
fn fake_smartctl(sb: &Sandbox, fixture: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = sb.path().join("fakebin");
    std::fs::create_dir_all(&dir).unwrap();
    let json = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/health/smart")
        .join(fixture);
    let p = dir.join("smartctl");
    std::fs::write(
        &p,
        format!("#!/bin/sh\nexec /bin/cat '{}'\n", json.display()),
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn smart_check(sb: &Sandbox, env: &str, bin_dir: &Path) -> Output {
    sb.write_env(env);
    let mut c = sb.cmd(BIN);
    c.env("PATH", bin_dir).arg("smart");
    run(c)
}

#[test]
fn roots_smart_answers_reach_the_report_with_baselines() {
    use std::os::unix::fs::MetadataExt;
    let sb = Sandbox::new();
    // `/` stands in for both disks; on a machine whose `/` has no block
    // device (an overlay) the check finds no disk to ask.
    let dev = std::fs::metadata("/").unwrap().dev();
    let has_disk = Path::new(&format!(
        "/sys/dev/block/{}:{}",
        libc::major(dev),
        libc::minor(dev)
    ))
    .exists();
    let env = "DATA_MOUNT=/\nSMART_INTERVAL=0";

    // Before any check: the report says so, once.
    ok(&health(&sb, env, &[]));
    let r = report(&sb);
    assert!(
        r["notes"]
            .to_string()
            .contains("SMART has not been checked yet"),
        "{r}"
    );

    let out = smart_check(&sb, env, &fake_smartctl(&sb, "ata.json"));
    ok(&out);
    let readings = read_json(&sb.state_dir().join("smart-readings.json"));
    assert_eq!(
        readings["devices"].as_array().unwrap().len(),
        usize::from(has_disk)
    );
    ok(&health(&sb, env, &[]));
    let r = report(&sb);
    assert_eq!(r["errors"], Value::Array(vec![]), "{r}");
    if !has_disk {
        assert_eq!(r["smart"], Value::Array(vec![]), "{r}");
        return;
    }
    assert_eq!(r["smart"][0]["model"], "ST500LM021-1KJ152", "{r}");
    assert_eq!(r["smart"][0]["baseline"], r["smart"][0]["counters"]);
    let smart_codes = |r: &Value| -> Vec<String> {
        codes(r)
            .into_iter()
            .filter(|c| c.starts_with("DISK_SMART:"))
            .collect()
    };
    assert!(smart_codes(&r).is_empty(), "{r}");

    // Counters grow at the next check: DISK_SMART fires at once.
    ok(&smart_check(
        &sb,
        env,
        &fake_smartctl(&sb, "ata-grown.json"),
    ));
    ok(&health(&sb, env, &[]));
    let r = report(&sb);
    assert_eq!(smart_codes(&r).len(), 1, "{r}");
    assert_eq!(r["smart"][0]["baseline"]["pending_sectors"], 0);

    // No smartctl at all: one note, no error, and the kept reading stays.
    let empty = sb.path().join("emptybin");
    std::fs::create_dir(&empty).unwrap();
    ok(&smart_check(&sb, env, &empty));
    ok(&health(&sb, env, &[]));
    let r = report(&sb);
    assert_eq!(r["errors"], Value::Array(vec![]), "{r}");
    let notes = r["notes"].to_string();
    assert_eq!(notes.matches("smartctl is not installed").count(), 1, "{r}");
    assert_eq!(r["smart"][0]["counters"]["pending_sectors"], 2, "{r}");
    assert_eq!(r["smart"][0]["baseline"]["pending_sectors"], 0, "{r}");
}
