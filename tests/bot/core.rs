//! End-to-end tests of `potion-bot`: the real binary against a stand-in Bot
//! API on 127.0.0.1 (tests/bot/standin.rs), with a fake `sudo` first
//! on PATH that records its arguments.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common;
use crate::rig::{self, ADMIN, BIN, Bot, Rig, now};
use crate::standin::{StandIn, TOKEN};
use serde_json::json;

const STRANGER: i64 = 777;
const WAIT: Duration = Duration::from_secs(10);

crate::rig::world! {
    /// The shared rig with a `sudo` that records `$*`, one line a call.
}

impl World {
    fn new(extra: &str) -> World {
        World::with_api(StandIn::start(), extra)
    }

    fn with_api(api: StandIn, extra: &str) -> World {
        let rig = Rig::sandbox(
            api,
            WAIT,
            &format!("# potion test\nSERVICES=ollama.service\n{extra}"),
        );
        rig.record_sudo();
        World(rig)
    }

    fn sudo_calls(&self) -> Vec<String> {
        self.calls()
    }
}

#[test]
fn without_admin_ids_the_bot_starts_in_setup_mode() {
    // The rig writes ADMIN_IDS first; a later empty line leaves none.
    let w = World::new("ADMIN_IDS=\n");
    let bot = w.start();
    w.api.push_text(STRANGER, "/status");
    let reply = w
        .api
        .wait_text("setup mode", WAIT)
        .expect("the setup-mode answer");
    assert!(reply.contains("ADMIN_IDS=777"), "{reply}");
    assert!(reply.contains(".env"), "{reply}");
    let e = w.wait_audit("/status");
    assert_eq!(e["result"], "denied", "nothing runs in setup mode");
    assert!(w.stderr().contains("setup mode"), "{}", w.stderr());
    assert!(w.sudo_calls().is_empty());
    bot.stop();
}

#[test]
fn stranger_is_refused_once_with_their_id_and_audited() {
    let w = World::new("");
    let bot = w.start();
    w.api.push_text(STRANGER, "/status");
    let reply = w
        .api
        .wait_text("777", WAIT)
        .expect("refusal with the user id");
    assert!(reply.contains("ADMIN_IDS"), "{reply}");
    w.api.push_text(STRANGER, "/svc restart ollama");
    w.ask("/status", "No data yet");
    w.wait_audits(3);
    assert_eq!(
        w.api.texts_to(STRANGER).len(),
        1,
        "one refusal per stranger"
    );
    assert!(w.sudo_calls().is_empty());
    let denied: Vec<_> = w
        .audit()
        .into_iter()
        .filter(|e| e["user_id"] == json!(STRANGER))
        .collect();
    assert_eq!(denied.len(), 2, "both attempts audited");
    assert!(denied.iter().all(|e| e["result"] == "denied"));
    assert_eq!(denied[1]["arguments"], "/svc restart ollama");
    bot.stop();
    assert!(!w.stderr().contains(TOKEN), "the token is never logged");
}

#[test]
fn status_comes_from_last_health_json_and_menu_is_registered() {
    let w = World::new("");
    w.write_health(&[], &now());
    let bot = w.start();
    let s = w.ask("/status", "x450l");
    assert!(
        s.contains("12.5%") && s.contains("55 °C") && s.contains("1d 2h"),
        "{s}"
    );
    let cmds = w
        .api
        .wait_for("setMyCommands", WAIT, |_| true)
        .expect("command menu registered");
    let names: Vec<_> = cmds.body["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["command"].as_str().unwrap().to_string())
        .collect();
    for n in [
        "status",
        "svc",
        "backup_now",
        "chart",
        "log_journal",
        "lang",
    ] {
        assert!(names.contains(&n.to_string()), "{n} in {names:?}");
    }
    w.ask("/start", "Pick something");
    let start = w
        .api
        .requests("sendMessage")
        .into_iter()
        .find(|r| r.body["text"].as_str().unwrap().contains("Pick something"))
        .unwrap();
    assert!(
        start.body["reply_markup"]["keyboard"].is_array(),
        "{:?}",
        start.body
    );
    w.ask("📊 Status", "x450l");
    w.ask("/ping", "Which host?");
    let help = w.ask("/help", "/set_threshold");
    assert!(help.contains("/backup_verify"));
    let audit = w.audit();
    assert!(
        audit
            .iter()
            .any(|e| e["action"] == "status" && e["result"] == "ok" && e["username"] == "user4242")
    );
    bot.stop();
}

#[test]
fn missing_and_corrupt_files_get_a_clear_reply() {
    let w = World::new("");
    let bot = w.start();
    w.ask("/status", "No data yet");
    std::fs::write(w.sb.state_dir().join("last_health.json"), "{half a file").unwrap();
    w.ask("/uptime", "I can't read");
    w.ask("/backup_list", "last_backup.json");
    w.write_health(&[], "2020-01-01T00:00:00Z");
    w.ask("/alerts", "stale");
    bot.stop();
}

#[test]
fn alert_from_atomic_rename_is_sent_once_and_cleared_once_across_a_restart() {
    let w = World::new("");
    w.write_health(&[], &now());
    let bot = w.start();
    w.ask("/uptime", "up for"); // the bot is up and polling
    w.write_health(&["CPU_HIGH"], &now());
    let fired = w.api.wait_text("CPU high", WAIT).expect("alert sent");
    assert!(
        fired.contains("CPU_HIGH") && fired.contains("97"),
        "{fired}"
    );
    let req = w
        .api
        .wait_for("sendMessage", WAIT, |r| {
            r.body["text"].as_str().unwrap().contains("CPU high")
        })
        .unwrap();
    let buttons = &req.body["reply_markup"]["inline_keyboard"][0];
    assert_eq!(buttons[0]["callback_data"], "m:60:CPU_HIGH");
    // The same alert again (a new health run) is not repeated.
    w.write_health(&["CPU_HIGH"], &now());
    w.ask("/uptime", "up for");
    std::thread::sleep(Duration::from_millis(300));
    bot.stop();
    let bot = w.start();
    w.ask("/uptime", "up for");
    w.write_health(&["CPU_HIGH"], &now());
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        w.count_texts("CPU high"),
        1,
        "restart did not repeat: {:?}",
        w.api.texts_to(ADMIN)
    );
    w.write_health(&[], &now());
    w.api.wait_text("Cleared", WAIT).expect("clear sent");
    w.write_health(&[], &now());
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(w.count_texts("Cleared"), 1);
    bot.stop();
}

#[test]
fn rate_limit_and_outage_lose_nothing_and_keep_order() {
    let w = World::new("");
    w.write_health(&[], &now());
    let bot = w.start();
    w.ask("/uptime", "up for");
    w.api.fail_next("sendMessage", 1, 2);
    let t0 = Instant::now();
    w.write_health(&["RAM_HIGH"], &now());
    w.api
        .wait_text("RAM high", WAIT)
        .expect("sent after retry_after");
    assert_eq!(w.api.limited("sendMessage"), 1, "the first try was refused");
    assert!(
        t0.elapsed() >= Duration::from_secs(2),
        "waited retry_after: {:?} {}",
        t0.elapsed(),
        w.stderr()
    );
    // A 5-second outage: two changes happen meanwhile and arrive in order after it.
    w.api.down_for(Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(200));
    w.write_health(&["TEMP_HIGH"], &now());
    std::thread::sleep(Duration::from_millis(300));
    w.write_health(&["TEMP_HIGH", "DISK_ROOT_HIGH"], &now());
    w.api
        .wait_text("System disk", Duration::from_secs(20))
        .expect("delivered after the outage");
    let texts = w.api.texts_to(ADMIN);
    let pos = |n: &str| {
        texts
            .iter()
            .position(|t| t.contains(n))
            .unwrap_or_else(|| panic!("{n} in {texts:?}"))
    };
    // Queued in the order they were decided: RAM fired, then (during the
    // outage) TEMP fired and RAM cleared together, then the disk alert.
    assert!(pos("RAM high") < pos("Temperature high"), "{texts:?}");
    assert!(
        pos("Temperature high") < pos("Cleared: <b>RAM high"),
        "{texts:?}"
    );
    assert!(
        pos("Cleared: <b>RAM high") < pos("System disk"),
        "{texts:?}"
    );
    assert_eq!(w.count_texts("Temperature high"), 1);
    assert_eq!(
        w.count_texts("RAM high"),
        2,
        "fired once and cleared once: {texts:?}"
    );
    // Commands work again after the outage.
    w.ask("/uptime", "up for");
    bot.stop();
    let log = w.stderr();
    assert!(log.contains("retrying"), "the outage was noticed: {log}");
    assert!(
        !log.contains(TOKEN) && !log.contains("TEST-token"),
        "token never logged"
    );
}

#[test]
fn starts_while_the_api_is_down_and_catches_up() {
    let w = World::with_api(StandIn::start_down(Duration::from_secs(3)), "");
    w.write_health(&[], &now());
    let bot = w.start();
    std::thread::sleep(Duration::from_millis(500));
    assert!(w.api.is_down());
    w.api.push_text(ADMIN, "/status");
    w.api
        .wait_text("x450l", Duration::from_secs(15))
        .expect("answered after the API came back");
    w.api
        .wait_for("setMyCommands", WAIT, |_| true)
        .expect("menu registered later");
    bot.stop();
}

#[test]
fn bad_input_is_refused_and_nothing_runs_or_changes() {
    let w = World::new("");
    let before = std::fs::read_to_string(&w.env).unwrap();
    let bot = w.start();
    let long = "a".repeat(5000);
    let cases: Vec<(String, &str)> = vec![
        ("/set_threshold cpu NaN".into(), "isn't an ordinary number"),
        ("/set_threshold cpu -3".into(), "out of range"),
        ("/svc restart foo;id".into(), "I can't take that"),
        ("/svc stop sshd".into(), "isn't on the watch list"),
        ("/set_backup 25:99".into(), "25:99"),
        (format!("/svc restart {long}"), "Too long"),
        (format!("/set_threshold cpu {long}"), "Too long"),
        (format!("/svc_add {long}"), "Too long"),
        ("/svc stop potion-runner".into(), "own service"),
        ("/alert_disable NOPE 5".into(), "alert code <code>NOPE"),
        (format!("/{long}"), "I don't know"),
    ];
    for (cmd, needle) in &cases {
        w.ask(cmd, needle);
    }
    w.wait_audits(cases.len());
    assert!(
        w.sudo_calls().is_empty(),
        "nothing executed: {:?}",
        w.sudo_calls()
    );
    assert_eq!(
        std::fs::read_to_string(&w.env).unwrap(),
        before,
        ".env unchanged"
    );
    assert!(
        w.audit().iter().all(|e| e.to_string().len() < 1000),
        "audit lines stay short"
    );
    let failed = w
        .audit()
        .iter()
        .filter(|e| e["result"].as_str().unwrap().starts_with("failed"))
        .count();
    assert_eq!(failed, cases.len());
    bot.stop();
}

#[test]
fn thresholds_the_config_would_refuse_are_not_saved() {
    // Each of these used to reply "Saved" and then stop every job with exit 2.
    let w = World::new("");
    let bot = w.start();
    let before = std::fs::read_to_string(&w.env).unwrap();
    for cmd in [
        "/set_threshold cpu 3",
        "/set_threshold ram 0.01",
        "/set_threshold temp 4.97",
    ] {
        w.ask(cmd, "must be above ALERT_HYSTERESIS (5)");
    }
    w.wait_audits(3);
    assert_eq!(
        std::fs::read_to_string(&w.env).unwrap(),
        before,
        ".env unchanged"
    );
    w.ask("/set_threshold ram 85.25", "now");
    let env = std::fs::read_to_string(&w.env).unwrap();
    assert!(
        env.contains("THRESHOLD_RAM=85.25\n"),
        "saved exactly: {env}"
    );
    bot.stop();
}

#[test]
fn a_hand_edited_bad_preference_lets_the_bot_start_and_say_so() {
    // Exit 2 plus RestartPreventExitStatus=2 used to keep the bot down for good.
    let token = "123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let w = World::new(&format!("THRESHOLD_CPU=3\nPING: {token}"));
    // Written into .env itself (the harness would put it in system.env).
    let env = std::fs::read_to_string(&w.env).unwrap();
    std::fs::write(&w.env, env + "BACKUP_DIR=/var/lib/evil\n").unwrap();
    let bot = w.start();
    let text = w.wait_new_text("THRESHOLD_CPU", 0, WAIT, "start-up");
    assert!(
        text.contains("must be above ALERT_HYSTERESIS (5)"),
        "{text}"
    );
    assert!(
        text.contains("BACKUP_DIR") && text.contains("system setting"),
        "{text}"
    );
    assert!(
        text.contains("is not KEY=VALUE") && !text.contains("AAAA"),
        "{text}"
    );
    // It runs on the default meanwhile, and answers.
    w.ask("/status", "No data yet");
    bot.stop();
}

#[test]
fn settings_are_saved_to_env_and_the_timer_moved_through_the_helper() {
    let w = World::new("");
    let bot = w.start();
    w.ask("/set_threshold cpu 80", "now 80");
    w.ask("/set_backup 03.15", "03:15");
    w.ask("/svc_add nginx", "nginx.service");
    let env = std::fs::read_to_string(&w.env).unwrap();
    assert!(
        env.starts_with("BOT_TOKEN=") && env.contains("# potion test"),
        "comments and order kept: {env}"
    );
    assert!(env.contains("THRESHOLD_CPU=80"), "{env}");
    assert!(env.contains("BACKUP_TIME=03:15"), "{env}");
    assert!(
        env.contains("SERVICES=ollama.service,nginx.service"),
        "{env}"
    );
    assert_eq!(
        w.sudo_calls(),
        ["-n /usr/libexec/potion-runner/potion-helper timer set backup 03:15"]
    );
    // The running config follows: nginx is whitelisted now.
    w.ask("/svc start nginx", "Done: start");
    assert_eq!(
        w.sudo_calls()[1],
        "-n /usr/libexec/potion-runner/potion-helper svc start nginx.service"
    );
    w.ask("/lang id", "Bahasa Indonesia");
    w.ask("/uptime", "Belum ada data");
    bot.stop();
    // The language choice survives a restart.
    let bot = w.start();
    w.ask("/status", "Belum ada data");
    bot.stop();
}

#[test]
fn without_env_file_settings_say_so() {
    let w = World::new("");
    let sb = &w.sb;
    let mut c = sb.cmd(BIN);
    c.env("BOT_TOKEN", TOKEN)
        .env("ADMIN_IDS", ADMIN.to_string())
        .env("TELEGRAM_API_URL", w.api.url())
        .env("BOT_LANG", "en")
        .env("APP_DIR", sb.app_dir())
        .env("POTION_FORCE_RUN", "1")
        .stderr(Stdio::null());
    let bot = Bot::new(c.spawn().unwrap());
    w.ask("/set_threshold cpu 80", "no .env file");
    bot.stop();
}

#[test]
fn svc_alone_offers_the_watched_units_as_restart_buttons() {
    let w = World::new("");
    let bot = w.start();
    w.ask("/svc", "Which service");
    let pick = w
        .api
        .wait_for("sendMessage", WAIT, |r| {
            r.body["text"].as_str().unwrap().contains("Which service")
        })
        .unwrap();
    let data = pick.body["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(data, "r:ollama.service");
    w.api.push_callback(ADMIN, &data);
    w.api
        .wait_text("Really restart", WAIT)
        .expect("the usual question");
    assert!(w.sudo_calls().is_empty(), "nothing runs before the Yes");
    bot.stop();
}

#[test]
fn confirmations_run_on_yes_and_expired_ones_do_nothing() {
    let w = World::new("");
    let bot = w.start();
    w.ask("/svc restart ollama", "Really restart");
    let q = w
        .api
        .wait_for("sendMessage", WAIT, |r| {
            r.body["text"].as_str().unwrap().contains("Really")
        })
        .unwrap();
    let yes = q.body["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        .as_str()
        .unwrap()
        .to_string();
    let no = q.body["reply_markup"]["inline_keyboard"][0][1]["callback_data"]
        .as_str()
        .unwrap();
    assert!(no.ends_with(":n"), "{no}");
    assert!(yes.starts_with("c:") && yes.ends_with(":y"), "{yes}");
    // A stranger pressing Yes is refused.
    w.api.push_callback(STRANGER, &yes);
    w.api.wait_text("777", WAIT).unwrap();
    assert!(w.sudo_calls().is_empty());
    w.api.push_callback(ADMIN, &yes);
    w.api
        .wait_for("editMessageText", WAIT, |r| {
            r.body["text"].as_str().unwrap().contains("Done")
        })
        .expect("result edited into the question");
    assert_eq!(
        w.sudo_calls(),
        ["-n /usr/libexec/potion-runner/potion-helper svc restart ollama.service"]
    );
    // Pressing again: the question is used up, nothing runs twice, and the
    // result stays in the message: the press gets "already answered".
    let edits = w.api.requests("editMessageText").len();
    w.api.push_callback(ADMIN, &yes);
    w.api.wait_text("already answered", WAIT).unwrap();
    assert_eq!(
        w.api.requests("editMessageText").len(),
        edits,
        "result kept"
    );
    assert_eq!(w.sudo_calls().len(), 1);
    // A question asked before a restart has expired with it.
    w.ask("/svc stop ollama", "Really stop");
    bot.stop();
    let bot = w.start();
    let q = w
        .api
        .requests("sendMessage")
        .into_iter()
        .rfind(|r| r.body["text"].as_str().unwrap().contains("Really stop"))
        .unwrap();
    let old_yes = q.body["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        .as_str()
        .unwrap()
        .to_string();
    let edits = w.api.requests("editMessageText").len();
    w.api.push_callback(ADMIN, &old_yes);
    let t0 = Instant::now();
    while w.api.requests("editMessageText").len() == edits && t0.elapsed() < WAIT {
        std::thread::sleep(Duration::from_millis(10));
    }
    let last = w.api.requests("editMessageText").pop().unwrap();
    assert!(
        last.body["text"].as_str().unwrap().contains("expired"),
        "{:?}",
        last.body
    );
    w.ask("/uptime", "data"); // let the bot settle
    assert_eq!(w.sudo_calls().len(), 1, "expired confirmation ran nothing");
    bot.stop();
    let audit = w.audit();
    assert!(
        audit
            .iter()
            .any(|e| e["action"] == "svc restart" && e["result"] == "ok")
    );
    assert!(
        audit
            .iter()
            .any(|e| e["result"] == "failed: confirmation expired")
    );
}

#[test]
fn alert_buttons_mute_and_show_status() {
    let w = World::new("");
    w.write_health(&[], &now());
    let bot = w.start();
    w.ask("/uptime", "up for");
    w.api.push_callback(ADMIN, "m:60:SERVICE_DOWN");
    w.api.wait_text("muted for 60 min", WAIT).unwrap();
    w.write_health(&["SERVICE_DOWN:ollama.service", "CPU_HIGH"], &now());
    w.api.wait_text("CPU high", WAIT).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(w.count_texts("Service down"), 0, "muted");
    w.api.push_callback(ADMIN, "st");
    w.api.wait_text("x450l", WAIT).unwrap();
    let alerts = w.ask("/alerts", "Muted");
    assert!(alerts.contains("SERVICE_DOWN"), "{alerts}");
    let state = std::fs::read_to_string(w.sb.state_dir().join("bot-state.json")).unwrap();
    assert!(state.contains("SERVICE_DOWN"), "mute persisted: {state}");
    bot.stop();
}

#[test]
fn backup_now_runs_the_helper_and_reports_the_result() {
    let w = World::new("");
    let bot = w.start();
    w.api.push_text(ADMIN, "/backup_now");
    w.api.push_text(ADMIN, "/backup_now");
    w.api.wait_text("Backup started", WAIT).unwrap();
    w.api.wait_text("already running", WAIT).unwrap();
    assert_eq!(
        w.sudo_calls(),
        ["-n /usr/libexec/potion-runner/potion-helper backup start"],
        "a double tap starts one backup"
    );
    let later = (chrono::Utc::now() + chrono::Duration::seconds(5))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let progress = json!({"schema":1,"id":"20261126T010000Z","phase":"copying","files_done":5,"files_total":10,
        "bytes_done":512,"bytes_total":1024,"started_at":now(),"updated_at":now()});
    std::fs::write(
        w.sb.state_dir().join("backup-progress.json"),
        progress.to_string(),
    )
    .unwrap();
    w.api
        .wait_for("editMessageText", WAIT, |r| {
            r.body["text"].as_str().unwrap().contains("50%")
        })
        .expect("progress edited in place");
    let outcome = json!({"schema":1,"id":"20261126T010000Z","status":"ok","started_at":now(),"finished_at":later,
        "error":null,"files":10,"bytes":1024,"new_bytes":10,"last_ok_at":later,"last_ok_id":"20261126T010000Z"});
    std::fs::write(
        w.sb.state_dir().join("last_backup.json"),
        outcome.to_string(),
    )
    .unwrap();
    w.api
        .wait_for("editMessageText", WAIT, |r| {
            r.body["text"].as_str().unwrap().contains("Last backup")
        })
        .expect("result edited in place");
    w.ask("/audit", "backup_now");
    // A run started by its timer: /backup_now joins it instead of starting one.
    let progress = json!({"schema":1,"id":"20261126T020000Z","phase":"scanning","files_done":0,"files_total":0,
        "bytes_done":0,"bytes_total":0,"started_at":now(),"updated_at":now()});
    std::fs::write(
        w.sb.state_dir().join("backup-progress.json"),
        progress.to_string(),
    )
    .unwrap();
    let before = w.count_texts("already running");
    w.api.push_text(ADMIN, "/backup_now");
    w.wait_new_text("already running", before, WAIT, "joins the timer's run");
    assert_eq!(w.sudo_calls().len(), 1, "{:?}", w.sudo_calls());
    bot.stop();
}

#[test]
fn backup_verify_follows_the_run_to_its_real_outcome() {
    let w = World::new("");
    let bot = w.start();
    w.api.push_text(ADMIN, "/backup_verify");
    let started = w
        .api
        .wait_text("Verify started", WAIT)
        .expect("a progress message");
    assert!(!started.contains("Done"), "{started}");
    assert_eq!(
        w.sudo_calls(),
        ["-n /usr/libexec/potion-runner/potion-helper verify start"]
    );
    // Nothing is claimed before the verify writes its result.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(w.count_texts("Verify done"), 0);
    let later = (chrono::Utc::now() + chrono::Duration::seconds(5))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let index = json!({"schema":1,"updated_at":later,"snapshots":[],
        "last_verify":{"id":"20261126T010000Z","at":later,"status":"failed","checked_files":40,
            "total_files":100,"sample_percent":null,"problems":1}});
    std::fs::write(w.sb.state_dir().join("backups.json"), index.to_string()).unwrap();
    let end = w
        .api
        .wait_for("editMessageText", WAIT, |r| {
            r.body["text"].as_str().unwrap().contains("❌")
        })
        .expect("the outcome edited in place");
    let text = end.body["text"].as_str().unwrap().to_string();
    assert!(text.contains("1 damaged or missing files"), "{text}");
    assert!(text.contains("20261126T010000Z"), "{text}");
    bot.stop();
}

#[test]
fn long_replies_are_split_on_lines_or_sent_as_a_document() {
    let w = World::new("");
    let line = json!({"time":"2026-11-26T01:00:00Z","user_id":ADMIN,"username":"me",
        "action":"svc","arguments":"x".repeat(290),"result":"ok"})
    .to_string();
    let log: String = (0..100).map(|_| format!("{line}\n")).collect();
    std::fs::write(w.sb.log_dir().join("actions.log"), log).unwrap();
    let bot = w.start();
    w.ask("/audit 30", "Last actions");
    let t0 = Instant::now();
    while w.count_texts("xxxxx") < 3 && t0.elapsed() < WAIT {
        std::thread::sleep(Duration::from_millis(10));
    }
    let parts: Vec<_> = w
        .api
        .texts_to(ADMIN)
        .into_iter()
        .filter(|t| t.contains("xxxxx"))
        .collect();
    assert!(
        parts.len() >= 3,
        "split into several messages: {}",
        parts.len()
    );
    assert!(
        parts
            .iter()
            .all(|p| p.chars().count() <= 4096 && p.ends_with('\n'))
    );
    w.api.push_text(ADMIN, "/audit 100");
    let doc = w
        .api
        .wait_for("sendDocument", WAIT, |_| true)
        .expect("sent as a document");
    assert!(doc.raw.contains("reply.txt") && doc.raw.contains("Last actions"));
    bot.stop();
}

#[test]
fn a_missing_helper_is_reported_clearly_and_audited_as_failed() {
    let w = World::new("");
    let sudo = w.fakebin.join("sudo");
    std::fs::write(
        &sudo,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> {}\necho 'sudo: /usr/libexec/potion-runner/potion-helper: command not found' >&2\nexit 1\n",
            w.calls_log.display()
        ),
    )
    .unwrap();
    let bot = w.start();
    let r = w.ask("/set_backup 02,30", "helper");
    assert!(r.contains("02:30") && r.contains("isn't installed"), "{r}");
    assert!(
        std::fs::read_to_string(&w.env)
            .unwrap()
            .contains("BACKUP_TIME=02:30")
    );
    w.ask("/svc start ollama", "isn't installed");
    w.wait_audits(2);
    let audit = w.audit();
    assert!(
        audit.iter().all(|e| e["result"]
            .as_str()
            .unwrap()
            .starts_with("failed: helper unavailable")),
        "{audit:?}"
    );
    bot.stop();
}

#[test]
fn tells_systemd_ready_and_pings_the_watchdog() {
    use std::os::unix::net::UnixDatagram;
    let w = World::new("");
    let sock_path = w.sb.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let bot = w.start_with(&[
        ("NOTIFY_SOCKET", sock_path.to_str().unwrap()),
        ("WATCHDOG_USEC", "1000000"),
    ]);
    let mut seen = String::new();
    let mut buf = [0u8; 512];
    let t0 = Instant::now();
    while seen.matches("WATCHDOG=1").count() < 2 && t0.elapsed() < Duration::from_secs(5) {
        if let Ok(n) = sock.recv(&mut buf) {
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
            seen.push('\n');
        }
    }
    assert!(
        seen.contains("READY=1") && seen.contains("STATUS="),
        "{seen}"
    );
    assert!(seen.matches("WATCHDOG=1").count() >= 2, "{seen}");
    bot.stop();
    let n = sock.recv(&mut buf).unwrap_or(0);
    let rest = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(
        rest.contains("STOPPING=1") || rest.contains("WATCHDOG=1"),
        "{rest}"
    );
}

#[test]
fn sigint_stops_cleanly_too() {
    let w = World::new("");
    let bot = w.start();
    w.ask("/status", "No data yet");
    bot.stop_with(libc::SIGINT);
}

#[test]
fn bad_config_exits_2_and_a_running_unit_blocks_a_second_instance() {
    let w = World::new("");
    // No token: exit 2 with a message naming the key.
    let no_token = w.sb.write_env(&format!("ADMIN_IDS={ADMIN}"));
    let out = common::run({
        let mut c = w.sb.cmd(BIN);
        c.arg("--env").arg(&no_token);
        c
    });
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("BOT_TOKEN"));
    // A fake systemctl says the unit is active: refuse without POTION_FORCE_RUN.
    let env = w.sb.write_env(&format!(
        "BOT_TOKEN={TOKEN}\nADMIN_IDS={ADMIN}\nTELEGRAM_API_URL={}",
        w.api.url()
    ));
    let systemctl = w.fakebin.join("systemctl");
    rig::script(&systemctl, "#!/bin/sh\nexit 0\n");
    let path = format!(
        "{}:{}",
        w.fakebin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = common::run({
        let mut c = w.sb.cmd(BIN);
        c.arg("--env").arg(&env).env("PATH", &path);
        c
    });
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("already running") && err.contains("POTION_FORCE_RUN"),
        "{err}"
    );
    assert!(w.api.requests("getUpdates").is_empty(), "never polled");
}

#[test]
fn an_old_health_file_raises_health_stale_and_a_torn_one_changes_nothing() {
    let w = World::new("HEALTH_STALE_S=10");
    let old = (chrono::Utc::now() - chrono::Duration::seconds(60))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    w.write_health(&["CPU_HIGH"], &old);
    let bot = w.start();
    let stale = w.api.wait_text("HEALTH_STALE", WAIT).expect("stale alert");
    assert!(stale.contains("Health data stale"), "{stale}");
    // A stale report does not announce its own alerts as news.
    assert_eq!(w.count_texts("CPU high"), 0);
    // A torn write is ignored: no clear, no crash.
    std::fs::write(w.sb.state_dir().join("last_health.json"), "{\"schema\":1,").unwrap();
    w.ask("/status", "I can't read");
    assert_eq!(w.count_texts("Cleared"), 0);
    // A fresh report clears HEALTH_STALE and announces the real alert.
    w.write_health(&["CPU_HIGH"], &now());
    w.api
        .wait_text("Cleared: <b>Health data stale", WAIT)
        .expect("stale cleared");
    w.api.wait_text("CPU high", WAIT).expect("real alert");
    bot.stop();
}

#[test]
fn a_health_file_that_stays_corrupt_still_raises_health_stale() {
    let w = World::new("HEALTH_STALE_S=10");
    let health = w.sb.state_dir().join("last_health.json");
    std::fs::write(&health, "{\"schema\":1,").unwrap();
    let bot = w.start();
    w.ask("/status", "I can't read");
    assert_eq!(
        w.count_texts("Health data stale"),
        0,
        "not before HEALTH_STALE_S"
    );
    std::thread::sleep(Duration::from_secs(11));
    // Rewritten, still corrupt: the watcher looks again and finds no news.
    std::fs::write(&health, "{\"schema\":1,").unwrap();
    let stale = w.api.wait_text("HEALTH_STALE", WAIT).expect("stale alert");
    assert!(stale.contains("Health data stale"), "{stale}");
    bot.stop();
    assert!(
        w.stderr().contains("counting health as stale"),
        "{}",
        w.stderr()
    );
}

#[test]
fn alerts_still_go_out_when_the_state_file_cannot_be_written() {
    let w = World::new("");
    // A directory where bot-state.json should be: every atomic rename onto it fails.
    std::fs::create_dir(w.sb.state_dir().join("bot-state.json")).unwrap();
    w.write_health(&[], &now());
    let bot = w.start();
    w.ask("/uptime", "up for");
    w.write_health(&["DISK_ROOT_HIGH"], &now());
    w.api
        .wait_text("System disk", WAIT)
        .expect("alert sent despite the write failure");
    w.write_health(&["DISK_ROOT_HIGH"], &now());
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        w.count_texts("System disk"),
        1,
        "not repeated within the run"
    );
    bot.stop();
    assert!(w.stderr().contains("not persisted"), "{}", w.stderr());
}

#[test]
fn sigterm_during_an_outage_still_stops_cleanly() {
    let w = World::with_api(StandIn::start_down(Duration::from_secs(30)), "");
    let bot = w.start();
    std::thread::sleep(Duration::from_millis(1500));
    bot.stop();
}

#[test]
fn a_started_unit_is_followed_until_it_settles() {
    let w = World::new("");
    w.fake(
        "systemctl",
        "#!/bin/sh\nprintf 'ActiveState=failed\\nSubState=failed\\nResult=exit-code\\n'\n",
    );
    w.fake(
        "journalctl",
        "#!/bin/sh\necho '2026-11-30T10:00:00+0000 x ollama[42]: error: model dir missing'\n",
    );
    let bot = w.start();
    let r = w.ask("/svc start ollama", "did not stay up");
    assert!(r.contains("model dir missing"), "journal lines shown: {r}");
    assert!(!r.contains("Done"), "a crash is not reported as done: {r}");
    let audit = w.wait_audit("svc");
    assert!(
        audit["result"]
            .as_str()
            .unwrap()
            .starts_with("failed: ollama.service is failed"),
        "{audit}"
    );
    // A 📜 button under it shows the unit's journal.
    let crashed = w
        .api
        .requests("sendMessage")
        .into_iter()
        .find(|r| {
            r.body["text"]
                .as_str()
                .unwrap_or("")
                .contains("did not stay up")
        })
        .expect("the crash reply");
    assert_eq!(
        crashed.body["reply_markup"]["inline_keyboard"][0][0]["callback_data"],
        "l:ollama.service"
    );
    let before = w.count_texts("model dir missing");
    w.api.push_callback(ADMIN, "l:ollama.service");
    w.wait_new_text("model dir missing", before, WAIT, "the logs button");
    assert_eq!(w.wait_audit("button log_journal")["result"], "ok");
    // The same unit staying up is reported as running, after it stayed up a while.
    w.fake(
        "systemctl",
        "#!/bin/sh\nprintf 'ActiveState=active\\nSubState=running\\nResult=success\\n'\n",
    );
    let t0 = Instant::now();
    let r = w.ask("/svc start ollama", "is running");
    assert!(r.contains("Done: start"), "{r}");
    assert!(
        t0.elapsed() >= Duration::from_millis(1500),
        "watched before saying so"
    );
    bot.stop();
}
