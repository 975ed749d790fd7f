//! The shape of `/restore`'s texts: a part of [`super::Texts`], filled in
//! `id.rs` and `en.rs`. Templates use `{name}` placeholders; values from
//! outside are HTML-escaped before they go in.

/// Every user-facing text of `/restore`, in one language.
pub struct RestoreTexts {
    /// What the Yes/No question asks about (goes into `confirm_question`'s `{what}`).
    pub action: &'static str,
    /// `/restore` without arguments: how to use it, then the newest snapshots.
    pub hint: &'static str,
    /// One snapshot of the hint list.
    pub list_line: &'static str,
    /// Put after a list line when the snapshot's latest verify failed.
    pub verify_failed: &'static str,
    /// No snapshot exists yet.
    pub no_snapshots: &'static str,
    /// `backups.json` could not be read: `{err}`.
    pub index_unreadable: &'static str,
    /// The arguments were refused: `{err}`.
    pub refused: &'static str,
    /// Shown in place of the question while the helper works.
    pub running: &'static str,
    /// Done: `{files}`, `{size}`, `{id}`, `{dest}`.
    pub done: &'static str,
    /// The helper refused or failed: `{err}`.
    pub failed: &'static str,
    /// sudo or the helper could not be run: `{err}`.
    pub unavailable: &'static str,
}
