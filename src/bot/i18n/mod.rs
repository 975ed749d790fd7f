//! The message catalogue: every user-facing text of the bot (commands, alerts,
//! operations, restore, charts, the digest) lives in `id.rs` (Bahasa
//! Indonesia, the default) or `en.rs`. Both fill the same [`Texts`] struct
//! (with its parts defined in `ops.rs`, `restore.rs`, `charts.rs`,
//! `crate::chart` and `crate::digest`), so the compiler holds the two
//! languages to the same set of messages.
//! Templates use `{name}` placeholders filled by `text::fill`; values from
//! outside are HTML-escaped before they go in.

mod charts;
mod en;
mod errors;
mod id;
mod notice;
mod ops;
mod restore;
mod senses;
mod watch;

pub use charts::ChartTexts;
pub use errors::{ErrorTexts, OpsResults, Said, health_parts, pre};
pub use notice::NoticeTexts;
pub use ops::OpsTexts;
pub use restore::RestoreTexts;
pub use senses::SenseTexts;
pub use watch::WatchTexts;

use crate::alert_code::AlertCode;
use crate::chart::ChartLabels;
use crate::config::Lang;
use crate::digest::DigestTexts;

use super::command::{COMMANDS, Command, SvcVerb};

/// Every user-facing text of the bot, in one language.
pub struct Texts {
    pub welcome: &'static str,
    pub help_header: &'static str,
    pub help_footer: &'static str,
    /// `(command, arguments, description)` in menu order.
    pub commands: &'static [(&'static str, &'static str, &'static str)],
    /// Main-menu keyboard rows: button label and the command it runs.
    pub menu: &'static [&'static [(&'static str, Command)]],
    pub stranger: &'static str,
    /// `/svc` alone, above a restart button per watched unit.
    pub svc_pick: &'static str,
    /// No `ADMIN_IDS` yet: `{id}` of whoever wrote, `{env}` the `.env` path.
    pub setup_mode: &'static str,
    pub unknown_command: &'static str,
    pub plain_text: &'static str,
    /// A forwarded message is never run, even when it holds a command.
    pub forwarded: &'static str,
    pub usage: &'static str,
    pub invalid: &'static str,
    pub too_long: &'static str,

    pub no_data: &'static str,
    pub corrupt: &'static str,
    pub stale: &'static str,
    /// How local times are said (`text::when`).
    pub clock: super::text::ClockWords,
    pub l_cpu: &'static str,
    pub l_cores: &'static str,
    pub l_ram: &'static str,
    pub l_used: &'static str,
    pub l_disk: &'static str,
    pub l_temp: &'static str,
    pub l_uptime: &'static str,
    pub l_backup: &'static str,
    pub l_services: &'static str,
    pub l_active: &'static str,
    pub l_alerts: &'static str,
    pub l_muted: &'static str,
    pub l_snapshots: &'static str,
    pub l_files: &'static str,
    pub none: &'static str,
    pub unknown: &'static str,
    pub not_mounted: &'static str,
    pub no_sensor: &'static str,
    pub backup_age: &'static str,
    pub uptime: &'static str,
    pub no_alerts: &'static str,
    pub no_services: &'static str,
    pub no_snapshots: &'static str,
    pub new_bytes: &'static str,
    pub backup_outcome: &'static str,
    pub backup_progress: &'static str,
    pub backup_started: &'static str,
    pub backup_no_result: &'static str,
    /// The button under a crashed unit's reply that shows its journal.
    pub btn_logs: &'static str,
    pub verify_started: &'static str,
    /// `{elapsed}`.
    pub verify_running: &'static str,
    /// `{id}`, `{checked}`, `{total}`.
    pub verify_ok: &'static str,
    /// `{id}`, `{problems}`, `{checked}`, `{total}`.
    pub verify_damaged: &'static str,
    /// `{state}`: the verify unit's state.
    pub verify_no_result: &'static str,

    /// The name of an alert code family.
    pub alert_name: fn(AlertCode) -> &'static str,
    pub alert_service_down: &'static str,
    pub alert_stale_detail: &'static str,
    pub alert_value: &'static str,
    pub alert_fired: &'static str,
    pub alert_cleared: &'static str,
    pub btn_mute_1h: &'static str,
    pub btn_status: &'static str,
    pub btn_restart: &'static str,
    pub mute_set: &'static str,
    pub mute_lifted: &'static str,

    pub verbs: [&'static str; 3],
    pub action_svc: &'static str,
    pub action_backup: &'static str,
    pub action_verify: &'static str,
    pub action_timer: &'static str,
    pub action_apt_update: &'static str,
    pub action_apt_upgrade: &'static str,
    pub confirm_question: &'static str,
    pub btn_yes: &'static str,
    pub btn_no: &'static str,
    pub confirm_expired: &'static str,
    /// After a start/restart: the unit stayed up ({unit}).
    pub svc_running: &'static str,
    /// After a start: a oneshot ran and finished cleanly ({unit}).
    pub svc_finished: &'static str,
    /// After a start/restart: the unit crashed ({unit}, {state}); journal lines follow.
    pub svc_crashed: &'static str,
    /// After a start/restart: still not settled, or systemd could not be asked ({unit}, {state}).
    pub svc_unsettled: &'static str,
    /// `/backup_now` while a backup runs.
    pub backup_already_running: &'static str,
    /// A second press on a question that already has its answer.
    pub confirm_answered: &'static str,
    pub confirm_not_yours: &'static str,
    pub cancelled: &'static str,
    pub helper_ok: &'static str,

    pub svc_self_stop: &'static str,
    pub svc_not_whitelisted: &'static str,
    pub svc_already: &'static str,
    pub svc_not_listed: &'static str,
    pub threshold_set: &'static str,
    pub services_now: &'static str,
    pub backup_time_set: &'static str,
    pub env_missing: &'static str,
    pub env_failed: &'static str,
    /// Start-up notice: preferences in `.env` that loading ignored (`{list}`).
    pub prefs_ignored: &'static str,
    pub lang_set: &'static str,
    pub audit_empty: &'static str,
    pub audit_header: &'static str,

    /// Logs, network and updates.
    pub ops: OpsTexts,
    pub notice: NoticeTexts,
    pub restore: RestoreTexts,
    /// `/chart`'s buttons.
    pub charts: ChartTexts,
    /// Words drawn on charts and in their captions.
    pub chart: ChartLabels,
    pub digest: DigestTexts,
    /// Every refusal and failure that reaches chat (`errors.rs`).
    pub errors: &'static ErrorTexts,
    /// `/smart`, `/smart_ack` and the staged power response (`senses.rs`).
    pub senses: &'static SenseTexts,
    /// The watch list, alert context, `/audit` lines and typos.
    pub watch: &'static WatchTexts,
}

/// The catalogue for a language.
pub fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::Id => &id::TEXTS,
        Lang::En => &en::TEXTS,
    }
}

impl Texts {
    pub fn verb(&self, v: SvcVerb) -> &'static str {
        match v {
            SvcVerb::Start => self.verbs[0],
            SvcVerb::Stop => self.verbs[1],
            SvcVerb::Restart => self.verbs[2],
        }
    }

    /// Every command's line: the main list, then the senses' part.
    fn all_commands(&self) -> impl Iterator<Item = &(&'static str, &'static str, &'static str)> {
        self.commands.iter().chain(self.senses.commands)
    }

    /// `/name args` for a command.
    pub fn usage_of(&self, cmd: Command) -> String {
        let name = cmd.name();
        match self.all_commands().find(|(n, _, _)| *n == name) {
            Some((_, "", _)) | None => format!("/{name}"),
            Some((_, args, _)) => format!("/{name} {args}"),
        }
    }

    /// The one-line description of a command (for `/help` and the command menu).
    pub fn describe(&self, cmd: Command) -> &'static str {
        let name = cmd.name();
        self.all_commands()
            .find(|(n, _, _)| *n == name)
            .map(|(_, _, d)| *d)
            .unwrap_or("")
    }
}

/// `/help`: every command with its arguments and description (HTML).
pub fn help(t: &Texts) -> String {
    let mut s = format!("{}\n\n", t.help_header);
    for &(_, cmd) in COMMANDS {
        s += &format!(
            "{} — {}\n",
            super::text::esc(&t.usage_of(cmd)),
            t.describe(cmd)
        );
    }
    s += &format!("\n{}", t.help_footer);
    s
}

/// The command behind a main-menu button label, in either language.
pub fn menu_command(text: &str) -> Option<Command> {
    [&id::TEXTS, &en::TEXTS]
        .iter()
        .flat_map(|t| t.menu.iter().flat_map(|row| row.iter()))
        .find(|(label, _)| *label == text)
        .map(|(_, c)| *c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_is_described_in_both_languages() {
        for t in [&id::TEXTS, &en::TEXTS] {
            for (name, _) in COMMANDS {
                assert!(
                    t.all_commands().any(|(n, _, d)| n == name && !d.is_empty()),
                    "missing description for /{name}"
                );
            }
            assert_eq!(t.all_commands().count(), COMMANDS.len());
        }
    }

    #[test]
    fn menu_labels_map_back_to_commands() {
        for t in [&id::TEXTS, &en::TEXTS] {
            for row in t.menu {
                for (label, cmd) in *row {
                    assert_eq!(menu_command(label), Some(*cmd));
                }
            }
        }
        assert_eq!(menu_command("hello"), None);
    }

    #[test]
    fn help_lists_everything() {
        let h = help(texts(Lang::En));
        for (name, _) in COMMANDS {
            assert!(h.contains(&format!("/{name}")), "/{name} missing from help");
        }
        assert!(h.contains("&lt;unit&gt;"), "arguments are escaped: {h}");
    }
}
