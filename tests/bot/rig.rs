//! The shared harness of the end-to-end bot suites (tests/bot/*.rs): a `Rig`
//! that writes `.env` into a tests/common `Sandbox`, keeps a `fakebin` of
//! stand-in executables first on `PATH`, starts the real `potion-bot` with
//! `--env`, `POTION_FORCE_RUN=1` and stderr to a file, and reads back what it
//! did (replies, fake-call log, actions.log); `Bot` stops it on drop.
//! Each suite declares its own `World` with [`world!`] (the rig under the
//! suite's name) and adds its constructor, `sudo` stand-in and special
//! helpers in an `impl World` there; being separate types, the suites'
//! helpers cannot clash in the one test binary.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::Sandbox;
use crate::standin::{StandIn, TOKEN};

/// Declares `World` in the calling suite: a [`Rig`] that derefs to it, so
/// the rig's helpers and fields read the same through it.
macro_rules! world {
    ($(#[$meta:meta])*) => {
        $(#[$meta])*
        struct World(crate::rig::Rig);

        impl std::ops::Deref for World {
            type Target = crate::rig::Rig;

            fn deref(&self) -> &crate::rig::Rig {
                &self.0
            }
        }
    };
}
pub(crate) use world;

pub const ADMIN: i64 = 4242;
pub const BIN: &str = env!("CARGO_BIN_EXE_potion-bot");

pub struct Rig {
    pub sb: Sandbox,
    pub api: StandIn,
    pub env: PathBuf,
    /// Stand-in executables, first on the bot's `PATH`.
    pub fakebin: PathBuf,
    /// Where the suite's stand-ins record their calls (one line a call).
    pub calls_log: PathBuf,
    /// How long every waiter waits.
    pub wait: Duration,
    /// Pass the test's `TZ` on to the bot (see `keep_tz`).
    keep_tz: bool,
}

/// Makes `path` an executable script with `text`.
pub fn script(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Now as RFC 3339 UTC seconds, the way the health job writes `taken_at`.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl Rig {
    /// A sandbox whose `.env` points the bot at `api` as admin `ADMIN`, plus `extra` lines.
    pub fn sandbox(api: StandIn, wait: Duration, extra: &str) -> Rig {
        let sb = Sandbox::new();
        let env = sb.write_env(&format!(
            "BOT_TOKEN={TOKEN}\nADMIN_IDS={ADMIN}\nTELEGRAM_API_URL={}\nBOT_LANG=en\nHEALTH_STALE_S=600\n{extra}",
            api.url()
        ));
        let fakebin = sb.path().join("fakebin");
        std::fs::create_dir_all(&fakebin).unwrap();
        Rig {
            calls_log: sb.path().join("calls.log"),
            sb,
            api,
            env,
            fakebin,
            wait,
            keep_tz: false,
        }
    }

    /// Passes the test's `TZ` on to the bot, for tests where the two must
    /// agree on local time.
    pub fn keep_tz(mut self) -> Rig {
        self.keep_tz = true;
        self
    }

    /// Writes the stand-in executable `name` into `fakebin`.
    pub fn fake(&self, name: &str, text: &str) {
        script(&self.fakebin.join(name), text);
    }

    pub fn start(&self) -> Bot {
        self.start_with(&[])
    }

    /// Starts the bot with `envs` added to its (scrubbed) environment.
    pub fn start_with(&self, envs: &[(&str, &str)]) -> Bot {
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
        let mut cmd = self.sb.cmd(BIN);
        if self.keep_tz
            && let Ok(tz) = std::env::var("TZ")
        {
            cmd.env("TZ", tz);
        }
        let child = cmd
            .arg("--env")
            .arg(&self.env)
            .env("PATH", path)
            .env("POTION_FORCE_RUN", "1")
            .env("POTION_LOG", "debug")
            // No systemd here: the bot's bus questions get a clear "no answer".
            .env(
                "DBUS_SYSTEM_BUS_ADDRESS",
                format!("unix:path={}", self.sb.path().join("no-bus").display()),
            )
            .envs(envs.iter().copied())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("potion-bot starts");
        Bot { child: Some(child) }
    }

    /// A `sudo` that records `$*` in `calls_log`, one line a call, and succeeds.
    pub fn record_sudo(&self) {
        self.fake(
            "sudo",
            &format!(
                "#!/bin/sh\nprintf '%s\\n' \"$*\" >> {}\nexit 0\n",
                self.calls_log.display()
            ),
        );
    }

    /// Waits until a stand-in recorded a call containing `needle`.
    pub fn wait_call(&self, needle: &str) {
        let t0 = std::time::Instant::now();
        while !self.calls().iter().any(|c| c.contains(needle)) {
            assert!(
                t0.elapsed() < self.wait,
                "no call with {needle:?}: {:?}",
                self.calls()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The callback data under the newest message containing `needle`.
    pub fn buttons(&self, needle: &str) -> Vec<String> {
        let r = self
            .api
            .requests("sendMessage")
            .into_iter()
            .rev()
            .find(|r| r.body["text"].as_str().unwrap_or("").contains(needle))
            .unwrap_or_else(|| panic!("no message with {needle:?}"));
        r.body["reply_markup"]["inline_keyboard"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|row| row.as_array().cloned().unwrap_or_default())
            .map(|b| b["callback_data"].as_str().unwrap_or("").to_string())
            .collect()
    }

    /// The lines the stand-ins wrote to `calls_log`.
    pub fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(&self.calls_log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.sb.path().join("bot.stderr")).unwrap_or_default()
    }

    pub fn audit(&self) -> Vec<Value> {
        std::fs::read_to_string(self.sb.log_dir().join("actions.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("audit line is JSON"))
            .collect()
    }

    /// Waits until the audit log has at least `n` lines (it is written after
    /// the reply) and returns them.
    pub fn wait_audits(&self, n: usize) -> Vec<Value> {
        let t0 = Instant::now();
        while self.audit().len() < n && t0.elapsed() < self.wait {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.audit()
    }

    /// Waits for an audit line for `action` and returns it.
    pub fn wait_audit(&self, action: &str) -> Value {
        let t0 = Instant::now();
        loop {
            if let Some(e) = self.audit().into_iter().find(|e| e["action"] == action) {
                return e;
            }
            assert!(
                t0.elapsed() < self.wait,
                "no audit line for {action}: {:?}",
                self.audit()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Writes `last_health.json` the way the health job does: temp file, then rename.
    pub fn write_health(&self, alerts: &[&str], taken_at: &str) {
        self.put_state("last_health.json", &health_report(alerts, taken_at));
    }

    /// Writes a file into `STATE_DIR` as the jobs do: temp file, then rename.
    pub fn put_state(&self, name: &str, v: &Value) {
        let dir = self.sb.state_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, serde_json::to_vec(v).unwrap()).unwrap();
        std::fs::rename(&tmp, dir.join(name)).unwrap();
    }

    /// How many messages to the admin contain `needle`.
    pub fn count_texts(&self, needle: &str) -> usize {
        self.api
            .texts_to(ADMIN)
            .iter()
            .filter(|t| t.contains(needle))
            .count()
    }

    /// Sends `text` and waits for a new message containing `needle`.
    pub fn ask(&self, text: &str, needle: &str) -> String {
        self.ask_within(text, needle, self.wait)
    }

    pub fn ask_within(&self, text: &str, needle: &str, wait: Duration) -> String {
        let before = self.count_texts(needle);
        self.api.push_text(ADMIN, text);
        self.wait_new_text(needle, before, wait, text)
    }

    /// Waits for message number `before` (from 0) containing `needle`; `what`
    /// names the cause in the panic message.
    pub fn wait_new_text(&self, needle: &str, before: usize, wait: Duration, what: &str) -> String {
        let t0 = Instant::now();
        while self.count_texts(needle) == before && t0.elapsed() < wait {
            std::thread::sleep(Duration::from_millis(5));
        }
        self.api
            .texts_to(ADMIN)
            .into_iter()
            .filter(|t| t.contains(needle))
            .nth(before)
            .unwrap_or_else(|| {
                panic!(
                    "no message with {needle:?} after {what:.80?}; got {:?}\n{}",
                    self.api.texts_to(ADMIN),
                    self.stderr()
                )
            })
    }
}

/// The running bot; killed on drop unless stopped cleanly first.
pub struct Bot {
    child: Option<Child>,
}

impl Bot {
    /// Guards a bot the suite spawned itself.
    pub fn new(child: Child) -> Bot {
        Bot { child: Some(child) }
    }

    /// SIGTERM, then insists on a clean exit 0 within five seconds.
    pub fn stop(self) {
        self.stop_with(libc::SIGTERM)
    }

    pub fn stop_with(mut self, sig: i32) {
        let mut child = self.child.take().unwrap();
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, sig) };
        let t0 = Instant::now();
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                assert_eq!(st.code(), Some(0), "exit status {st:?}");
                return;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(5),
                "bot did not stop within 5 s"
            );
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

/// A calm `last_health.json` taken at `taken_at`, with `alerts` on (value 97,
/// threshold 90); tests change the fields they are about.
pub fn health_report(alerts: &[&str], taken_at: &str) -> Value {
    let alerts: Vec<_> = alerts
        .iter()
        .map(|c| json!({"code": c, "since": taken_at, "value": 97.0, "threshold": 90.0}))
        .collect();
    json!({"schema":1,"host":"x450l","taken_at":taken_at,
        "cpu":{"percent":12.5,"load":[0.10,0.20,0.30],"cores":4},
        "memory":{"total_bytes":8_000_000_000u64,"available_bytes":6_000_000_000u64,"percent":25.0,"swap_percent":0.0},
        "disks":[{"name":"root","mount":"/","total_bytes":100,"used_bytes":40,"percent":40.0,"present":true}],
        "uptime_s":93784,"temperature_c":55.0,
        "services":[{"unit":"ollama.service","active":"active","sub":"running"}],
        "backup":{"last_id":null,"last_ok_at":null,"age_h":null,"last_status":"none"},
        "alerts":alerts,"errors":[]})
}
