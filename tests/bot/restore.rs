//! End-to-end tests of `/restore`: the real `potion-bot` against the stand-in
//! Bot API (tests/bot/standin.rs), with a fake `sudo` first on `PATH`
//! that records its exact argument vector and plays `potion-helper restore`.

use std::time::{Duration, Instant};

use crate::rig::{ADMIN, Rig};
use crate::standin::StandIn;
use potion_runner::paths::HELPER_PATH;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(15);
const ID: &str = "20260314T031500Z";

/// What the fake helper prints for a restore that worked.
const RESTORED: &str = "restored-to: /srv/backup/restored/20260314T031500Z/opt/my app\nfiles: 2\nbytes: 2048\nverified: yes\n";

crate::rig::world! {
    /// The shared rig with a `sudo` that plays `potion-helper restore`.
}

impl World {
    fn new() -> World {
        let w = World(Rig::sandbox(StandIn::start(), WAIT, ""));
        w.fake_sudo(&format!("printf '%s' '{RESTORED}'\nexit 0"));
        w
    }

    /// A `sudo` that logs its arguments as `[a][b]…` (so spaces inside one
    /// argument show), then runs `tail` (shell lines of the stand-in only).
    fn fake_sudo(&self, tail: &str) {
        self.fake(
            "sudo",
            &format!(
                "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]' \"$a\" >> {log}; done\necho >> {log}\n{tail}\n",
                log = self.calls_log.display()
            ),
        );
    }

    fn sudo_calls(&self) -> Vec<String> {
        self.calls()
    }

    /// Asks `/restore …` and returns the question's Yes and No button data.
    fn question(&self, text: &str) -> (String, String) {
        self.ask(text, "Really restore");
        let q = self
            .api
            .requests("sendMessage")
            .into_iter()
            .rfind(|r| r.body["text"].as_str().unwrap().contains("Really restore"))
            .unwrap();
        let button = |i: usize| {
            q.body["reply_markup"]["inline_keyboard"][0][i]["callback_data"]
                .as_str()
                .unwrap()
                .to_string()
        };
        (button(0), button(1))
    }

    fn edits_with(&self, needle: &str) -> Vec<String> {
        self.api
            .requests("editMessageText")
            .iter()
            .filter_map(|r| r.body["text"].as_str().map(str::to_string))
            .filter(|t| t.contains(needle))
            .collect()
    }

    /// Presses `data` and waits for a new message edit that contains `needle`.
    fn press(&self, data: &str, needle: &str) -> String {
        let before = self.edits_with(needle).len();
        self.api.push_callback(ADMIN, data);
        let t0 = Instant::now();
        while self.edits_with(needle).len() == before && t0.elapsed() < WAIT {
            std::thread::sleep(Duration::from_millis(5));
        }
        self.edits_with(needle)
            .into_iter()
            .nth(before)
            .unwrap_or_else(|| {
                panic!(
                    "no edit with {needle:?}; edits: {:?}\n{}",
                    self.edits_with(""),
                    self.stderr()
                )
            })
    }

    fn write_index(&self, ids: &[&str]) {
        let snaps: Vec<Value> = ids
            .iter()
            .map(|id| json!({"id": id, "finished_at": "2026-03-14T03:16:00Z", "files": 12, "bytes": 3072, "new_bytes": 0, "verify": null}))
            .collect();
        let index = json!({"schema": 1, "updated_at": "2026-03-14T03:16:00Z", "snapshots": snaps, "last_verify": null});
        std::fs::write(
            self.sb.state_dir().join("backups.json"),
            serde_json::to_vec(&index).unwrap(),
        )
        .unwrap();
    }
}

fn helper_call(id: &str, path: &str) -> String {
    format!("[-n][{HELPER_PATH}][restore][{id}][{path}]")
}

#[test]
fn bad_ids_and_paths_are_refused_and_nothing_runs() {
    let w = World::new();
    let bot = w.start();
    let long = format!("/restore {ID} /{}", "a".repeat(5000));
    let cases = [
        format!("/restore {ID} ../../etc/shadow"),
        "/restore ../../etc/shadow".to_string(),
        format!("/restore {ID} /opt/../etc/shadow"),
        "/restore ;id".to_string(),
        "/restore ;id /etc/shadow".to_string(),
        format!("/restore {ID};id /etc"),
        format!("/restore {ID} --overwrite"),
        format!("/restore {ID}"),
        long,
    ];
    for (i, text) in cases.iter().enumerate() {
        w.ask(text, "Cannot restore");
        w.wait_audits(i + 1);
    }
    let audit = w.audit();
    assert_eq!(audit.len(), cases.len(), "one audit line each: {audit:?}");
    for e in &audit {
        assert_eq!(e["action"], "restore");
        let result = e["result"].as_str().unwrap();
        assert!(result.starts_with("failed: invalid arguments"), "{e}");
    }
    assert!(w.api.texts_to(ADMIN).iter().all(|t| !t.contains("Really")));
    assert!(w.sudo_calls().is_empty(), "{:?}", w.sudo_calls());
    bot.stop();
}

#[test]
fn without_arguments_the_newest_snapshots_are_listed() {
    let w = World::new();
    let bot = w.start();
    w.ask("/restore", "no snapshots yet");
    w.write_index(&["20260316T031500Z", "20260315T031500Z", ID]);
    let hint = w.ask("/restore", "Newest snapshots");
    assert!(
        hint.contains("/restore 20260316T031500Z /opt/potion-runner/.env"),
        "{hint}"
    );
    for id in ["20260316T031500Z", "20260315T031500Z", ID] {
        assert!(hint.contains(id), "{hint}");
    }
    assert!(hint.contains("12 files, 3.0 KiB"), "{hint}");
    assert!(w.sudo_calls().is_empty());
    bot.stop();
}

#[test]
fn yes_runs_exactly_the_helper_restore_and_reports_where() {
    let w = World::new();
    let bot = w.start();
    // A path with a space stays one argument.
    let (yes, no) = w.question(&format!("/restore {ID} /opt/my app"));
    assert!(yes.ends_with(":y") && no.ends_with(":n"), "{yes} {no}");
    assert!(w.sudo_calls().is_empty(), "nothing runs before Yes");
    let done = w.press(&yes, "Restored");
    assert!(done.contains("2 files (2.0 KiB)"), "{done}");
    assert!(
        done.contains("/srv/backup/restored/20260314T031500Z/opt/my app"),
        "{done}"
    );
    assert_eq!(w.sudo_calls(), [helper_call(ID, "/opt/my app")]);
    // Used up: a second press runs nothing and leaves the result in place.
    let edits = w.edits_with("").len();
    w.api.push_callback(ADMIN, &yes);
    w.api
        .wait_text("already answered", WAIT)
        .expect("a second Yes is told the question is answered");
    assert_eq!(
        w.edits_with("").len(),
        edits,
        "the result is not overwritten"
    );
    assert_eq!(w.sudo_calls().len(), 1);
    // No: nothing runs.
    let (_, no) = w.question(&format!("/restore {ID} opt/x"));
    w.press(&no, "cancelled");
    assert_eq!(w.sudo_calls().len(), 1);
    // `latest` is the newest snapshot of backups.json, asked about by its id.
    w.write_index(&["20260316T031500Z", ID]);
    let (yes, _) = w.question("/restore latest /opt/y");
    w.press(&yes, "Restored");
    assert_eq!(w.sudo_calls()[1], helper_call("20260316T031500Z", "/opt/y"));
    bot.stop();
    let audit = w.audit();
    let results: Vec<(&str, &str)> = audit
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["result"].as_str().unwrap()))
        .collect();
    assert_eq!(
        results,
        [
            ("restore", "ok"),
            ("restore", "ok"),
            ("confirm", "failed: already answered"),
            ("restore", "ok"),
            ("restore", "failed: cancelled"),
            ("restore", "ok"),
            ("restore", "ok"),
        ],
        "{audit:?}"
    );
    assert_eq!(audit[0]["arguments"], format!("{ID} /opt/my app"));
}

#[test]
fn a_failing_helper_is_reported_plainly() {
    let w = World::new();
    w.fake_sudo(
        "echo 'potion-helper: failed: 2 files already exist at the destination' >&2\nexit 1",
    );
    let bot = w.start();
    let (yes, _) = w.question(&format!("/restore {ID} /opt/x"));
    let text = w.press(&yes, "restore failed");
    assert!(text.contains("already exist"), "{text}");
    assert_eq!(w.sudo_calls(), [helper_call(ID, "/opt/x")]);
    bot.stop();
    let audit = w.audit();
    let last = audit.last().unwrap();
    assert_eq!(last["action"], "restore");
    assert!(
        last["result"].as_str().unwrap().contains("already exist"),
        "{last}"
    );
}

#[test]
fn a_question_from_before_a_restart_has_expired_and_runs_nothing() {
    let w = World::new();
    let bot = w.start();
    let (yes, _) = w.question(&format!("/restore {ID} /opt/x"));
    bot.stop();
    let bot = w.start();
    w.press(&yes, "expired");
    // Let the bot settle: a later command is answered, still nothing ran.
    w.ask("/restore", "no snapshots yet");
    assert!(w.sudo_calls().is_empty(), "{:?}", w.sudo_calls());
    bot.stop();
    assert!(
        w.audit()
            .iter()
            .any(|e| e["result"] == "failed: confirmation expired")
    );
}

#[test]
fn a_running_restore_shows_progress_and_does_not_hold_up_the_bot() {
    let w = World::new();
    let gate = w.sb.path().join("gate");
    // The helper waits until the test opens the gate (at most 10 s).
    w.fake_sudo(&format!(
        "i=0; while [ ! -e {g} ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done\nprintf '%s' '{RESTORED}'",
        g = gate.display()
    ));
    let bot = w.start();
    let (yes, _) = w.question(&format!("/restore {ID} /opt/x"));
    let running = w.press(&yes, "Restoring");
    assert!(
        running.contains("/opt/x") && running.contains(ID),
        "{running}"
    );
    // While the helper works, the bot answers other commands.
    w.ask("/restore", "no snapshots yet");
    assert!(w.edits_with("Restored").is_empty(), "still running");
    std::fs::write(&gate, "").unwrap();
    let t0 = Instant::now();
    while w.edits_with("Restored").is_empty() && t0.elapsed() < WAIT {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(w.edits_with("Restored").len(), 1, "{}", w.stderr());
    assert_eq!(w.sudo_calls(), [helper_call(ID, "/opt/x")]);
    bot.stop();
}

#[test]
fn stopping_the_bot_during_a_restore_does_not_wait_for_it() {
    let w = World::new();
    // A helper that would take 30 s.
    w.fake_sudo("i=0; while [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done");
    let bot = w.start();
    let (yes, _) = w.question(&format!("/restore {ID} /opt/x"));
    w.press(&yes, "Restoring");
    let t0 = Instant::now();
    bot.stop(); // insists on exit 0 within 5 s
    assert!(t0.elapsed() < Duration::from_secs(5));
    let audit = w.audit();
    let last = audit.last().unwrap();
    assert_eq!(last["action"], "restore");
    assert_eq!(last["arguments"], format!("{ID} /opt/x"));
    assert!(
        last["result"].as_str().unwrap().contains("bot stopped"),
        "{last}"
    );
    assert_eq!(
        audit.iter().filter(|e| e["action"] == "restore").count(),
        2,
        "the command and the run, once each: {audit:?}"
    );
}
