//! The alert rules of `docs/alerts.md` in the bot: the watcher hands every
//! fired and cleared change to `notice::decide::on_change` and calls
//! `notice::decide::tick` on each look; this file turns what they decide into
//! outbox items (in the same state write as the announced set), announces a
//! new boot once, records a clean stop on SIGTERM, takes the leases of the
//! jobs started from chat, and adds quiet hours and leases to `/status`.

use std::path::Path;

use chrono::{DateTime, Local, TimeDelta, Utc};

use crate::files::bot::{BotState, OutboxItem};
use crate::files::health::{Alert, HealthReport};
use crate::files::lease::{self, Job, Lease, LeaseGuard};
use crate::files::notice::Transition;
use crate::files::{parse_rfc3339, rfc3339};
use crate::notice::decide::{self, Out, Settings};
use crate::notice::quiet::Summary;
use crate::notice::restart::{self, BootFacts, RestartNotice};

use super::Shared;
use super::alerts;
use super::i18n::Texts;
use super::job::OpsJob;
use super::text::{duration, esc, fill};

/// The leases of this boot in `STATE_DIR`; none when they cannot be listed
/// (a lease nobody can read holds nothing).
pub fn leases(state_dir: &Path) -> Vec<Lease> {
    lease::read_all(state_dir).unwrap_or_else(|e| {
        log::debug!("no leases: {e:#}");
        Vec::new()
    })
}

/// One look of the watcher, after the diff: every change through
/// `on_change`, then `tick`, then the boot check. `active` is what the
/// health report says is on now (for the details of a released alert).
/// Runs inside `update_state` (the state lock is held); the watcher picks
/// the texts before it.
#[allow(clippy::too_many_arguments)] // the watcher's one call, each part named
pub fn apply(
    shared: &Shared,
    t: &Texts,
    st: &mut BotState,
    settings: &Settings,
    change: &alerts::Change,
    active: &[Alert],
    report: Option<&HealthReport>,
    leases: &[Lease],
    now: DateTime<Local>,
) {
    let utc = now.with_timezone(&Utc);
    let mut outs = Vec::new();
    for a in &change.fired {
        let code = &a.code;
        outs.extend(decide::on_change(
            &mut st.notice,
            settings,
            code,
            Transition::Fired,
            utc,
            &now,
            leases,
        ));
    }
    for code in &change.cleared {
        outs.extend(decide::on_change(
            &mut st.notice,
            settings,
            code,
            Transition::Cleared,
            utc,
            &now,
            leases,
        ));
    }
    let on: Vec<(&str, DateTime<Utc>)> = change
        .announced
        .iter()
        .filter(|(c, _)| !alerts::is_muted(c, &st.mutes, utc))
        .map(|(c, at)| (c.as_str(), parse_rfc3339(at).unwrap_or(utc)))
        .collect();
    outs.extend(decide::tick(&mut st.notice, settings, &now, leases, &on));
    outs.retain(super::power::keep);
    // Only looks that announce something read the backup outcome and the rules.
    let ctx = if outs.is_empty() {
        alerts::Context::default()
    } else {
        alerts::Context::read(&shared.config(), active.iter().chain(&change.fired))
    };
    for o in outs {
        let alert = |code: &str| {
            active
                .iter()
                .chain(change.fired.iter())
                .find(|a| a.code == code)
                .cloned()
                .unwrap_or_else(|| Alert {
                    code: code.to_string(),
                    since: rfc3339(utc),
                    value: None,
                    threshold: None,
                })
        };
        let mut item = render(t, &o, alert, utc, &ctx);
        super::power::add_battery_time(t, &o, report, &st.announced, utc, &mut item);
        shared.enqueue_item(st, item);
    }
    if let Some(r) = report {
        boot(shared, t, st, r);
    }
    super::power::look(shared, t, st, report);
    // Message ids are kept only while an edit may still need them.
    let keep = |c: &String| change.announced.contains_key(c) || st.notice.flaps.contains_key(c);
    let keep: Vec<String> = st.sent.keys().filter(|c| keep(c)).cloned().collect();
    st.sent.retain(|c, _| keep.contains(c));
}

fn item(html: String, code: Option<&str>, edit: bool) -> OutboxItem {
    OutboxItem {
        seq: 0,
        chat_id: 0,
        html,
        buttons: Vec::new(),
        chart: None,
        code: code.map(str::to_string),
        edit,
    }
}

/// The outbox item for one decision.
fn render(
    t: &Texts,
    o: &Out,
    alert: impl Fn(&str) -> Alert,
    now: DateTime<Utc>,
    ctx: &alerts::Context,
) -> OutboxItem {
    let n = &t.notice;
    let state = |on: bool| if on { n.state_on } else { n.state_off };
    match o {
        Out::Alert {
            code,
            change: Transition::Fired,
            after,
        } => {
            let a = alert(code);
            let mut html = alerts::fired_html(t, &a, ctx);
            if let Some(job) = after {
                html += &fill(n.after_job, &[("job", &job_label(job))]);
            }
            OutboxItem {
                buttons: alerts::buttons(t, &a, ctx),
                chart: super::charts::alert_chart(code, now.timestamp()),
                ..item(html, Some(code), false)
            }
        }
        Out::Alert { code, .. } => item(alerts::cleared_html(t, code), Some(code), false),
        Out::Flapping {
            code,
            count,
            active,
        } => {
            let html = fill(
                n.flapping,
                &[
                    ("what", &alerts::title(t, code)),
                    ("code", &esc(code)),
                    ("count", &count.to_string()),
                    ("state", state(*active)),
                ],
            );
            item(html, Some(code), true)
        }
        Out::Settled { code, active } => {
            let html = fill(
                n.settled,
                &[
                    ("what", &alerts::title(t, code)),
                    ("code", &esc(code)),
                    ("state", state(*active)),
                ],
            );
            item(html, Some(code), false)
        }
        Out::Summary(s) => item(summary_html(t, s), None, false),
        Out::Reminder { code, since, .. } => {
            let on_for = (now - *since).num_seconds().max(0) as u64;
            let html = fill(
                n.reminder,
                &[
                    ("what", &alerts::title(t, code)),
                    ("code", &esc(code)),
                    ("for", &duration(on_for)),
                ],
            );
            item(html, None, false)
        }
    }
}

/// `backup`, `svc_restart nginx.service`, as code.
fn job_label(job: &Job) -> String {
    match job.unit() {
        Some(u) => format!("<code>{} {}</code>", job.name(), esc(u)),
        None => format!("<code>{}</code>", job.name()),
    }
}

/// A time as the server's local `HH:MM`.
fn hm(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%H:%M").to_string()
}

/// A time as the server's local date and `HH:MM`.
fn day_hm(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string()
}

/// The catch-up message at the end of quiet hours.
pub fn summary_html(t: &Texts, s: &Summary) -> String {
    let n = &t.notice;
    let mut out = format!("{}\n", n.summary_head);
    for i in &s.items {
        let what = alerts::title(t, &i.code);
        let mut line = match i.first_fired {
            Some(at) => {
                let times = if i.times_fired > 1 {
                    format!(" ({}×)", i.times_fired)
                } else {
                    String::new()
                };
                fill(
                    n.summary_fired,
                    &[("what", &what), ("at", &hm(at)), ("times", &times)],
                )
            }
            None => fill(n.summary_was_on, &[("what", &what)]),
        };
        match i.cleared_at {
            Some(at) => line += &fill(n.summary_cleared, &[("at", &hm(at))]),
            None if i.active => line += n.summary_still,
            None => {}
        }
        out += &line;
        out.push('\n');
    }
    if s.still_active.is_empty() {
        out += n.summary_none_active;
    } else {
        let list: Vec<String> = s.still_active.iter().map(|c| alerts::title(t, c)).collect();
        out += &fill(n.summary_active, &[("list", &list.join(", "))]);
    }
    out
}

/// The restart notice.
pub fn restart_html(t: &Texts, r: &RestartNotice) -> String {
    let n = &t.notice;
    let gap = r
        .gap
        .map(|g| duration(g.num_seconds().max(0) as u64))
        .unwrap_or_else(|| n.unknown.to_string());
    let last = r.last_before.map_or_else(|| n.unknown.to_string(), day_hm);
    fill(
        n.restarted,
        &[
            ("back", &day_hm(r.came_back)),
            ("last", &last),
            ("gap", &gap),
            ("how", if r.clean { n.clean } else { n.unclean }),
        ],
    )
}

/// A report from a boot not yet announced queues the restart notice (none
/// on the very first start) and marks the boot announced in the same write;
/// a report of the announced boot moves its last-report time on. The last
/// report before the restart is the newer of the last one the bot saw and
/// the last history sample before the boot (the bot may have been stopped
/// hours before the power went, and then its clean stop vouches for nothing).
fn boot(shared: &Shared, t: &Texts, st: &mut BotState, r: &HealthReport) {
    let (Some(id), Some(taken)) = (r.boot_id.as_deref(), parse_rfc3339(&r.taken_at)) else {
        return;
    };
    let n = &mut st.notice;
    if n.announced_boot.as_deref() == Some(id) {
        n.last_report = n.last_report.max(Some(taken.timestamp()));
        return;
    }
    let came_back = taken - TimeDelta::seconds(i64::try_from(r.uptime_s).unwrap_or(0));
    // The health job kept writing while the bot was stopped: its history
    // knows the real last report of the previous boot better than we do.
    let history = shared.config().state_dir.join(crate::paths::HISTORY);
    let samples = crate::history::read(&history).unwrap_or_else(|e| {
        log::warn!("{e:#}");
        Vec::new()
    });
    let last = n
        .last_report
        .max(newest_before(&samples, came_back.timestamp()));
    let facts = BootFacts {
        current: id,
        came_back,
        last_before: last.and_then(|s| DateTime::from_timestamp(s, 0)),
    };
    let notice = restart::restart_notice(n, &facts);
    restart::announce(n, id);
    n.last_report = Some(taken.timestamp());
    if let Some(notice) = notice {
        let html = restart_html(t, &notice);
        shared.enqueue_item(st, item(html, None, false));
    }
}

/// The newest history sample before `t` (unix seconds).
fn newest_before(samples: &[crate::history::Sample], t: i64) -> Option<i64> {
    samples.iter().map(|s| s.t).filter(|&s| s < t).max()
}

/// At start, after the first look: a clean-stop record of this same boot was
/// only a restart of the bot and says nothing about how this boot ends.
pub fn forget_own_stop(shared: &Shared) {
    let Ok(own) = lease::boot_id() else { return };
    if let Err(e) = shared.update_state(|st| restart::forget_own_stop(&mut st.notice, &own)) {
        log::warn!("{e:#}");
    }
}

/// On SIGTERM: the stop is orderly; the next boot's notice says so.
pub fn record_clean_stop(shared: &Shared) {
    let own = match lease::boot_id() {
        Ok(b) => b,
        Err(e) => return log::warn!("clean stop not recorded: {e:#}"),
    };
    let now = Utc::now();
    if let Err(e) = shared.update_state(|st| restart::record_clean_stop(&mut st.notice, &own, now))
    {
        log::warn!("clean stop not recorded: {e:#}");
    }
}

/// Takes the lease of a job started from chat until `expected` from now;
/// the guard ends it. A lease that cannot be written is logged: the job runs
/// anyway and its alerts simply are not held.
pub fn take_lease(shared: &Shared, job: Job, expected: std::time::Duration) -> Option<LeaseGuard> {
    let expected = TimeDelta::from_std(expected).unwrap_or(lease::MAX_SPAN);
    lease::take(&shared.config().state_dir, job, expected)
        .inspect_err(|e| log::warn!("{e:#}"))
        .ok()
}

/// The lease kind of an operations job, if it takes one.
pub fn ops_lease(job: &OpsJob) -> Option<Job> {
    match job {
        OpsJob::AptUpgrade => Some(Job::AptUpgrade),
        OpsJob::Pip(_) => Some(Job::PipSync),
        OpsJob::Git(_) => Some(Job::GitPull),
        OpsJob::AptUpdate | OpsJob::Speed => None,
    }
}

/// `/status` lines: the quiet-hours window while it is on, and each active lease.
pub fn status_lines(t: &Texts, shared: &Shared, now: DateTime<Local>) -> String {
    let cfg = shared.config();
    let n = &t.notice;
    let mut s = String::new();
    if let Some(q) = cfg.notice.quiet
        && let Some(end) = q.window_end(&now)
    {
        let end = end.format("%H:%M").to_string();
        let window = q.to_string();
        s += &fill(n.status_quiet, &[("window", &window), ("end", &end)]);
        s.push('\n');
    }
    let utc = now.with_timezone(&Utc);
    for l in leases(&cfg.state_dir).iter().filter(|l| l.is_held(utc)) {
        let at = |s: i64| DateTime::from_timestamp(s, 0).map_or_else(String::new, hm);
        s += &fill(
            n.status_lease,
            &[
                ("job", &job_label(&l.job)),
                ("since", &at(l.since)),
                ("end", &at(l.expected_end)),
            ],
        );
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bot::i18n::texts;
    use crate::config::Lang;
    use crate::notice::quiet::SummaryItem;

    fn at(s: &str) -> DateTime<Utc> {
        parse_rfc3339(s).unwrap()
    }

    fn no_alert(code: &str) -> Alert {
        Alert {
            code: code.into(),
            since: "2026-11-30T01:00:00Z".into(),
            value: Some(97.0),
            threshold: Some(90.0),
        }
    }

    #[test]
    fn every_decision_reads_in_both_languages() {
        let now = at("2026-11-30T07:00:00Z");
        let summary = Out::Summary(Summary {
            items: vec![
                SummaryItem {
                    code: "CPU_HIGH".into(),
                    first_fired: Some(at("2026-11-30T01:00:00Z")),
                    times_fired: 2,
                    cleared_at: None,
                    active: true,
                },
                SummaryItem {
                    code: "RAM_HIGH".into(),
                    first_fired: Some(at("2026-11-30T02:00:00Z")),
                    times_fired: 1,
                    cleared_at: Some(at("2026-11-30T02:05:00Z")),
                    active: false,
                },
            ],
            still_active: vec!["CPU_HIGH".into()],
        });
        let reminder = Out::Reminder {
            code: "CPU_HIGH".into(),
            since: at("2026-11-30T01:00:00Z"),
            nth: 1,
        };
        let flapping = Out::Flapping {
            code: "CPU_HIGH".into(),
            count: 7,
            active: false,
        };
        let released = Out::Alert {
            code: "CPU_HIGH".into(),
            change: Transition::Fired,
            after: Some(Job::Backup),
        };
        let en = texts(Lang::En);
        let id = texts(Lang::Id);
        let html = |t, o: &Out| render(t, o, no_alert, now, &alerts::Context::default());
        let s = html(en, &summary);
        assert!(
            s.html.contains("quiet hours") && s.html.contains("(2×)"),
            "{}",
            s.html
        );
        assert!(s.html.contains("still on") && s.html.contains("cleared at"));
        assert!(s.code.is_none() && !s.edit);
        let r = html(en, &reminder);
        assert!(
            r.html.contains("still") && r.html.contains("6h 0m"),
            "{}",
            r.html
        );
        let f = html(en, &flapping);
        assert!(f.edit && f.code.as_deref() == Some("CPU_HIGH"));
        assert!(f.html.contains("7 changes, now cleared"), "{}", f.html);
        let a = html(en, &released);
        assert!(
            a.html.contains("during/after <code>backup</code>"),
            "{}",
            a.html
        );
        assert!(!a.buttons.is_empty() && !a.edit);
        for o in [&summary, &reminder, &flapping, &released] {
            assert_ne!(html(en, o).html, html(id, o).html, "{o:?}");
        }
        assert!(html(id, &summary).html.contains("Jam tenang"));
        assert!(html(id, &reminder).html.contains("masih aktif"));
    }

    #[test]
    fn the_restart_notice_tells_clean_from_unclean() {
        let mut n = RestartNotice {
            came_back: at("2026-11-30T07:00:00Z"),
            last_before: Some(at("2026-11-30T06:00:00Z")),
            gap: Some(TimeDelta::hours(1)),
            clean: true,
        };
        let en = texts(Lang::En);
        let clean = restart_html(en, &n);
        assert!(
            clean.contains(en.notice.clean) && clean.contains("1h 0m"),
            "{clean}"
        );
        n.clean = false;
        n.last_before = None;
        n.gap = None;
        let crash = restart_html(en, &n);
        assert!(
            crash.contains(en.notice.unclean) && crash.contains("unknown"),
            "{crash}"
        );
        let id = texts(Lang::Id);
        assert!(restart_html(id, &n).contains(id.notice.unclean));
    }

    #[test]
    fn the_last_report_before_a_boot_comes_from_the_history_too() {
        let sample = |t| crate::history::Sample {
            t,
            cpu: 1.0,
            ram: 1.0,
            swap: 0.0,
            disk_root: 1.0,
            disk_data: f32::NAN,
            temp: f32::NAN,
            load1: 0.1,
            alerts: 0,
            probe_ms: f32::NAN,
        };
        let h = [sample(100), sample(160), sample(220), sample(400)];
        assert_eq!(newest_before(&h, 300), Some(220));
        assert_eq!(newest_before(&h, 100), None);
        assert_eq!(newest_before(&[], 300), None);
    }

    #[test]
    fn chat_jobs_that_load_the_machine_take_a_lease() {
        assert_eq!(ops_lease(&OpsJob::AptUpgrade), Some(Job::AptUpgrade));
        assert_eq!(ops_lease(&OpsJob::Git(Vec::new())), Some(Job::GitPull));
        assert_eq!(ops_lease(&OpsJob::AptUpdate), None);
        assert_eq!(ops_lease(&OpsJob::Speed), None);
    }
}
