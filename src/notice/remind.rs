//! Reminders for an alert that stays on (`ALERT_REMIND`, minutes, default 360,
//! 0 = off): the first after one gap, then each after twice the gap before
//! it, so with 6 h they come 6 h, 18 h and 42 h after the alert began.

use chrono::{DateTime, TimeDelta, Utc};

use super::ParseError;

/// `ALERT_REMIND` when it is not set, in minutes.
pub const DEFAULT_MINUTES: u32 = 360;

/// Longest first gap: four weeks. Longer is as good as off, and capping it
/// keeps every sum below far from overflowing.
pub const MAX_MINUTES: u32 = 28 * 24 * 60;

/// Parses `ALERT_REMIND`: whole minutes; 0 is off (none).
pub fn parse(raw: &str) -> Result<Option<TimeDelta>, ParseError> {
    let s = raw.trim();
    let minutes: u32 = s
        .parse()
        .ok()
        .filter(|m| *m <= MAX_MINUTES)
        .ok_or_else(|| ParseError::NotMinutes(s.to_string()))?;
    Ok((minutes > 0).then(|| TimeDelta::minutes(minutes.into())))
}

/// When reminder number `reminded + 1` is due for an alert active since
/// `since`; none when reminders are off or it lies beyond any sensible time.
pub fn next_reminder(
    since: DateTime<Utc>,
    reminded: u32,
    remind: Option<TimeDelta>,
) -> Option<DateTime<Utc>> {
    let gap = remind.filter(|g| *g > TimeDelta::zero())?;
    // The first gap, then doubling: gap × (2^(n+1) − 1) after `since`.
    let factor = 1i32
        .checked_shl(reminded.checked_add(1)?)
        .filter(|f| *f > 0)?
        - 1;
    since.checked_add_signed(gap.checked_mul(factor)?)
}

/// True when a reminder is due at `now`.
pub fn due(
    since: DateTime<Utc>,
    reminded: u32,
    remind: Option<TimeDelta>,
    now: DateTime<Utc>,
) -> bool {
    next_reminder(since, reminded, remind).is_some_and(|t| t <= now)
}

/// How many reminders lie at or before `now`: what to store after sending one,
/// so a bot that was down for a day sends one reminder, not a burst.
pub fn passed(since: DateTime<Utc>, remind: Option<TimeDelta>, now: DateTime<Utc>) -> u32 {
    let mut n = 0;
    while due(since, n, remind, now) {
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(hours: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + hours * 3600, 0).unwrap()
    }

    const SIX: Option<TimeDelta> = Some(TimeDelta::hours(6));

    #[test]
    fn the_setting_is_minutes_and_zero_is_off() {
        assert_eq!(parse("360").unwrap(), Some(TimeDelta::hours(6)));
        assert_eq!(parse(" 1 ").unwrap(), Some(TimeDelta::minutes(1)));
        assert_eq!(parse("0").unwrap(), None);
        for bad in ["", "-5", "1.5", "6h", "40321"] {
            assert!(
                matches!(parse(bad), Err(ParseError::NotMinutes(_))),
                "{bad}"
            );
        }
        assert!(parse(&MAX_MINUTES.to_string()).unwrap().is_some());
    }

    #[test]
    fn gaps_double_after_the_first() {
        let times: Vec<_> = (0..4)
            .map(|n| next_reminder(h(0), n, SIX).unwrap())
            .collect();
        assert_eq!(times, vec![h(6), h(18), h(42), h(90)]);
        assert_eq!(next_reminder(h(0), 0, None), None);
        assert_eq!(next_reminder(h(0), 0, Some(TimeDelta::zero())), None);
    }

    #[test]
    fn a_reminder_is_due_once_its_time_has_come() {
        assert!(!due(h(0), 0, SIX, h(6) - TimeDelta::seconds(1)));
        assert!(due(h(0), 0, SIX, h(6)));
        assert!(!due(h(0), 1, SIX, h(17)));
        assert!(due(h(0), 1, SIX, h(18)));
        assert!(!due(h(0), 0, None, h(1000)));
        let minute = Some(TimeDelta::minutes(1));
        assert!(due(h(0), 0, minute, h(0) + TimeDelta::seconds(61)));
    }

    #[test]
    fn after_a_long_outage_one_reminder_covers_the_missed_ones() {
        assert_eq!(passed(h(0), SIX, h(5)), 0);
        assert_eq!(passed(h(0), SIX, h(6)), 1);
        assert_eq!(passed(h(0), SIX, h(50)), 3);
        assert!(!due(h(0), passed(h(0), SIX, h(50)), SIX, h(50)));
        assert_eq!(passed(h(0), None, h(50)), 0);
    }

    #[test]
    fn far_future_counts_do_not_overflow() {
        assert_eq!(next_reminder(h(0), 40, SIX), None);
        assert_eq!(next_reminder(h(0), u32::MAX, SIX), None);
        let max = Some(TimeDelta::minutes(MAX_MINUTES.into()));
        let n = passed(h(0), max, DateTime::<Utc>::MAX_UTC);
        assert!(n > 5 && n < 32, "{n}");
    }
}
