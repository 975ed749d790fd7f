//! The watch list's, the alerts' context and the human audit lines' texts
//! (issue #15): the shape and both languages in one part of
//! [`super::Texts`]. Templates use `{name}` placeholders; values from outside
//! are HTML-escaped before they go in.

/// Texts for `/svc_add` and `/svc` refusals, alert context and buttons,
/// `/audit` lines, typos and the damaged files of a verify.
pub struct WatchTexts {
    /// `/svc_add` of a unit systemd does not know: `{unit}`, `{state}` (its load state).
    pub add_missing: &'static str,
    /// `/svc_add` while systemd could not be asked: `{unit}`.
    pub add_unchecked: &'static str,
    /// Saved, but the helper's rules forbid controlling it: `{unit}`, `{why}`.
    pub add_watch_only: &'static str,
    /// Saved and controllable (said after the new list): `{unit}`.
    pub add_controllable: &'static str,
    /// A `/svc` refusal before any question: `{unit}`, `{verb}`, `{why}`.
    pub svc_refused: &'static str,
    /// A watched unit systemd does not know (`/svc`): `{unit}`, `{state}`.
    pub svc_missing: &'static str,
    /// Why: the unit is on the built-in denylist (or an alias of one).
    pub why_protected: &'static str,
    /// Why: not in the root-owned allowlist.
    pub why_not_allowed: &'static str,
    /// Why: the allowlist exists but cannot be trusted or read.
    pub why_allowlist_broken: &'static str,
    /// Why: any other refusal of the helper's rules.
    pub why_other: &'static str,

    /// Under a `BACKUP_FAILED` alert: `{why}`.
    pub backup_failed_why: &'static str,
    /// Under a `HEALTH_STALE` alert: where to look.
    pub stale_hint: &'static str,
    pub btn_retry_backup: &'static str,
    pub btn_chart: &'static str,

    /// A verify's damaged files, before the list.
    pub damaged_head: &'static str,
    /// After the listed damaged files: `{n}` more.
    pub damaged_more: &'static str,

    /// An unknown command close to a known one: `{name}`, `{guess}`.
    pub did_you_mean: &'static str,

    /// One `/audit` line: `{at}`, `{who}`, `{what}`, `{outcome}`.
    pub audit_line: &'static str,
    pub audit_ok: &'static str,
    pub audit_denied: &'static str,
    /// `{why}`.
    pub audit_failed: &'static str,
    pub audit_yes: &'static str,
    pub audit_no: &'static str,
    /// A button press: `{what}`.
    pub audit_button: &'static str,
    pub audit_forwarded: &'static str,
    pub audit_wrong_chat: &'static str,
    /// Under `/log_file`'s document.
    pub log_file_note: &'static str,
}

pub static ID: WatchTexts = WatchTexts {
    add_missing: "❌ systemd tidak kenal <code>{unit}</code> (<code>LoadState={state}</code>), jadi tidak saya tambahkan. Cek ejaannya dengan <code>systemctl list-units --type=service</code>.",
    add_unchecked: "⚠️ Saya belum bisa bertanya ke systemd, jadi belum tahu apakah <code>{unit}</code> benar-benar ada. Kalau salah ketik, hapus lagi dengan /svc_remove {unit}.",
    add_watch_only: "👀 <code>{unit}</code> hanya saya pantau: {why} Tidak ada tombol Restart untuknya.",
    add_controllable: "Kalau <code>{unit}</code> mati, saya kabari dengan tombol Restart.",
    svc_refused: "🛡️ Saya tidak boleh {verb} <code>{unit}</code> dari chat: {why}",
    svc_missing: "❌ systemd tidak kenal <code>{unit}</code> (<code>LoadState={state}</code>). Hapus dari daftar dengan /svc_remove {unit}, atau cek ejaannya.",
    why_protected: "layanan ini bisa membuka akses root atau memutus kamu dari server, jadi dikunci untuk chat.",
    why_not_allowed: "tidak ada di daftar izin <code>/etc/potion-runner/allowed-units</code>; tambahkan di sana (sebagai root) kalau mau mengendalikannya.",
    why_allowlist_broken: "daftar izin <code>/etc/potion-runner/allowed-units</code> tidak bisa dipakai (pemilik atau izinnya salah, atau ada baris rusak), jadi semua layanan terkunci sampai diperbaiki.",
    why_other: "aturan helper tidak mengizinkannya.",
    backup_failed_why: "\nPenyebab: {why}",
    stale_hint: "\nCek timer-nya: <code>systemctl status potion-runner-health.timer</code>, lalu jurnalnya: <code>journalctl -u potion-runner-health.service -n 20</code>.",
    btn_retry_backup: "🔄 Coba backup lagi",
    btn_chart: "📊 Grafik",
    damaged_head: "File yang rusak:",
    damaged_more: "… dan {n} lainnya",
    did_you_mean: "Saya tidak kenal /{name}. Maksudnya /{guess}?",
    audit_line: "{at} · {who} · {what} · {outcome}",
    audit_ok: "✅",
    audit_denied: "🚫 ditolak",
    audit_failed: "❌ {why}",
    audit_yes: "jawab Ya",
    audit_no: "jawab Tidak",
    audit_button: "tombol {what}",
    audit_forwarded: "pesan terusan (tidak dijalankan)",
    audit_wrong_chat: "pesan dari grup lain",
    log_file_note: "Isinya JSON mentah untuk arsip; /audit menampilkannya dalam bahasa biasa.",
};

pub static EN: WatchTexts = WatchTexts {
    add_missing: "❌ systemd doesn't know <code>{unit}</code> (<code>LoadState={state}</code>), so I didn't add it. Check the spelling with <code>systemctl list-units --type=service</code>.",
    add_unchecked: "⚠️ I couldn't ask systemd yet, so I don't know whether <code>{unit}</code> really exists. If it's a typo, take it off with /svc_remove {unit}.",
    add_watch_only: "👀 I'll only watch <code>{unit}</code>: {why} No Restart button for it.",
    add_controllable: "If <code>{unit}</code> goes down, I'll tell you with a Restart button.",
    svc_refused: "🛡️ I may not {verb} <code>{unit}</code> from chat: {why}",
    svc_missing: "❌ systemd doesn't know <code>{unit}</code> (<code>LoadState={state}</code>). Take it off the list with /svc_remove {unit}, or check the spelling.",
    why_protected: "it could hand out root or cut you off the server, so it's locked for chat.",
    why_not_allowed: "it isn't in the allowlist <code>/etc/potion-runner/allowed-units</code>; add it there (as root) if you want to control it.",
    why_allowlist_broken: "the allowlist <code>/etc/potion-runner/allowed-units</code> can't be used (wrong owner or mode, or a bad line), so every unit is locked until it's fixed.",
    why_other: "the helper's rules don't allow it.",
    backup_failed_why: "\nWhy: {why}",
    stale_hint: "\nCheck the timer: <code>systemctl status potion-runner-health.timer</code>, then its journal: <code>journalctl -u potion-runner-health.service -n 20</code>.",
    btn_retry_backup: "🔄 Retry backup",
    btn_chart: "📊 Chart",
    damaged_head: "Damaged files:",
    damaged_more: "… and {n} more",
    did_you_mean: "I don't know /{name}. Did you mean /{guess}?",
    audit_line: "{at} · {who} · {what} · {outcome}",
    audit_ok: "✅",
    audit_denied: "🚫 refused",
    audit_failed: "❌ {why}",
    audit_yes: "answered Yes",
    audit_no: "answered No",
    audit_button: "button {what}",
    audit_forwarded: "forwarded message (not run)",
    audit_wrong_chat: "message from another group",
    log_file_note: "It's raw JSON for the record; /audit shows it in plain words.",
};
