//! End-to-end sweeps of the bot's language and clock (issue 15, "one
//! language at a time"): the real `potion-bot` against the stand-in Bot API.
//! With `BOT_LANG=id`, every command of `bot::command::COMMANDS` with bad
//! arguments, every helper refusal reason (`potion_runner::helper::ReasonCode`)
//! and the job errors must leave no English sentence in any reply outside
//! `<pre>` (a program's own words); with `TZ=Asia/Jakarta`, no reply may carry
//! a UTC timestamp (`…T09:51:51Z`).

use std::time::{Duration, Instant};

use crate::rig::{ADMIN, Rig, now};
use crate::standin::StandIn;
use potion_runner::bot::command::COMMANDS;
use potion_runner::helper::ReasonCode;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(10);

/// Phrases that only English text holds, matched case-sensitively ("error"
/// alone is Indonesian too: "error terbaru di sistem").
const ENGLISH: &[&str] = &[
    " is not ",
    " isn't ",
    "not a number",
    "failed",
    "protected",
    "does not",
    "doesn't",
    "none",
    "unknown",
    "an error",
    "errors",
    "cannot",
    "can't",
    "could not",
    "couldn't",
    "not found",
    "must be",
    "is a path",
    "looks like",
    "out of range",
    "use one of",
    "refused",
    "not allowed",
    "no such",
    "not installed",
    "already",
    "never",
    "please",
    " the ",
    "Usage",
    "Not accepted",
    "Something went wrong",
    "reachable",
    "packages",
    "today",
    "yesterday",
    "hours",
    "minutes",
    " ago",
];

crate::rig::world! {
    /// The shared rig in Indonesian, with a `sudo` that plays the helper:
    /// a refusal with the reason code in `reason` when that file exists,
    /// else a failure in the helper's own English words.
}

impl World {
    fn new(extra: &str) -> World {
        let rig = Rig::sandbox(
            StandIn::start(),
            WAIT,
            &format!("BOT_LANG=id\nSERVICES=ollama.service\n{extra}"),
        );
        let reason = rig.sb.path().join("reason");
        rig.fake(
            "sudo",
            &format!(
                "#!/bin/sh\nprintf 'sudo %s\\n' \"$*\" >> {log}\n\
                 if [ -f {reason} ]; then\n\
                 echo \"reason: $(cat {reason})\" >&2\n\
                 echo 'potion-helper: refused: the unit is protected and cannot be controlled' >&2\n\
                 exit 1\nfi\n\
                 if [ \"$3 $4\" = \"apt update\" ]; then\n\
                 echo 'E: Could not get lock /var/lib/apt/lists/lock' >&2\nexit 100\nfi\n\
                 echo 'potion-helper: failed: systemctl start failed (exit code 1)' >&2\nexit 1\n",
                log = rig.calls_log.display(),
                reason = reason.display(),
            ),
        );
        // The network commands' programs: tailscale answers with a real
        // status, speedtest-cli fails in its own words.
        let ts = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/chatops/tailscale-status.json"
        );
        rig.fake("tailscale", &format!("#!/bin/sh\ncat {ts}\n"));
        rig.fake(
            "speedtest-cli",
            "#!/bin/sh\necho 'ERROR: Unable to connect to servers to test latency.' >&2\nexit 1\n",
        );
        World(rig)
    }

    /// Every text a person reads so far: messages, edits and captions.
    fn replies(&self) -> Vec<String> {
        self.api
            .all()
            .iter()
            .flat_map(|r| [&r.body["text"], &r.body["caption"]])
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    }

    /// Presses Yes on the newest question and waits for its message to end in ❌.
    fn answer_yes_expecting_failure(&self) {
        let yes = self
            .api
            .requests("sendMessage")
            .iter()
            .rev()
            .find_map(|r| {
                r.body["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
                    .as_str()
                    .filter(|d| d.ends_with(":y"))
                    .map(str::to_string)
            })
            .expect("a Yes/No question");
        let before = self.api.requests("editMessageText").len();
        self.api.push_callback(ADMIN, &yes);
        let t0 = Instant::now();
        while !self.api.requests("editMessageText")[before..]
            .iter()
            .any(|r| r.body["text"].as_str().unwrap_or("").starts_with('❌'))
        {
            assert!(
                t0.elapsed() < WAIT,
                "the run never ended in ❌: {:?}",
                self.replies()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `text` and waits for its audit line (written after the reply),
    /// then a moment for follow-ups.
    fn send(&self, text: &str) {
        let n = self.audit().len();
        self.api.push_text(ADMIN, text);
        let t0 = Instant::now();
        while self.audit().len() <= n && t0.elapsed() < WAIT {
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(150));
    }
}

/// The text with `<pre>` blocks (a program's own words) and command names
/// (`/log_errors`) taken out.
fn prose(html: &str) -> String {
    let mut s = String::new();
    let mut rest = html;
    while let Some(i) = rest.find("<pre>") {
        s += &rest[..i];
        rest = rest[i..].find("</pre>").map_or("", |j| &rest[i + j + 6..]);
    }
    s += rest;
    s.split(|c: char| c.is_whitespace())
        .filter(|w| !w.starts_with('/') || w.len() == 1)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The replies that hold an English marker phrase, with the phrase.
fn english(replies: &[String]) -> Vec<(String, &'static str)> {
    replies
        .iter()
        .filter_map(|r| {
            let p = prose(r);
            ENGLISH
                .iter()
                .find(|m| p.contains(*m))
                .map(|m| (r.clone(), *m))
        })
        .collect()
}

#[test]
fn the_marker_check_finds_english_and_passes_indonesian() {
    let found = english(&[
        "Tidak diterima: <code>80x</code> bukan angka.".into(),
        "Tidak diterima: \"80x\" is not a number".into(),
        "❌ Gagal:\n<pre>E: the lock is held by another process</pre>\nCek /log_errors.".into(),
    ]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].1, " is not ");
}

#[test]
fn in_indonesian_no_refusal_or_job_error_is_english() {
    let w = World::new("");
    let state = w.sb.state_dir();
    // Job errors the bot reads from files: a failed backup, damaged
    // snapshot, and a health run that could not read systemd.
    let at = now();
    let backup = json!({"schema":1,"id":null,"status":"failed","started_at":at,"finished_at":at,
        "error":"cannot open /srv/data: No such file or directory","warnings":[],"files":0,"bytes":0,
        "new_bytes":0,"last_ok_at":null,"last_ok_id":null});
    std::fs::write(state.join("last_backup.json"), backup.to_string()).unwrap();
    let index = json!({"schema":1,"updated_at":at,"snapshots":[],
        "last_verify":{"id":"20261126T010000Z","at":at,"status":"failed","checked_files":40,
            "total_files":100,"sample_percent":null,"problems":1}});
    std::fs::write(state.join("backups.json"), index.to_string()).unwrap();
    let report = json!({"schema":1,"host":"x450l","taken_at":at,
        "cpu":{"percent":12.5,"load":[0.1,0.2,0.3],"cores":4},
        "memory":{"total_bytes":8_000_000_000u64,"available_bytes":6_000_000_000u64,"percent":25.0,"swap_percent":0.0},
        "disks":[{"name":"root","mount":"/","total_bytes":100,"used_bytes":40,"percent":40.0,"present":true}],
        "uptime_s":93784,"temperature_c":null,
        "services":[{"unit":"ollama.service","active":"unknown","sub":"unknown"}],
        "backup":{"last_id":null,"last_ok_at":null,"age_h":null,"last_status":"failed"},
        "alerts":[{"code":"BACKUP_FAILED","since":at,"value":null,"threshold":null}],
        "errors":["services: systemctl show failed: Failed to connect to bus","temperature: unreadable"]});
    std::fs::write(state.join("last_health.json"), report.to_string()).unwrap();
    let bot = w.start();

    // Every command, with arguments it cannot take.
    for (name, _) in COMMANDS {
        w.send(&format!("/{name} ?x"));
        w.send(&format!("/{name} -x ?? 9999999 ../x ;y"));
    }
    // And the refusals each argument check can give.
    for bad in [
        "/set_threshold cpu 80x",
        "/set_threshold cpu 500",
        "/set_threshold load 5",
        "/set_threshold nope 5",
        "/set_backup 25:00",
        "/svc start foo@.service",
        "/svc start a/b",
        "/svc restart nothere",
        "/svc_add -x",
        "/svc_add tidakada",
        "/svc_remove nothere",
        "/alert_disable NOPE 5",
        "/alert_disable CPU_HIGH lama",
        "/alert_disable CPU_HIGH:x 5",
        "/alert_disable DISK_SMART:/dev 5",
        "/quiet 22:00-22:00",
        "/quiet 25:00-06:00",
        "/log_journal sshd",
        "/log_journal ollama banyak",
        "/log_errors 0m",
        "/log_errors kemarin",
        "/log_errors 99d",
        "/log_file ../etc/passwd",
        "/log_file catatan.log",
        "/log_file actions.log.7",
        "/ping -x",
        "/chart cpu banyak",
        "/chart cpu 9999",
        "/restore 20260314T031500Z ../x",
        "/pip_sync",
        "/git_pull",
        "/status",
        "/alerts",
        "statsu",
        "/backup_list",
        "/backup_verify",
        "/backup_now",
        "/ip",
        "/tailscale",
        "/ping 127.0.0.1",
        "/ping tidak-ada.invalid",
    ] {
        w.send(bad);
    }
    // Every helper refusal, through a unit start.
    let reason = w.sb.path().join("reason");
    for code in ReasonCode::ALL {
        std::fs::write(&reason, code.as_str()).unwrap();
        w.send("/svc start ollama");
    }
    std::fs::remove_file(&reason).unwrap();
    // Long jobs that fail: the speed test, and apt update behind its question.
    w.send("/speed");
    w.api
        .wait_for("editMessageText", WAIT, |r| {
            r.body["text"]
                .as_str()
                .unwrap_or("")
                .contains("Unable to connect")
        })
        .expect("the speed test ends");
    w.send("/apt_update");
    w.answer_yes_expecting_failure();
    // A restore the helper refuses: the snapshot is gone.
    std::fs::write(&reason, ReasonCode::NoSuchSnapshot.as_str()).unwrap();
    w.send("/restore 20260314T031500Z /opt/potion-runner/.env");
    w.answer_yes_expecting_failure();
    std::fs::remove_file(&reason).unwrap();

    // A job file that cannot be read.
    std::fs::write(state.join("last_backup.json"), "{ not json").unwrap();
    w.send("/backup_list");

    let replies = w.replies();
    assert!(replies.len() > 2 * COMMANDS.len(), "{}", replies.len());
    // The sweep reached what it claims to: a helper refusal, the network
    // results, a failed backup and job, each said in Indonesian.
    for said in [
        "unit itu dilindungi",
        "snapshot itu tidak ada",
        "Perangkat online",
        "IP publik",
        "balasan",
        "Backup terakhir",
        "gagal setelah",
        "Ada yang tidak terbaca",
        "tidak bisa saya baca",
    ] {
        assert!(
            replies.iter().any(|r| r.contains(said)),
            "no reply with {said:?}: {replies:#?}"
        );
    }
    let found = english(&replies);
    assert!(
        found.is_empty(),
        "English in {} replies:\n{}",
        found.len(),
        found
            .iter()
            .map(|(r, m)| {
                let p = prose(r);
                let i = p.find(m).unwrap_or(0);
                let from = p.floor_char_boundary(i.saturating_sub(120));
                let to = p.ceil_char_boundary((i + 120).min(p.len()));
                format!("[{m}] …{}…", &p[from..to])
            })
            .collect::<Vec<_>>()
            .join("\n---\n")
    );
    bot.stop();
}

/// The first UTC timestamp (`2026-11-30T09:51:51Z`, seconds optional) in `s`.
fn utc_stamp(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let shape = |at: usize, pat: &[u8]| {
        pat.iter().enumerate().all(|(i, p)| {
            b.get(at + i).is_some_and(|c| match p {
                b'9' => c.is_ascii_digit(),
                p => c == p,
            })
        })
    };
    (0..b.len()).find_map(|i| {
        [&b"9999-99-99T99:99:99Z"[..], &b"9999-99-99T99:99Z"[..]]
            .iter()
            .find(|p| shape(i, p))
            .map(|p| &s[i..i + p.len()])
    })
}

#[test]
fn the_stamp_check_finds_utc_stamps_only() {
    assert_eq!(
        utc_stamp("sejak 2026-11-30T09:51:51Z."),
        Some("2026-11-30T09:51:51Z")
    );
    assert_eq!(
        utc_stamp("sampai …T10:06Z / 2026-11-30T10:06Z"),
        Some("2026-11-30T10:06Z")
    );
    assert_eq!(
        utc_stamp("hari ini 15:51, 30 Nov 15:51, 2026-11-30 15:51"),
        None
    );
    assert_eq!(utc_stamp("2026-11-30T15:51:51+0700"), None);
}

#[test]
fn in_jakarta_no_reply_carries_a_utc_stamp() {
    let w = World::new("DIGEST_TIME=00:00\nALERT_CONSECUTIVE=1\n");
    let state = w.sb.state_dir();
    let at = now();
    let backup = json!({"schema":1,"id":"20261125T023000Z","status":"ok","started_at":at,
        "finished_at":at,"error":null,"warnings":[],"files":12,"bytes":4096,
        "new_bytes":1024,"last_ok_at":at,"last_ok_id":"20261125T023000Z"});
    std::fs::write(state.join("last_backup.json"), backup.to_string()).unwrap();
    let index = json!({"schema":1,"updated_at":at,"snapshots":[{"id":"20261125T023000Z",
        "finished_at":at,"files":12,"bytes":4096,"new_bytes":1024}],
        "last_verify":{"id":"20261125T023000Z","at":at,"status":"ok","checked_files":12,
        "total_files":12,"sample_percent":null,"problems":0}});
    std::fs::write(state.join("backups.json"), index.to_string()).unwrap();
    // An earlier action in the audit log, as the bot writes it (UTC).
    let line = json!({"time":at,"user_id":ADMIN,"username":"me","action":"/status",
        "arguments":"","result":"ok"});
    std::fs::write(w.sb.log_dir().join("actions.log"), format!("{line}\n")).unwrap();
    w.write_health(&["CPU_HIGH"], &at);
    let bot = w.start_with(&[("TZ", "Asia/Jakarta")]);
    w.api.wait_text("🔴", WAIT).expect("the CPU alert fires");
    for cmd in [
        "/status",
        "/alerts",
        "statsu",
        "/alert_disable RAM_HIGH 30",
        "/alerts",
        "/backup_list",
        "/log_errors 2 jam",
        "/audit",
        "/restore",
    ] {
        w.send(cmd);
    }
    w.write_health(&[], &now());
    w.api.wait_text("✅", WAIT).expect("the CPU alert clears");
    let t0 = Instant::now();
    while !w.replies().iter().any(|r| r.contains("Ringkasan harian")) {
        assert!(t0.elapsed() < WAIT, "no digest: {:?}", w.replies());
        std::thread::sleep(Duration::from_millis(20));
    }
    let replies = w.replies();
    let stamped: Vec<_> = replies.iter().filter(|r| utc_stamp(r).is_some()).collect();
    assert!(stamped.is_empty(), "UTC stamps in {stamped:#?}");
    bot.stop();
}
