//! Alerts people can live with (`docs/alerts.md`): the pure rules that decide whether
//! an alert change goes out now, waits, is folded into another message or is
//! dropped, plus when a reminder or a restart notice is due.
//!
//! - [`quiet`]: quiet hours (`QUIET_HOURS`), the critical codes that pass them
//!   (`ALERT_CRITICAL`), and the catch-up summary when the window ends.
//! - [`lease`]: which firings a running maintenance job holds, and what
//!   happens to them 2 minutes after it ends.
//! - [`flap`]: one message edited in place for a code that keeps changing.
//! - [`remind`]: `ALERT_REMIND` reminders with doubling gaps.
//! - [`restart`]: the "server restarted" notice, clean or not.
//!
//! **Invariant:** no I/O, no clock and no Telegram here. Time comes in as
//! values, state is `crate::files::notice::NoticeState` passed in by the bot,
//! and results are data that the bot's catalogue renders. Codes are plain
//! `&str` as `crate::alert_code::AlertCode` spells them.
//!
//! The bot applies the rules to each change in this order: a lease holds a
//! firing first, then quiet hours hold what is left, then the flapping
//! detector decides between a new message and an edit. Critical codes pass
//! both holds.

pub mod decide;
pub mod flap;
pub mod lease;
pub mod quiet;
pub mod remind;
pub mod restart;

use std::fmt;

use chrono::{DateTime, Utc};

use crate::validate::Invalid;

/// A setting that does not parse; the bot's catalogue renders each kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Not `HH:MM-HH:MM` (or `off`).
    NotAWindow(String),
    /// One end of the window is not a time of day; the reason is `validate::hhmm`'s.
    BadTime { raw: String, reason: Invalid },
    /// The window starts when it ends.
    EmptyWindow(String),
    /// Not an alert code family of `crate::alert_code::AlertCode`.
    UnknownCode(String),
    /// A code family with one code per unit, named without a unit or `:*`.
    NeedsUnit(String),
    /// The unit part of a code is not a valid unit name.
    BadUnit { raw: String, reason: Invalid },
    /// Not a whole number of minutes.
    NotMinutes(String),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::NotAWindow(s) => {
                write!(
                    f,
                    "{s:?} is not a time window; use HH:MM-HH:MM, e.g. 22:00-06:00, or off"
                )
            }
            ParseError::BadTime { reason, .. } => reason.fmt(f),
            ParseError::EmptyWindow(s) => write!(f, "{s:?} starts when it ends"),
            ParseError::UnknownCode(s) => write!(f, "{s:?} is not an alert code"),
            ParseError::NeedsUnit(s) => write!(f, "{s:?} needs a unit: {s}:<unit> or {s}:*"),
            ParseError::BadUnit { reason, .. } => reason.fmt(f),
            ParseError::NotMinutes(s) => write!(f, "{s:?} is not a number of minutes"),
        }
    }
}

impl std::error::Error for ParseError {}

/// Unix seconds as a time; out-of-range values (a hand-edited state file)
/// read as the epoch rather than failing.
fn at(unix: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(unix, 0).unwrap_or_default()
}
