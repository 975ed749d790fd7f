//! End-to-end tests of the server's senses in chat: `/smart` from a
//! `smart-state.json` with an ATA and an NVMe disk, `/smart_ack` refusing
//! what is not a disk before any question and moving the baseline on Yes,
//! and the staged power response: announced first, the unit stopped through
//! the helper only after the grace, nothing repeated across a restart,
//! `power off` asked the same way, and nothing at all while it is off. The grace runs on the reports'
//! `taken_at`, so these tests write the times they need.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use serde_json::{Value, json};

use crate::rig::{self, ADMIN, Rig};
use crate::standin::StandIn;

const WAIT: Duration = Duration::from_secs(15);
const HELPER: &str = "-n /usr/libexec/potion-runner/potion-helper";
const HEALTH: &str = env!("CARGO_BIN_EXE_potion-health");

crate::rig::world! {
    /// The shared rig with a `sudo` that records `$*`, one line a call.
}

impl World {
    fn new(extra: &str) -> World {
        let rig = Rig::sandbox(
            StandIn::start(),
            WAIT,
            &format!("SERVICES=ollama.service\n{extra}"),
        );
        rig.record_sudo();
        World(rig)
    }

    fn smart_state(&self) -> Value {
        let p = self.sb.state_dir().join("smart-state.json");
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    }

    /// `last_health.json` taken `ago` before now, with this `power` and these alerts.
    fn health(&self, ago: TimeDelta, power: Value, alerts: &[&str]) {
        let taken_at = stamp(ago);
        let mut report = rig::health_report(&[], &taken_at);
        // Power alerts carry no value or threshold.
        report["alerts"] = alerts
            .iter()
            .map(|c| json!({"code": c, "since": taken_at, "value": null, "threshold": null}))
            .collect();
        report["power"] = power;
        self.put_state("last_health.json", &report);
    }

    /// One run of the real health job on the bot's `.env`.
    fn health_run(&self) {
        let mut c = self.sb.cmd(HEALTH);
        c.arg("--env").arg(&self.env);
        let out = crate::common::run(c);
        assert!(out.status.success(), "potion-health: {out:?}");
    }

    fn texts_with(&self, needle: &str) -> Vec<String> {
        self.api
            .texts_to(ADMIN)
            .into_iter()
            .filter(|t| t.contains(needle))
            .collect()
    }
}

/// RFC 3339 for `ago` before now.
fn stamp(ago: TimeDelta) -> String {
    (Utc::now() - ago).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// On battery since `since` (one stretch keeps one stamp), at `percent`.
fn on_battery(percent: f64, since: &str) -> Value {
    json!({"ac_online": false,
        "batteries": [{"name":"BAT0","percent":percent,"status":"Discharging","wear_percent":12.0}],
        "on_battery_since": since})
}

fn disk(dev: &str, model: &str, counters: Value, baseline: Value) -> Value {
    json!({"device": dev, "model": model, "serial": "S1", "checked_at": stamp(TimeDelta::minutes(5)),
        "passed": true, "power_on_hours": 33712, "temperature_c": 37.0, "percentage_used": null,
        "counters": counters, "baseline": baseline, "standby": false, "problems": []})
}

#[test]
fn smart_shows_each_disk_and_smart_ack_moves_the_baseline_only_for_a_known_disk() {
    let w = World::new("");
    let mut nvme = disk(
        "/dev/nvme0n1",
        "Samsung SSD 970",
        json!({"media_errors": 0}),
        json!({"media_errors": 0}),
    );
    nvme["percentage_used"] = json!(3);
    nvme["standby"] = json!(true);
    let mut sda = disk(
        "/dev/sda",
        "ST500LM021-1KJ152",
        json!({"reallocated_sectors": 8, "pending_sectors": 2, "udma_crc_errors": 0}),
        json!({"reallocated_sectors": 0, "pending_sectors": 0, "udma_crc_errors": 0}),
    );
    sda["problems"] = json!([
        "pending_sectors grew from 0 to 2",
        "reallocated_sectors grew from 0 to 8"
    ]);
    w.put_state(
        "smart-state.json",
        &json!({"schema":1,"checked_at":stamp(TimeDelta::minutes(5)),"disks":[sda, nvme]}),
    );
    w.put_state(
        "smart-readings.json",
        &json!({"schema":1,"checked_at":stamp(TimeDelta::minutes(5)),
            "devices":["/dev/sda","/dev/nvme0n1","/dev/nvme1n1"],"disks":[],
            "notes":["SMART is not readable on /dev/nvme1n1: Read NVMe Identify Controller failed: NVME_IOCTL_ADMIN_CMD: Permission denied"],
            "errors":[]}),
    );
    let bot = w.start();
    // The health job raises DISK_SMART for the grown disk.
    w.health_run();
    w.api
        .wait_text("<code>DISK_SMART:sda</code>", WAIT)
        .expect("DISK_SMART:sda fired");

    let shown = w.ask("/smart", "Disk health");
    for part in [
        "<b>/dev/sda</b> · ST500LM021-1KJ152",
        "on for 33712 h · 37°C",
        "⚠️ <code>reallocated_sectors</code> 8 / 0 (grown)",
        "⚠️ <code>pending_sectors</code> 2 / 0 (grown)",
        "  <code>udma_crc_errors</code> 0 / 0",
        "/smart_ack sda",
        "<b>/dev/nvme0n1</b> · Samsung SSD 970",
        "3% of rated life used",
        "  <code>media_errors</code> 0 / 0",
        "asleep",
        "/dev/nvme1n1 (NVMe) needs CAP_SYS_ADMIN",
        "Read today",
    ] {
        assert!(shown.contains(part), "{part:?} missing from {shown}");
    }

    // Not a disk of the file: refused with the reason, no question asked.
    for bad in ["sdz", "../../etc/passwd", "sda;reboot"] {
        let refused = w.ask(&format!("/smart_ack {bad}"), "not one of the SMART disks");
        assert!(
            refused.contains("<code>sda</code>, <code>nvme0n1</code>"),
            "{refused}"
        );
    }
    w.ask("/smart_ack", "How to use it: <code>/smart_ack");
    assert!(w.texts_with("Really").is_empty(), "no question was asked");
    let refusals = w
        .audit()
        .into_iter()
        .filter(|e| e["action"] == "smart_ack" && e["result"] == "failed: unknown disk")
        .count();
    assert_eq!(refusals, 3);
    assert_eq!(
        w.smart_state()["disks"][0]["baseline"]["reallocated_sectors"],
        0
    );

    // A known disk: asked first, changed only on Yes.
    w.ask("/smart_ack /dev/sda", "Really accept");
    let q = w
        .api
        .wait_for("sendMessage", WAIT, |r| {
            r.body["text"].as_str().unwrap().contains("Really accept")
        })
        .unwrap();
    let yes = q.body["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        w.smart_state()["disks"][0]["baseline"]["reallocated_sectors"],
        0
    );
    w.api.push_callback(ADMIN, &yes);
    let done = w
        .api
        .wait_for("editMessageText", WAIT, |r| {
            r.body["text"].as_str().unwrap().contains("baseline of")
        })
        .expect("the outcome edited into the question");
    let done = done.body["text"].as_str().unwrap();
    assert!(
        done.contains("<code>reallocated_sectors</code> 8 / 8")
            && done.contains("<code>pending_sectors</code> 2 / 2"),
        "{done}"
    );
    let st = w.smart_state();
    assert_eq!(st["disks"][0]["baseline"], st["disks"][0]["counters"]);
    assert_eq!(st["disks"][0]["problems"], json!([]));
    assert_eq!(
        st["disks"][1]["baseline"],
        json!({"media_errors": 0}),
        "the other disk is untouched"
    );
    // The Yes is audited once its outcome is in the message.
    w.wait_audits(7);
    assert!(
        w.audit()
            .iter()
            .filter(|e| e["action"] == "smart_ack" && e["result"] == "ok")
            .count()
            >= 2,
        "the question and the Yes are audited: {:?}",
        w.audit()
    );
    assert!(w.calls().is_empty(), "no helper involved");

    // The next health run clears the alert.
    w.health_run();
    w.api
        .wait_for("sendMessage", WAIT, |r| {
            let t = r.body["text"].as_str().unwrap_or("");
            t.contains("Cleared") && t.contains("DISK_SMART:sda")
        })
        .expect("DISK_SMART cleared");

    // /smart now shows nothing grown.
    let again = w.ask("/smart", "Disk health");
    assert!(
        again.contains("<code>reallocated_sectors</code> 8 / 8") && !again.contains("grown"),
        "{again}"
    );
    bot.stop();
}

#[test]
fn staged_power_response_announces_then_stops_the_units_after_the_grace() {
    let w = World::new("BATTERY_SHED=30\nPOWER_SHED_UNITS=ollama.service\n");
    w.health(
        TimeDelta::minutes(7),
        json!({"ac_online": true, "batteries": []}),
        &[],
    );
    let bot = w.start();
    w.ask("/smart", "Disk health"); // the bot is up and has looked once

    // 20 % on battery: announced first, nothing stopped yet.
    let since = TimeDelta::minutes(6);
    let since_at = stamp(since);
    w.health(
        since,
        on_battery(20.0, &since_at),
        &["ON_BATTERY", "BATTERY_LOW"],
    );
    let ann = w
        .api
        .wait_text("Plug the adapter back in", WAIT)
        .expect("the shed is announced");
    assert!(
        ann.contains("at 20%")
            && ann.contains("<code>ollama.service</code>")
            && ann.contains("In 2 minutes"),
        "{ann}"
    );
    assert!(w.calls().is_empty(), "nothing stopped before the grace");

    // One minute later: still within the grace.
    w.health(
        TimeDelta::minutes(5),
        on_battery(19.0, &since_at),
        &["ON_BATTERY", "BATTERY_LOW"],
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert!(w.calls().is_empty(), "within the grace: {:?}", w.calls());

    // A restart in between repeats nothing.
    bot.stop();
    let bot = w.start();
    w.ask("/smart", "Disk health");
    assert_eq!(w.texts_with("Plug the adapter back in").len(), 1);

    // Three minutes after the announcement: the helper is asked, once.
    w.health(
        TimeDelta::minutes(3),
        on_battery(18.0, &since_at),
        &["ON_BATTERY", "BATTERY_LOW"],
    );
    let outcome = w
        .api
        .wait_text("Saving battery", WAIT)
        .expect("the outcome is reported");
    assert!(outcome.contains("✅ ollama.service stopped"), "{outcome}");
    assert_eq!(w.calls(), [format!("{HELPER} svc stop ollama.service")]);
    w.health(
        TimeDelta::minutes(2),
        on_battery(17.0, &since_at),
        &["ON_BATTERY", "BATTERY_LOW"],
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(w.calls().len(), 1, "stopped once per stretch");
    assert_eq!(w.texts_with("Plug the adapter back in").len(), 1);

    // Mains back: the cleared message says how long it ran on battery.
    w.health(
        TimeDelta::minutes(1),
        json!({"ac_online": true, "batteries": [], "on_battery_for_s": 754}),
        &[],
    );
    w.api
        .wait_text("It ran on battery for 12m 34s", WAIT)
        .expect("ON_BATTERY cleared with its duration");
    bot.stop();

    let audit = w.audit();
    let find = |action: &str| audit.iter().find(|e| e["action"] == action).cloned();
    let announce = find("power announce").expect("the announcement is audited");
    assert!(
        announce["arguments"]
            .as_str()
            .unwrap()
            .contains("ollama.service at 20%")
    );
    let stop = find("svc stop").expect("the stop is audited");
    assert_eq!(
        (stop["arguments"].as_str(), stop["result"].as_str()),
        (Some("ollama.service"), Some("ok"))
    );
    assert_eq!(stop["username"], "potion-bot");
}

#[test]
fn staged_power_response_is_off_by_default_and_a_refusal_is_reported() {
    // Off: a nearly empty battery changes nothing but the alerts.
    let off = World::new("POWER_SHED_UNITS=ollama.service\n");
    let bot = off.start();
    let since = TimeDelta::minutes(6);
    let since_at = stamp(since);
    off.health(since, on_battery(5.0, &since_at), &["ON_BATTERY"]);
    off.api
        .wait_text("Running on battery", WAIT)
        .expect("the alert");
    off.health(
        TimeDelta::minutes(1),
        on_battery(4.0, &since_at),
        &["ON_BATTERY"],
    );
    std::thread::sleep(Duration::from_millis(1500));
    bot.stop();
    assert!(off.texts_with("Plug the adapter").is_empty());
    assert!(off.calls().is_empty());

    // On, but the helper refuses the unit: the reply says so.
    let w = World::new("BATTERY_SHED=30\nPOWER_SHED_UNITS=ollama.service\n");
    w.fake(
        "sudo",
        &format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> {}\necho 'reason: unit-not-allowed' >&2\necho 'ollama.service is not in the allowlist' >&2\nexit 3\n",
            w.calls_log.display()
        ),
    );
    let bot = w.start();
    w.health(since, on_battery(25.0, &since_at), &["ON_BATTERY"]);
    w.api.wait_text("Plug the adapter back in", WAIT).unwrap();
    w.health(
        TimeDelta::minutes(3),
        on_battery(24.0, &since_at),
        &["ON_BATTERY"],
    );
    let outcome = w.api.wait_text("Saving battery", WAIT).unwrap();
    assert!(
        outcome.contains("❌ ollama.service not stopped: ollama.service is not in the allowlist"),
        "{outcome}"
    );
    bot.stop();
    let stop = w
        .audit()
        .into_iter()
        .find(|e| e["action"] == "svc stop")
        .unwrap();
    assert!(
        stop["result"].as_str().unwrap().starts_with("failed: "),
        "{stop}"
    );
}

#[test]
fn a_nearly_empty_battery_powers_off_through_the_helper_after_its_announcement() {
    let w = World::new("POWER_ACTIONS=1\nBATTERY_SHUTDOWN=10\n");
    let bot = w.start();
    let since = TimeDelta::minutes(6);
    let since_at = stamp(since);
    w.health(since, on_battery(8.0, &since_at), &["ON_BATTERY"]);
    let ann = w
        .api
        .wait_text("power the server off", WAIT)
        .expect("the power-off is announced");
    assert!(
        ann.contains("at 8%") && ann.contains("In 2 minutes"),
        "{ann}"
    );
    assert!(w.calls().is_empty());
    w.health(
        TimeDelta::minutes(3),
        on_battery(6.0, &since_at),
        &["ON_BATTERY"],
    );
    w.api
        .wait_text("The server is powering off", WAIT)
        .expect("the helper's answer is reported");
    assert_eq!(w.calls(), [format!("{HELPER} power off")]);
    bot.stop();
    let off = w
        .audit()
        .into_iter()
        .find(|e| e["action"] == "power off")
        .unwrap();
    assert_eq!(off["result"], "ok");
}
