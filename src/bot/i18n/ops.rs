//! The shape of the operations commands' texts (logs, network, updates): a
//! part of [`super::Texts`], filled in `id.rs` and `en.rs`. Output of the
//! programs themselves stays as printed; their results are worded in `errors.rs`.

use crate::bot::command::Command;

/// Every user-facing text of the operations commands, in one language.
pub struct OpsTexts {
    pub ping_pick: &'static str,
    pub ping_no_favourites: &'static str,
    pub ping_title: &'static str,
    pub ip_title: &'static str,
    pub tailscale_title: &'static str,
    pub speed_title: &'static str,
    pub journal_title: &'static str,
    pub errors_title: &'static str,
    pub log_entries: &'static str,
    pub log_none: &'static str,
    pub log_unavailable: &'static str,
    pub log_hint: &'static str,
    pub log_file_caption: &'static str,
    pub what_pip: &'static str,
    pub what_git: &'static str,
    pub what_speed: &'static str,
    pub job_starting: &'static str,
    pub job_running: &'static str,
    /// `(command, arguments)` for the usage reply of each operations command.
    pub args: &'static [(&'static str, &'static str)],
    pub job_ok: &'static str,
    pub job_failed: &'static str,
    pub job_timed_out: &'static str,
    pub job_cancelled: &'static str,
    pub job_busy: &'static str,
    pub shutting_down: &'static str,
    pub output_doc: &'static str,
    pub output_truncated: &'static str,
    pub restart_offer: &'static str,
}

impl OpsTexts {
    /// `/name args` for the usage reply (commands without arguments: `/name`).
    pub fn usage_of(&self, cmd: Command) -> String {
        let name = cmd.name();
        match self.args.iter().find(|(n, _)| *n == name) {
            Some((_, args)) => format!("/{name} {args}"),
            None => format!("/{name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Lang;

    #[test]
    fn usages_name_only_operations_commands() {
        let (id, en) = (
            &super::super::texts(Lang::Id).ops,
            &super::super::texts(Lang::En).ops,
        );
        for t in [id, en] {
            for (name, _) in t.args {
                let cmd = crate::bot::command::COMMANDS
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, c)| *c);
                assert!(cmd.is_some_and(|c| c.is_ops()), "{name}");
            }
            assert_eq!(t.args.len(), en.args.len());
        }
        assert_eq!(
            en.usage_of(Command::LogJournal),
            "/log_journal <unit> [lines]"
        );
        assert_eq!(id.usage_of(Command::Ip), "/ip");
    }
}
