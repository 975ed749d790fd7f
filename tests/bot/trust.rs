//! End-to-end tests of where the bot takes commands from and what it never
//! lets out: forwarded messages are not run, other groups and other bots'
//! commands are ignored, and a token quoted in a helper error reaches neither
//! chat, `actions.log` nor the log.

use std::time::Duration;

use crate::rig::{ADMIN, Rig};
use crate::standin::{StandIn, TOKEN};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(10);
const GROUP: i64 = -100_123;
/// Token-shaped, and not the bot's own token, so only redaction can hide it.
const LEAKED: &str = "987654321:ZZLeakedTokenShapedStringForTheTest00";

fn rig(extra: &str, sudo: &str) -> Rig {
    let rig = Rig::sandbox(
        StandIn::start(),
        WAIT,
        &format!("SERVICES=ollama.service\n{extra}"),
    );
    rig.fake("sudo", sudo);
    rig
}

fn recording_sudo(rig: &Rig) {
    rig.fake(
        "sudo",
        &format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> {}\nexit 0\n",
            rig.calls_log.display()
        ),
    );
}

fn in_group(m: &mut serde_json::Value) {
    m["chat"] = json!({"id": GROUP, "type": "supergroup", "title": "rumah"});
}

#[test]
fn a_forwarded_command_is_not_run_and_the_admin_is_told_why() {
    let w = rig("", "#!/bin/sh\nexit 0\n");
    recording_sudo(&w);
    let before = std::fs::read_to_string(&w.env).unwrap();
    let bot = w.start();
    w.api.push_text_shaped(ADMIN, "/svc_add evil", |m| {
        m["forward_origin"] = json!({"type": "hidden_user", "date": 1764097000,
                                     "sender_user_name": "someone"});
    });
    let reply = w.api.wait_text("forwarded", WAIT).expect("told why");
    assert!(!reply.contains("evil"), "{reply}");
    let audit = w.wait_audit("forwarded");
    assert_eq!(audit["result"], "denied");
    assert_eq!(audit["arguments"], "/svc_add evil");
    // Text chosen through an inline bot is someone else's words as well.
    let seen = w.count_texts("forwarded");
    w.api.push_text_shaped(ADMIN, "/svc_add evil2", |m| {
        m["via_bot"] = json!({"id": 99, "is_bot": true, "first_name": "gif", "username": "gif"});
    });
    w.wait_new_text("forwarded", seen, WAIT, "a via_bot message");
    // The same text typed by the admin is taken, which shows the bot was listening.
    w.ask("/svc_list", "ollama");
    assert_eq!(
        std::fs::read_to_string(&w.env).unwrap(),
        before,
        ".env unchanged"
    );
    assert!(w.calls().is_empty(), "nothing run: {:?}", w.calls());
    bot.stop();
}

#[test]
fn commands_for_another_bot_and_from_other_groups_are_ignored() {
    let w = rig("", "#!/bin/sh\nexit 0\n");
    let bot = w.start();
    // Wait until getMe has told the bot its name: the bot sends deleteWebhook
    // only after it has stored the answer (the getMe request alone may still
    // be in flight, and a command addressed by name is then refused).
    w.api
        .wait_for("deleteWebhook", WAIT, |_| true)
        .expect("the bot learns who it is");
    w.api.push_text(ADMIN, "/svc_list@SomeOtherBot");
    w.api.push_text_shaped(ADMIN, "/status", in_group);
    // Addressed to us by name: taken.
    w.ask("/uptime@potion_bot", "No data yet");
    assert_eq!(
        w.api.texts_to(ADMIN).len(),
        1,
        "only /uptime@potion_bot answered: {:?}",
        w.api.texts_to(ADMIN)
    );
    assert!(
        w.api.texts_to(GROUP).is_empty(),
        "nothing said in the group"
    );
    let wrong = w.wait_audit("wrong_chat");
    assert_eq!(wrong["result"], "denied");
    bot.stop();
}

#[test]
fn the_admin_chat_group_is_served() {
    let w = rig(&format!("ADMIN_CHAT_ID={GROUP}\n"), "#!/bin/sh\nexit 0\n");
    let bot = w.start();
    w.api.push_text_shaped(ADMIN, "/uptime", in_group);
    let deadline = std::time::Instant::now() + WAIT;
    while w.api.texts_to(GROUP).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let said = w.api.texts_to(GROUP);
    assert!(said.iter().any(|t| t.contains("No data yet")), "{said:?}");
    bot.stop();
}

#[test]
fn a_token_in_a_helper_error_reaches_no_reply_audit_or_log() {
    let w = rig(
        "",
        &format!(
            "#!/bin/sh\necho \"error: /opt/potion-runner/.env: BOT_TOKEN: {LEAKED}\" >&2\nexit 1\n"
        ),
    );
    let bot = w.start();
    let reply = w.ask("/svc start ollama", "redacted");
    assert!(!reply.contains("ZZLeaked"), "{reply}");
    w.wait_audits(1);
    let log = std::fs::read_to_string(w.sb.log_dir().join("actions.log")).unwrap();
    let audit = serde_json::to_string(&w.audit()).unwrap();
    assert!(!audit.contains("ZZLeaked"), "{audit}");
    assert!(
        audit.contains("redacted"),
        "the failure is still recorded: {audit}"
    );
    assert!(!log.contains("ZZLeaked"));
    bot.stop();
    let stderr = w.stderr();
    assert!(!stderr.contains("ZZLeaked"), "{stderr}");
    assert!(!stderr.contains(TOKEN));
    for text in w.api.texts_to(ADMIN) {
        assert!(!text.contains("ZZLeaked"), "{text}");
    }
}
