//! "The server restarted": one notice per new `boot_id`, saying when the server
//! came back, the last report before it went away, the gap, and whether the
//! previous boot ended cleanly.
//!
//! A clean end is known only from the bot itself: it records a [`CleanStop`]
//! with its own boot's id when SIGTERM stops it. A record counts for the
//! previous boot only if it belongs to that boot and the stop came no more
//! than [`STOP_SLACK`] before that boot's last report; a bot stopped by hand
//! hours before a power cut does not make the power cut clean. A bot started
//! again in the same boot forgets its own record ([`forget_own_stop`]), since
//! whatever ends this boot later is not known to be clean.
//!
//! Once-only across bot restarts comes from `NoticeState::announced_boot`,
//! persisted with the outbox: [`announce`] sets it in the same state write that
//! queues the notice.

use chrono::{DateTime, TimeDelta, Utc};

use super::at;
use crate::files::notice::{CleanStop, NoticeState};

/// How long before the previous boot's last report the bot's clean stop may lie
/// and still vouch for the shutdown (the health timer keeps going for a moment
/// while the system stops).
pub const STOP_SLACK: TimeDelta = TimeDelta::minutes(5);

/// What the bot knows when it looks at a report.
#[derive(Debug, Clone, Copy)]
pub struct BootFacts<'a> {
    /// `boot_id` of the latest report.
    pub current: &'a str,
    /// When that boot's first report was written (or the boot time).
    pub came_back: DateTime<Utc>,
    /// The newest report from before the change, if any is known.
    pub last_before: Option<DateTime<Utc>>,
}

/// The notice, as data for the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartNotice {
    pub came_back: DateTime<Utc>,
    pub last_before: Option<DateTime<Utc>>,
    /// `came_back − last_before`, when both are known and in that order.
    pub gap: Option<TimeDelta>,
    /// The previous boot ended with the bot stopped by SIGTERM.
    pub clean: bool,
}

/// The notice to send for `facts`, if any: none for the boot already announced,
/// and none on the very first start (there is no previous boot to speak of).
pub fn restart_notice(state: &NoticeState, facts: &BootFacts) -> Option<RestartNotice> {
    let previous = state.announced_boot.as_deref()?;
    if previous == facts.current {
        return None;
    }
    let clean = state.clean_stop.as_ref().is_some_and(|s| {
        s.boot_id == previous
            && facts
                .last_before
                .is_none_or(|last| at(s.at) + STOP_SLACK >= last)
    });
    Some(RestartNotice {
        came_back: facts.came_back,
        last_before: facts.last_before,
        gap: facts
            .last_before
            .map(|last| facts.came_back - last)
            .filter(|g| *g >= TimeDelta::zero()),
        clean,
    })
}

/// Marks `boot_id` announced (or first seen); the previous boot's stop record is spent.
pub fn announce(state: &mut NoticeState, boot_id: &str) {
    if state
        .clean_stop
        .as_ref()
        .is_some_and(|s| s.boot_id != boot_id)
    {
        state.clean_stop = None;
    }
    state.announced_boot = Some(boot_id.to_string());
}

/// Records that SIGTERM stopped the bot in boot `own_boot` at `now`.
pub fn record_clean_stop(state: &mut NoticeState, own_boot: &str, now: DateTime<Utc>) {
    state.clean_stop = Some(CleanStop {
        boot_id: own_boot.to_string(),
        at: now.timestamp(),
    });
}

/// At the bot's start in boot `own_boot`: a stop record from this same boot
/// was a restart of the bot only, and says nothing about how the boot ends.
pub fn forget_own_stop(state: &mut NoticeState, own_boot: &str) {
    if state
        .clean_stop
        .as_ref()
        .is_some_and(|s| s.boot_id == own_boot)
    {
        state.clean_stop = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + minutes * 60, 0).unwrap()
    }

    fn facts(current: &str, last_before: Option<i64>) -> BootFacts<'_> {
        BootFacts {
            current,
            came_back: m(100),
            last_before: last_before.map(m),
        }
    }

    fn seen(boot: &str) -> NoticeState {
        let mut st = NoticeState::default();
        announce(&mut st, boot);
        st
    }

    #[test]
    fn first_start_and_the_same_boot_give_no_notice() {
        assert_eq!(
            restart_notice(&NoticeState::default(), &facts("a", None)),
            None
        );
        assert_eq!(restart_notice(&seen("a"), &facts("a", Some(99))), None);
    }

    #[test]
    fn a_new_boot_without_a_stop_record_was_not_clean() {
        let n = restart_notice(&seen("a"), &facts("b", Some(40))).unwrap();
        assert_eq!(
            n,
            RestartNotice {
                came_back: m(100),
                last_before: Some(m(40)),
                gap: Some(TimeDelta::minutes(60)),
                clean: false,
            }
        );
    }

    #[test]
    fn a_sigterm_at_shutdown_makes_the_restart_clean() {
        let mut st = seen("a");
        record_clean_stop(&mut st, "a", m(39));
        assert!(restart_notice(&st, &facts("b", Some(40))).unwrap().clean);
        assert!(restart_notice(&st, &facts("b", None)).unwrap().clean);
        // Another boot's record, or a stop long before the last report, does not count.
        let mut other = seen("a");
        record_clean_stop(&mut other, "z", m(39));
        assert!(!restart_notice(&other, &facts("b", Some(40))).unwrap().clean);
        let mut early = seen("a");
        record_clean_stop(&mut early, "a", m(40) - STOP_SLACK - TimeDelta::seconds(1));
        assert!(!restart_notice(&early, &facts("b", Some(40))).unwrap().clean);
    }

    #[test]
    fn the_notice_is_sent_once_even_across_bot_restarts() {
        let mut st = seen("a");
        record_clean_stop(&mut st, "a", m(39));
        assert!(restart_notice(&st, &facts("b", Some(40))).is_some());
        announce(&mut st, "b");
        assert_eq!(st.clean_stop, None, "the old boot's record is spent");
        // The bot restarts in boot b (SIGTERM, then start): still nothing to say.
        record_clean_stop(&mut st, "b", m(120));
        let json = serde_json::to_string(&st).unwrap();
        let mut st: NoticeState = serde_json::from_str(&json).unwrap();
        forget_own_stop(&mut st, "b");
        assert_eq!(st.clean_stop, None);
        assert_eq!(restart_notice(&st, &facts("b", Some(119))), None);
        // Then boot b ends in a power cut: unclean, even though the bot once stopped cleanly in it.
        assert!(!restart_notice(&st, &facts("c", Some(500))).unwrap().clean);
    }

    #[test]
    fn a_bot_started_before_the_new_boots_first_report_keeps_the_record() {
        // The bot starts in boot b while the newest report is still boot a's.
        let mut st = seen("a");
        record_clean_stop(&mut st, "a", m(39));
        forget_own_stop(&mut st, "b");
        assert_eq!(restart_notice(&st, &facts("a", Some(40))), None);
        assert!(restart_notice(&st, &facts("b", Some(40))).unwrap().clean);
    }

    #[test]
    fn a_clock_that_went_backwards_gives_no_gap() {
        let n = restart_notice(&seen("a"), &facts("b", Some(200))).unwrap();
        assert_eq!((n.last_before, n.gap), (Some(m(200)), None));
    }
}
