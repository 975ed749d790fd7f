//! `/audit` in plain words: each `actions.log` entry as one line in the
//! reply language (when, who, what, how it ended), with button data read
//! back into the command it stands for. The JSON in `actions.log` stays as
//! it is; this is only how a person reads it.

use chrono::{DateTime, Utc};

use crate::files::bot::AuditEntry;
use crate::helper::ReasonCode;

use super::callback::Callback;
use super::command::COMMANDS;
use super::i18n::Texts;
use super::text::{esc, fill, when};

/// Longest argument or reason text shown in a line (`actions.log` keeps 300).
const MAX_SHOWN: usize = 300;

fn cut(s: &str) -> String {
    let mut out: String = s.chars().take(MAX_SHOWN).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// What a button's data stands for, as the command it does the same as.
fn pressed(t: &Texts, cb: &Callback) -> String {
    match cb {
        Callback::Mute { code, minutes } => format!("/alert_disable {code} {minutes}"),
        Callback::Status => "/status".into(),
        Callback::AskRestart(u) => format!("/svc restart {u}"),
        Callback::Confirm { yes: true, .. } => t.watch.audit_yes.into(),
        Callback::Confirm { yes: false, .. } => t.watch.audit_no.into(),
        Callback::Ping(h) => format!("/ping {h}"),
        Callback::Chart { metric, hours } => format!("/chart {} {hours}", metric.name()),
        Callback::Logs(u) => format!("/log_journal {u}"),
        Callback::RetryBackup => "/backup_now".into(),
        Callback::ShowChart(m) => format!("/chart {}", m.name()),
    }
}

/// What the entry did, in words (escaped HTML).
fn what(t: &Texts, e: &AuditEntry) -> String {
    let w = t.watch;
    let args = e.arguments.trim();
    let with_args = |head: &str| match args {
        "" => esc(head),
        a => esc(&format!("{head} {}", cut(a))),
    };
    if let Some(cb) = Callback::parse(args) {
        let did = esc(&pressed(t, &cb));
        return match cb {
            // The answer to a question audits under the question's action.
            Callback::Confirm { .. } => format!("{} · {did}", esc(&e.action)),
            _ => fill(w.audit_button, &[("what", &did)]),
        };
    }
    match e.action.as_str() {
        "forwarded" => w.audit_forwarded.to_string(),
        "wrong_chat" => w.audit_wrong_chat.to_string(),
        a if COMMANDS.iter().any(|(n, _)| *n == a) => with_args(&format!("/{a}")),
        a => with_args(a),
    }
}

/// How the entry ended (escaped HTML).
fn outcome(t: &Texts, result: &str) -> String {
    let w = t.watch;
    match result {
        "ok" => w.audit_ok.to_string(),
        "denied" => w.audit_denied.to_string(),
        r => {
            let why = r.strip_prefix("failed:").unwrap_or(r).trim();
            // A helper refusal's reason code is said in the reply language;
            // any other reason is the log's own words, quoted as they stand.
            let code = why.split([':', ' ']).next().and_then(ReasonCode::parse);
            let why = match code {
                Some(c) => esc((t.errors.helper)(c)),
                None => format!("<code>{}</code>", esc(&cut(why))),
            };
            fill(w.audit_failed, &[("why", &why)])
        }
    }
}

/// One entry as a line: local short time, who, what, outcome.
pub fn line(t: &Texts, e: &AuditEntry, now: DateTime<Utc>) -> String {
    let who = match &e.username {
        Some(u) if !u.is_empty() => format!("@{u}"),
        _ => e.user_id.to_string(),
    };
    fill(
        t.watch.audit_line,
        &[
            ("at", &when(&t.clock, &e.time, now)),
            ("who", &esc(&who)),
            ("what", &what(t, e)),
            ("outcome", &outcome(t, &e.result)),
        ],
    )
}

/// The `/audit` reply for `entries` (oldest first).
pub fn render(t: &Texts, entries: &[AuditEntry], now: DateTime<Utc>) -> String {
    if entries.is_empty() {
        return t.audit_empty.to_string();
    }
    // Every line ends in a newline, so a long reply splits between entries.
    let mut s = format!("{}\n", t.audit_header);
    for e in entries {
        s += &line(t, e, now);
        s += "\n";
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bot::i18n::texts;
    use crate::config::Lang;

    fn e(action: &str, args: &str, result: &str) -> AuditEntry {
        AuditEntry {
            time: "2026-11-30T08:51:00Z".into(),
            user_id: 4242,
            username: Some("budi".into()),
            action: action.into(),
            arguments: args.into(),
            result: result.into(),
        }
    }

    #[test]
    fn entries_read_as_plain_lines_without_raw_data() {
        let t = texts(Lang::Id);
        let now = crate::files::parse_rfc3339("2026-11-30T10:00:00Z").unwrap();
        let l = line(t, &e("svc restart", "c:7:y", "ok"), now);
        assert!(
            l.contains("@budi") && l.contains("svc restart · jawab Ya") && l.contains("✅"),
            "{l}"
        );
        assert!(!l.contains("c:7:y") && !l.contains("T08:51"), "{l}");
        let l = line(
            t,
            &e("svc", "restart ollama", "failed: protected-unit"),
            now,
        );
        // The helper's reason code in the reply language, not the code.
        let said = esc((t.errors.helper)(ReasonCode::ProtectedUnit));
        assert!(
            l.contains("/svc restart ollama") && l.contains(&format!("❌ {said}")),
            "{l}"
        );
        assert!(!l.contains("protected-unit"), "{l}");
        // Other reasons are the log's own words, quoted.
        let l = line(t, &e("ping", "x", "failed: no reply (100% loss)"), now);
        assert!(l.contains("<code>no reply (100% loss)</code>"), "{l}");
        let l = line(t, &e("button svc restart", "r:ollama.service", "ok"), now);
        assert!(l.contains("tombol /svc restart ollama.service"), "{l}");
        let l = line(t, &e("button backup_now", "b:now", "ok"), now);
        assert!(l.contains("tombol /backup_now"), "{l}");
        let mut anon = e("status", "", "denied");
        anon.username = None;
        let l = line(t, &anon, now);
        assert!(
            l.contains("4242") && l.contains("/status") && l.contains("ditolak"),
            "{l}"
        );
        let l = line(t, &e("forwarded", "/svc stop x", "denied"), now);
        assert!(l.contains("terusan"), "{l}");
        let l = line(t, &e("<b>", "<i>", "failed: <x>"), now);
        assert!(
            !l.contains("<b>") && !l.contains("<i>") && l.contains("&lt;x&gt;"),
            "{l}"
        );
    }

    #[test]
    fn an_empty_log_says_so() {
        let t = texts(Lang::En);
        assert_eq!(render(t, &[], Utc::now()), t.audit_empty);
        let r = render(t, &[e("status", "", "ok")], Utc::now());
        assert!(
            r.starts_with(t.audit_header) && r.contains("/status"),
            "{r}"
        );
    }
}
