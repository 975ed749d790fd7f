//! Text helpers for Telegram HTML messages: escaping, template filling,
//! splitting long replies on line boundaries, human-friendly numbers, and
//! times in local time.

use chrono::{DateTime, Datelike, Local, TimeZone, Timelike, Utc};

use super::i18n::Texts;
use crate::chatops::fit::tg_len;

/// Telegram's limit on one message, in UTF-16 code units (one constant for the whole crate).
pub use crate::chatops::fit::MESSAGE_MAX as MESSAGE_LIMIT;

// Escaping and byte sizes are the crate's own (`crate::human`), shared with
// every rendering outside the bot.
pub use crate::human::{bytes, escape_html as esc, fill};

/// Splits `text` into chunks of at most `limit` Telegram characters (UTF-16
/// code units, as Telegram counts them: an emoji is two), cutting only at
/// line ends; a single over-long line is cut hard (rare: a log line), never
/// inside a character.
pub fn split_lines(text: &str, limit: usize) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut cur = String::new();
    let mut cur_len = 0;
    for line in text.split_inclusive('\n') {
        let n = tg_len(line);
        if cur_len + n > limit && !cur.is_empty() {
            chunks.push(std::mem::take(&mut cur));
            cur_len = 0;
        }
        if n > limit {
            let mut piece = String::new();
            let mut piece_len = 0;
            for c in line.chars() {
                let w = c.len_utf16();
                if piece_len + w > limit && !piece.is_empty() {
                    chunks.push(std::mem::take(&mut piece));
                    piece_len = 0;
                }
                piece.push(c);
                piece_len += w;
            }
            if !piece.is_empty() {
                chunks.push(piece);
            }
            continue;
        }
        cur.push_str(line);
        cur_len += n;
    }
    if !cur.trim().is_empty() {
        chunks.push(cur);
    }
    chunks
}

/// A time as a person reads it: in local time (the system's zone, or
/// `TZ`), short: "hari ini 15:51", "kemarin 03:15", "30 Nov 15:51", with the
/// year only when it is not this one. Text that is not RFC 3339 is shown as
/// it is (escaped).
pub fn when(t: &Texts, rfc3339: &str, now: DateTime<Utc>) -> String {
    when_in(t, rfc3339, now, &Local)
}

/// [`when`] in a given time zone.
pub fn when_in<Z: TimeZone>(t: &Texts, rfc3339: &str, now: DateTime<Utc>, zone: &Z) -> String {
    let Some(at) = crate::files::parse_rfc3339(rfc3339) else {
        return esc(rfc3339);
    };
    let (at, now) = (at.with_timezone(zone), now.with_timezone(zone));
    let clock = format!("{:02}:{:02}", at.hour(), at.minute());
    let days = (now.date_naive() - at.date_naive()).num_days();
    match days {
        0 => format!("{} {clock}", t.clock_today),
        1 => format!("{} {clock}", t.clock_yesterday),
        _ => {
            let month = t.months[at.month0() as usize];
            if at.year() == now.year() {
                format!("{} {month} {clock}", at.day())
            } else {
                format!("{} {month} {} {clock}", at.day(), at.year())
            }
        }
    }
}

/// A duration as `3d 4h`, `2h 5m`, `45s`; `d`/`h`/`m`/`s` read the same in both languages.
pub fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {s}s")
    } else {
        format!("{s}s")
    }
}

/// One decimal place, without a trailing `.0` for whole numbers.
pub fn num(v: f64) -> String {
    if (v - v.round()).abs() < 0.05 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_local_and_short() {
        use crate::bot::i18n::texts;
        use crate::config::Lang;
        let jakarta = chrono::FixedOffset::east_opt(7 * 3600).unwrap();
        let now = crate::files::parse_rfc3339("2026-11-30T09:51:51Z").unwrap();
        let (id, en) = (texts(Lang::Id), texts(Lang::En));
        assert_eq!(
            when_in(id, "2026-11-30T08:51:00Z", now, &jakarta),
            "hari ini 15:51"
        );
        assert_eq!(
            when_in(en, "2026-11-28T20:15:00Z", now, &jakarta),
            "yesterday 03:15"
        );
        // 16:30 UTC on the 29th is already the 30th in Jakarta.
        assert_eq!(
            when_in(en, "2026-11-29T17:30:00Z", now, &jakarta),
            "today 00:30"
        );
        assert_eq!(
            when_in(id, "2026-08-17T03:00:00Z", now, &jakarta),
            "17 Agu 10:00"
        );
        assert_eq!(
            when_in(en, "2025-12-31T03:00:00Z", now, &jakarta),
            "31 Dec 2025 10:00"
        );
        assert_eq!(when_in(en, "<soon>", now, &jakarta), "&lt;soon&gt;");
    }

    #[test]
    fn escapes_html() {
        assert_eq!(
            esc("<b>a & \"b\"</b>"),
            "&lt;b&gt;a &amp; &quot;b&quot;&lt;/b&gt;"
        );
    }

    #[test]
    fn fills_templates() {
        assert_eq!(fill("hi {who}, {who}!", &[("who", "x")]), "hi x, x!");
    }

    #[test]
    fn splits_on_line_boundaries() {
        let text: String = (0..100)
            .map(|i| format!("line {i:03} {}\n", "x".repeat(50)))
            .collect();
        let parts = split_lines(&text, 1000);
        assert!(parts.len() > 1);
        assert!(
            parts
                .iter()
                .all(|p| p.chars().count() <= 1000 && p.ends_with('\n'))
        );
        assert_eq!(parts.concat(), text);
    }

    #[test]
    fn cuts_an_overlong_line() {
        let parts = split_lines(&"y".repeat(2500), 1000);
        assert_eq!(parts.len(), 3);
        assert_eq!(parts.concat().len(), 2500);
    }

    #[test]
    fn counts_emoji_as_telegram_does() {
        // 🟢 is one char but two UTF-16 units: 3 lines of 400 emoji plus a
        // newline are 801 units each, so no two fit in 1000.
        let line = format!("{}\n", "🟢".repeat(400));
        let text = line.repeat(3);
        let parts = split_lines(&text, 1000);
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| tg_len(p) <= 1000), "{parts:?}");
        assert_eq!(parts.concat(), text);
        // An over-long line of emoji is cut between characters, not inside one.
        let long = "😀".repeat(1500);
        let parts = split_lines(&long, 1001);
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| tg_len(p) <= 1001), "{parts:?}");
        assert_eq!(tg_len(&parts[0]), 1000);
        assert_eq!(parts.concat(), long);
    }

    #[test]
    fn formats_numbers() {
        assert_eq!(bytes(300), "300 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(512 * 1024 * 1024), "512.0 MiB");
        assert_eq!(duration(3 * 86400 + 4 * 3600 + 5), "3d 4h");
        assert_eq!(duration(125), "2m 5s");
        assert_eq!(num(90.0), "90");
        assert_eq!(num(12.46), "12.5");
    }
}
