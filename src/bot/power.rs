//! The staged power response (`health::stage`), driven by the bot because
//! the health job cannot sudo. Each watcher look hands the report to
//! [`look`] inside the state write: an announcement goes into the outbox in
//! that same write, and a step that is due (stopping `POWER_SHED_UNITS`,
//! powering off) is recorded as done in `bot-state.json` before [`run`] asks
//! the helper, so neither a rescan nor a restart repeats it. `run` then tells
//! the admins what really happened, unit by unit, and audits each call.
//!
//! The clock is the report's `taken_at`, the time the battery was read: a
//! stale report never moves a step on, and a test controls the grace by the
//! times it writes. Off by default (`BATTERY_SHED=0`, `BATTERY_SHUTDOWN=0`).
//! Also here: the battery lines of the power alerts (how long `ON_BATTERY`
//! lasted; no reminders for `BATTERY_WORN`, which fires at most weekly).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use super::command::SvcVerb;
use super::helper::{self, HelperError};
use super::i18n::{SenseTexts, Texts};
use super::plan::HelperAction;
use super::text::{duration, esc, fill, num};
use super::{AuditResult, Shared, lock};
use crate::alert_code::AlertCode;
use crate::files::bot::{BotState, OutboxItem};
use crate::files::health::HealthReport;
use crate::files::notice::Transition;
use crate::files::parse_rfc3339;
use crate::health::stage::{self, GRACE, Memory, Settings, Step};
use crate::notice::decide::Out;

/// The steps waiting for the helper, and the wake-up of [`run`].
#[derive(Default)]
pub struct Runner {
    queue: Mutex<VecDeque<Step>>,
    wake: tokio::sync::Notify,
}

/// One look at the report (inside `update_state`, like the alert rules):
/// the next step of the stage, recorded in `st.power_stage`; an
/// announcement is queued for the admins, an action handed to [`run`].
pub fn look(shared: &Shared, t: &Texts, st: &mut BotState, report: Option<&HealthReport>) {
    let Some((power, now)) =
        report.and_then(|r| Some((r.power.as_ref()?, parse_rfc3339(&r.taken_at)?)))
    else {
        return;
    };
    let settings = Settings::from_config(&shared.config());
    let mut memory = Memory::from(&st.power_stage);
    let Some(step) = stage::stage(power, &settings, &memory, now) else {
        return;
    };
    memory.record(power, &step, now);
    st.power_stage = (&memory).into();
    match announcement(t.senses, &step) {
        Some(html) => {
            audit(shared, "power announce", &args_of(&step), &AuditResult::Ok);
            shared.enqueue(st, html, Vec::new());
        }
        None => {
            lock(&shared.power.queue).push_back(step);
            shared.power.wake.notify_one();
        }
    }
}

/// The message announcing a step, or none for a step that acts.
fn announcement(s: &SenseTexts, step: &Step) -> Option<String> {
    let minutes = GRACE.num_minutes().to_string();
    match step {
        Step::AnnounceShed { percent, units } => {
            let units: Vec<String> = units
                .iter()
                .map(|u| format!("<code>{}</code>", esc(u)))
                .collect();
            Some(fill(
                s.shed_announce,
                &[
                    ("percent", &num(*percent)),
                    ("units", &units.join(", ")),
                    ("minutes", &minutes),
                ],
            ))
        }
        Step::AnnouncePowerOff { percent } => Some(fill(
            s.off_announce,
            &[("percent", &num(*percent)), ("minutes", &minutes)],
        )),
        Step::Shed { .. } | Step::PowerOff => None,
    }
}

/// What a step is about, for its audit line.
fn args_of(step: &Step) -> String {
    match step {
        Step::AnnounceShed { percent, units } => format!("shed {} at {percent}%", units.join(",")),
        Step::AnnouncePowerOff { percent } => format!("power off at {percent}%"),
        Step::Shed { units } => units.join(","),
        Step::PowerOff => String::new(),
    }
}

/// Carries out the steps [`look`] hands over, one at a time (aborted at shutdown).
pub async fn run(shared: Arc<Shared>) {
    loop {
        shared.power.wake.notified().await;
        loop {
            let next = lock(&shared.power.queue).pop_front();
            let Some(step) = next else { break };
            let html = act(&shared, &step).await;
            let r = shared.update_state(|st| shared.enqueue(st, html, Vec::new()));
            if let Err(e) = r {
                log::error!("power: {e:#}");
            }
            shared.outbox_wake.notify_one();
        }
    }
}

/// Asks the helper for a step; the report of what happened (HTML).
async fn act(shared: &Shared, step: &Step) -> String {
    let s = shared.texts().senses;
    match step {
        Step::Shed { units } => {
            let mut lines = vec![s.shed_head.to_string()];
            for unit in units {
                let action = HelperAction::Svc {
                    verb: SvcVerb::Stop,
                    unit: unit.clone(),
                };
                let outcome = helper::run(&action).await;
                audit(shared, "svc stop", unit, &result_of(&outcome));
                lines.push(unit_line(s, unit, &outcome));
            }
            lines.join("\n")
        }
        Step::PowerOff => {
            let outcome = helper::run(&HelperAction::PowerOff).await;
            audit(shared, "power off", "", &result_of(&outcome));
            match outcome {
                Ok(()) => s.off_ok.to_string(),
                Err(e) => fill(s.off_failed, &[("err", &esc(&detail(&e)))]),
            }
        }
        Step::AnnounceShed { .. } | Step::AnnouncePowerOff { .. } => String::new(),
    }
}

fn unit_line(s: &SenseTexts, unit: &str, outcome: &Result<(), HelperError>) -> String {
    match outcome {
        Ok(()) => fill(s.shed_ok, &[("unit", &esc(unit))]),
        Err(e) => fill(
            s.shed_failed,
            &[("unit", &esc(unit)), ("err", &esc(&detail(e)))],
        ),
    }
}

fn detail(e: &HelperError) -> String {
    match e {
        HelperError::Missing(d) | HelperError::Failed(d) | HelperError::Refused(_, d) => d.clone(),
        HelperError::TimedOut => e.reason(),
    }
}

fn result_of(outcome: &Result<(), HelperError>) -> AuditResult {
    match outcome {
        Ok(()) => AuditResult::Ok,
        Err(e) => AuditResult::Failed(e.reason()),
    }
}

/// An audit line for what the bot did by itself (user 0, `potion-bot`).
fn audit(shared: &Shared, action: &str, args: &str, result: &AuditResult) {
    let path = shared.config().audit_log();
    let e = crate::audit::entry(0, Some("potion-bot"), action, args, &result.to_string());
    if let Err(err) = crate::audit::append(&path, &e) {
        log::error!("audit log: {err:#}");
    }
}

/// False for what the power alerts leave out: reminders of `BATTERY_WORN`,
/// a standing condition the health job raises at most once a week.
pub fn keep(o: &Out) -> bool {
    !matches!(o, Out::Reminder { code, .. } if code == AlertCode::BatteryWorn.as_str())
}

/// Adds to `ON_BATTERY`'s cleared message how long the machine ran on
/// battery: the health job's `on_battery_for_s` of the run mains came
/// back, else the time since the alert was announced.
pub fn add_battery_time(
    t: &Texts,
    o: &Out,
    report: Option<&HealthReport>,
    announced: &BTreeMap<String, String>,
    now: DateTime<Utc>,
    item: &mut OutboxItem,
) {
    let Out::Alert {
        code,
        change: Transition::Cleared,
        ..
    } = o
    else {
        return;
    };
    if code != AlertCode::OnBattery.as_str() {
        return;
    }
    let measured = report.and_then(|r| r.power.as_ref()?.on_battery_for_s);
    let since = || {
        let at = parse_rfc3339(announced.get(code)?)?;
        Some((now - at).num_seconds().max(0) as u64)
    };
    if let Some(secs) = measured.or_else(since) {
        item.html += "\n";
        item.html += &fill(t.senses.ran_on_battery, &[("for", &duration(secs))]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bot::i18n::texts;
    use crate::config::Lang;

    #[test]
    fn announcements_name_the_units_the_percent_and_the_grace() {
        let s = texts(Lang::En).senses;
        let shed = Step::AnnounceShed {
            percent: 20.0,
            units: vec!["ollama.service".into(), "<x>".into()],
        };
        let html = announcement(s, &shed).unwrap();
        assert!(html.contains("at 20%"), "{html}");
        assert!(
            html.contains("<code>ollama.service</code>, <code>&lt;x&gt;</code>"),
            "{html}"
        );
        assert!(
            html.contains("In 2 minutes") && html.contains("Plug the adapter"),
            "{html}"
        );
        let off = announcement(
            texts(Lang::Id).senses,
            &Step::AnnouncePowerOff { percent: 9.5 },
        );
        assert!(off.unwrap().contains("tinggal 9.5%"));
        assert_eq!(announcement(s, &Step::PowerOff), None);
        assert_eq!(announcement(s, &Step::Shed { units: vec![] }), None);
    }

    #[test]
    fn each_unit_says_its_own_outcome() {
        let s = texts(Lang::En).senses;
        let ok = unit_line(s, "a.service", &Ok(()));
        assert_eq!(ok, "  ✅ a.service stopped");
        let refused = unit_line(
            s,
            "b.service",
            &Err(HelperError::Failed("reason: not-allowed <b>".into())),
        );
        assert!(refused.contains("b.service not stopped: reason: not-allowed &lt;b&gt;"));
        assert_eq!(
            result_of(&Err(HelperError::Missing("sudo: no".into()))),
            AuditResult::Failed("helper unavailable: sudo: no".into())
        );
    }

    fn cleared(code: &str) -> Out {
        Out::Alert {
            code: code.into(),
            change: Transition::Cleared,
            after: None,
        }
    }

    fn item() -> OutboxItem {
        OutboxItem {
            seq: 0,
            chat_id: 0,
            html: "cleared".into(),
            buttons: Vec::new(),
            chart: None,
            code: None,
            edit: false,
        }
    }

    #[test]
    fn on_battery_cleared_says_how_long_it_lasted() {
        let t = texts(Lang::En);
        let now = parse_rfc3339("2026-11-25T20:00:00Z").unwrap();
        let mut report = crate::bot::view::tests::report("2026-11-25T20:00:00Z");
        report.power = Some(crate::files::health::PowerInfo {
            ac_online: Some(true),
            on_battery_for_s: Some(754),
            ..Default::default()
        });
        let announced =
            BTreeMap::from([("ON_BATTERY".to_string(), "2026-11-25T19:00:00Z".to_string())]);
        let mut it = item();
        add_battery_time(
            t,
            &cleared("ON_BATTERY"),
            Some(&report),
            &announced,
            now,
            &mut it,
        );
        assert_eq!(it.html, "cleared\nIt ran on battery for 12m 34s.");
        // The report that said so was missed: the announced time stands in.
        let mut it = item();
        add_battery_time(t, &cleared("ON_BATTERY"), None, &announced, now, &mut it);
        assert!(it.html.ends_with("for 1h 0m."), "{}", it.html);
        let mut it = item();
        add_battery_time(
            t,
            &cleared("CPU_HIGH"),
            Some(&report),
            &announced,
            now,
            &mut it,
        );
        assert_eq!(it.html, "cleared");
    }

    #[test]
    fn battery_worn_gets_no_reminders() {
        let since = parse_rfc3339("2026-11-25T19:00:00Z").unwrap();
        let reminder = |code: &str| Out::Reminder {
            code: code.into(),
            since,
            nth: 1,
        };
        assert!(!keep(&reminder("BATTERY_WORN")));
        assert!(keep(&reminder("ON_BATTERY")));
        assert!(keep(&cleared("BATTERY_WORN")));
    }
}
