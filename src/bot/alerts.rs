//! Alert announcements, decided without I/O: which alerts fire or clear
//! compared with what was already announced, mutes, `HEALTH_STALE`, and the
//! text and buttons of each message. The daemon persists the result together
//! with the outbox, so a restart neither repeats nor loses an announcement.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::alert_code::AlertCode;
use crate::files::health::{Alert, HealthReport};
use crate::files::{parse_rfc3339, rfc3339};

use super::callback::Callback;
use super::i18n::Texts;
use super::text::{esc, fill, num, when};

/// The code the bot itself raises when `last_health.json` is too old.
const HEALTH_STALE: &str = AlertCode::HealthStale.as_str();

/// What changed since the last announcement.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Change {
    pub fired: Vec<Alert>,
    pub cleared: Vec<String>,
    /// The announced set after this change.
    pub announced: BTreeMap<String, String>,
}

impl Change {
    pub fn is_empty(&self) -> bool {
        self.fired.is_empty() && self.cleared.is_empty()
    }
}

/// What the watcher found in `last_health.json`.
#[derive(Debug, Clone, Copy)]
pub enum Health<'a> {
    Report(&'a HealthReport),
    /// No file yet.
    Missing,
    /// A file that cannot be read or parsed; `last_good` is the `taken_at`
    /// of the last report this bot could read, if any.
    Unreadable {
        last_good: Option<DateTime<Utc>>,
    },
}

/// The alerts active now. A stale report says nothing new about the other
/// alerts, so those stay as announced and only `HEALTH_STALE` is added.
/// No file counts as stale once the bot itself has run longer than
/// `stale_s` (since `started`); an unreadable file is no news either, so it
/// counts as stale once the last readable report (or, without one, the
/// bot's start) is older than `stale_s`.
pub fn active(
    health: Health<'_>,
    announced: &BTreeMap<String, String>,
    stale_s: u64,
    now: DateTime<Utc>,
    started: DateTime<Utc>,
) -> Vec<Alert> {
    let too_old = |t: DateTime<Utc>| (now - t).num_seconds() > stale_s as i64;
    let (stale, since) = match health {
        Health::Report(r) => match parse_rfc3339(&r.taken_at) {
            Some(t) if !too_old(t) => return r.alerts.clone(),
            _ => (true, r.taken_at.clone()),
        },
        Health::Missing => (too_old(started), "never".to_string()),
        Health::Unreadable { last_good: Some(t) } => (too_old(t), crate::files::rfc3339(t)),
        Health::Unreadable { last_good: None } => (too_old(started), "never".to_string()),
    };
    let mut out: Vec<Alert> = announced
        .iter()
        .filter(|(c, _)| *c != HEALTH_STALE)
        .map(|(code, since)| Alert {
            code: code.clone(),
            since: since.clone(),
            value: None,
            threshold: None,
        })
        .collect();
    if stale {
        out.push(Alert {
            code: HEALTH_STALE.into(),
            since,
            value: None,
            threshold: Some(stale_s as f64),
        });
    }
    out
}

/// True when `code` is muted at `now`; a family's mute (`SERVICE_DOWN`)
/// covers every subject (`SERVICE_DOWN:<unit>`).
pub fn is_muted(code: &str, mutes: &BTreeMap<String, String>, now: DateTime<Utc>) -> bool {
    let live = |k: &str| {
        mutes
            .get(k)
            .and_then(|u| parse_rfc3339(u))
            .is_some_and(|u| u > now)
    };
    let family = || AlertCode::split(code).filter(|(_, subject)| subject.is_some());
    live(code) || family().is_some_and(|(c, _)| live(c.as_str()))
}

/// Compares the active alerts with the announced set. A muted alert that
/// was not yet announced stays silent (it fires when the mute ends, if still
/// active); an announced one still gets its single "cleared" message.
pub fn diff(
    announced: &BTreeMap<String, String>,
    active: &[Alert],
    mutes: &BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> Change {
    let mut next = BTreeMap::new();
    let mut fired = Vec::new();
    for a in active {
        if let Some(at) = announced.get(&a.code) {
            next.insert(a.code.clone(), at.clone());
        } else if !is_muted(&a.code, mutes, now) {
            next.insert(a.code.clone(), rfc3339(now));
            fired.push(a.clone());
        }
    }
    let cleared = announced
        .keys()
        .filter(|c| !next.contains_key(*c))
        .cloned()
        .collect();
    Change {
        fired,
        cleared,
        announced: next,
    }
}

/// A unit taken off the watch list is no longer watched, not "back": its
/// `SERVICE_DOWN` alert leaves the announced set without a "cleared" message
/// (which would read as "the unit is running again").
pub fn forget_unwatched(change: &mut Change, services: &[String]) {
    change.cleared.retain(|code| match AlertCode::split(code) {
        Some((AlertCode::ServiceDown, Some(unit))) => services.iter().any(|s| s == unit),
        _ => true,
    });
}

/// Drops mutes that have ended.
pub fn expire_mutes(mutes: &mut BTreeMap<String, String>, now: DateTime<Utc>) -> bool {
    let before = mutes.len();
    mutes.retain(|_, u| parse_rfc3339(u).is_some_and(|u| u > now));
    before != mutes.len()
}

/// A readable name for an alert code (HTML).
pub fn title(t: &Texts, code: &str) -> String {
    if let Some((AlertCode::ServiceDown, Some(unit))) = AlertCode::split(code) {
        return fill(t.alert_service_down, &[("unit", &esc(unit))]);
    }
    match AlertCode::split(code) {
        Some((c, None)) => (t.alert_name)(c).to_string(),
        _ => esc(code),
    }
}

/// One line about an alert: name, value and threshold where known.
pub fn describe(t: &Texts, a: &Alert) -> String {
    let mut s = title(t, &a.code);
    if a.code == HEALTH_STALE {
        return fill(
            t.alert_stale_detail,
            &[
                ("title", &s),
                ("at", &when(&t.clock, &a.since, chrono::Utc::now())),
            ],
        );
    }
    // Values carry their unit: 96.1%, 88°C.
    let unit = match AlertCode::family_of(&a.code).and_then(AlertCode::metric) {
        Some(crate::metric::Metric::Temp) => "°C",
        Some(_) => "%",
        None => "",
    };
    let with_unit = |x: f64| format!("{}{unit}", num(x));
    match (a.value, a.threshold) {
        (Some(v), Some(th)) => {
            s += &fill(
                t.alert_value,
                &[("v", &with_unit(v)), ("t", &with_unit(th))],
            )
        }
        (Some(v), None) => s += &format!(": {}", with_unit(v)),
        _ => {}
    }
    s
}

/// What an alert's message says beyond the health report: why the last
/// backup failed (`last_backup.json`) and which down units chat may restart
/// (the helper's rules, `watchlist::may_restart`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context {
    pub backup_error: Option<String>,
    /// `SERVICE_DOWN` units offered a 🔄 Restart button.
    pub restartable: Vec<String>,
}

impl Context {
    /// Reads what `alerts` need, and nothing else.
    pub fn read<'a>(
        cfg: &crate::config::Config,
        alerts: impl IntoIterator<Item = &'a Alert>,
    ) -> Context {
        let mut ctx = Context::default();
        for a in alerts {
            match AlertCode::split(&a.code) {
                Some((AlertCode::BackupFailed, _)) => {
                    let path = cfg.state_dir.join(crate::paths::LAST_BACKUP);
                    if let super::loaded::Loaded::Ok(b) =
                        super::loaded::load::<crate::files::backup::BackupOutcome>(&path)
                    {
                        ctx.backup_error = b.error;
                    }
                }
                Some((AlertCode::ServiceDown, Some(unit)))
                    if super::watchlist::may_restart(cfg, unit) =>
                {
                    ctx.restartable.push(unit.to_string());
                }
                _ => {}
            }
        }
        ctx
    }
}

/// The message announcing a new alert, with what is known about its cause
/// and where to look next.
pub fn fired_html(t: &Texts, a: &Alert, ctx: &Context) -> String {
    let mut html = fill(
        t.alert_fired,
        &[
            ("what", &describe(t, a)),
            ("code", &esc(&a.code)),
            ("since", &when(&t.clock, &a.since, chrono::Utc::now())),
        ],
    );
    match AlertCode::split(&a.code) {
        Some((AlertCode::BackupFailed, _)) => {
            if let Some(why) = ctx.backup_error.as_deref().filter(|w| !w.trim().is_empty()) {
                let why: String = why.trim().chars().take(300).collect();
                // The backup job's own words, verbatim.
                html += &fill(
                    t.watch.backup_failed_why,
                    &[("why", &super::i18n::pre(&why))],
                );
            }
        }
        Some((AlertCode::HealthStale, _)) => html += t.watch.stale_hint,
        _ => {}
    }
    html
}

/// The message announcing that an alert cleared.
pub fn cleared_html(t: &Texts, code: &str) -> String {
    fill(
        t.alert_cleared,
        &[("what", &title(t, code)), ("code", &esc(code))],
    )
}

/// The damaged files a verify named (`VerifySummary::damaged`), one a line,
/// and how many more it found; empty when it named none.
pub fn damaged_list(t: &Texts, v: &crate::files::backup::VerifySummary) -> String {
    if v.damaged.is_empty() {
        return String::new();
    }
    let mut s = format!("\n{}", t.watch.damaged_head);
    for p in &v.damaged {
        s += &format!("\n• <code>{}</code>", esc(p));
    }
    let more = v.problems.saturating_sub(v.damaged.len() as u64);
    if more > 0 {
        s += "\n";
        s += &fill(t.watch.damaged_more, &[("n", &more.to_string())]);
    }
    s
}

/// Buttons under a fired alert: mute 1 h, show status, then the next step:
/// restart (when the rules allow) and logs for a down unit, retry for a
/// failed backup, a chart for a metric.
pub fn buttons(t: &Texts, a: &Alert, ctx: &Context) -> Vec<(String, String)> {
    let mut row = Vec::new();
    let mut push = |label: &str, cb: Callback| {
        if let Some(d) = cb.data() {
            row.push((label.to_string(), d));
        }
    };
    push(
        t.btn_mute_1h,
        Callback::Mute {
            code: a.code.clone(),
            minutes: 60,
        },
    );
    push(t.btn_status, Callback::Status);
    match AlertCode::split(&a.code) {
        Some((AlertCode::ServiceDown, Some(unit))) => {
            if ctx.restartable.iter().any(|u| u == unit) {
                push(t.btn_restart, Callback::AskRestart(unit.to_string()));
            }
            push(t.btn_logs, Callback::Logs(unit.to_string()));
        }
        Some((AlertCode::BackupFailed, _)) => push(t.watch.btn_retry_backup, Callback::RetryBackup),
        Some((code, _)) => {
            if let Some(m) = code.metric() {
                push(t.watch.btn_chart, Callback::ShowChart(m));
            }
        }
        None => {}
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bot::i18n::texts;
    use crate::bot::view::tests::report;
    use crate::config::Lang;

    fn now() -> DateTime<Utc> {
        parse_rfc3339("2026-11-25T19:01:00Z").unwrap()
    }

    fn alert(code: &str) -> Alert {
        Alert {
            code: code.into(),
            since: "2026-11-25T18:58:00Z".into(),
            value: Some(97.0),
            threshold: Some(90.0),
        }
    }

    #[test]
    fn fires_once_and_clears_once() {
        let none = BTreeMap::new();
        let c = diff(&none, &[alert("CPU_HIGH")], &none, now());
        let mut down = diff(&none, &[alert("SERVICE_DOWN:sshd.service")], &none, now());
        let mut gone = diff(&down.announced, &[], &none, now());
        forget_unwatched(&mut gone, &["ollama.service".to_string()]);
        assert!(gone.cleared.is_empty(), "no longer watched is not cleared");
        assert!(gone.announced.is_empty());
        down = diff(&down.announced, &[], &none, now());
        forget_unwatched(&mut down, &["sshd.service".to_string()]);
        assert_eq!(
            down.cleared,
            ["SERVICE_DOWN:sshd.service"],
            "still watched: cleared"
        );
        assert_eq!(c.fired.len(), 1);
        assert!(c.cleared.is_empty());
        let again = diff(&c.announced, &[alert("CPU_HIGH")], &none, now());
        assert!(again.is_empty(), "no repeat: {again:?}");
        let gone = diff(&again.announced, &[], &none, now());
        assert_eq!(gone.cleared, vec!["CPU_HIGH".to_string()]);
        assert!(gone.announced.is_empty());
        assert!(diff(&gone.announced, &[], &none, now()).is_empty());
    }

    #[test]
    fn mutes_silence_new_alerts_only() {
        let mut mutes = BTreeMap::new();
        mutes.insert("SERVICE_DOWN".into(), "2026-11-25T20:00:00Z".into());
        let c = diff(
            &BTreeMap::new(),
            &[alert("SERVICE_DOWN:a.service")],
            &mutes,
            now(),
        );
        assert!(c.is_empty() && c.announced.is_empty());
        let later = parse_rfc3339("2026-11-25T20:00:01Z").unwrap();
        let c = diff(
            &BTreeMap::new(),
            &[alert("SERVICE_DOWN:a.service")],
            &mutes,
            later,
        );
        assert_eq!(c.fired.len(), 1);
        assert!(expire_mutes(&mut mutes, later) && mutes.is_empty());
    }

    #[test]
    fn stale_report_keeps_announced_and_adds_health_stale() {
        let mut announced = BTreeMap::new();
        announced.insert("RAM_HIGH".to_string(), "x".to_string());
        let r = report("2026-11-25T18:00:00Z");
        let act = active(Health::Report(&r), &announced, 180, now(), now());
        let codes: Vec<_> = act.iter().map(|a| a.code.as_str()).collect();
        assert_eq!(codes, vec!["RAM_HIGH", HEALTH_STALE]);
        let c = diff(&announced, &act, &BTreeMap::new(), now());
        assert_eq!(c.fired.len(), 1);
        assert_eq!(c.fired[0].code, HEALTH_STALE);
        assert!(c.cleared.is_empty());
        let fresh = active(
            Health::Report(&report("2026-11-25T19:00:30Z")),
            &c.announced,
            180,
            now(),
            now(),
        );
        let c2 = diff(&c.announced, &fresh, &BTreeMap::new(), now());
        assert!(c2.cleared.contains(&HEALTH_STALE.to_string()));
        assert!(c2.cleared.contains(&"RAM_HIGH".to_string()));
        assert_eq!(c2.fired[0].code, "CPU_HIGH");
    }

    #[test]
    fn a_missing_report_is_stale_only_after_the_grace_period() {
        let started = parse_rfc3339("2026-11-25T19:00:00Z").unwrap();
        assert!(active(Health::Missing, &BTreeMap::new(), 180, now(), started).is_empty());
        let later = parse_rfc3339("2026-11-25T19:03:01Z").unwrap();
        let act = active(Health::Missing, &BTreeMap::new(), 180, later, started);
        assert_eq!(act.len(), 1);
        assert_eq!(
            (act[0].code.as_str(), act[0].since.as_str()),
            (HEALTH_STALE, "never")
        );
    }

    #[test]
    fn an_unreadable_report_goes_stale_like_no_report() {
        // Alerts announced before the file went bad stay; HEALTH_STALE joins
        // them once the last good report is too old.
        let mut announced = BTreeMap::new();
        announced.insert("RAM_HIGH".to_string(), "x".to_string());
        let good = parse_rfc3339("2026-11-25T18:58:00Z").unwrap();
        let started = parse_rfc3339("2026-11-25T10:00:00Z").unwrap();
        let bad = Health::Unreadable {
            last_good: Some(good),
        };
        let fresh = active(bad, &announced, 180, now(), started);
        let codes: Vec<_> = fresh.iter().map(|a| a.code.as_str()).collect();
        assert_eq!(
            codes,
            vec!["RAM_HIGH"],
            "within stale_s of the last good one"
        );
        let later = parse_rfc3339("2026-11-25T19:01:01Z").unwrap();
        let act = active(bad, &announced, 180, later, started);
        let codes: Vec<_> = act.iter().map(|a| a.code.as_str()).collect();
        assert_eq!(codes, vec!["RAM_HIGH", HEALTH_STALE]);
        assert_eq!(act[1].since, "2026-11-25T18:58:00Z");
        // Unreadable since the bot started: stale after the grace period.
        let none = Health::Unreadable { last_good: None };
        let started = parse_rfc3339("2026-11-25T19:00:00Z").unwrap();
        assert!(active(none, &BTreeMap::new(), 180, now(), started).is_empty());
        let after_grace = parse_rfc3339("2026-11-25T19:03:01Z").unwrap();
        let act = active(none, &BTreeMap::new(), 180, after_grace, started);
        assert_eq!(
            (act[0].code.as_str(), act[0].since.as_str()),
            (HEALTH_STALE, "never")
        );
    }

    #[test]
    fn messages_and_buttons() {
        let t = texts(Lang::En);
        let none = Context::default();
        let html = fired_html(t, &alert("CPU_HIGH"), &none);
        assert!(html.contains("97") && html.contains("90"), "{html}");
        let data = |code: &str, ctx: &Context| -> Vec<String> {
            buttons(t, &alert(code), ctx)
                .into_iter()
                .map(|(_, d)| d)
                .collect()
        };
        let down = "SERVICE_DOWN:ollama.service";
        let may = Context {
            restartable: vec!["ollama.service".into()],
            ..Context::default()
        };
        assert_eq!(
            data(down, &may)[2..],
            ["r:ollama.service", "l:ollama.service"]
        );
        assert_eq!(
            data(down, &none)[2..],
            ["l:ollama.service"],
            "no restart when the rules forbid it"
        );
        assert_eq!(data("CPU_HIGH", &none)[2..], ["g:cpu"]);
        assert_eq!(data("TEMP_HIGH", &none)[2..], ["g:temp"]);
        assert_eq!(data("BACKUP_FAILED", &none)[2..], ["b:now"]);
        assert!(data("HEALTH_STALE", &none).len() == 2);
        let long = format!("SERVICE_DOWN:{}.service", "a".repeat(80));
        assert_eq!(
            buttons(t, &alert(&long), &none).len(),
            1,
            "over-long data is left out"
        );
        assert!(cleared_html(texts(Lang::Id), "CPU_HIGH").contains("CPU"));
    }

    #[test]
    fn a_verify_names_its_damaged_files_and_counts_the_rest() {
        let t = texts(Lang::En);
        let mut v = crate::files::backup::VerifySummary {
            id: "20261130T020000Z".into(),
            at: "2026-11-30T02:10:00Z".into(),
            status: "failed".into(),
            checked_files: 40,
            total_files: 40,
            sample_percent: None,
            problems: 12,
            coverage_percent: None,
            damaged: vec!["docs/<a>.txt".into(), "b\\n.bin".into()],
        };
        let s = damaged_list(t, &v);
        assert!(s.contains("<code>docs/&lt;a&gt;.txt</code>"), "{s}");
        assert!(s.contains("… and 10 more"), "{s}");
        v.problems = 2;
        assert!(!damaged_list(t, &v).contains("more"));
        v.damaged.clear();
        assert_eq!(damaged_list(t, &v), "");
    }

    #[test]
    fn backup_failures_say_why_and_stale_health_where_to_look() {
        let t = texts(Lang::Id);
        let ctx = Context {
            backup_error: Some("disk <penuh>".into()),
            ..Context::default()
        };
        let html = fired_html(t, &alert("BACKUP_FAILED"), &ctx);
        assert!(
            html.contains("Penyebab: <pre>disk &lt;penuh&gt;</pre>"),
            "{html}"
        );
        let html = fired_html(t, &alert("BACKUP_FAILED"), &Context::default());
        assert!(!html.contains("Penyebab"), "{html}");
        let html = fired_html(t, &alert(HEALTH_STALE), &Context::default());
        assert!(html.contains("potion-runner-health.timer"), "{html}");
    }
}
