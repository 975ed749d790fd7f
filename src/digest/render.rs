//! The digest as a Telegram HTML message, in the words of a [`DigestTexts`]
//! from the bot's catalogue. Pure: values in, text out.

use chrono::DateTime;

use super::{Digest, Disk, DiskTrend, Growth};
use crate::alert_code::AlertCode;
use crate::files::backup::{BackupOutcome, VerifySummary};
use crate::files::health::Warning;
use crate::human::{bytes, escape_html, fill};

/// The words of the digest in one language (instances live in the bot's catalogues).
#[derive(Debug)]
pub struct DigestTexts {
    pub title: &'static str,
    pub uptime: &'static str,
    pub alerts_title: &'static str,
    pub no_alerts: &'static str,
    pub still_active: &'static str,
    pub muted: &'static str,
    pub backup_title: &'static str,
    pub backup_none: &'static str,
    pub backup_ok: &'static str,
    pub backup_warnings: &'static str,
    pub backup_failed: &'static str,
    pub skipped: &'static str,
    pub last_good: &'static str,
    pub files: &'static str,
    pub verify: &'static str,
    pub verify_none: &'static str,
    pub problems: &'static str,
    pub coverage: &'static str,
    pub disks_title: &'static str,
    pub data_disk: &'static str,
    pub not_enough: &'static str,
    pub not_growing: &'static str,
    pub updates: &'static str,
    pub packages: &'static str,
    pub none: &'static str,
    /// Day, hour and minute units of a duration.
    pub units: [&'static str; 3],
    /// `{t}`: a duration.
    pub ago: &'static str,
    /// `{n}`: a size.
    pub new_bytes: &'static str,
    /// `{rate}`: percent per day; `{when}`: [`DigestTexts::full_in`] or [`DigestTexts::full_after_year`].
    pub growing: &'static str,
    /// `{days}`: days until full.
    pub full_in: &'static str,
    pub full_after_year: &'static str,
    /// The name of an alert family (the catalogue's).
    pub alert_name: fn(AlertCode) -> &'static str,
    /// A standing warning, said the same way in `/status`.
    pub warning: fn(Warning) -> &'static str,
}

/// The digest as a Telegram HTML message.
pub fn render_text(d: &Digest, t: &DigestTexts) -> String {
    let mut out = match &d.host {
        Some(h) => format!("<b>{} · {}</b>\n", t.title, escape_html(h)),
        None => format!("<b>{}</b>\n", t.title),
    };
    if let Some(up) = d.uptime_s {
        out += &format!("{}: {}\n", t.uptime, duration(up as i64, t));
    }

    out += &format!("\n<b>{}</b>\n", t.alerts_title);
    if d.alerts.is_empty() {
        out += &format!("{}\n", t.no_alerts);
    }
    for a in &d.alerts {
        out += &format!("• {}", alert_name(&a.code, t));
        if a.times > 0 {
            out += &format!(": {}×, {}", a.times, duration(a.active_s, t));
        }
        if a.active_now {
            out += &format!(", {}", t.still_active);
        }
        if a.muted {
            out += &format!(" ({})", t.muted);
        }
        out += "\n";
    }

    out += &format!("\n<b>{}</b>\n", t.backup_title);
    out += &backup_line(d.backup.as_ref(), d.now, t);
    out += &verify_line(d.verify.as_ref(), d.now, t);
    for w in &d.warnings {
        out += &format!("{}\n", (t.warning)(*w));
    }

    out += &format!("\n<b>{}</b>\n", t.disks_title);
    if d.disks.is_empty() {
        out += &format!("{}\n", t.not_enough);
    }
    for disk in &d.disks {
        out += &disk_line(disk, t);
    }

    match d.pending_updates {
        Some(0) => out += &format!("\n{}: {}\n", t.updates, t.none),
        Some(n) => out += &format!("\n{}: {n} {}\n", t.updates, t.packages),
        None => {}
    }
    out.trim_end().to_string()
}

fn backup_line(b: Option<&BackupOutcome>, now: i64, t: &DigestTexts) -> String {
    let Some(b) = b else {
        return format!("{}\n", t.backup_none);
    };
    let ago = age(now, &b.finished_at)
        .map(|s| format!(" ({})", since(s, t)))
        .unwrap_or_default();
    let id =
        b.id.as_deref()
            .map(|id| format!(" <code>{}</code>", escape_html(id)))
            .unwrap_or_default();
    if b.status == "ok" || b.status == "warnings" {
        let (mark, head) = if b.status == "ok" {
            ("✅", t.backup_ok)
        } else {
            ("⚠️", t.backup_warnings)
        };
        let mut line = format!(
            "{mark} {head}{id}{ago}: {} {}, {} ({})\n",
            b.files,
            t.files,
            bytes(b.bytes),
            fill(t.new_bytes, &[("n", &bytes(b.new_bytes))]),
        );
        if let Some(w) = b.warnings.first() {
            line += &format!("{}: {}\n", t.skipped, escape_html(w));
        }
        return line;
    }
    let err = b.error.as_deref().unwrap_or("?");
    let mut line = format!("❌ {}{ago}: {}\n", t.backup_failed, escape_html(err));
    if let Some(ok) = b.last_ok_at.as_deref().and_then(|at| age(now, at)) {
        line += &format!("{}: {}\n", t.last_good, since(ok, t));
    }
    line
}

fn verify_line(v: Option<&VerifySummary>, now: i64, t: &DigestTexts) -> String {
    let Some(v) = v else {
        return format!("{}\n", t.verify_none);
    };
    let ago = age(now, &v.at)
        .map(|s| format!(" ({})", since(s, t)))
        .unwrap_or_default();
    let mark = if v.status == "ok" && v.problems == 0 {
        "✅"
    } else {
        "❌"
    };
    let mut line = format!(
        "{mark} {}{ago}: {}/{} {}, {} {}",
        t.verify, v.checked_files, v.total_files, t.files, v.problems, t.problems
    );
    if let Some(c) = v.coverage_percent {
        line += &format!("; {} {c:.0}%", t.coverage);
    }
    line + "\n"
}

fn disk_line(d: &DiskTrend, t: &DigestTexts) -> String {
    let name = match d.disk {
        Disk::Root => "Disk /",
        Disk::Data => t.data_disk,
    };
    let trend = match d.growth {
        Growth::NotEnoughData => t.not_enough.to_string(),
        Growth::NotGrowing => t.not_growing.to_string(),
        Growth::Growing {
            percent_per_day,
            days_until_full,
        } => growing(percent_per_day, days_until_full, t),
    };
    format!("{name}: {:.1}%, {trend}\n", d.percent)
}

/// Seconds from an RFC 3339 time to `now`; `None` when the time does not parse.
fn age(now: i64, at: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(at)
        .ok()
        .map(|t| (now - t.timestamp()).max(0))
}

/// `3 hari 4 jam`, `1 h 12 min`, `5 menit`: the two largest units.
pub fn duration(secs: i64, t: &DigestTexts) -> String {
    let secs = secs.max(0);
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    let [ud, uh, um] = t.units;
    match (d, h, m) {
        (0, 0, m) => format!("{} {um}", m.max(1)),
        (0, h, 0) => format!("{h} {uh}"),
        (0, h, m) => format!("{h} {uh} {m} {um}"),
        (d, 0, _) => format!("{d} {ud}"),
        (d, h, _) => format!("{d} {ud} {h} {uh}"),
    }
}

fn since(secs: i64, t: &DigestTexts) -> String {
    fill(t.ago, &[("t", &duration(secs, t))])
}

fn growing(per_day: f64, days: f64, t: &DigestTexts) -> String {
    let when = if days > 365.0 {
        t.full_after_year.to_string()
    } else {
        fill(t.full_in, &[("days", &format!("{days:.0}"))])
    };
    let rate = format!("{per_day:.2}");
    fill(t.growing, &[("rate", &rate), ("when", &when)])
}

/// `Suhu tinggi <code>TEMP_HIGH</code>`; an unknown code shows as itself.
fn alert_name(code: &str, t: &DigestTexts) -> String {
    let shown = format!("<code>{}</code>", escape_html(code));
    match AlertCode::family_of(code) {
        Some(c) => format!("{} {shown}", (t.alert_name)(c)),
        None => shown,
    }
}
