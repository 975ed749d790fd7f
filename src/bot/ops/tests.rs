//! Tests of the operations commands' decisions (commands and buttons) and renderings.

use super::*;
use crate::chatops::jobs::JobKind;
use crate::chatops::updates::PipPlan;
use crate::config::Lang;
use std::collections::BTreeMap;

fn cfg(extra: &[(&str, &str)]) -> Config {
    let mut p = BTreeMap::new();
    p.insert(
        "SERVICES".to_string(),
        "ollama.service,web.service".to_string(),
    );
    p.insert("PING_HOSTS".to_string(), "1.1.1.1,router.lan".to_string());
    for (k, v) in extra {
        p.insert(k.to_string(), v.to_string());
    }
    Config::from_pairs(&p).unwrap()
}

fn now() -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 25)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap()
}

fn p(cmd: Command, args: &str) -> OpsPlan {
    plan(&cfg(&[]), cmd, args, now())
}

fn refused(plan: OpsPlan) -> String {
    match plan {
        OpsPlan::Refuse(e) => e.to_string(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn ping_hosts_are_validated_and_favourites_offered() {
    assert_eq!(
        p(Command::Ping, ""),
        OpsPlan::PingPick(vec!["1.1.1.1".into(), "router.lan".into()])
    );
    assert_eq!(
        p(Command::Ping, "127.0.0.1"),
        OpsPlan::Ping(PingTarget::parse("127.0.0.1").unwrap())
    );
    assert!(refused(p(Command::Ping, "-f")).contains("option"));
    assert!(refused(p(Command::Ping, "a;b")).contains("not a host"));
    assert!(refused(p(Command::Ping, "a b")).contains("not a host"));
    assert!(refused(p(Command::Ping, &"a".repeat(300))).contains("253"));
}

#[test]
fn journals_only_for_whitelisted_units() {
    assert_eq!(
        p(Command::LogJournal, "ollama 20"),
        OpsPlan::Journal(logs::allowed_unit(&cfg(&[]), "ollama").unwrap(), 20)
    );
    assert!(refused(p(Command::LogJournal, "sshd.service")).contains("not in SERVICES"));
    assert!(!refused(p(Command::LogJournal, "../../etc/shadow")).is_empty());
    assert!(refused(p(Command::LogJournal, "ollama many")).contains("not a number"));
    assert_eq!(p(Command::LogJournal, ""), OpsPlan::Usage);
    assert_eq!(
        p(Command::LogRuntime, ""),
        OpsPlan::Journal(logs::self_unit(&cfg(&[])), logs::DEFAULT_LINES)
    );
    match p(Command::LogErrors, "2h") {
        OpsPlan::Errors(s) => assert_eq!(s.at, now() - chrono::Duration::hours(2)),
        other => panic!("{other:?}"),
    }
    assert!(refused(p(Command::LogErrors, "--since=0")).contains("not a time span"));
    assert_eq!(
        p(Command::LogFile, ""),
        OpsPlan::LogFile("actions.log".into())
    );
    assert!(refused(p(Command::LogFile, "../.env")).contains("path"));
    assert_eq!(p(Command::LogFile, "a b"), OpsPlan::Usage);
}

#[test]
fn updates_ask_first_and_check_their_config() {
    assert_eq!(
        p(Command::AptUpdate, ""),
        OpsPlan::Confirm(OpsJob::AptUpdate)
    );
    assert!(refused(p(Command::GitPull, "")).contains("UPDATE_GIT_REPOS"));
    assert!(refused(p(Command::PipSync, "")).contains("UPDATE_PIP_VENV"));
    let c = cfg(&[("UPDATE_GIT_REPOS", "/srv/a,/srv/b")]);
    assert_eq!(
        plan(&c, Command::GitPull, "", now()),
        OpsPlan::Confirm(OpsJob::Git(vec!["/srv/a".into(), "/srv/b".into()]))
    );
    let venv = tempfile::tempdir().unwrap();
    let c = cfg(&[
        ("UPDATE_PIP_VENV", venv.path().to_str().unwrap()),
        ("UPDATE_PIP_REQUIREMENTS", "/nonexistent/req.txt"),
    ]);
    assert!(refused(plan(&c, Command::PipSync, "", now())).contains("bin/pip"));
    assert_eq!(p(Command::Speed, ""), OpsPlan::Run(OpsJob::Speed));
    assert_eq!(p(Command::Speed, "now"), OpsPlan::Usage);
    assert_eq!(p(Command::Ip, ""), OpsPlan::Ip);
    assert_eq!(p(Command::Tailscale, ""), OpsPlan::Tailscale);
}

#[test]
fn favourites_are_only_hosts_that_fit_a_button() {
    let long = format!("{}.{}.lan", "h".repeat(40), "h".repeat(40));
    let c = cfg(&[("PING_HOSTS", &format!("1.1.1.1,{long}"))]);
    assert_eq!(favourites(&c), ["1.1.1.1"]);
}

#[test]
fn output_is_escaped_before_it_is_fitted() {
    let w = &crate::bot::i18n::texts(Lang::Id).errors.ops;
    let (html, doc) = fit_html(w, "<b>t</b>", "a <b> & c\n");
    assert_eq!(html, "<b>t</b>\n<pre>a &lt;b&gt; &amp; c</pre>");
    assert!(!doc);
    let body: String = (0..3000).map(|i| format!("<{i}>\n")).collect();
    let (html, doc) = fit_html(w, "<b>t</b>", &body);
    assert!(doc);
    assert!(crate::chatops::fit::tg_len(&html) <= MESSAGE_MAX);
    assert!(html.ends_with("&lt;2999&gt;</pre>"), "newest line kept");
    assert!(
        html.contains("baris awal tidak ditampilkan"),
        "the marker is said in Indonesian"
    );
    assert!(!html.contains("<1"), "no raw output reaches the HTML");
    assert_eq!(fit_html(w, "<b>t</b>", " \n").0, "<b>t</b>");
}

#[test]
fn job_lines_in_both_languages() {
    let outcome = |status, value| JobOutcome::<net::SpeedOutcome> {
        kind: JobKind::Speed,
        status,
        value,
        output: String::new(),
        output_truncated: false,
        elapsed: Duration::from_secs(7),
    };
    let t = crate::bot::i18n::texts(Lang::En);
    let (en, w) = (&t.ops, &t.errors.ops);
    let id = &crate::bot::i18n::texts(Lang::Id).ops;
    assert_eq!(
        status_line(en, w, "speed", &outcome(JobStatus::Ok, None)),
        "✅ speed: done in 7 s"
    );
    // A failure says why from the typed result; a program's words go in <pre>.
    let failed = net::SpeedOutcome::Failed("a<b".into());
    assert!(
        status_line(
            en,
            w,
            "speed",
            &outcome(JobStatus::Failed("x".into()), Some(failed))
        )
        .ends_with("failed after 7 s: <pre>a&lt;b</pre>")
    );
    let missing = net::SpeedOutcome::NotInstalled { hint: "apt" };
    assert!(
        status_line(
            en,
            w,
            "speed",
            &outcome(JobStatus::Failed("x".into()), Some(missing))
        )
        .contains("isn't installed")
    );
    assert!(
        status_line(
            en,
            w,
            "speed",
            &outcome(JobStatus::Failed("x".into()), None)
        )
        .contains("ended abnormally")
    );
    let timed_out = outcome(JobStatus::TimedOut, None);
    assert!(status_line(en, w, "speed", &timed_out).contains("no end within"));
    let cancelled = outcome(JobStatus::Cancelled, None);
    assert!(status_line(id, w, "speed", &cancelled).contains("dibatalkan"));
    let prog = progress_html(en, "apt", Duration::from_secs(12), "Get:1 <x>");
    assert_eq!(
        prog,
        "⏳ apt: running for 12 s\n<code>Get:1 &lt;x&gt;</code>"
    );
    assert_eq!(
        OpsJob::Pip(PipPlan {
            pip: "/v/bin/pip".into(),
            requirements: "/r".into()
        })
        .what(Lang::Id),
        id.what_pip
    );
}

#[test]
fn journal_messages_say_how_the_read_went() {
    let o = &crate::bot::i18n::texts(Lang::En).ops;
    let w = &crate::bot::i18n::texts(Lang::En).errors.ops;
    let j = |state, text: &str| Journal {
        title: "x".into(),
        text: text.into(),
        state,
        hint: None,
    };
    let (html, doc) = journal_html(o, w, "J", &j(JournalState::Entries(1), "line <1>"));
    assert_eq!(html, "<b>J</b> (1 entries)\n<pre>line &lt;1&gt;</pre>");
    assert!(!doc);
    let (html, _) = journal_html(o, w, "J", &j(JournalState::NoEntries, ""));
    assert_eq!(html, "<b>J</b>: no entries");
    let (html, _) = journal_html(
        o,
        w,
        "J",
        &j(JournalState::Unavailable("no <journal>".into()), ""),
    );
    assert_eq!(
        html,
        "<b>J</b>: journal unavailable: <pre>no &lt;journal&gt;</pre>"
    );
}
