//! Fitting command output into one Telegram message: keep the newest lines,
//! cut on line boundaries, and say when the whole output should go as a document.

/// Longest text of one Telegram message.
pub const MESSAGE_MAX: usize = 4096;

/// A message that fits, and whether the full output should follow as a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fitted {
    pub text: String,
    /// Lines of the body left out of `text` (the oldest ones).
    pub omitted_lines: usize,
    /// True when `text` is not the whole output: send the full output as a document.
    pub as_document: bool,
}

/// Length as Telegram counts it (UTF-16 code units), so emoji and other
/// astral characters never push a message over the limit.
pub fn tg_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// [`fit`] with Telegram's message limit.
pub fn fit_message(header: &str, body: &str) -> Fitted {
    fit(header, body, MESSAGE_MAX)
}

/// Builds `header` + newline + the last lines of `body` that fit in `limit`.
///
/// When lines are left out, a marker line says how many and that the full
/// output follows as a document. A last line that alone is too long keeps
/// its end. The caller must escape for its parse mode before calling, since
/// escaping lengthens the text.
pub fn fit(header: &str, body: &str, limit: usize) -> Fitted {
    fit_with(header, body, limit, &marker)
}

/// [`fit`] with the marker line said by `marker` (how many lines were left
/// out), e.g. in the reader's language.
pub fn fit_with(
    header: &str,
    body: &str,
    limit: usize,
    marker: &dyn Fn(usize) -> String,
) -> Fitted {
    let header = cut_front(header, limit / 2);
    let body = body.trim_end_matches(['\n', '\r']);
    let whole = if body.is_empty() {
        header.clone()
    } else {
        format!("{header}\n{body}")
    };
    if tg_len(&whole) <= limit {
        return Fitted {
            text: whole,
            omitted_lines: 0,
            as_document: false,
        };
    }
    let lines: Vec<&str> = body.lines().collect();
    let total = lines.len();
    // Reserve room for the marker with the largest count it can show.
    let budget = limit
        .saturating_sub(tg_len(&header) + 1)
        .saturating_sub(tg_len(&marker(total)) + 1);
    let mut used = 0;
    let mut kept = 0;
    for line in lines.iter().rev() {
        let cost = tg_len(line) + usize::from(kept > 0);
        if used + cost > budget {
            break;
        }
        used += cost;
        kept += 1;
    }
    let mut tail: Vec<String> = lines[total - kept..]
        .iter()
        .map(|l| l.to_string())
        .collect();
    if kept == 0 {
        // Even the newest line alone is too long: keep its end.
        tail.push(format!(
            "…{}",
            keep_end(lines[total - 1], budget.saturating_sub(1))
        ));
        kept = 1;
    }
    let omitted = total - kept;
    let text = if omitted == 0 {
        format!("{header}\n{}", tail.join("\n"))
    } else {
        format!("{header}\n{}\n{}", marker(omitted), tail.join("\n"))
    };
    Fitted {
        text,
        omitted_lines: omitted,
        as_document: true,
    }
}

fn marker(omitted: usize) -> String {
    format!("[… {omitted} earlier lines left out: the full output follows as a document]")
}

/// The longest end of `s` that is at most `max` UTF-16 units long.
fn keep_end(s: &str, max: usize) -> &str {
    let mut used = 0;
    let mut start = s.len();
    for (i, c) in s.char_indices().rev() {
        used += c.len_utf16();
        if used > max {
            break;
        }
        start = i;
    }
    &s[start..]
}

/// `s` cut to at most `max` UTF-16 units, keeping its start.
fn cut_front(s: &str, max: usize) -> String {
    if tg_len(s) <= max {
        return s.to_string();
    }
    let mut used = 0;
    let mut out = String::new();
    for c in s.chars() {
        used += c.len_utf16();
        if used > max.saturating_sub(1) {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_output_is_sent_whole() {
        let f = fit_message("journal", "a\nb\n");
        assert_eq!(f.text, "journal\na\nb");
        assert!(!f.as_document);
        assert_eq!(fit_message("h", "").text, "h");
    }

    #[test]
    fn long_output_keeps_the_newest_lines_within_the_limit() {
        let body: String = (0..2000).map(|i| format!("line {i}\n")).collect();
        let f = fit_message("header", &body);
        assert!(tg_len(&f.text) <= MESSAGE_MAX, "{}", tg_len(&f.text));
        assert!(f.as_document);
        assert!(f.text.starts_with("header\n[… "));
        assert!(f.text.ends_with("\nline 1999"), "newest line kept");
        let shown = f.text.lines().count() - 2;
        assert_eq!(f.omitted_lines + shown, 2000);
        assert!(
            f.text
                .contains(&format!("[… {} earlier lines", f.omitted_lines))
        );
        // Whole lines only: every kept line is one the body had.
        for l in f.text.lines().skip(2) {
            assert!(l.starts_with("line "), "{l:?}");
        }
        // Nearly full: one more line would not have fitted.
        assert!(tg_len(&f.text) > MESSAGE_MAX - 20);
    }

    #[test]
    fn limit_counts_utf16_units() {
        let body = "😀".repeat(100) + "\n" + &"😀".repeat(100);
        let f = fit("h", &body, 300);
        assert!(tg_len(&f.text) <= 300);
        assert_eq!(f.omitted_lines, 1);
    }

    #[test]
    fn one_huge_line_keeps_its_end() {
        let body = format!("{}END", "x".repeat(10_000));
        let f = fit_message("h", &body);
        assert!(tg_len(&f.text) <= MESSAGE_MAX);
        assert!(f.text.ends_with("xEND"));
        assert!(f.text.contains("\n…x"));
        assert!(f.as_document);
    }

    #[test]
    fn huge_header_is_cut() {
        let f = fit_message(&"h".repeat(9000), "body");
        assert!(tg_len(&f.text) <= MESSAGE_MAX);
        assert!(f.text.ends_with("\nbody"));
    }
}
