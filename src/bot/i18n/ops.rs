//! Texts of the operations commands (issue 6: logs, network, updates) in
//! Bahasa Indonesia and English. Kept apart from the shared [`super::Texts`]
//! so the two catalogues grow without touching each other; both languages
//! fill the same [`OpsTexts`], so the compiler keeps them in step. Output of
//! the programs themselves (and the core's summaries of it) stays as printed.

use crate::bot::command::Command;
use crate::config::Lang;

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
    pub run_failed: &'static str,
}

pub static ID: OpsTexts = OpsTexts {
    ping_pick: "🏓 Host mana? Ketuk salah satu favorit, atau kirim <code>/ping host</code>.",
    ping_no_favourites: "🏓 Belum ada favorit di PING_HOSTS; kirim <code>/ping host</code>.",
    ping_title: "🏓 Ping",
    ip_title: "🌐 Jaringan",
    tailscale_title: "🔒 Tailscale",
    speed_title: "🚀 Tes kecepatan",
    journal_title: "📜 Jurnal {unit}",
    errors_title: "📜 Error sejak {since}",
    log_entries: "{n} entri",
    log_none: "tidak ada entri",
    log_unavailable: "jurnal tidak tersedia: {why}",
    log_hint: "catatan: {hint}",
    log_file_caption: "📎 {name} ({size} byte)",
    what_pip: "menyinkronkan venv Python (pip)",
    what_git: "menarik pembaruan repositori (git, fast-forward saja)",
    what_speed: "tes kecepatan internet",
    job_starting: "⏳ {what}: dimulai…",
    job_running: "⏳ {what}: berjalan {secs} detik",
    args: &[
        ("log_runtime", "[baris]"),
        ("log_journal", "<unit> [baris]"),
        ("log_errors", "[sejak: 30m|2h|1d|1w|today|yesterday]"),
        ("log_file", "[actions.log|actions.log.N]"),
        ("ping", "[host]"),
    ],
    job_ok: "✅ {what}: selesai dalam {secs} detik",
    job_failed: "❌ {what}: gagal setelah {secs} detik: {why}",
    job_timed_out: "⏱ {what}: tidak selesai dalam {secs} detik, jadi dihentikan",
    job_cancelled: "⏹ {what}: dibatalkan setelah {secs} detik karena bot berhenti",
    job_busy: "⏳ {what} masih berjalan; tunggu sampai selesai.",
    shutting_down: "Bot sedang berhenti; coba lagi setelah bot jalan kembali.",
    output_doc: "📄 Keluaran lengkap: {what}",
    output_truncated: " (keluaran paling awal dibuang)",
    restart_offer: "🔁 Restart layanan supaya pembaruannya dipakai? (ditanya Ya/Tidak dulu)",
    run_failed: "❌ Tidak bisa dijalankan: {err}",
};

pub static EN: OpsTexts = OpsTexts {
    ping_pick: "🏓 Which host? Tap a favourite, or send <code>/ping host</code>.",
    ping_no_favourites: "🏓 No favourites in PING_HOSTS; send <code>/ping host</code>.",
    ping_title: "🏓 Ping",
    ip_title: "🌐 Network",
    tailscale_title: "🔒 Tailscale",
    speed_title: "🚀 Speed test",
    journal_title: "📜 Journal of {unit}",
    errors_title: "📜 Errors since {since}",
    log_entries: "{n} entries",
    log_none: "no entries",
    log_unavailable: "journal unavailable: {why}",
    log_hint: "note: {hint}",
    log_file_caption: "📎 {name} ({size} bytes)",
    what_pip: "sync the Python venv (pip)",
    what_git: "pull the repositories (git, fast-forward only)",
    what_speed: "internet speed test",
    job_starting: "⏳ {what}: starting…",
    job_running: "⏳ {what}: running for {secs} s",
    args: &[
        ("log_runtime", "[lines]"),
        ("log_journal", "<unit> [lines]"),
        ("log_errors", "[since: 30m|2h|1d|1w|today|yesterday]"),
        ("log_file", "[actions.log|actions.log.N]"),
        ("ping", "[host]"),
    ],
    job_ok: "✅ {what}: done in {secs} s",
    job_failed: "❌ {what}: failed after {secs} s: {why}",
    job_timed_out: "⏱ {what}: no end within {secs} s, so it was stopped",
    job_cancelled: "⏹ {what}: cancelled after {secs} s because the bot is stopping",
    job_busy: "⏳ {what} is still running; wait for it to finish.",
    shutting_down: "The bot is stopping; try again once it is back.",
    output_doc: "📄 Full output: {what}",
    output_truncated: " (the oldest output was left out)",
    restart_offer: "🔁 Restart a service so it uses the update? (asks Yes/No first)",
    run_failed: "❌ Could not run that: {err}",
};

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

/// The operations catalogue for a language.
pub fn texts(lang: Lang) -> &'static OpsTexts {
    match lang {
        Lang::Id => &ID,
        Lang::En => &EN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usages_name_only_operations_commands() {
        for t in [&ID, &EN] {
            for (name, _) in t.args {
                let cmd = crate::bot::command::COMMANDS
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, c)| *c);
                assert!(cmd.is_some_and(|c| c.is_ops()), "{name}");
            }
            assert_eq!(t.args.len(), EN.args.len());
        }
        assert_eq!(
            EN.usage_of(Command::LogJournal),
            "/log_journal <unit> [lines]"
        );
        assert_eq!(ID.usage_of(Command::Ip), "/ip");
    }
}
