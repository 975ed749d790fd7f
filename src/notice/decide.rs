//! The rules of this module applied together, so the bot asks one question
//! per alert change ([`on_change`]) and one on each periodic check ([`tick`])
//! and gets back what to send or edit, in order.
//!
//! A change goes through a maintenance lease first, then quiet hours, then
//! the flapping detector. The periodic check releases lease holds that
//! outlived their job (through quiet hours and the detector like any change),
//! sends the quiet-hours summary once the window is over, settles calm
//! flapping codes and sends the reminders that are due.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use super::quiet::{self, Critical, QuietHours, Summary};
use super::{flap, lease, remind};
use crate::files::lease::{Job, Lease};
use crate::files::notice::{NoticeState, Transition};

/// The owner's preferences (`QUIET_HOURS`, `ALERT_CRITICAL`, `ALERT_REMIND`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub quiet: Option<QuietHours>,
    pub critical: Critical,
    /// The first reminder gap; none is off.
    pub remind: Option<TimeDelta>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            quiet: None,
            critical: Critical::default(),
            remind: Some(TimeDelta::minutes(remind::DEFAULT_MINUTES.into())),
        }
    }
}

/// One thing for the bot to send or edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    /// The usual fired or cleared message; with the job a lease held it for,
    /// to be noted "during/after <job>".
    Alert {
        code: String,
        change: Transition,
        after: Option<Job>,
    },
    /// Edit the code's latest message: flapping, `count` changes, now `active` or not.
    Flapping {
        code: String,
        count: u32,
        active: bool,
    },
    /// A new message: the flapping code settled `active` or not.
    Settled { code: String, active: bool },
    /// The end of quiet hours; the headline says "quiet hours".
    Summary(Summary),
    /// Still active since `since`; `nth` reminder.
    Reminder {
        code: String,
        since: DateTime<Utc>,
        nth: u32,
    },
}

/// One alert change of `code` at `when`, seen at local time `now` with the
/// `leases` that exist now. None when it is held or says nothing new.
pub fn on_change<Tz: TimeZone>(
    st: &mut NoticeState,
    settings: &Settings,
    code: &str,
    change: Transition,
    when: DateTime<Utc>,
    now: &DateTime<Tz>,
    leases: &[Lease],
) -> Option<Out> {
    let utc = now.with_timezone(&Utc);
    let held = match change {
        Transition::Fired => lease::hold_fired(
            &mut st.lease_held,
            code,
            when,
            &settings.critical,
            leases,
            utc,
        ),
        Transition::Cleared => lease::drop_cleared(&mut st.lease_held, code),
    };
    if held {
        return None;
    }
    if change == Transition::Cleared {
        st.reminded.remove(code);
    }
    pass(st, settings, code, change, when, now, None)
}

/// Quiet hours, then the flapping detector, for a change no lease holds.
fn pass<Tz: TimeZone>(
    st: &mut NoticeState,
    settings: &Settings,
    code: &str,
    change: Transition,
    when: DateTime<Utc>,
    now: &DateTime<Tz>,
    after: Option<Job>,
) -> Option<Out> {
    let active = change == Transition::Fired;
    let quiet = settings.quiet.as_ref();
    if quiet::hold(
        &mut st.quiet_held,
        code,
        change,
        when,
        &settings.critical,
        quiet,
        now,
    ) {
        // Nothing is said now, but the detector must know the state, so the
        // first change after the window is compared with the truth.
        st.flaps.entry(code.to_string()).or_default().active = active;
        return None;
    }
    let f = st.flaps.entry(code.to_string()).or_default();
    match flap::change(f, active, now.with_timezone(&Utc)) {
        flap::FlapAction::Send => Some(Out::Alert {
            code: code.to_string(),
            change,
            after,
        }),
        flap::FlapAction::Edit { count, active } => Some(Out::Flapping {
            code: code.to_string(),
            count,
            active,
        }),
        flap::FlapAction::Settled { .. } | flap::FlapAction::Suppress => None,
    }
}

/// The periodic check at local time `now`. `active` holds every alert the bot
/// considers on and not muted, with when it began.
pub fn tick<Tz: TimeZone>(
    st: &mut NoticeState,
    settings: &Settings,
    now: &DateTime<Tz>,
    leases: &[Lease],
    active: &[(&str, DateTime<Utc>)],
) -> Vec<Out> {
    let utc = now.with_timezone(&Utc);
    let mut out = Vec::new();
    for r in lease::release(&mut st.lease_held, leases, utc) {
        out.extend(pass(
            st,
            settings,
            &r.code,
            Transition::Fired,
            r.fired_at,
            now,
            Some(r.job),
        ));
    }
    let codes: Vec<&str> = active.iter().map(|(c, _)| *c).collect();
    let summary = quiet::take_summary(&mut st.quiet_held, settings.quiet.as_ref(), now, &codes);
    // The summary lists what is still on, so a reminder next to it says nothing new.
    let quiet_now = summary.is_some()
        || settings
            .quiet
            .as_ref()
            .is_some_and(|q| q.contains(now.naive_local().time()));
    out.extend(summary.map(Out::Summary));
    for (code, f) in st.flaps.iter_mut() {
        // A non-critical code settles after quiet hours, with one message then.
        if quiet_now && !settings.critical.is_critical(code) {
            continue;
        }
        if let Some(flap::FlapAction::Settled { active }) = flap::tick(f, utc) {
            out.push(Out::Settled {
                code: code.clone(),
                active,
            });
        }
    }
    st.flaps.retain(|_, f| !flap::is_idle(f));
    out.extend(reminders(st, settings, quiet_now, utc, active));
    out
}

/// Reminders due at `now`. When `quiet` (inside quiet hours, or in the same
/// check as their summary) a non-critical one is counted but not sent, and
/// none is due while its code is flapping or held by a lease.
fn reminders(
    st: &mut NoticeState,
    settings: &Settings,
    quiet: bool,
    now: DateTime<Utc>,
    active: &[(&str, DateTime<Utc>)],
) -> Vec<Out> {
    st.reminded
        .retain(|c, _| active.iter().any(|(a, _)| a == c));
    let mut out = Vec::new();
    for (code, since) in active {
        let sent = st.reminded.get(*code).copied().unwrap_or(0);
        let flapping = st.flaps.get(*code).is_some_and(|f| f.flapping.is_some());
        let held = st.lease_held.iter().any(|h| h.code == *code);
        if flapping || held || !remind::due(*since, sent, settings.remind, now) {
            continue;
        }
        let nth = remind::passed(*since, settings.remind, now);
        st.reminded.insert(code.to_string(), nth);
        if !quiet || settings.critical.is_critical(code) {
            out.push(Out::Reminder {
                code: code.to_string(),
                since: *since,
                nth,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert_code::AlertCode;

    const CPU_HIGH: &str = AlertCode::CpuHigh.as_str();
    const DISK_ROOT_HIGH: &str = AlertCode::DiskRootHigh.as_str();
    const RAM_HIGH: &str = AlertCode::RamHigh.as_str();
    use Transition::{Cleared, Fired};
    use chrono::FixedOffset;

    /// Local time (UTC+7) on 2026-11-04, `secs` after 00:00.
    fn wib(h: u32, m: u32, secs: i64) -> DateTime<FixedOffset> {
        FixedOffset::east_opt(7 * 3600)
            .unwrap()
            .with_ymd_and_hms(2026, 11, 4, h, m, 0)
            .unwrap()
            + TimeDelta::seconds(secs)
    }

    /// Local time the next morning.
    fn morning(h: u32, m: u32) -> DateTime<FixedOffset> {
        wib(h, m, 0) + TimeDelta::days(1)
    }

    fn utc(t: DateTime<FixedOffset>) -> DateTime<Utc> {
        t.with_timezone(&Utc)
    }

    fn settings(quiet: &str, critical: &str, remind: &str) -> Settings {
        Settings {
            quiet: QuietHours::parse(quiet).unwrap(),
            critical: Critical::parse(critical).unwrap(),
            remind: remind::parse(remind).unwrap(),
        }
    }

    fn alert(code: &str, change: Transition) -> Option<Out> {
        Some(Out::Alert {
            code: code.into(),
            change,
            after: None,
        })
    }

    fn go(
        st: &mut NoticeState,
        s: &Settings,
        code: &str,
        change: Transition,
        now: DateTime<FixedOffset>,
    ) -> Option<Out> {
        on_change(st, s, code, change, utc(now), &now, &[])
    }

    #[test]
    fn quiet_hours_hold_cpu_pass_the_critical_disk_and_summarise_at_the_end() {
        let s = settings("22:00-06:00", "DISK_ROOT_HIGH", "0");
        let mut st = NoticeState::default();
        assert_eq!(go(&mut st, &s, CPU_HIGH, Fired, wib(23, 0, 0)), None);
        assert_eq!(
            go(&mut st, &s, DISK_ROOT_HIGH, Fired, wib(23, 1, 0)),
            alert(DISK_ROOT_HIGH, Fired)
        );
        // RAM fires and clears inside the window: it appears only in the summary.
        assert_eq!(go(&mut st, &s, RAM_HIGH, Fired, wib(23, 2, 0)), None);
        assert_eq!(go(&mut st, &s, RAM_HIGH, Cleared, wib(23, 3, 0)), None);
        let on = [
            (CPU_HIGH, utc(wib(23, 0, 0))),
            (DISK_ROOT_HIGH, utc(wib(23, 1, 0))),
        ];
        assert!(tick(&mut st, &s, &morning(5, 59), &[], &on).is_empty());
        let out = tick(&mut st, &s, &morning(6, 0), &[], &on);
        let [Out::Summary(sum)] = out.as_slice() else {
            panic!("{out:?}")
        };
        let codes: Vec<_> = sum.items.iter().map(|i| i.code.as_str()).collect();
        assert_eq!(codes, vec![CPU_HIGH, RAM_HIGH]);
        assert!(sum.items[0].active && !sum.items[1].active);
        assert_eq!(sum.items[1].cleared_at, Some(utc(wib(23, 3, 0))));
        assert_eq!(sum.still_active, vec![CPU_HIGH, DISK_ROOT_HIGH]);
        assert!(
            tick(&mut st, &s, &morning(6, 1), &[], &on).is_empty(),
            "once"
        );
        // CPU clears after the window: that is news, and it is told.
        assert_eq!(
            go(&mut st, &s, CPU_HIGH, Cleared, morning(7, 0)),
            alert(CPU_HIGH, Cleared)
        );
    }

    #[test]
    fn a_reminder_comes_after_one_gap_then_after_twice_the_gap() {
        let s = settings("", "", "1");
        let mut st = NoticeState::default();
        let since = utc(wib(12, 0, 0));
        assert_eq!(
            go(&mut st, &s, CPU_HIGH, Fired, wib(12, 0, 0)),
            alert(CPU_HIGH, Fired)
        );
        let on = [(CPU_HIGH, since)];
        let at = |secs| tick(&mut st.clone(), &s, &wib(12, 0, secs), &[], &on);
        assert!(at(59).is_empty());
        let reminder = |nth| Out::Reminder {
            code: CPU_HIGH.into(),
            since,
            nth,
        };
        assert_eq!(at(61), vec![reminder(1)]);
        assert_eq!(
            tick(&mut st, &s, &wib(12, 1, 1), &[], &on),
            vec![reminder(1)]
        );
        assert!(tick(&mut st, &s, &wib(12, 2, 59), &[], &on).is_empty());
        assert_eq!(
            tick(&mut st, &s, &wib(12, 3, 0), &[], &on),
            vec![reminder(2)]
        );
        // Cleared and fired again: the count starts over.
        go(&mut st, &s, CPU_HIGH, Cleared, wib(12, 4, 0));
        assert!(st.reminded.is_empty());
    }

    #[test]
    fn reminders_in_quiet_hours_are_skipped_unless_critical() {
        let s = settings("22:00-06:00", "DISK_ROOT_HIGH", "60");
        let mut st = NoticeState::default();
        let on = [
            (CPU_HIGH, utc(wib(21, 0, 0))),
            (DISK_ROOT_HIGH, utc(wib(21, 0, 0))),
        ];
        let out = tick(&mut st, &s, &wib(22, 30, 0), &[], &on);
        assert_eq!(
            out,
            vec![Out::Reminder {
                code: DISK_ROOT_HIGH.into(),
                since: on[1].1,
                nth: 1
            }]
        );
        assert_eq!(
            st.reminded.get(CPU_HIGH),
            Some(&1),
            "skipped, not postponed"
        );
        assert!(tick(&mut st, &s, &wib(22, 31, 0), &[], &on).is_empty());
    }

    #[test]
    fn twelve_quick_changes_make_at_most_four_new_messages() {
        let s = settings("", "", "0");
        let mut st = NoticeState::default();
        let outs: Vec<_> = (0..12)
            .filter_map(|i| {
                let change = if i % 2 == 0 { Fired } else { Cleared };
                go(&mut st, &s, CPU_HIGH, change, wib(12, 0, i * 2))
            })
            .collect();
        let new = outs
            .iter()
            .filter(|o| matches!(o, Out::Alert { .. }))
            .count();
        assert_eq!(new, 4);
        assert_eq!(
            outs.last(),
            Some(&Out::Flapping {
                code: CPU_HIGH.into(),
                count: 12,
                active: false
            })
        );
        assert!(tick(&mut st, &s, &wib(12, 10, 0), &[], &[]).is_empty());
        assert_eq!(
            tick(&mut st, &s, &wib(12, 15, 22), &[], &[]),
            vec![Out::Settled {
                code: CPU_HIGH.into(),
                active: false
            }]
        );
        assert!(st.flaps.is_empty(), "an idle record is dropped");
    }

    #[test]
    fn a_flapping_code_settles_after_quiet_hours_not_inside_them() {
        let s = settings("22:00-06:00", "", "0");
        let mut st = NoticeState::default();
        for i in 0..6 {
            let change = if i % 2 == 0 { Fired } else { Cleared };
            go(&mut st, &s, CPU_HIGH, change, wib(21, 50, i));
        }
        assert!(tick(&mut st, &s, &wib(23, 0, 0), &[], &[]).is_empty());
        assert_eq!(
            tick(&mut st, &s, &morning(6, 0), &[], &[]),
            vec![Out::Settled {
                code: CPU_HIGH.into(),
                active: false
            }]
        );
    }

    fn backup(from: DateTime<FixedOffset>, to: DateTime<FixedOffset>) -> Vec<Lease> {
        vec![Lease {
            schema: 1,
            boot_id: "b".into(),
            job: Job::Backup,
            since: from.timestamp(),
            expected_end: to.timestamp(),
            pid: 1,
        }]
    }

    #[test]
    fn a_backup_lease_swallows_cpu_that_clears_and_notes_cpu_that_outlives_it() {
        let s = settings("", "DISK_ROOT_HIGH", "0");
        let mut st = NoticeState::default();
        let leases = backup(wib(2, 0, 0), wib(3, 0, 0));
        let mut at = |code, change, now: DateTime<FixedOffset>| {
            on_change(&mut st, &s, code, change, utc(now), &now, &leases)
        };
        assert_eq!(at(CPU_HIGH, Fired, wib(2, 10, 0)), None);
        assert_eq!(at(CPU_HIGH, Cleared, wib(2, 20, 0)), None);
        assert_eq!(
            at(DISK_ROOT_HIGH, Fired, wib(2, 25, 0)),
            alert(DISK_ROOT_HIGH, Fired)
        );
        assert_eq!(at(RAM_HIGH, Fired, wib(2, 30, 0)), None);
        let on = [(RAM_HIGH, utc(wib(2, 30, 0)))];
        assert!(tick(&mut st, &s, &wib(2, 59, 0), &leases, &on).is_empty());
        assert!(
            tick(&mut st, &s, &wib(3, 0, 30), &[], &on).is_empty(),
            "2 minutes first"
        );
        assert_eq!(
            tick(&mut st, &s, &wib(3, 2, 30), &[], &on),
            vec![Out::Alert {
                code: RAM_HIGH.into(),
                change: Fired,
                after: Some(Job::Backup)
            }]
        );
        assert_eq!(
            go(&mut st, &s, RAM_HIGH, Cleared, wib(3, 5, 0)),
            alert(RAM_HIGH, Cleared)
        );
    }

    #[test]
    fn a_firing_released_in_quiet_hours_waits_for_the_summary() {
        let s = settings("01:00-06:00", "", "0");
        let mut st = NoticeState::default();
        let leases = backup(wib(2, 0, 0), wib(3, 0, 0));
        let now = wib(2, 10, 0);
        assert_eq!(
            on_change(&mut st, &s, CPU_HIGH, Fired, utc(now), &now, &leases),
            None
        );
        let on = [(CPU_HIGH, utc(now))];
        assert!(tick(&mut st, &s, &wib(3, 1, 0), &[], &on).is_empty());
        assert!(tick(&mut st, &s, &wib(3, 5, 0), &[], &on).is_empty());
        assert!(st.lease_held.is_empty());
        assert_eq!(st.quiet_held.len(), 1);
        let out = tick(&mut st, &s, &wib(6, 0, 0), &[], &on);
        assert!(
            matches!(&out[..], [Out::Summary(s)] if s.items[0].code == CPU_HIGH),
            "{out:?}"
        );
    }

    #[test]
    fn held_changes_and_counts_survive_a_bot_restart() {
        let s = settings("22:00-06:00", "", "60");
        let mut st = NoticeState::default();
        let leases = backup(wib(21, 0, 0), wib(23, 0, 0));
        let now = wib(22, 10, 0);
        assert_eq!(
            on_change(&mut st, &s, CPU_HIGH, Fired, utc(now), &now, &leases),
            None
        );
        assert_eq!(go(&mut st, &s, RAM_HIGH, Fired, now), None);
        let on = [(RAM_HIGH, utc(wib(20, 0, 0)))];
        tick(&mut st, &s, &now, &leases, &on);
        // The state goes to bot-state.json and comes back in a new process.
        let json = serde_json::to_string(&st).unwrap();
        let mut st: NoticeState = serde_json::from_str(&json).unwrap();
        assert_eq!(st.lease_held.len(), 1);
        assert_eq!(st.quiet_held.len(), 1);
        assert_eq!(
            st.reminded.get(RAM_HIGH),
            Some(&1),
            "the skipped reminder stays counted"
        );
        assert_eq!(
            on_change(&mut st, &s, CPU_HIGH, Cleared, utc(now), &now, &leases),
            None
        );
        let out = tick(&mut st, &s, &morning(6, 0), &[], &on);
        let [Out::Summary(sum)] = out.as_slice() else {
            panic!("{out:?}")
        };
        assert_eq!(
            sum.items.len(),
            1,
            "CPU was held by the lease, not by quiet hours"
        );
        assert_eq!(sum.items[0].code, RAM_HIGH);
        // The reminders that fell in the night were counted (21:00, 23:00, 03:00).
        assert_eq!(st.reminded.get(RAM_HIGH), Some(&3));
        assert!(tick(&mut st, &s, &morning(10, 59), &[], &on).is_empty());
        assert_eq!(
            tick(&mut st, &s, &morning(11, 0), &[], &on),
            vec![Out::Reminder {
                code: RAM_HIGH.into(),
                since: on[0].1,
                nth: 4
            }]
        );
    }
}
