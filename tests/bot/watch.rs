//! End-to-end tests of issue #15's watch list and next steps: `/svc`
//! refusals before any question, `/svc_add` without a systemd to ask, a
//! `BACKUP_FAILED` alert that says why and whose retry button starts a
//! backup, a verify naming its damaged files, `/audit` in plain words, and
//! typos and plain words. The rig has no systemd (its bus address leads
//! nowhere); `/svc_add` of a unit systemd does not know is refused in
//! tests/systemd.rs under a real one.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::rig::{ADMIN, Rig, now};
use crate::standin::StandIn;

const WAIT: Duration = Duration::from_secs(10);

crate::rig::world! {
    /// The shared rig with a `sudo` that records `$*` and succeeds.
}

impl World {
    fn new(extra: &str) -> World {
        let rig = Rig::sandbox(
            StandIn::start(),
            WAIT,
            &format!("SERVICES=ollama.service,sshd.service\n{extra}"),
        );
        rig.record_sudo();
        World(rig)
    }
}

#[test]
fn a_protected_unit_is_refused_before_any_question() {
    let w = World::new("");
    let bot = w.start();
    let r = w.ask("/svc restart SSHD", "sshd.service");
    assert!(r.contains("locked for chat"), "{r}");
    assert_eq!(w.wait_audit("svc")["result"], "failed: protected-unit");
    // The 🔄 button for it is refused the same way.
    let before = w.count_texts("locked for chat");
    w.api.push_callback(ADMIN, "r:sshd.service");
    w.wait_new_text("locked for chat", before, WAIT, "r:sshd.service");
    assert_eq!(w.count_texts("Really"), 0, "no question was asked");
    // `/svc` alone offers no 🔄 for it.
    w.ask("/svc", "Which service");
    assert_eq!(w.buttons("Which service"), ["r:ollama.service"]);
    // A unit the rules allow still gets its question.
    w.ask("/svc restart ollama", "Really restart");
    assert!(w.calls().is_empty(), "nothing ran: {:?}", w.calls());
    bot.stop();
}

#[test]
fn svc_add_saves_protected_units_as_watch_only_and_says_when_systemd_was_not_asked() {
    let w = World::new("");
    let bot = w.start();
    let r = w.ask("/svc_add ssh", "ssh.service");
    assert!(r.contains("only watch") && r.contains("locked"), "{r}");
    assert!(r.contains("couldn't ask systemd"), "{r}");
    let r = w.ask("/svc_add nginx", "nginx.service");
    assert!(
        r.contains("Restart button") && !r.contains("only watch"),
        "{r}"
    );
    let env = std::fs::read_to_string(&w.env).unwrap();
    assert!(
        env.contains("SERVICES=ollama.service,sshd.service,ssh.service,nginx.service"),
        "{env}"
    );
    // Case does not make a second entry.
    let r = w.ask("/svc_add OLLAMA", "already");
    assert!(r.contains("ollama.service"), "{r}");
    assert!(w.calls().is_empty(), "no helper call: {:?}", w.calls());
    bot.stop();
}

#[test]
fn a_failed_backup_alert_says_why_and_its_retry_button_starts_a_backup() {
    let w = World::new("");
    let outcome = json!({"schema":1,"id":null,"status":"failed","started_at":now(),"finished_at":now(),
        "error":"no space left on device in /mnt/potion-data","files":0,"bytes":0,"new_bytes":0,
        "last_ok_at":null,"last_ok_id":null});
    std::fs::write(
        w.sb.state_dir().join("last_backup.json"),
        outcome.to_string(),
    )
    .unwrap();
    w.write_health(&["BACKUP_FAILED", "TEMP_HIGH"], &now());
    let bot = w.start();
    let alert = w
        .api
        .wait_text("no space left", WAIT)
        .expect("the alert says why");
    assert!(alert.contains("Why:"), "{alert}");
    let data = w.buttons("no space left");
    assert!(data.contains(&"b:now".to_string()), "{data:?}");
    // The metric alert offers its chart (as a photo with a caption, or as
    // text when no chart could be drawn).
    let t0 = Instant::now();
    let charted = || {
        ["sendPhoto", "sendMessage"]
            .iter()
            .flat_map(|m| w.api.requests(m))
            .any(|r| r.raw.contains("g:temp"))
    };
    while !charted() {
        assert!(t0.elapsed() < WAIT, "no chart button under TEMP_HIGH");
        std::thread::sleep(Duration::from_millis(10));
    }
    w.api.push_callback(ADMIN, "b:now");
    w.wait_call("potion-helper backup start");
    assert_eq!(w.wait_audit("button backup_now")["result"], "ok");
    bot.stop();
}

#[test]
fn a_damaged_verify_names_its_files_and_counts_the_rest() {
    let w = World::new("");
    let bot = w.start();
    w.api.push_text(ADMIN, "/backup_verify");
    w.api.wait_text("Verify started", WAIT).expect("progress");
    let later = (chrono::Utc::now() + chrono::Duration::seconds(5))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let damaged: Vec<String> = (0..10).map(|i| format!("/home/budi/f{i}.txt")).collect();
    let index = json!({"schema":1,"updated_at":later,"snapshots":[],
        "last_verify":{"id":"20261126T010000Z","at":later,"status":"failed","checked_files":40,
            "total_files":100,"sample_percent":null,"problems":12,"damaged":damaged}});
    std::fs::write(w.sb.state_dir().join("backups.json"), index.to_string()).unwrap();
    let end = w
        .api
        .wait_for("editMessageText", WAIT, |r| {
            r.body["text"].as_str().unwrap().contains("❌")
        })
        .expect("the outcome edited in place");
    let text = end.body["text"].as_str().unwrap().to_string();
    assert!(text.contains("Damaged files:"), "{text}");
    assert!(
        text.contains("/home/budi/f0.txt") && text.contains("/home/budi/f9.txt"),
        "{text}"
    );
    assert!(text.contains("… and 2 more"), "{text}");
    bot.stop();
}

#[test]
fn audit_reads_as_plain_lines_in_the_chosen_language() {
    let w = World::new("BOT_LANG=id\n");
    let line = json!({"time":"2026-11-26T01:00:00Z","user_id":ADMIN,"username":"budi",
        "action":"svc restart","arguments":"c:7:y","result":"ok"});
    std::fs::write(w.sb.log_dir().join("actions.log"), format!("{line}\n")).unwrap();
    let bot = w.start();
    w.ask("/status", "Belum ada data");
    let r = w.ask("/audit", "Tindakan terakhir");
    assert!(
        r.contains("@budi") && r.contains("svc restart · jawab Ya"),
        "{r}"
    );
    assert!(r.contains("/status · ✅"), "{r}");
    assert!(!r.contains("c:7:y"), "no raw button data: {r}");
    assert!(!r.contains("T01:00:00Z"), "no UTC stamps: {r}");
    // The log itself stays JSON.
    let log = std::fs::read_to_string(w.sb.log_dir().join("actions.log")).unwrap();
    assert!(log.lines().all(|l| l.starts_with('{')), "{log}");
    bot.stop();
}

#[test]
fn typos_get_a_suggestion_and_plain_words_run_their_command() {
    let w = World::new("");
    let bot = w.start();
    let r = w.ask("/stauts", "Did you mean");
    assert!(r.contains("/status?"), "{r}");
    w.ask("halo", "Pick something");
    w.ask("Status", "No data yet");
    w.ask("/xyzzy", "I don't know /xyzzy");
    assert_eq!(w.wait_audit("stauts")["result"], "failed: unknown command");
    bot.stop();
}
