//! End-to-end tests of the operations commands (docs/contract.md, "Bot
//! commands"; ARCHITECTURE.md, "Chat operations"): the real `potion-bot`
//! against the stand-in Bot API (tests/bot/standin.rs), running real
//! programs where this machine has them (`ping 127.0.0.1`, `git` on temp
//! repositories, pip in a temp venv, `journalctl`) and stand-ins first on
//! `PATH` only for `tailscale`, `speedtest-cli` and `sudo` (which records its
//! arguments and plays `potion-helper apt update|upgrade`).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::rig::{ADMIN, Rig};
use crate::standin::StandIn;
use potion_runner::process::Cmd;

const WAIT: Duration = Duration::from_secs(15);

crate::rig::world! {
    /// The shared rig with a `sudo` that records `sudo $*` in calls.log and
    /// plays `potion-helper apt update|upgrade`.
}

impl World {
    fn new(extra: &str) -> World {
        let rig = Rig::sandbox(
            StandIn::start(),
            WAIT,
            &format!("SERVICES=ollama.service\n{extra}"),
        );
        // sudo plays `potion-helper apt update|upgrade` and records every call.
        rig.fake(
            "sudo",
            &format!(
                "#!/bin/sh\nprintf 'sudo %s\\n' \"$*\" >> {log}\n\
                 if [ \"$3 $4\" = \"apt update\" ]; then\n\
                 echo 'Hit:1 http://deb.debian.org/debian bookworm InRelease'\n\
                 echo 'Listing...'\n\
                 echo 'openssl/stable-security 3.0.15-1~deb12u1 amd64 [upgradable from: 3.0.14-1~deb12u2]'\n\
                 echo 'curl/stable 7.88.1-10+deb12u8 amd64 [upgradable from: 7.88.1-10+deb12u7]'\n\
                 echo 'reboot-required: yes'\nfi\n\
                 if [ \"$3 $4\" = \"apt upgrade\" ]; then echo 'Setting up openssl'; fi\nexit 0\n",
                log = rig.calls_log.display()
            ),
        );
        World(rig)
    }

    /// `pending_updates` of the bot's saved state.
    fn pending_updates(&self) -> serde_json::Value {
        let path = self.sb.state_dir().join("bot-state.json");
        let text = std::fs::read_to_string(&path).expect("bot-state.json");
        let state: serde_json::Value = serde_json::from_str(&text).unwrap();
        state["pending_updates"].clone()
    }

    /// A stand-in `name` that records its call, then runs `body` (shell lines).
    fn standin(&self, name: &str, body: &str) {
        self.fake(
            name,
            &format!(
                "#!/bin/sh\nprintf '{name} %s\\n' \"$*\" >> {}\n{body}\n",
                self.calls_log.display()
            ),
        );
    }

    /// Waits for an edit whose text contains `needle`.
    fn wait_edit(&self, needle: &str) -> String {
        self.api
            .wait_for("editMessageText", WAIT, |r| {
                r.body["text"].as_str().unwrap_or("").contains(needle)
            })
            .unwrap_or_else(|| {
                panic!(
                    "no edit with {needle:?}; edits: {:?}\n{}",
                    self.api
                        .requests("editMessageText")
                        .iter()
                        .map(|r| r.body["text"].clone())
                        .collect::<Vec<_>>(),
                    self.stderr()
                )
            })
            .body["text"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Waits for a document whose upload contains `needle` (file name or content).
    fn wait_document(&self, needle: &str) -> String {
        self.api
            .wait_for("sendDocument", WAIT, |r| r.raw.contains(needle))
            .unwrap_or_else(|| panic!("no document with {needle:?}\n{}", self.stderr()))
            .raw
    }
}

/// Runs `git` in `dir` (test set-up), panicking on failure.
fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Cmd::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.invalid",
        ])
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .timeout(Duration::from_secs(30))
        .run()
        .expect("git runs");
    assert!(
        out.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn bad_input_is_refused_with_a_clear_reply_and_nothing_runs() {
    let w = World::new("");
    // Recording stand-ins for the programs these commands would run, so a
    // refusal that still ran something shows up in calls.log.
    w.standin("ping", "exit 0");
    w.standin("journalctl", "echo '-- No entries --'");
    let bot = w.start();
    let long = "a".repeat(300);
    for (cmd, why) in [
        ("/ping -f", "looks like an option"),
        ("/ping a;b", "isn't a host name"),
        (&format!("/ping {long}") as &str, "longer than 253"),
        ("/log_journal ../../etc/shadow", "I can't take that"),
        ("/log_journal sshd.service", "isn't on the watch list"),
    ] {
        let reply = w.ask(cmd, why);
        assert!(reply.starts_with("I can't take that:"), "{cmd}: {reply}");
    }
    // The audit line follows the reply: wait for all five.
    let refused: Vec<_> = w
        .wait_audits(5)
        .into_iter()
        .filter(|e| e["result"].as_str().unwrap().starts_with("failed: refused"))
        .collect();
    assert_eq!(refused.len(), 5, "{:?}", w.audit());
    assert!(w.calls().is_empty(), "nothing ran: {:?}", w.calls());
    // The same stand-ins do record an accepted request.
    w.ask("/log_journal ollama", "Journal of ollama.service");
    let calls = w.calls();
    assert_eq!(
        calls,
        ["journalctl -u ollama.service -n 50 --no-pager -o short-iso"],
        "{calls:?}"
    );
    bot.stop();
}

#[test]
fn ping_runs_for_real_and_favourites_are_buttons() {
    let w = World::new("PING_HOSTS=127.0.0.1,localhost\n");
    let bot = w.start();
    let pick = w.ask("/ping", "Which host?");
    assert!(pick.contains("/ping host"), "{pick}");
    let buttons = w.buttons("Which host?");
    assert_eq!(buttons, ["o:p:127.0.0.1", "o:p:localhost"]);
    let before = w.count_texts("127.0.0.1</code>: ");
    w.api.push_callback(ADMIN, &buttons[0]);
    let reply = w.wait_new_text("127.0.0.1</code>: ", before, WAIT, "favourite button");
    assert!(reply.contains("3 of 3 replies, 0% loss"), "{reply}");
    assert!(reply.contains("round trip min/avg/max"), "{reply}");
    let e = w.wait_audit("button ping");
    assert_eq!(e["result"], "ok");
    // A forged button with a bad host is refused, not run.
    w.api.push_callback(ADMIN, "o:p:-f");
    let e = w.wait_audit("button");
    assert_eq!(e["result"], "failed: unknown button");
    let typed = w.ask("/ping 127.0.0.1", "127.0.0.1</code>: ");
    assert!(typed.contains("3 of 3 replies"), "{typed}");
    bot.stop();
}

#[test]
fn journal_without_journal_files_is_a_clear_sentence_and_log_file_is_a_document() {
    let w = World::new("");
    let bot = w.start();
    let reply = w.ask("/log_journal ollama", "Journal of ollama.service");
    // No journal on this machine (CI may have one that is empty for this unit).
    assert!(
        reply.contains("journal unavailable") || reply.contains("no entries"),
        "{reply}"
    );
    let reply = w.ask("/log_runtime", "Journal of potion-runner");
    assert!(
        reply.contains("journal unavailable") || reply.contains("no entries"),
        "{reply}"
    );
    // Two hours ago in local time, said short ("today 14:05" or "yesterday 23:40").
    let two_hours_ago = || {
        (chrono::Local::now() - chrono::Duration::hours(2))
            .format("%H:%M")
            .to_string()
    };
    let before = two_hours_ago();
    let reply = w.ask("/log_errors 2h", "Errors since");
    let after = two_hours_ago();
    assert!(
        reply.contains(&before) || reply.contains(&after),
        "{before}: {reply}"
    );
    assert!(!reply.contains("(2h)"), "{reply}");
    let usage = w.ask("/log_journal a b c", "How to use it");
    assert!(
        usage.contains("/log_journal &lt;unit&gt; [lines]"),
        "{usage}"
    );
    let bad = w.ask("/log_errors yesterday-ish", "I can't take that");
    assert!(bad.contains("isn't a time span"), "{bad}");
    // actions.log exists now (the commands above were audited).
    w.wait_audit("log_errors");
    w.api.push_text(ADMIN, "/log_file");
    let doc = w.wait_document("actions.log");
    assert!(doc.contains("log_journal"), "the audit log itself is sent");
    let bad = w.ask("/log_file ../.env", "I can't take that");
    assert!(bad.contains("is a path"), "{bad}");
    bot.stop();
}

#[test]
fn tailscale_and_speed_use_their_standins() {
    let w = World::new("");
    let ts = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/chatops/tailscale-status.json"
    );
    let sp = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/chatops/speedtest.json"
    );
    w.standin("tailscale", &format!("cat {ts}"));
    w.standin(
        "speedtest-cli",
        &format!("echo 'Retrieving configuration...' >&2\ncat {sp}"),
    );
    let bot = w.start();
    let reply = w.ask("/tailscale", "Tailscale");
    assert!(reply.contains("Peers online:"), "{reply}");
    assert!(
        reply.contains("Key valid until") || reply.contains("The key expired"),
        "{reply}"
    );
    w.api.push_text(ADMIN, "/speed");
    let done = w.wait_edit("done in");
    assert!(done.contains("download 46.2 Mbit/s"), "{done}");
    assert!(done.contains("Biznet Networks"), "{done}");
    let doc = w.wait_document("speedtest.txt");
    assert!(doc.contains("Retrieving configuration"), "{doc}");
    assert!(w.calls().contains(&"speedtest-cli --json".to_string()));
    let e = w.wait_audit("speed");
    assert_eq!(e["result"], "ok");
    bot.stop();
}

#[test]
fn a_hanging_command_is_killed_at_its_timeout_while_status_still_answers() {
    let w = World::new("");
    // `exec` so the kill reaches the sleeping process itself.
    w.standin("tailscale", "exec sleep 60");
    let bot = w.start();
    let t0 = Instant::now();
    w.api.push_text(ADMIN, "/tailscale");
    // Wait until the stand-in runs, then ask for the status meanwhile.
    while !w.calls().iter().any(|c| c.starts_with("tailscale")) {
        assert!(t0.elapsed() < WAIT, "tailscale never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let asked = Instant::now();
    w.ask("/status", "No data yet");
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "/status waited for tailscale: {:?}",
        asked.elapsed()
    );
    assert_eq!(w.count_texts("Tailscale"), 0, "tailscale still running");
    // TAILSCALE_TIMEOUT (10 s) ends it; the reply says so.
    let reply = w
        .api
        .wait_text("couldn't read Tailscale's status", Duration::from_secs(20))
        .unwrap_or_else(|| panic!("no timeout reply\n{}", w.stderr()));
    assert!(
        reply.contains("timed out after 10 s and was killed"),
        "{reply}"
    );
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(18), "{took:?}");
    let e = w.wait_audit("tailscale");
    assert!(e["result"].as_str().unwrap().contains("timed out"), "{e}");
    bot.stop();
}

#[test]
fn a_running_job_is_cancelled_on_sigterm() {
    let w = World::new("");
    w.standin(
        "speedtest-cli",
        "echo 'Testing download speed' >&2\nexec sleep 60",
    );
    let bot = w.start();
    w.api.push_text(ADMIN, "/speed");
    let t0 = Instant::now();
    while !w.calls().iter().any(|c| c.starts_with("speedtest-cli")) {
        assert!(t0.elapsed() < WAIT, "speedtest-cli never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    bot.stop();
    let edit = w.wait_edit("cancelled");
    assert!(edit.contains("because the bot is stopping"), "{edit}");
    let e = w.wait_audit("speed");
    assert!(e["result"].as_str().unwrap().contains("cancelled"), "{e}");
}

#[test]
fn git_pull_asks_then_shows_progress_summary_and_document() {
    let w = World::new("");
    let upstream = w.sb.path().join("upstream");
    let work = w.sb.path().join("work");
    std::fs::create_dir_all(&upstream).unwrap();
    git(&upstream, &["init", "-q", "-b", "main"]);
    std::fs::write(upstream.join("README"), "one\n").unwrap();
    git(&upstream, &["add", "README"]);
    git(&upstream, &["commit", "-q", "-m", "first"]);
    let out = Cmd::new("git")
        .args(["clone", "-q"])
        .arg(&upstream)
        .arg(&work)
        .timeout(Duration::from_secs(30))
        .run()
        .unwrap();
    assert!(out.success());
    let old = git(&work, &["rev-parse", "HEAD"]);
    std::fs::write(upstream.join("README"), "two\n").unwrap();
    git(&upstream, &["commit", "-q", "-am", "second <change>"]);
    let new = git(&upstream, &["rev-parse", "HEAD"]);
    std::fs::write(
        &w.env,
        std::fs::read_to_string(&w.env).unwrap()
            + &format!("UPDATE_GIT_REPOS={}\n", work.display()),
    )
    .unwrap();
    let bot = w.start();
    let q = w.ask("/git_pull", "Really pull the repositories");
    assert!(q.contains("expires in 60 s"), "{q}");
    let buttons = w.buttons("Really pull the repositories");
    assert_eq!(buttons.len(), 2, "{buttons:?}");
    assert!(
        buttons[0].starts_with("c:") && buttons[0].ends_with(":y") && buttons[1].ends_with(":n")
    );
    // Nothing ran before the Yes.
    assert_eq!(git(&work, &["rev-parse", "HEAD"]), old);
    w.api.push_callback(ADMIN, &buttons[0]);
    let progress = w.wait_edit("running for");
    assert!(progress.contains("pull the repositories"), "{progress}");
    let done = w.wait_edit("done in");
    assert!(
        done.contains(&format!("{}..{} (1 new commits)", &old[..10], &new[..10])),
        "{done}"
    );
    assert!(done.contains("second &lt;change&gt;"), "escaped: {done}");
    let doc = w.wait_document("git-pull.txt");
    assert!(doc.contains("pull --ff-only"), "{doc}");
    assert_eq!(git(&work, &["rev-parse", "HEAD"]), new, "really pulled");
    // Afterwards: restart a watched service through the /svc restart question.
    w.wait_new_text("Restart a service", 0, WAIT, "after the pull");
    assert_eq!(w.buttons("Restart a service"), ["r:ollama.service"]);
    w.api.push_callback(ADMIN, "r:ollama.service");
    let q = w.wait_new_text("Really restart", 0, WAIT, "restart button");
    assert!(q.contains("<code>ollama.service</code>"), "{q}");
    // Yes reaches the helper by the same absolute path as apt (the sudoers rule's).
    let yes = w.buttons("Really restart")[0].clone();
    w.api.push_callback(ADMIN, &yes);
    assert_eq!(w.wait_audit("svc restart")["result"], "ok");
    assert!(
        w.calls()
            .iter()
            .any(|c| c
                == "sudo -n /usr/libexec/potion-runner/potion-helper svc restart ollama.service"),
        "{:?}",
        w.calls()
    );
    let e = w.wait_audit("git pull");
    assert_eq!(e["result"], "ok");
    assert!(
        e["arguments"]
            .as_str()
            .unwrap()
            .starts_with("git pull: ok in"),
        "{e}"
    );
    // An answer to the same question again is void, and the result stays.
    w.api.push_callback(ADMIN, &buttons[0]);
    w.api
        .wait_text("already answered", WAIT)
        .expect("a second Yes is told the question is answered");
    bot.stop();
}

#[test]
fn apt_update_goes_through_the_helper_and_offers_the_upgrade() {
    let w = World::new("");
    let bot = w.start();
    w.ask("/apt_update", "Really refresh the package lists");
    let yes = w.buttons("Really refresh the package lists")[0].clone();
    assert!(yes.starts_with("c:") && yes.ends_with(":y"), "{yes}");
    assert!(w.calls().is_empty(), "nothing before the Yes");
    w.api.push_callback(ADMIN, &yes);
    let done = w.wait_edit("done in");
    assert!(done.contains("2 packages can be upgraded"), "{done}");
    assert!(done.contains("A reboot is needed"), "{done}");
    w.wait_document("apt-update.txt");
    assert_eq!(
        w.calls(),
        ["sudo -n /usr/libexec/potion-runner/potion-helper apt update"]
    );
    w.wait_new_text(
        "Really install package upgrades",
        0,
        WAIT,
        "after apt update",
    );
    // The count is in bot-state.json (for the digest) before the upgrade is offered.
    let pending = w.pending_updates();
    assert_eq!(pending["count"], 2, "{pending}");
    let age = now_s() - pending["checked_at"].as_i64().expect("checked_at");
    assert!((0..60).contains(&age), "measured {age} s ago");
    let yes = w.buttons("Really install package upgrades")[0].clone();
    w.api.push_callback(ADMIN, &yes);
    w.wait_new_text("Restart a service", 0, WAIT, "after apt upgrade");
    assert_eq!(
        w.pending_updates()["count"],
        0,
        "none left after the upgrade"
    );
    assert_eq!(
        w.calls()[1],
        "sudo -n /usr/libexec/potion-runner/potion-helper apt upgrade"
    );
    let e = w.wait_audit("apt upgrade");
    assert_eq!(e["result"], "ok");
    bot.stop();
}

#[test]
fn pip_sync_runs_the_venv_pip_against_the_lock_file() {
    let w = World::new("");
    let venv = w.sb.path().join("venv");
    let out = Cmd::new("/usr/bin/python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .timeout(Duration::from_secs(120))
        .run()
        .unwrap();
    assert!(out.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lock = w.sb.path().join("requirements.lock");
    std::fs::write(&lock, "# empty lock\n").unwrap();
    std::fs::write(
        &w.env,
        std::fs::read_to_string(&w.env).unwrap()
            + &format!(
                "UPDATE_PIP_VENV={}\nUPDATE_PIP_REQUIREMENTS={}\n",
                venv.display(),
                lock.display()
            ),
    )
    .unwrap();
    let bot = w.start();
    w.ask("/pip_sync", "Really sync the Python venv");
    let no = w.buttons("Really sync the Python venv")[1].clone();
    w.api.push_callback(ADMIN, &no);
    w.wait_edit("cancelled; I did nothing");
    w.ask("/pip_sync", "Really sync the Python venv");
    let yes = w.buttons("Really sync the Python venv")[0].clone();
    w.api.push_callback(ADMIN, &yes);
    let done = w.wait_edit("done in");
    assert!(done.contains("The venv is in sync"), "{done}");
    let doc = w.wait_document("pip-sync.txt");
    assert!(doc.contains("requirements.lock"), "{doc}");
    assert_eq!(
        w.count_texts("Restart a service"),
        0,
        "nothing changed, no restart offered"
    );
    bot.stop();
}

#[test]
fn one_apt_at_a_time_with_live_progress_and_indonesian_texts() {
    let w = World::new("");
    // An apt update that hangs after one line of output.
    w.standin(
        "sudo",
        "echo 'Get:1 http://mirror.example slow'\nexec sleep 60",
    );
    let bot = w.start();
    w.ask("/apt_update", "Really refresh the package lists");
    let yes = w.buttons("Really refresh the package lists")[0].clone();
    w.api.push_callback(ADMIN, &yes);
    // The progress message shows the last output line within a tick (3 s).
    let progress = w.wait_edit("Get:1 http://mirror.example slow");
    assert!(progress.contains("running for"), "{progress}");
    assert!(progress.contains("<code>"), "{progress}");
    w.ask("/lang id", "Bahasa");
    w.ask("/apt_update", "Yakin menyegarkan daftar paket");
    let yes = w.buttons("Yakin menyegarkan daftar paket")[0].clone();
    w.api.push_callback(ADMIN, &yes);
    let busy = w.wait_edit("masih berjalan");
    assert!(busy.contains("menyegarkan daftar paket"), "{busy}");
    assert_eq!(
        w.calls()
            .iter()
            .filter(|c| c.ends_with("apt update"))
            .count(),
        1,
        "the second apt never started: {:?}",
        w.calls()
    );
    let refusal = w.ask("/ping -f", "Belum bisa saya terima");
    assert!(refusal.contains("opsi"), "{refusal}");
    bot.stop();
    let cancelled = w.wait_edit("dibatalkan");
    assert!(cancelled.contains("karena bot berhenti"), "{cancelled}");
}
