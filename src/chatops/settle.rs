//! After a start or restart: follow the unit until it settles, so a reply
//! says "running" only for a unit that stayed up, and "failed" with the
//! journal's last lines for one that crashed. `systemctl start` returns as
//! soon as a simple service has forked; whether it survives is only seen
//! afterwards.

use std::time::{Duration, Instant};

use super::Exec;
use super::logs::{AllowedUnit, Journal, unit_journal};

/// How long a unit must stay active to count as running.
pub const STEADY: Duration = Duration::from_millis(1500);
/// How long to follow a unit at most.
pub const LIMIT: Duration = Duration::from_secs(8);
/// How often to look.
const EVERY: Duration = Duration::from_millis(200);
/// Journal lines shown with a failure.
pub const JOURNAL_LINES: usize = 10;

/// One reading of `systemctl show --property=ActiveState,SubState,Result`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnitState {
    pub active: String,
    pub sub: String,
    pub result: String,
}

impl UnitState {
    /// Parses `KEY=value` lines; unknown keys are ignored.
    pub fn parse(text: &str) -> Option<UnitState> {
        let mut s = UnitState::default();
        for line in text.lines() {
            match line.split_once('=') {
                Some(("ActiveState", v)) => s.active = v.to_string(),
                Some(("SubState", v)) => s.sub = v.to_string(),
                Some(("Result", v)) => s.result = v.to_string(),
                _ => {}
            }
        }
        (!s.active.is_empty()).then_some(s)
    }

    /// `active (running)`, the way `systemctl status` shows it.
    pub fn describe(&self) -> String {
        format!("{} ({})", self.active, self.sub)
    }
}

/// How a started unit ended up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// Active for at least [`STEADY`].
    Running,
    /// Ran and finished cleanly (a oneshot without `RemainAfterExit`).
    Finished,
    /// Failed, crashed into an auto-restart, or stopped with an error; the
    /// journal's last lines when they could be read.
    Failed {
        state: UnitState,
        journal: Option<Journal>,
    },
    /// Still starting (or could not be read) when [`LIMIT`] ran out.
    Unsettled { state: Option<UnitState> },
}

/// Decides one reading (pure): `Some` once the unit has settled.
pub fn judge(s: &UnitState, active_for: Duration) -> Option<Settled> {
    let crashed = s.active == "failed"
        || s.sub == "auto-restart"
        || (s.active == "inactive" && !s.result.is_empty() && s.result != "success");
    if crashed {
        return Some(Settled::Failed {
            state: s.clone(),
            journal: None,
        });
    }
    match s.active.as_str() {
        "inactive" => Some(Settled::Finished),
        "active" if active_for >= STEADY => Some(Settled::Running),
        _ => None,
    }
}

fn read(exec: &Exec, unit: &AllowedUnit) -> Option<UnitState> {
    show(exec, unit.as_str())
}

/// The state of one of potion-runner's own job units (a `paths` constant,
/// never chat text), e.g. to tell a verify that died without a result.
pub fn job_state(exec: &Exec, unit: &'static str) -> Option<UnitState> {
    show(exec, unit)
}

fn show(exec: &Exec, unit: &str) -> Option<UnitState> {
    let out = exec
        .cmd("systemctl", Duration::from_secs(5))
        .args(["show", "--property=ActiveState,SubState,Result", "--", unit])
        .run()
        .ok()?;
    if !out.success() {
        return None;
    }
    UnitState::parse(&out.stdout_lossy())
}

/// Follows `unit` (blocking; run it off the event loop) until it settles or
/// [`LIMIT`] passes. A failure carries the journal's last lines.
pub fn follow(exec: &Exec, unit: &AllowedUnit) -> Settled {
    let start = Instant::now();
    let mut active_since: Option<Instant> = None;
    let mut last = None;
    let mut unreadable = 0;
    while start.elapsed() < LIMIT {
        let Some(s) = read(exec, unit) else {
            // No systemd to ask (a container, a test): say so rather than wait.
            unreadable += 1;
            if unreadable >= 2 {
                break;
            }
            std::thread::sleep(EVERY);
            continue;
        };
        let now = Instant::now();
        let active_for = if s.active == "active" {
            now - *active_since.get_or_insert(now)
        } else {
            active_since = None;
            Duration::ZERO
        };
        match judge(&s, active_for) {
            Some(Settled::Failed { state, .. }) => {
                let journal = unit_journal(exec, unit, JOURNAL_LINES).ok();
                return Settled::Failed { state, journal };
            }
            Some(done) => return done,
            None => last = Some(s),
        }
        std::thread::sleep(EVERY);
    }
    Settled::Unsettled { state: last }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(active: &str, sub: &str, result: &str) -> UnitState {
        UnitState {
            active: active.into(),
            sub: sub.into(),
            result: result.into(),
        }
    }

    #[test]
    fn parses_systemctl_show() {
        let s =
            UnitState::parse("ActiveState=failed\nSubState=failed\nResult=exit-code\n").unwrap();
        assert_eq!(s, st("failed", "failed", "exit-code"));
        assert_eq!(s.describe(), "failed (failed)");
        assert!(UnitState::parse("Id=x\n").is_none());
    }

    #[test]
    fn crashes_are_failures_at_once() {
        for s in [
            st("failed", "failed", "exit-code"),
            st("activating", "auto-restart", "exit-code"),
            st("inactive", "dead", "signal"),
        ] {
            assert!(
                matches!(judge(&s, Duration::ZERO), Some(Settled::Failed { .. })),
                "{s:?}"
            );
        }
    }

    #[test]
    fn running_needs_to_stay_up() {
        let up = st("active", "running", "success");
        assert_eq!(judge(&up, Duration::from_millis(200)), None);
        assert_eq!(judge(&up, STEADY), Some(Settled::Running));
        assert_eq!(judge(&st("activating", "start", "success"), STEADY), None);
        assert_eq!(
            judge(&st("inactive", "dead", "success"), Duration::ZERO),
            Some(Settled::Finished)
        );
    }
}
