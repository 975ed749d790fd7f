//! Flapping: a code that changes state more than [`LIMIT`] times within
//! [`WINDOW`] stops getting a message per change. The change that crosses the
//! line turns the code's latest message into a "flapping" message (an edit,
//! not a new message), later changes edit it with the count and the current
//! state, and once the code has been calm for [`WINDOW`] one final message
//! says where it settled. So a code makes at most [`LIMIT`] new messages in a
//! burst of any length, plus the settled one.

use chrono::{DateTime, TimeDelta, Utc};

use super::at;
use crate::files::notice::Flap;

/// How many changes within [`WINDOW`] still get a message each.
pub const LIMIT: usize = 4;

/// The span changes are counted over, and the calm that ends flapping.
pub const WINDOW: TimeDelta = TimeDelta::minutes(15);

/// What the bot does about one change, or about calm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlapAction {
    /// Not flapping: send this change's usual message.
    Send,
    /// Flapping: edit the code's latest message to say it is flapping,
    /// `count` changes so far, now `active` or not.
    Edit { count: u32, active: bool },
    /// Calm again after flapping: one new message with the state it settled in.
    Settled { active: bool },
    /// Not a change (the state it already had): nothing to say.
    Suppress,
}

/// Records that the code is now `active` (or not) at `when`.
pub fn change(flap: &mut Flap, active: bool, when: DateTime<Utc>) -> FlapAction {
    if flap.active == active && !flap.changes.is_empty() {
        return FlapAction::Suppress;
    }
    flap.active = active;
    let t = when.timestamp();
    flap.changes.retain(|c| at(*c) + WINDOW > when);
    flap.changes.push(t);
    if let Some(n) = flap.flapping.as_mut() {
        *n = n.saturating_add(1);
        return FlapAction::Edit { count: *n, active };
    }
    if flap.changes.len() > LIMIT {
        let count = u32::try_from(flap.changes.len()).unwrap_or(u32::MAX);
        flap.flapping = Some(count);
        return FlapAction::Edit { count, active };
    }
    FlapAction::Send
}

/// Called on the bot's periodic check: the settled message once a flapping code
/// has been calm for [`WINDOW`]. Forgets changes older than the window.
pub fn tick(flap: &mut Flap, now: DateTime<Utc>) -> Option<FlapAction> {
    flap.changes.retain(|c| at(*c) + WINDOW > now);
    if flap.flapping.is_none() || !flap.changes.is_empty() {
        return None;
    }
    flap.flapping = None;
    Some(FlapAction::Settled {
        active: flap.active,
    })
}

/// True when the record holds nothing worth keeping: inactive, not flapping
/// and no recent change, so the bot may drop it from its state.
pub fn is_idle(flap: &Flap) -> bool {
    !flap.active && flap.flapping.is_none() && flap.changes.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    fn is_new_message(a: &FlapAction) -> bool {
        matches!(a, FlapAction::Send | FlapAction::Settled { .. })
    }

    #[test]
    fn twelve_changes_in_half_a_minute_make_at_most_four_new_messages() {
        let mut f = Flap::default();
        let actions: Vec<_> = (0..12)
            .map(|i| change(&mut f, i % 2 == 0, s(i * 2)))
            .collect();
        assert_eq!(actions.iter().filter(|a| is_new_message(a)).count(), 4);
        assert_eq!(&actions[..4], &[FlapAction::Send; 4]);
        assert_eq!(
            actions[4],
            FlapAction::Edit {
                count: 5,
                active: true
            }
        );
        assert_eq!(
            actions[11],
            FlapAction::Edit {
                count: 12,
                active: false
            }
        );
        // Still flapping a moment later; settled after 15 calm minutes, once.
        assert_eq!(tick(&mut f, s(22) + WINDOW - TimeDelta::seconds(1)), None);
        assert_eq!(
            tick(&mut f, s(22) + WINDOW),
            Some(FlapAction::Settled { active: false })
        );
        assert_eq!(tick(&mut f, s(22) + WINDOW * 2), None);
        assert!(is_idle(&f));
    }

    #[test]
    fn four_changes_are_four_messages_and_slow_changes_never_flap() {
        let mut f = Flap::default();
        for i in 0..4 {
            assert_eq!(change(&mut f, i % 2 == 0, s(i)), FlapAction::Send);
        }
        let mut slow = Flap::default();
        for i in 0..20 {
            // Four minutes apart: at most four changes in any 15 minutes.
            let a = change(&mut slow, i % 2 == 0, s(i * 240));
            assert_eq!(a, FlapAction::Send, "change {i}");
            assert_eq!(tick(&mut slow, s(i * 240 + 60)), None);
        }
        assert!(slow.changes.len() <= LIMIT);
    }

    #[test]
    fn repeating_the_current_state_is_not_a_change() {
        let mut f = Flap::default();
        assert_eq!(change(&mut f, true, s(0)), FlapAction::Send);
        for i in 1..10 {
            assert_eq!(change(&mut f, true, s(i)), FlapAction::Suppress);
        }
        assert_eq!(f.changes, vec![s(0).timestamp()]);
        assert_eq!(change(&mut f, false, s(10)), FlapAction::Send);
        assert!(!is_idle(&f), "a recent change is kept");
        assert_eq!(
            tick(&mut f, s(10) + WINDOW),
            None,
            "never flapped: no settled message"
        );
        assert!(is_idle(&f));
    }

    #[test]
    fn a_code_that_settles_active_says_so_and_can_flap_again() {
        let mut f = Flap::default();
        for i in 0..5 {
            change(&mut f, i % 2 == 0, s(i));
        }
        assert_eq!(f.flapping, Some(5));
        assert_eq!(
            tick(&mut f, s(4) + WINDOW),
            Some(FlapAction::Settled { active: true })
        );
        assert!(!is_idle(&f), "still active");
        let later = s(4) + WINDOW * 2;
        let again: Vec<_> = (0..6)
            .map(|i| change(&mut f, i % 2 == 1, later + TimeDelta::seconds(i)))
            .collect();
        assert_eq!(again.iter().filter(|a| is_new_message(a)).count(), 4);
        assert_eq!(
            again[5],
            FlapAction::Edit {
                count: 6,
                active: true
            }
        );
    }

    #[test]
    fn changes_keep_the_flapping_message_alive_until_real_calm() {
        let mut f = Flap::default();
        for i in 0..5 {
            change(&mut f, i % 2 == 0, s(i));
        }
        // One change every ten minutes: never 15 calm minutes, so no settled message.
        for k in 1..6 {
            let t = s(4 + k * 600);
            assert_eq!(tick(&mut f, t - TimeDelta::seconds(1)), None);
            assert!(matches!(
                change(&mut f, k % 2 == 0, t),
                FlapAction::Edit { .. }
            ));
        }
        assert_eq!(f.flapping, Some(10));
    }
}
