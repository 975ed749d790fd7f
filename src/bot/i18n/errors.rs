//! Errors that reach chat, worded in each language: every refusal and
//! failure is a typed value (a kind plus the values it was about) and this
//! part of the catalogue is the one place that says it, in `ID` and `EN`.
//! Each language is a set of exhaustive `match`es, so a new kind does not
//! compile until both languages word it. Renderers return HTML: values from
//! outside are escaped here; a program's own words go in `<pre>` verbatim.

use crate::bot::args::ArgError;
use crate::chart::{BadArgs, MAX_HOURS};
use crate::chatops::Refused;
use crate::helper::ReasonCode;
use crate::metric::UnknownMetric;
use crate::notice::ParseError;
use crate::validate::{Invalid, InvalidKind};

use super::super::text::esc;

mod en;
mod id;

use en::*;
use id::*;

/// Every error text of the bot, in one language.
pub struct ErrorTexts {
    /// A validator's refusal of a typed value.
    pub invalid: fn(&Invalid) -> String,
    /// A chat operation refused before anything ran (its `Invalid` case goes to `invalid`).
    pub refused: fn(&Refused, &ErrorTexts) -> String,
    /// A command argument refused by `bot::args` (its `Invalid` case goes to `invalid`).
    pub arg: fn(&ArgError, &ErrorTexts) -> String,
    /// A quiet-hours window, critical list or reminder refused by `crate::notice`.
    pub notice: fn(&ParseError, &ErrorTexts) -> String,
    /// `/chart`'s arguments refused.
    pub chart: fn(&BadArgs) -> String,
    /// Why the helper refused (`reason: <code>` on its stderr); `{what}` is the action.
    pub helper: fn(ReasonCode) -> &'static str,
    /// The helper refused without a code the bot knows, or failed: `{what}`; its line follows in `<pre>`.
    pub helper_failed: &'static str,
    /// sudo or the helper could not be run: `{what}`; sudo's line follows in `<pre>`.
    pub helper_missing: &'static str,
    /// The helper gave no answer in time: `{what}`, `{secs}`.
    pub helper_timeout: &'static str,
    /// A backup run's status word (`ok`, `warnings`, `failed`, `none`, `unknown`, …).
    pub backup_status: fn(&str) -> &'static str,
    /// A unit's state (systemd's `ActiveState`: `active`, `failed`, …, or `unknown`).
    pub unit_state: fn(&str) -> &'static str,
    /// The health job could not read some parts: `{parts}` (the part names, joined).
    pub health_unreadable: &'static str,
    /// The name of a part of the health run from its error line's prefix (`services`, `disk /`, …).
    pub health_part: fn(&str) -> &'static str,
    /// A short run failed; its reason follows in `<pre>`.
    pub run_failed: &'static str,
    /// A short run's task ended abnormally (a bug; details in the journal).
    pub run_aborted: &'static str,
    /// An unexpected internal error; the details are in the journal.
    pub internal: &'static str,
    /// The results of the chat operations.
    pub ops: OpsResults,
}

/// The words of the chat operations' results (`bot/ops/render.rs`);
/// placeholders in braces.
pub struct OpsResults {
    pub ip_none_up: &'static str,
    /// `{n}` interfaces left out.
    pub ip_hidden: &'static str,
    /// `{ip}`.
    pub ip_public: &'static str,
    pub ip_public_none: &'static str,
    /// `{host}`, `{received}`, `{sent}`, `{loss}`.
    pub ping_summary: &'static str,
    /// `{min}`, `{avg}`, `{max}` in ms.
    pub ping_rtt: &'static str,
    /// `{host}`; ping's own line follows in `<pre>`.
    pub ping_failed: &'static str,
    pub ts_not_installed: &'static str,
    /// tailscale's own line follows in `<pre>`.
    pub ts_failed: &'static str,
    /// `{version}`, `{state}`.
    pub ts_head: &'static str,
    /// `{name}`, `{ips}`.
    pub ts_me: &'static str,
    pub ts_key_off: &'static str,
    /// `{when}`.
    pub ts_key_expired: &'static str,
    /// `{when}`, `{days}`.
    pub ts_key_expires: &'static str,
    /// `{n}`.
    pub ts_online: &'static str,
    /// `{n}`.
    pub ts_offline: &'static str,
    /// `{when}`.
    pub ts_seen: &'static str,
    pub ts_never_seen: &'static str,
    pub ts_exit_node: &'static str,
    /// Above tailscale's health messages (in `<pre>`).
    pub ts_health: &'static str,
    /// `{hint}`: the install command.
    pub speed_not_installed: &'static str,
    /// `{down}`, `{up}` in Mbit/s, `{ping}` in ms.
    pub speed_done: &'static str,
    /// `{server}`.
    pub speed_server: &'static str,
    /// `{km}`, after the server.
    pub speed_distance: &'static str,
    /// `{isp}`.
    pub speed_isp: &'static str,
    pub apt_up_to_date: &'static str,
    /// `{n}` packages; the list follows.
    pub apt_count: &'static str,
    pub apt_reboot: &'static str,
    /// The helper's `apt update` answer could not be read.
    pub apt_bad_report: &'static str,
    pub pip_in_sync: &'static str,
    /// `{n}` packages; their names follow.
    pub pip_installed: &'static str,
    /// `{repo}`, `{head}`.
    pub git_up_to_date: &'static str,
    /// `{repo}`, `{range}`, `{n}` new commits.
    pub git_updated: &'static str,
    /// `{repo}`; git's line follows in `<pre>`.
    pub git_not_ff: &'static str,
    /// `{repo}`; git's line follows in `<pre>`.
    pub git_failed: &'static str,
    /// `{bad}` of `{n}` repositories not updated.
    pub git_not_updated: &'static str,
    /// `{n}` older lines of a program's output left out (inside its `<pre>`).
    pub lines_earlier: &'static str,
    /// `{n}` more lines than fit: they are in the document.
    pub lines_more: &'static str,
    /// A job whose task ended abnormally (a bug).
    pub job_aborted: &'static str,
}

/// An error that can reach chat: it says itself from the catalogue (HTML).
pub trait Said {
    fn said(&self, t: &ErrorTexts) -> String;
}

impl Said for Invalid {
    fn said(&self, t: &ErrorTexts) -> String {
        (t.invalid)(self)
    }
}

impl Said for Refused {
    fn said(&self, t: &ErrorTexts) -> String {
        (t.refused)(self, t)
    }
}

impl Said for ArgError {
    fn said(&self, t: &ErrorTexts) -> String {
        (t.arg)(self, t)
    }
}

impl Said for ParseError {
    fn said(&self, t: &ErrorTexts) -> String {
        (t.notice)(self, t)
    }
}

impl Said for BadArgs {
    fn said(&self, t: &ErrorTexts) -> String {
        (t.chart)(self)
    }
}

/// `<pre>` with a program's own words, verbatim (escaped).
pub fn pre(text: &str) -> String {
    format!("<pre>{}</pre>", esc(text.trim()))
}

/// A value quoted in an error: escaped, in `<code>`.
fn q(v: &str) -> String {
    format!("<code>{}</code>", esc(v))
}

fn path(p: &std::path::Path) -> String {
    q(&p.display().to_string())
}

fn alert_codes() -> String {
    let names: Vec<_> = crate::alert_code::AlertCode::ALL
        .iter()
        .map(|c| c.as_str())
        .collect();
    q(&names.join(", "))
}

/// The part of a health run an error line is about (its prefix before `:`).
fn part_key(prefix: &str) -> &str {
    match prefix {
        "host" | "cpu" | "load" | "memory" | "uptime" | "boot_id" | "mounts" => "system",
        p if p.starts_with("disk") => "disk",
        p if p.starts_with("backup") => "backup",
        p if p.starts_with("/dev/") => "smart",
        p => p,
    }
}

/// The parts named by a health report's `errors` lines, in the reply language, each once.
pub fn health_parts(t: &ErrorTexts, errors: &[String]) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for e in errors {
        let prefix = e.split_once(':').map_or(e.as_str(), |(p, _)| p).trim();
        let name = (t.health_part)(prefix);
        if !parts.contains(&name) {
            parts.push(name);
        }
    }
    parts.join(", ")
}

pub static ID: ErrorTexts = ErrorTexts {
    invalid: invalid_id,
    refused: refused_id,
    arg: arg_id,
    notice: notice_id,
    chart: chart_id,
    helper: helper_id,
    helper_failed: "❌ Gagal {what}. Kata helper:",
    helper_missing: "❌ Gagal {what}: helper berhak istimewa belum terpasang atau sudo belum diatur untuknya. Pasang potion-helper beserta aturan sudoers-nya. Kata sudo:",
    helper_timeout: "❌ Gagal {what}: helper tidak menjawab dalam {secs} detik.",
    backup_status: backup_status_id,
    unit_state: unit_state_id,
    health_unreadable: "⚠️ Ada yang tidak terbaca saat pemeriksaan: {parts}. Detailnya di /log_errors.",
    health_part: health_part_id,
    run_failed: "❌ Tidak bisa dijalankan. Keterangannya:",
    run_aborted: "❌ Jalannya terhenti tidak wajar; detailnya ada di jurnal bot (/log_runtime).",
    internal: "❌ Ada masalah di sisi saya; detailnya ada di jurnal bot (/log_runtime).",
    ops: id::OPS,
};

pub static EN: ErrorTexts = ErrorTexts {
    invalid: invalid_en,
    refused: refused_en,
    arg: arg_en,
    notice: notice_en,
    chart: chart_en,
    helper: helper_en,
    helper_failed: "❌ Couldn't {what}. The helper said:",
    helper_missing: "❌ Couldn't {what}: the privileged helper isn't installed or sudo isn't set up for it. Install potion-helper and its sudoers rule. sudo said:",
    helper_timeout: "❌ Couldn't {what}: the helper didn't answer within {secs} s.",
    backup_status: backup_status_en,
    unit_state: unit_state_en,
    health_unreadable: "⚠️ Some checks couldn't be read: {parts}. Details in /log_errors.",
    health_part: health_part_en,
    run_failed: "❌ Couldn't run it. What went wrong:",
    run_aborted: "❌ The run ended abnormally; details are in the bot's journal (/log_runtime).",
    internal: "❌ Something went wrong on my side; details are in the bot's journal (/log_runtime).",
    ops: en::OPS,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert_code::AlertCode;
    use crate::metric::Metric;

    const KINDS: [InvalidKind; 22] = {
        use InvalidKind::*;
        [
            UnitEmpty,
            UnitLeadingMark,
            UnitChar('/'),
            UnitTooLong,
            UnitShape,
            NotService,
            Template,
            NotTime,
            TimeOutOfRange,
            HostEmpty,
            HostTooLong,
            HostLikeOption,
            NotHost,
            NotNumber,
            NotFinite,
            OutOfRange(Metric::Cpu),
            NotSnapshotId,
            PathTooLong,
            PathControlChar,
            PathLikeOption,
            PathParent,
            PathEmpty,
        ]
    };

    #[test]
    fn every_refusal_is_said_in_both_languages_with_its_value_escaped() {
        for kind in KINDS {
            let e = Invalid {
                kind,
                value: "<x>".into(),
            };
            let (id, en) = (e.said(&ID), e.said(&EN));
            assert!(!id.is_empty() && id != en, "{kind:?}: {id} / {en}");
            assert!(
                !id.contains("<x>") && !en.contains("<x>"),
                "{kind:?} escapes"
            );
        }
        for c in ReasonCode::ALL {
            let (id, en) = ((ID.helper)(c), (EN.helper)(c));
            assert!(
                id.contains("{what}") && en.contains("{what}") && id != en,
                "{c:?}"
            );
        }
        let arg = ArgError::TakesNoSubject(AlertCode::CpuHigh);
        assert_eq!(arg.said(&EN), "<code>CPU_HIGH</code> takes no unit name.");
        let r = Refused::NotLines {
            value: "a&b".into(),
        };
        assert!(
            r.said(&ID)
                .starts_with("<code>a&amp;b</code> bukan jumlah baris")
        );
    }

    #[test]
    fn health_errors_name_their_parts_once() {
        let errors = [
            "services: systemctl show failed".to_string(),
            "temperature: unreadable".into(),
            "disk /srv: statvfs: EIO".into(),
            "disk /: statvfs: EIO".into(),
            "odd".into(),
        ];
        assert_eq!(
            health_parts(&ID, &errors),
            "status layanan (systemd tidak menjawab), sensor suhu, isi disk, bagian lain"
        );
        assert_eq!((EN.backup_status)("none"), "never run yet");
        assert_eq!((ID.backup_status)("failed"), "gagal");
        assert_eq!((ID.unit_state)("failed"), "mati (gagal)");
    }
}
