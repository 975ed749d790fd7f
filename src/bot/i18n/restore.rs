//! The texts of `/restore`, in both languages (kept apart from
//! [`super::Texts`] so the restore side grows on its own). Templates use
//! `{name}` placeholders; values from outside are HTML-escaped before they go in.

use crate::config::Lang;

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

pub static ID: RestoreTexts = RestoreTexts {
    action: "memulihkan <code>{path}</code> dari snapshot <code>{id}</code> ke folder staging (file yang sedang dipakai tidak disentuh)",
    hint: "Cara pakai: <code>/restore &lt;id&gt; &lt;path&gt;</code>, misalnya <code>/restore {id} /opt/potion-runner/.env</code>. File dipulihkan ke folder staging di dalam folder backup, tidak menimpa apa pun.\nSnapshot terbaru:",
    list_line: "• <code>{id}</code> — {files} file, {size}",
    verify_failed: " ⚠️ verifikasi gagal",
    no_snapshots: "Belum ada snapshot, jadi belum ada yang bisa dipulihkan. Mulai backup dengan /backup_now.",
    index_unreadable: "Daftar snapshot tidak bisa dibaca ({err}); lihat /backup_list.",
    refused: "Tidak bisa memulihkan: {err}\nCara pakai: <code>/restore &lt;id&gt; &lt;path&gt;</code>; kirim /restore saja untuk melihat snapshot.",
    running: "⏳ Memulihkan <code>{path}</code> dari {id}… ({elapsed})",
    done: "✅ {files} file ({size}) dari snapshot {id} dipulihkan, semuanya dicek cocok dengan backup.\nLetaknya: <code>{dest}</code>\nFile yang sedang dipakai tidak disentuh; salin sendiri dari sana bila perlu.",
    failed: "❌ Pemulihan gagal: {err}",
    unavailable: "❌ Helper tidak bisa dijalankan: {err}",
};

pub static EN: RestoreTexts = RestoreTexts {
    action: "restore <code>{path}</code> from snapshot <code>{id}</code> into the staging folder (live files are not touched)",
    hint: "Usage: <code>/restore &lt;id&gt; &lt;path&gt;</code>, e.g. <code>/restore {id} /opt/potion-runner/.env</code>. Files go to a staging folder inside the backup folder and never replace anything.\nNewest snapshots:",
    list_line: "• <code>{id}</code> — {files} files, {size}",
    verify_failed: " ⚠️ verify failed",
    no_snapshots: "There are no snapshots yet, so there is nothing to restore. Start one with /backup_now.",
    index_unreadable: "The snapshot list cannot be read ({err}); see /backup_list.",
    refused: "Cannot restore: {err}\nUsage: <code>/restore &lt;id&gt; &lt;path&gt;</code>; send /restore alone to see the snapshots.",
    running: "⏳ Restoring <code>{path}</code> from {id}… ({elapsed})",
    done: "✅ Restored {files} files ({size}) from snapshot {id}, each checked against the backup.\nThey are in <code>{dest}</code>\nThe live files were not touched; copy from there what you need.",
    failed: "❌ The restore failed: {err}",
    unavailable: "❌ The helper could not be run: {err}",
};

/// The catalogue for a language.
pub fn restore_texts(lang: Lang) -> &'static RestoreTexts {
    match lang {
        Lang::Id => &ID,
        Lang::En => &EN,
    }
}

/// The catalogue in the language of a shared [`super::Texts`] (which does
/// not carry its language): used where only `Texts` is at hand, as in
/// `HelperAction::describe`.
pub fn restore_texts_like(t: &super::Texts) -> &'static RestoreTexts {
    if std::ptr::eq(t, super::texts(Lang::En)) {
        &EN
    } else {
        &ID
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_follows_the_shared_catalogue() {
        assert!(std::ptr::eq(
            restore_texts_like(super::super::texts(Lang::En)),
            &EN
        ));
        assert!(std::ptr::eq(
            restore_texts_like(super::super::texts(Lang::Id)),
            &ID
        ));
    }
}
