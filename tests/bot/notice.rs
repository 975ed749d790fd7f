//! End-to-end tests of the alert rules (`docs/alerts.md`): the real
//! `potion-bot` against the stand-in Bot API (tests/bot/standin.rs),
//! fed real `last_health.json` files the way the health job writes them, and
//! real lease files written through the library's own `files::lease::take`.
//! Quiet hours, reminders and leases run on the bot's 30 s rescan, so some
//! of these wait for two to three minutes; they run in parallel.

use std::time::{Duration, Instant};

use chrono::{DurationRound, TimeDelta, Utc};
use potion_runner::files::lease::{self, Job};
use serde_json::{Value, json};

use crate::rig::{self, ADMIN, Rig, now};
use crate::standin::StandIn;

const WAIT: Duration = Duration::from_secs(15);
/// A boot that is not this machine's.
const OTHER_BOOT: &str = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

struct World(Rig);

impl std::ops::Deref for World {
    type Target = Rig;
    fn deref(&self) -> &Rig {
        &self.0
    }
}

impl World {
    fn new(extra: &str) -> World {
        World(Rig::sandbox(StandIn::start(), WAIT, extra))
    }

    /// The bot on UTC, so the test and the bot agree on the local time.
    fn run(&self) -> rig::Bot {
        self.start_with(&[("TZ", "UTC")])
    }

    /// A quiet report, then the bot, once it has looked at the report (and
    /// so watches the folder).
    fn up(extra: &str) -> (World, rig::Bot) {
        let w = World::new(extra);
        w.alerts(&[]);
        let bot = w.run();
        let own = lease::boot_id().unwrap();
        w.wait_state("the first look", |s| {
            s["notice"]["announced_boot"] == json!(own)
        });
        (w, bot)
    }

    /// Writes `last_health.json` (temp file, then rename) with `boot_id`
    /// and a server up for `uptime_s`.
    fn health(&self, alerts: &[&str], boot_id: &str, uptime_s: u64) {
        self.health_at(alerts, boot_id, uptime_s, &now());
    }

    /// [`World::health`] taken at `taken_at`.
    fn health_at(&self, alerts: &[&str], boot_id: &str, uptime_s: u64, taken_at: &str) {
        let mut report = rig::health_report(alerts, taken_at);
        report["boot_id"] = json!(boot_id);
        report["uptime_s"] = json!(uptime_s);
        report["services"] = json!([]);
        self.put_state("last_health.json", &report);
    }

    /// Health with these alerts, on this machine's boot.
    fn alerts(&self, alerts: &[&str]) {
        self.health(alerts, &lease::boot_id().unwrap(), 3600);
    }

    fn state(&self) -> Value {
        let path = self.sb.state_dir().join("bot-state.json");
        std::fs::read_to_string(path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null)
    }

    /// Waits until the saved state satisfies `pred`.
    fn wait_state(&self, what: &str, pred: impl Fn(&Value) -> bool) {
        let t0 = Instant::now();
        while !pred(&self.state()) {
            assert!(
                t0.elapsed() < self.wait,
                "state never showed {what}: {}\n{}",
                self.state(),
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every text the admin saw: messages, photo captions and edits, in order.
    fn seen(&self) -> Vec<(String, String)> {
        self.api
            .all()
            .into_iter()
            .filter(|r| r.body["chat_id"] == json!(ADMIN))
            .filter_map(|r| {
                let text = r.body["text"].as_str().or(r.body["caption"].as_str())?;
                Some((r.method.clone(), text.to_string()))
            })
            .collect()
    }

    /// New messages (not edits) whose text contains `needle`.
    fn new_messages(&self, needle: &str) -> usize {
        self.seen()
            .iter()
            .filter(|(m, t)| m.starts_with("send") && t.contains(needle))
            .count()
    }

    /// Waits up to `wait` for a new message containing `needle`.
    fn wait_message(&self, needle: &str, wait: Duration) -> String {
        let t0 = Instant::now();
        loop {
            if let Some((_, t)) = self
                .seen()
                .into_iter()
                .find(|(m, t)| m.starts_with("send") && t.contains(needle))
            {
                return t;
            }
            assert!(
                t0.elapsed() < wait,
                "no message with {needle:?}; saw {:?}\n{}",
                self.seen(),
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn hhmm(t: chrono::DateTime<Utc>) -> String {
    t.format("%H:%M").to_string()
}

#[test]
fn quiet_hours_hold_cpu_pass_the_critical_disk_and_summarise_when_they_end() {
    // A window that covers now and ends within two minutes (bot on UTC).
    let minute = Utc::now().duration_trunc(TimeDelta::minutes(1)).unwrap();
    let (start, end) = (
        minute - TimeDelta::minutes(1),
        minute + TimeDelta::minutes(2),
    );
    let (w, _bot) = World::up(&format!(
        "QUIET_HOURS={}-{}\nALERT_CRITICAL=DISK_ROOT_HIGH\nALERT_REMIND=0\n",
        hhmm(start),
        hhmm(end)
    ));
    w.alerts(&["CPU_HIGH"]);
    w.wait_state("CPU_HIGH announced", |s| {
        s["announced"].get("CPU_HIGH").is_some()
    });
    w.alerts(&["CPU_HIGH", "DISK_ROOT_HIGH"]);
    let disk = w.wait_message("<code>DISK_ROOT_HIGH</code>", WAIT);
    assert!(disk.contains("🔴"), "{disk}");
    let quiet = w.ask("/status", "Quiet hours");
    assert!(quiet.contains(&hhmm(end)), "{quiet}");
    // Nothing about CPU while the window lasts.
    while Utc::now() < end - TimeDelta::seconds(2) {
        // (`/status` above names it as an active alert; no alert message may.)
        assert_eq!(w.new_messages("🔴 <b>CPU high"), 0, "{:?}", w.seen());
        assert_eq!(w.new_messages("<code>CPU_HIGH</code>"), 0);
        std::thread::sleep(Duration::from_millis(500));
    }
    let summary = w.wait_message("quiet hours", Duration::from_secs(75));
    assert!(summary.contains("CPU high"), "{summary}");
    assert!(summary.contains("still on"), "{summary}");
    assert_eq!(w.new_messages("quiet hours"), 1);
    assert_eq!(
        w.new_messages("<code>CPU_HIGH</code>"),
        0,
        "only in the summary"
    );
    assert_eq!(w.state()["notice"]["quiet_held"], json!([]));
}

#[test]
fn quiet_is_set_from_chat_saved_audited_and_shown_in_status() {
    let (w, _bot) = World::up("");
    let minute = Utc::now().duration_trunc(TimeDelta::minutes(1)).unwrap();
    let window = format!(
        "{}-{}",
        hhmm(minute - TimeDelta::hours(1)),
        hhmm(minute + TimeDelta::hours(1))
    );
    let saved = w.ask(&format!("/quiet {window}"), "Quiet hours saved");
    assert!(saved.contains(&window), "{saved}");
    let env = std::fs::read_to_string(&w.env).unwrap();
    assert!(env.contains(&format!("QUIET_HOURS={window}")), "{env}");
    let status = w.ask("/status", "CPU");
    assert!(
        status.contains(&format!("Quiet hours {window}")),
        "{status}"
    );
    let bad = w.ask("/quiet 22:00", "HH:MM-HH:MM");
    assert!(bad.contains("22:00"), "{bad}");
    w.ask("/quiet off", "Quiet hours are off");
    let env = std::fs::read_to_string(&w.env).unwrap();
    assert!(env.contains("QUIET_HOURS=off"), "{env}");
    let status = w.ask("/status", "CPU");
    assert!(!status.contains("Quiet hours"), "{status}");
    let audits: Vec<_> = w
        .wait_audits(7)
        .into_iter()
        .filter(|e| e["action"] == "quiet")
        .map(|e| (e["arguments"].clone(), e["result"].clone()))
        .collect();
    assert_eq!(audits.len(), 3, "{audits:?}");
    assert_eq!(audits[0], (json!(window), json!("ok")));
    assert_eq!(audits[2], (json!("off"), json!("ok")));
}

/// Starts on this machine's boot, stops (cleanly or not), comes back on
/// another boot: one restart notice, also after the bot restarts again.
/// With `ran_on`, the health job's history goes on for 6 minutes after the
/// bot stopped, and the server comes back 10 minutes from now.
fn restart_notice(clean: bool, ran_on: bool) -> String {
    let (w, bot) = World::up("ALERT_REMIND=0\n");
    let own = lease::boot_id().unwrap();
    if clean {
        bot.stop();
        assert_eq!(w.state()["notice"]["clean_stop"]["boot_id"], json!(own));
    } else {
        drop(bot); // SIGKILL: no clean stop recorded
    }
    std::thread::sleep(Duration::from_millis(2100));
    if ran_on {
        let later = |m| Utc::now() + TimeDelta::minutes(m);
        let sample = potion_runner::history::Sample {
            t: later(6).timestamp(),
            cpu: 5.0,
            ram: 20.0,
            swap: 0.0,
            disk_root: 40.0,
            disk_data: f32::NAN,
            temp: 50.0,
            load1: 0.1,
            alerts: 0,
            probe_ms: f32::NAN,
        };
        let history = w.sb.state_dir().join("history.bin");
        potion_runner::history::append(&history, &sample).unwrap();
        let back = later(10).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        w.health_at(&[], OTHER_BOOT, 1, &back);
    } else {
        w.health(&[], OTHER_BOOT, 1);
    }
    let bot = w.run();
    let text = w.wait_message("restarted", WAIT);
    bot.stop();
    let _bot = w.run();
    // The second start has looked once it answers; nothing more may come.
    w.ask("/status", "CPU");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(w.new_messages("restarted"), 1, "{:?}", w.seen());
    assert_eq!(w.state()["notice"]["announced_boot"], json!(OTHER_BOOT));
    text
}

#[test]
fn a_new_boot_after_a_clean_stop_is_told_once_as_clean() {
    let text = restart_notice(true, false);
    assert!(text.contains("The shutdown was clean."), "{text}");
    assert!(text.contains("Last report before:"), "{text}");
    assert!(!text.contains("unknown"), "the gap is known: {text}");
}

#[test]
fn a_new_boot_without_a_clean_stop_is_told_once_as_a_crash() {
    let text = restart_notice(false, false);
    assert!(text.contains("No clean shutdown"), "{text}");
}

#[test]
fn a_clean_stop_long_before_the_server_went_away_does_not_vouch_for_it() {
    let text = restart_notice(true, true);
    assert!(text.contains("No clean shutdown"), "{text}");
    // Four minutes between the history's last sample and the boot, to the second.
    let gap = text.contains("gone for 3m 5") || text.contains("gone for 4m 0");
    assert!(gap, "from the history's last sample: {text}");
}

#[test]
fn an_alert_still_on_after_alert_remind_is_reminded() {
    let (w, _bot) = World::up("ALERT_REMIND=1\n");
    w.alerts(&["RAM_HIGH"]);
    w.wait_message("<code>RAM_HIGH</code>", WAIT);
    let t0 = Instant::now();
    let reminder = w.wait_message("still on", Duration::from_secs(100));
    assert!(reminder.contains("RAM high"), "{reminder}");
    assert!(
        t0.elapsed() > Duration::from_secs(50),
        "not before the minute"
    );
    assert_eq!(w.new_messages("still on"), 1);
}

#[test]
fn twelve_quick_changes_make_at_most_four_new_messages_and_one_edited_in_place() {
    let (w, _bot) = World::up("ALERT_REMIND=0\n");
    for i in 0..12 {
        let on = i % 2 == 0;
        w.alerts(if on { &["CPU_HIGH"] } else { &[] });
        w.wait_state("the change seen", |s| {
            s["announced"].get("CPU_HIGH").is_some() == on
        });
    }
    let t0 = Instant::now();
    let last = loop {
        let edits: Vec<String> = w
            .seen()
            .into_iter()
            .filter(|(m, _)| m.starts_with("edit"))
            .map(|(_, t)| t)
            .collect();
        if let Some(e) = edits.last().filter(|e| e.contains("12 changes")) {
            break e.clone();
        }
        assert!(t0.elapsed() < WAIT, "{:?}\n{}", w.seen(), w.stderr());
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        last.contains("flapping") && last.contains("now cleared"),
        "{last}"
    );
    assert_eq!(w.new_messages("<code>CPU_HIGH</code>"), 4, "{:?}", w.seen());
}

#[test]
fn a_backup_lease_swallows_cpu_that_clears_and_sends_ram_that_outlives_it() {
    let (w, _bot) = World::up("ALERT_REMIND=0\n");
    let guard = lease::take(&w.sb.state_dir(), Job::Backup, TimeDelta::minutes(30)).unwrap();
    let status = w.ask("/status", "Maintenance");
    assert!(status.contains("<code>backup</code>"), "{status}");
    w.alerts(&["CPU_HIGH"]);
    w.wait_state("CPU held", |s| {
        s["notice"]["lease_held"][0]["code"] == "CPU_HIGH"
    });
    w.alerts(&[]);
    w.wait_state("CPU dropped", |s| s["notice"]["lease_held"] == json!([]));
    w.alerts(&["RAM_HIGH"]);
    w.wait_state("RAM held", |s| {
        s["notice"]["lease_held"][0]["code"] == "RAM_HIGH"
    });
    drop(guard); // the backup ends
    let ended = Instant::now();
    let ram = w.wait_message("<code>RAM_HIGH</code>", Duration::from_secs(180));
    assert!(ram.contains("during/after <code>backup</code>"), "{ram}");
    assert!(
        ended.elapsed() >= Duration::from_secs(110),
        "2 minutes after the end"
    );
    assert_eq!(w.new_messages("<code>CPU_HIGH</code>"), 0, "{:?}", w.seen());
}
