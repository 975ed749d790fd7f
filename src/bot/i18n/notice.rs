//! The shape of the alert rules' texts (`docs/alerts.md`): a part of
//! [`super::Texts`], filled in `id.rs` and `en.rs`. Templates use `{name}`
//! placeholders; values from outside are HTML-escaped before they go in.

/// Quiet hours, reminders, flapping, leases and the restart notice, in one language.
pub struct NoticeTexts {
    /// Added under a fired alert a maintenance lease held: `{job}`.
    pub after_job: &'static str,
    /// A flapping code's message, edited in place: `{what}`, `{code}`, `{count}`, `{state}`.
    pub flapping: &'static str,
    /// The state of an alert: on.
    pub state_on: &'static str,
    /// The state of an alert: cleared.
    pub state_off: &'static str,
    /// A flapping code has been calm long enough: `{what}`, `{code}`, `{state}`.
    pub settled: &'static str,
    /// The catch-up summary's headline (says "quiet hours").
    pub summary_head: &'static str,
    /// A code that fired in the window: `{what}`, `{at}`, `{times}`.
    pub summary_fired: &'static str,
    /// A code that was already on before the window: `{what}`.
    pub summary_was_on: &'static str,
    /// Added when the code cleared: `{at}`.
    pub summary_cleared: &'static str,
    /// Added when the code is still on.
    pub summary_still: &'static str,
    /// Every code active now: `{list}`.
    pub summary_active: &'static str,
    /// Nothing is active now.
    pub summary_none_active: &'static str,
    /// A reminder: `{what}`, `{code}`, `{for}`.
    pub reminder: &'static str,
    /// The restart notice: `{back}`, `{last}`, `{gap}`, `{how}`.
    pub restarted: &'static str,
    /// A time or gap that is not known.
    pub unknown: &'static str,
    /// The previous boot ended with an orderly shutdown.
    pub clean: &'static str,
    /// No orderly shutdown was recorded.
    pub unclean: &'static str,
    /// `/quiet` saved: `{window}`.
    pub quiet_set: &'static str,
    /// `/quiet off` saved.
    pub quiet_off: &'static str,
    /// `/status` inside quiet hours: `{window}`, `{end}`.
    pub status_quiet: &'static str,
    /// `/status`, one line per active lease: `{job}`, `{since}`, `{end}`.
    pub status_lease: &'static str,
}
