//! End-to-end tests of the bot's charts and daily digest (ARCHITECTURE.md,
//! "Charts and digest"): the real `potion-bot` against the stand-in Bot API
//! (tests/bot/standin.rs), with `history.bin` written through
//! `potion_runner::history::append` and the uploaded PNGs decoded with the
//! `png` crate.

use std::time::{Duration, Instant};

use crate::rig::{ADMIN, Rig, now};
use crate::standin::{Recorded, StandIn};
use chrono::Timelike;
use potion_runner::alert_code::AlertCode;
use potion_runner::history::{self, Sample};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);

crate::rig::world! {
    /// The shared rig; charts need no stand-in executables.
}

impl World {
    /// Keeps `TZ`: the test and the bot must agree on local time (the digest's clock).
    fn new() -> World {
        World(Rig::sandbox(StandIn::start(), WAIT, "SERVICES=ollama.service\n").keep_tz())
    }

    /// Appends `n` minute samples ending now, `f` shaping each one.
    fn write_history(&self, n: i64, f: impl Fn(i64, &mut Sample)) {
        let path = self.sb.state_dir().join("history.bin");
        let now = chrono::Utc::now().timestamp();
        for i in 0..n {
            let t = now - (n - 1 - i) * 60;
            let mut s = Sample {
                t,
                cpu: 20.0 + (i % 30) as f32,
                ram: 40.0,
                swap: 0.0,
                disk_root: 50.0,
                disk_data: f32::NAN,
                temp: 50.0 + (i % 10) as f32,
                load1: 0.5,
                alerts: 0,
                probe_ms: f32::NAN,
            };
            f(i, &mut s);
            history::append(&path, &s).unwrap();
        }
    }

    /// Waits for a normally answered `method` whose caption contains `needle`.
    fn wait_photo(&self, method: &str, needle: &str) -> Recorded {
        self.api
            .wait_for(method, WAIT, |r| caption(r).contains(needle))
            .unwrap_or_else(|| {
                panic!(
                    "no {method} with {needle:?}; got {:?} / {:?}\n{}",
                    self.api
                        .requests(method)
                        .iter()
                        .map(caption)
                        .collect::<Vec<_>>(),
                    self.api.texts_to(ADMIN),
                    self.stderr()
                )
            })
    }

    /// The bot is up and answering (a round trip through the polling loop).
    fn ping(&self) {
        let before = self.api.texts_to(ADMIN).len();
        self.api.push_text(ADMIN, "/uptime");
        let t0 = Instant::now();
        while self.api.texts_to(ADMIN).len() == before {
            assert!(t0.elapsed() < WAIT, "the bot does not answer");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn photos_with(&self, needle: &str) -> usize {
        self.api
            .requests("sendPhoto")
            .iter()
            .filter(|r| caption(r).contains(needle))
            .count()
    }
}

fn caption(r: &Recorded) -> String {
    let c = if r.method == "editMessageMedia" {
        &r.body["media"]["caption"]
    } else {
        &r.body["caption"]
    };
    c.as_str().unwrap_or("").to_string()
}

/// Decodes the uploaded PNG, checks its size, and that it is a drawing rather
/// than a blank (or single-colour) image.
fn assert_chart_png(r: &Recorded, width: u32, height: u32) {
    let file = r
        .file()
        .unwrap_or_else(|| panic!("no file in {}", r.method));
    assert_eq!(file.filename.as_deref(), Some("chart.png"));
    let mut reader = png::Decoder::new(&file.data[..])
        .read_info()
        .expect("a valid PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("PNG pixels");
    assert_eq!((info.width, info.height), (width, height));
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(3).collect();
    let inked = pixels.iter().filter(|p| **p != [255, 255, 255]).count();
    let colours: std::collections::HashSet<&[u8]> = pixels.iter().copied().collect();
    assert!(
        inked * 50 > pixels.len() && colours.len() > 20,
        "looks blank: {inked} of {} pixels drawn, {} colours",
        pixels.len(),
        colours.len()
    );
}

fn buttons(r: &Recorded) -> Vec<Vec<String>> {
    let rows = r.body["reply_markup"]["inline_keyboard"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    rows.iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|b| b["callback_data"].as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn chart_command_sends_a_png_and_its_buttons_redraw_the_same_message() {
    let w = World::new();
    w.write_history(8 * 60, |_, _| {});
    let bot = w.start();

    w.api.push_text(ADMIN, "/chart cpu 6");
    let photo = w.wait_photo("sendPhoto", "CPU · last 6 h: min 20.0% · avg");
    assert_eq!(photo.body["chat_id"], json!(ADMIN));
    assert!(caption(&photo).contains("max 49.0%"), "{}", caption(&photo));
    assert_chart_png(&photo, 800, 400);
    let rows = buttons(&photo);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows[0].contains(&"chart:ram:6".to_string()), "{rows:?}");
    assert!(rows[1].contains(&"chart:cpu:24".to_string()), "{rows:?}");
    let audit = w.wait_audit("chart");
    assert_eq!(
        (audit["arguments"].as_str(), audit["result"].as_str()),
        (Some("cpu 6"), Some("ok"))
    );

    // A button redraws the same message with the other metric and range.
    w.api.push_callback(ADMIN, "chart:temp:24");
    let edit = w.wait_photo("editMessageMedia", "Temperature · last 24 h");
    assert!(edit.body["message_id"].is_i64(), "{:?}", edit.body);
    assert_eq!(edit.body["chat_id"], json!(ADMIN));
    assert!(caption(&edit).contains("°C"), "{}", caption(&edit));
    assert_chart_png(&edit, 800, 400);
    assert!(buttons(&edit)[0].contains(&"chart:cpu:24".to_string()));
    let audit = w.wait_audit("button chart");
    assert_eq!(audit["arguments"], "chart:temp:24");
    assert_eq!(audit["result"], "ok");

    // Bad arguments are refused with the usage, and nothing is drawn.
    w.api.push_text(ADMIN, "/chart gpu 6");
    let refusal = w.api.wait_text("I can't take that", WAIT).expect("refusal");
    assert!(
        refusal.contains("/chart &lt;metric&gt; [hours]"),
        "{refusal}"
    );
    w.api.push_text(ADMIN, "/chart cpu 999");
    w.api
        .wait_text("out of range", WAIT)
        .expect("range refused");
    assert_eq!(w.api.requests("sendPhoto").len(), 1);
    let refused = || {
        w.audit()
            .into_iter()
            .filter(|e| e["action"] == "chart" && e["result"] == "failed: invalid arguments")
            .count()
    };
    let t0 = Instant::now();
    while refused() < 2 && t0.elapsed() < WAIT {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(refused(), 2, "{:?}", w.audit());

    // A range without samples still gets a picture that says so.
    w.api.push_text(ADMIN, "/chart disk_data");
    let empty = w.wait_photo("sendPhoto", "Disk data · last 24 h: no data yet");
    assert_chart_png(&empty, 800, 400);

    // DIGEST_TIME is empty: no digest ever.
    w.ping();
    assert_eq!(w.photos_with("Daily digest"), 0);
    assert!(
        !w.api
            .texts_to(ADMIN)
            .iter()
            .any(|t| t.contains("Daily digest"))
    );
    bot.stop();
}

#[test]
fn an_alert_about_a_metric_arrives_with_its_chart_once_and_in_order() {
    let w = World::new();
    // Two hours of CPU, busy for the last 20 minutes.
    w.write_history(120, |i, s| {
        if i >= 100 {
            s.cpu = 97.0;
            s.alerts = AlertCode::CpuHigh.history_bit();
        }
    });
    w.write_health(&[], &now());
    let bot = w.start();
    w.ping();

    w.write_health(&["CPU_HIGH", "SERVICE_DOWN:ollama.service"], &now());
    let alert = w.wait_photo("sendPhoto", "CPU high");
    assert!(
        caption(&alert).contains("<code>CPU_HIGH</code>"),
        "{}",
        caption(&alert)
    );
    assert_eq!(alert.body["parse_mode"], "HTML");
    assert_chart_png(&alert, 600, 250);
    assert_eq!(buttons(&alert)[0][0], "m:60:CPU_HIGH");
    // The service alert has no metric: plain text, queued after the CPU alert.
    w.api
        .wait_text("ollama.service", WAIT)
        .expect("service alert");
    let order: Vec<String> = w
        .api
        .all()
        .into_iter()
        .filter(|r| {
            r.method == "sendPhoto" || r.body["text"].as_str().is_some_and(|t| t.contains("🔴"))
        })
        .map(|r| r.method)
        .collect();
    assert_eq!(order, ["sendPhoto", "sendMessage"], "in the order decided");

    // Telegram is rate limiting, then down: the chart alert waits and arrives once.
    w.api.fail_next("sendPhoto", 1, 1);
    w.api.down_for(Duration::from_secs(3));
    std::thread::sleep(Duration::from_millis(200));
    w.write_history(1, |_, s| {
        s.temp = 91.0;
        s.alerts = AlertCode::TempHigh.history_bit();
    });
    w.write_health(
        &["CPU_HIGH", "SERVICE_DOWN:ollama.service", "TEMP_HIGH"],
        &now(),
    );
    let temp = w
        .api
        .wait_for("sendPhoto", Duration::from_secs(20), |r| {
            caption(r).contains("Temperature high")
        })
        .unwrap_or_else(|| panic!("temperature alert after the outage\n{}", w.stderr()));
    assert_chart_png(&temp, 600, 250);
    assert_eq!(w.api.limited("sendPhoto"), 1, "the 429 was retried");

    // A restart repeats nothing.
    bot.stop();
    let bot = w.start();
    w.ping();
    w.write_health(
        &["CPU_HIGH", "SERVICE_DOWN:ollama.service", "TEMP_HIGH"],
        &now(),
    );
    std::thread::sleep(Duration::from_millis(500));
    w.ping();
    assert_eq!(w.photos_with("CPU high"), 1);
    assert_eq!(w.photos_with("Temperature high"), 1);
    bot.stop();
    let state = std::fs::read_to_string(w.sb.state_dir().join("bot-state.json")).unwrap();
    let state: Value = serde_json::from_str(&state).unwrap();
    assert_eq!(state["outbox"], json!([]), "everything delivered");
}

/// Near midnight the test waits for the new day, so "today" stays one day.
fn away_from_midnight() {
    let now = chrono::Local::now();
    if now.hour() == 23 && now.minute() >= 58 {
        let left = 3600 - (now.minute() * 60 + now.second()) + 2;
        std::thread::sleep(Duration::from_secs(u64::from(left)));
    }
}

#[test]
fn the_digest_goes_out_at_its_time_once_and_not_again_after_a_restart() {
    away_from_midnight();
    let w = World::new();
    w.write_history(26 * 60, |i, s| {
        if (600..660).contains(&i) {
            s.ram = 95.0;
            s.alerts = AlertCode::RamHigh.history_bit();
        }
    });
    w.write_health(&[], &now());
    let finished = (chrono::Utc::now() - chrono::Duration::hours(3))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let backup = json!({"schema":1,"id":"20261125T023000Z","status":"ok","started_at":finished,
        "finished_at":finished,"error":null,"warnings":[],"files":1234,"bytes":1610612736u64,
        "new_bytes":36700160,"last_ok_at":finished,"last_ok_id":"20261125T023000Z"});
    let index = json!({"schema":1,"updated_at":finished,"snapshots":[{"id":"20261125T023000Z",
        "finished_at":finished,"files":1234,"bytes":1610612736u64,"new_bytes":36700160,
        "verify":{"id":"20261125T023000Z","at":finished,"status":"ok","checked_files":120,
        "total_files":1234,"sample_percent":10.0,"problems":0,"coverage_percent":62.4}}],
        "last_verify":{"id":"20261125T023000Z","at":finished,"status":"ok","checked_files":120,
        "total_files":1234,"sample_percent":10.0,"problems":0,"coverage_percent":62.4}});
    let state = w.sb.state_dir();
    std::fs::write(state.join("last_backup.json"), backup.to_string()).unwrap();
    std::fs::write(state.join("backups.json"), index.to_string()).unwrap();
    // A mute set earlier: the digest lists the muted alert too.
    let until = (chrono::Utc::now() + chrono::Duration::hours(5))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let bot_state = json!({"schema":1,"mutes":{"SERVICE_DOWN":until}});
    std::fs::write(state.join("bot-state.json"), bot_state.to_string()).unwrap();

    // Before its time: nothing (23:59 has not come yet, away from midnight).
    let bot = w.start_with(&[("DIGEST_TIME", "23:59")]);
    w.ping();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(w.photos_with("Daily digest"), 0);
    bot.stop();

    // 00:00 has passed today: due at once.
    let bot = w.start_with(&[("DIGEST_TIME", "00:00")]);
    let digest = w.wait_photo("sendPhoto", "Daily digest · x450l");
    let text = caption(&digest);
    for fact in [
        "Up for: 1 d 2 h",
        "RAM high <code>RAM_HIGH</code>: 1×, 1 h",
        "<code>SERVICE_DOWN</code> (muted)",
        "✅ Backup ok <code>20261125T023000Z</code>",
        "1234 files, 1.5 GiB (35.0 MiB new)",
        "weekly coverage 62%",
        "Disk /: 50.0%",
    ] {
        assert!(text.contains(fact), "missing {fact:?} in:\n{text}");
    }
    assert_eq!(digest.body["parse_mode"], "HTML");
    // The chart shows the metric whose alert lasted longest today.
    assert_chart_png(&digest, 800, 400);
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(state.join("bot-state.json")).unwrap())
            .unwrap();
    assert!(saved["digest_sent"].is_i64(), "{saved}");
    assert_eq!(
        saved["mutes"]["SERVICE_DOWN"],
        json!(until),
        "old state kept"
    );
    w.ping();
    std::thread::sleep(Duration::from_millis(500));
    bot.stop();

    // A restart the same day does not send it again.
    let bot = w.start_with(&[("DIGEST_TIME", "00:00")]);
    w.ping();
    // Backup status at a glance: size, new bytes and the verify mark per snapshot.
    w.api.push_text(ADMIN, "/backup_list");
    let list = w.api.wait_text("Snapshots", WAIT).expect("backup list");
    assert!(
        list.contains("<code>20261125T023000Z</code> 1234 files, 1.5 GiB")
            && list.contains("35.0 MiB new")
            && list.contains("✅"),
        "{list}"
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(w.photos_with("Daily digest"), 1, "{}", w.stderr());
    bot.stop();
}
