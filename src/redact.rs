//! Token redaction: anything shaped like a Telegram bot token
//! (`\d{5,}:[A-Za-z0-9_-]{30,}`) is replaced before text leaves the process
//! in a chat reply, an `actions.log` line, a relayed helper error or a log line.
//!
//! The bot's own token is also held as `config::Secret`, which never prints;
//! this is the second fence for tokens that arrive inside other text (a
//! malformed `.env` line echoed by a tool, a helper's stderr, program output).

use std::borrow::Cow;

/// What a token is replaced with.
pub const MARK: &str = "[token redacted]";

const MIN_DIGITS: usize = 5;
const MIN_TAIL: usize = 30;

fn is_tail_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// Finds the next token-shaped run at or after `from`: the start of its
/// digits and the end of its tail.
fn next_token(bytes: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut i = from;
    while i < bytes.len() {
        if bytes[i] != b':' {
            i += 1;
            continue;
        }
        let digits = bytes[..i]
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let tail = bytes[i + 1..]
            .iter()
            .take_while(|&&b| is_tail_byte(b))
            .count();
        if digits >= MIN_DIGITS && tail >= MIN_TAIL {
            return Some((i - digits, i + 1 + tail));
        }
        i += 1;
    }
    None
}

/// `text` with every token-shaped run replaced by [`MARK`]; borrowed when
/// there is none, so the common case costs one scan and no allocation.
pub fn redact(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let Some(first) = next_token(bytes, 0) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    let mut found = Some(first);
    while let Some((start, end)) = found {
        // Token bytes are ASCII, so both ends are character boundaries.
        out.push_str(&text[done..start]);
        out.push_str(MARK);
        done = end;
        found = next_token(bytes, end);
    }
    out.push_str(&text[done..]);
    Cow::Owned(out)
}

/// True when `text` holds something token-shaped.
pub fn has_token(text: &str) -> bool {
    next_token(text.as_bytes(), 0).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ";

    #[test]
    fn a_token_anywhere_is_replaced() {
        let line = format!("bad line: BOT_TOKEN: {TOKEN} (colon)");
        let out = redact(&line);
        assert!(!out.contains("AAHdqTcv"), "{out}");
        assert_eq!(out, format!("bad line: BOT_TOKEN: {MARK} (colon)"));
        assert!(has_token(&line));
    }

    #[test]
    fn several_tokens_and_utf8_around_them() {
        let line = format!("é{TOKEN}ü {TOKEN}");
        assert_eq!(redact(&line), format!("é{MARK}ü {MARK}"));
    }

    #[test]
    fn ordinary_text_is_borrowed_untouched() {
        for s in [
            "time 12:30:45",
            "1234:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "123456:short",
            "ipv6 fe80::1 and 2026-11-30T10:00:00Z",
            "",
        ] {
            assert!(matches!(redact(s), Cow::Borrowed(_)), "{s}");
            assert!(!has_token(s));
        }
    }

    #[test]
    fn a_token_at_the_very_end_and_start() {
        assert_eq!(redact(TOKEN), MARK);
        assert_eq!(redact(&format!("x{TOKEN}")), format!("x{MARK}"));
    }
}
