//! Text helpers for Telegram HTML messages: escaping, template filling,
//! splitting long replies on line boundaries, and human-friendly numbers.

/// Telegram's limit on one message, in characters.
pub const MESSAGE_LIMIT: usize = 4096;

/// Escapes text for Telegram's HTML parse mode (`<`, `>`, `&`, and quotes for attributes).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// Fills `{name}` placeholders in a catalogue template. Values must already be
/// escaped when they come from outside (files, chat).
pub fn fill(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (k, v) in args {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

/// Splits `text` into chunks of at most `limit` characters, cutting only at
/// line ends; a single over-long line is cut hard (rare: a log line).
pub fn split_lines(text: &str, limit: usize) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut cur = String::new();
    let mut cur_len = 0;
    for line in text.split_inclusive('\n') {
        let n = line.chars().count();
        if cur_len + n > limit && !cur.is_empty() {
            chunks.push(std::mem::take(&mut cur));
            cur_len = 0;
        }
        if n > limit {
            let chars: Vec<char> = line.chars().collect();
            for piece in chars.chunks(limit) {
                chunks.push(piece.iter().collect());
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

/// `1.5 GiB`, `512 MiB`, `12 KiB`, `300 B`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else if v >= 100.0 {
        format!("{v:.0} {}", UNITS[u])
    } else {
        format!("{v:.1} {}", UNITS[u])
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
    fn formats_numbers() {
        assert_eq!(bytes(300), "300 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(duration(3 * 86400 + 4 * 3600 + 5), "3d 4h");
        assert_eq!(duration(125), "2m 5s");
        assert_eq!(num(90.0), "90");
        assert_eq!(num(12.46), "12.5");
    }
}
