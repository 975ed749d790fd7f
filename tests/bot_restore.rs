//! End-to-end tests of `/restore`: the real `potion-bot` against the stand-in
//! Bot API (tests/bot_support/standin.rs), with a fake `sudo` first on `PATH`
//! that records its exact argument vector and plays `potion-helper restore`.
#![allow(clippy::disallowed_methods)] // spawns the binary under test as a long-running child

mod common;
#[path = "bot_support/standin.rs"]
#[allow(dead_code)] // the outage helpers are for tests/bot.rs
mod standin;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::Sandbox;
use potion_runner::paths::HELPER_PATH;
use serde_json::{Value, json};
use standin::{StandIn, TOKEN};

const ADMIN: i64 = 4242;
const BIN: &str = env!("CARGO_BIN_EXE_potion-bot");
const WAIT: Duration = Duration::from_secs(15);
const ID: &str = "20260314T031500Z";

/// What the fake helper prints for a restore that worked.
const RESTORED: &str = "restored-to: /srv/backup/restored/20260314T031500Z/opt/my app\nfiles: 2\nbytes: 2048\nverified: yes\n";

struct World {
    sb: Sandbox,
    api: StandIn,
    env: PathBuf,
    sudo_log: PathBuf,
    fakebin: PathBuf,
}

impl World {
    fn new() -> World {
        let sb = Sandbox::new();
        let api = StandIn::start();
        let env = sb.write_env(&format!(
            "BOT_TOKEN={TOKEN}\nADMIN_IDS={ADMIN}\nTELEGRAM_API_URL={}\nBOT_LANG=en\nHEALTH_STALE_S=600",
            api.url()
        ));
        let fakebin = sb.path().join("fakebin");
        std::fs::create_dir_all(&fakebin).unwrap();
        let w = World {
            sudo_log: sb.path().join("sudo.log"),
            sb,
            api,
            env,
            fakebin,
        };
        w.fake_sudo(&format!("printf '%s' '{RESTORED}'\nexit 0"));
        w
    }

    /// A `sudo` that logs its arguments as `[a][b]…` (so spaces inside one
    /// argument show), then runs `tail` (shell lines of the stand-in only).
    fn fake_sudo(&self, tail: &str) {
        let script = format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]' \"$a\" >> {log}; done\necho >> {log}\n{tail}\n",
            log = self.sudo_log.display()
        );
        let sudo = self.fakebin.join("sudo");
        std::fs::write(&sudo, script).unwrap();
        std::fs::set_permissions(&sudo, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn start(&self) -> Bot {
        let path = format!(
            "{}:{}",
            self.fakebin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.sb.path().join("bot.stderr"))
            .unwrap();
        let child = self
            .sb
            .cmd(BIN)
            .arg("--env")
            .arg(&self.env)
            .env("PATH", path)
            .env("POTION_FORCE_RUN", "1")
            .env("POTION_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("potion-bot starts");
        Bot { child: Some(child) }
    }

    fn sudo_calls(&self) -> Vec<String> {
        std::fs::read_to_string(&self.sudo_log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn audit(&self) -> Vec<Value> {
        std::fs::read_to_string(self.sb.log_dir().join("actions.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("audit line is JSON"))
            .collect()
    }

    fn wait_audit(&self, n: usize) -> Vec<Value> {
        let t0 = Instant::now();
        while self.audit().len() < n && t0.elapsed() < WAIT {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.audit()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.sb.path().join("bot.stderr")).unwrap_or_default()
    }

    fn count_texts(&self, needle: &str) -> usize {
        self.api
            .texts_to(ADMIN)
            .iter()
            .filter(|t| t.contains(needle))
            .count()
    }

    /// Sends `text` and waits for the reply that contains `needle`.
    fn ask(&self, text: &str, needle: &str) -> String {
        let before = self.count_texts(needle);
        self.api.push_text(ADMIN, text);
        let t0 = Instant::now();
        while self.count_texts(needle) == before && t0.elapsed() < WAIT {
            std::thread::sleep(Duration::from_millis(5));
        }
        self.api
            .texts_to(ADMIN)
            .into_iter()
            .filter(|t| t.contains(needle))
            .nth(before)
            .unwrap_or_else(|| {
                panic!(
                    "no reply with {needle:?} to {:.80?}; got {:?}\n{}",
                    text,
                    self.api.texts_to(ADMIN),
                    self.stderr()
                )
            })
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

struct Bot {
    child: Option<Child>,
}

impl Bot {
    /// SIGTERM, then insists on a clean exit 0 within five seconds.
    fn stop(mut self) {
        let mut child = self.child.take().unwrap();
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let t0 = Instant::now();
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                assert_eq!(st.code(), Some(0), "exit status {st:?}");
                return;
            }
            assert!(t0.elapsed() < Duration::from_secs(5), "bot did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
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
        w.wait_audit(i + 1);
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
    // Used up: a second press runs nothing.
    w.press(&yes, "expired");
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
            ("confirm", "failed: confirmation expired"),
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
