//! The `.env` file: a pure parser and the one editor that changes keys in place.
//!
//! The owner edits `.env` by hand and the bot edits it from chat, so the
//! editor keeps everything it does not touch: comments, blank lines, order,
//! unknown keys, and the file's mode (0600, it holds the bot token). Writes
//! go through [`crate::atomic`], so a crash leaves the old or the new file.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// One `KEY=VALUE` entry as parsed, with its 1-based line number.
/// One `KEY=value` line. `Debug` redacts the value: it may be the token.
#[derive(Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
    pub line: usize,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("key", &self.key)
            .field("value", &crate::redact::redact(&self.value))
            .field("line", &self.line)
            .finish()
    }
}

/// A line of `.env` that is not a setting. It names the line only: the
/// line's text may be a token pasted in the wrong place, and errors reach
/// the journal and the chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    pub kind: ParseErrorKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseErrorKind {
    NotKeyValue,
    BadKeyName,
    UnterminatedQuote,
    TextAfterQuote,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.line;
        match self.kind {
            ParseErrorKind::NotKeyValue => write!(f, "line {n} is not KEY=VALUE"),
            ParseErrorKind::BadKeyName => write!(
                f,
                "line {n}: the key name is not valid (letters, digits and _, not starting with a digit)"
            ),
            ParseErrorKind::UnterminatedQuote => write!(f, "line {n}: a quote is not closed"),
            ParseErrorKind::TextAfterQuote => {
                write!(f, "line {n}: there is text after the closing quote")
            }
        }
    }
}

impl std::error::Error for ParseError {}

/// Parses `.env` text. Accepts `KEY=VALUE`, an optional `export ` prefix,
/// `#` comment lines, trailing ` # comments` on unquoted values, and values in
/// single or double quotes. The first line that is none of these is the error.
pub fn parse(text: &str) -> Result<Vec<Entry>, ParseError> {
    let (entries, mut bad) = parse_lenient(text);
    if bad.is_empty() {
        Ok(entries)
    } else {
        Err(bad.swap_remove(0))
    }
}

/// Like [`parse`], but keeps going: the settings it could read, and every
/// line it could not.
pub fn parse_lenient(text: &str) -> (Vec<Entry>, Vec<ParseError>) {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        match parse_line(raw) {
            Ok(None) => {}
            Ok(Some((key, value))) => out.push(Entry {
                key,
                value,
                line: i + 1,
            }),
            Err(kind) => bad.push(ParseError { line: i + 1, kind }),
        }
    }
    (out, bad)
}

fn parse_line(raw: &str) -> Result<Option<(String, String)>, ParseErrorKind> {
    let line = raw.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
    let (key, value) = line.split_once('=').ok_or(ParseErrorKind::NotKeyValue)?;
    let key = key.trim();
    if key.is_empty()
        || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        || key.as_bytes()[0].is_ascii_digit()
    {
        return Err(ParseErrorKind::BadKeyName);
    }
    // `KEY=   # comment` is an empty value and a comment, as in a shell;
    // `KEY=#x` is the value `#x`.
    let value = if value.starts_with([' ', '\t']) && value.trim_start().starts_with('#') {
        ""
    } else {
        value.trim()
    };
    Ok(Some((key.to_string(), unquote(value)?)))
}

fn unquote(v: &str) -> Result<String, ParseErrorKind> {
    for q in ['"', '\''] {
        if let Some(rest) = v.strip_prefix(q) {
            let end = rest.find(q).ok_or(ParseErrorKind::UnterminatedQuote)?;
            let after = rest[end + 1..].trim();
            if !after.is_empty() && !after.starts_with('#') {
                return Err(ParseErrorKind::TextAfterQuote);
            }
            return Ok(rest[..end].to_string());
        }
    }
    // An unquoted value ends at " #" (a trailing comment).
    let v = match v.find(" #") {
        Some(i) => &v[..i],
        None => v,
    };
    Ok(v.trim().to_string())
}

/// Formats a value so that [`parse`] reads it back unchanged.
pub fn quote(value: &str) -> Result<String> {
    if value.contains(['\n', '\r']) {
        bail!("a .env value cannot span lines");
    }
    let plain =
        !value.is_empty() && !value.contains(['"', '\'', '#', ' ', '\t']) && value.trim() == value;
    if plain || value.is_empty() {
        return Ok(value.to_string());
    }
    if !value.contains('"') {
        return Ok(format!("\"{value}\""));
    }
    if !value.contains('\'') {
        return Ok(format!("'{value}'"));
    }
    bail!("a .env value cannot hold both kinds of quote")
}

/// An editable `.env` file: every line kept as written, keys changed in
/// place. `Debug` shows the path and the number of lines, never their text.
#[derive(Clone)]
pub struct EnvFile {
    path: PathBuf,
    lines: Vec<String>,
    mode: u32,
}

impl std::fmt::Debug for EnvFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvFile")
            .field("path", &self.path)
            .field("lines", &self.lines.len())
            .field("mode", &format_args!("{:o}", self.mode))
            .finish()
    }
}

impl EnvFile {
    /// Loads `path`; a missing file is an empty one (created with mode 0600 on save).
    /// Lines that do not parse are kept as they are.
    pub fn load(path: &Path) -> Result<EnvFile> {
        let (text, mode) = match fs::read_to_string(path) {
            Ok(t) => {
                let mode = fs::metadata(path)
                    .map(|m| m.permissions().mode() & 0o7777)
                    .unwrap_or(0o600);
                (t, mode)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (String::new(), 0o600),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        // Lines that are not settings are kept as they are: loading ignores
        // them (and says so), and saving must not lose the owner's text.
        Ok(EnvFile {
            path: path.to_path_buf(),
            lines: text.lines().map(str::to_string).collect(),
            mode,
        })
    }

    /// An editor over `text` already read (through a handle), saved to
    /// `path` with `mode`.
    pub fn from_text(path: &Path, text: &str, mode: u32) -> EnvFile {
        EnvFile {
            path: path.to_path_buf(),
            lines: text.lines().map(str::to_string).collect(),
            mode,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current value of `key` (the last assignment wins, as when loading).
    pub fn get(&self, key: &str) -> Option<String> {
        parse_lenient(&self.text())
            .0
            .into_iter()
            .rev()
            .find(|e| e.key == key)
            .map(|e| e.value)
    }

    /// Sets `key` to `value`: rewrites its last assignment in place, or appends one.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        // A key that parse would refuse (or that holds `=` or a line break)
        // would corrupt the file for every reader.
        if !matches!(parse(&format!("{key}=")).as_deref(), Ok([e]) if e.key == key) {
            bail!("{key:?} is not a valid .env key name");
        }
        let new_line = format!("{key}={}", quote(value)?);
        match self.last_line_of(key) {
            Some(i) => self.lines[i] = new_line,
            None => self.lines.push(new_line),
        }
        Ok(())
    }

    /// Removes every assignment of `key`; comments stay.
    pub fn remove(&mut self, key: &str) {
        let keep: Vec<String> = self
            .lines
            .iter()
            .filter(|l| line_key(l).as_deref() != Some(key))
            .cloned()
            .collect();
        self.lines = keep;
    }

    /// The file's text as it would be saved.
    pub fn text(&self) -> String {
        let mut t = self.lines.join("\n");
        if !t.is_empty() {
            t.push('\n');
        }
        t
    }

    /// Writes the file atomically, keeping its mode (0600 for a new file).
    pub fn save(&self) -> Result<()> {
        crate::atomic::write_with_mode(&self.path, self.text().as_bytes(), self.mode)
            .with_context(|| format!("saving {}", self.path.display()))
    }

    fn last_line_of(&self, key: &str) -> Option<usize> {
        self.lines
            .iter()
            .rposition(|l| line_key(l).as_deref() == Some(key))
    }
}

fn line_key(line: &str) -> Option<String> {
    let t = line.trim();
    if t.starts_with('#') {
        return None;
    }
    let t = t.strip_prefix("export ").unwrap_or(t);
    t.split_once('=').map(|(k, _)| k.trim().to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_never_shows_a_value() {
        let token = "123456789:AAEhBOweik9ai2o4dqf3k9df0sdkfjskdfj";
        let text = format!("BOT_TOKEN={token}\n");
        let entries = parse(&text).unwrap();
        let shown = format!("{entries:?}");
        assert!(
            !shown.contains(token) && shown.contains("BOT_TOKEN"),
            "{shown}"
        );
        let file = EnvFile::from_text(Path::new("/x/.env"), &text, 0o600);
        let shown = format!("{file:?}");
        assert!(
            !shown.contains(token) && shown.contains("/x/.env"),
            "{shown}"
        );
    }

    use super::*;

    const SAMPLE: &str = "# potion-runner settings\n\nBOT_TOKEN=123:abc\nexport ADMIN_IDS=1,2 # owners\nMY_OWN_KEY='kept as is'\n# thresholds\nTHRESHOLD_CPU=90\n";

    #[test]
    fn parses_comments_quotes_and_export() {
        let e = parse(SAMPLE).unwrap();
        let get = |k: &str| e.iter().find(|x| x.key == k).unwrap().value.clone();
        assert_eq!(get("ADMIN_IDS"), "1,2");
        assert_eq!(get("MY_OWN_KEY"), "kept as is");
        assert_eq!(get("THRESHOLD_CPU"), "90");
        assert_eq!(
            parse("NOT A LINE").unwrap_err().to_string(),
            "line 1 is not KEY=VALUE"
        );
        let empty = parse("ADMIN_IDS=   # fill in later\nHASH=#x\n").unwrap();
        assert_eq!(empty[0].value, "");
        assert_eq!(empty[1].value, "#x");
        assert!(parse("A=\"open").is_err());
        assert!(parse("1A=x").is_err());
    }

    #[test]
    fn round_trip_keeps_everything_else() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".env");
        crate::atomic::write_with_mode(&p, SAMPLE.as_bytes(), 0o600).unwrap();
        let mut f = EnvFile::load(&p).unwrap();
        f.set("THRESHOLD_CPU", "75").unwrap();
        f.set("SERVICES", "ollama.service,rag api.service").unwrap();
        f.save().unwrap();
        let text = fs::read_to_string(&p).unwrap();
        assert_eq!(
            text,
            "# potion-runner settings\n\nBOT_TOKEN=123:abc\nexport ADMIN_IDS=1,2 # owners\nMY_OWN_KEY='kept as is'\n# thresholds\nTHRESHOLD_CPU=75\nSERVICES=\"ollama.service,rag api.service\"\n"
        );
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let again = EnvFile::load(&p).unwrap();
        assert_eq!(
            again.get("SERVICES").unwrap(),
            "ollama.service,rag api.service"
        );
        assert_eq!(again.get("MY_OWN_KEY").unwrap(), "kept as is");
        let mut f = again;
        f.remove("SERVICES");
        f.save().unwrap();
        assert!(!fs::read_to_string(&p).unwrap().contains("SERVICES"));
    }

    #[test]
    fn new_file_is_private_and_values_cannot_inject_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".env");
        let mut f = EnvFile::load(&p).unwrap();
        assert!(f.set("A", "x\nBOT_TOKEN=evil").is_err());
        for bad_key in ["", "A=B", "A\nBOT_TOKEN", "#A", "A B", "1A", "export A"] {
            assert!(f.set(bad_key, "x").is_err(), "{bad_key:?}");
        }
        f.set("A", "x").unwrap();
        f.save().unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(fs::read_to_string(&p).unwrap(), "A=x\n");
    }

    #[test]
    fn errors_name_the_line_never_its_text() {
        let token = "123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let text = format!("A=1\nBOT_TOKEN: {token}\n{token}=x\nB='{token}' tail\nC=\"{token}\n");
        let (ok, bad) = parse_lenient(&text);
        assert_eq!(ok.len(), 1);
        assert_eq!(
            bad.iter().map(|e| (e.line, e.kind)).collect::<Vec<_>>(),
            [
                (2, ParseErrorKind::NotKeyValue),
                (3, ParseErrorKind::BadKeyName),
                (4, ParseErrorKind::TextAfterQuote),
                (5, ParseErrorKind::UnterminatedQuote),
            ]
        );
        for e in &bad {
            let shown = e.to_string();
            assert!(
                !shown.contains("AAAA") && !shown.contains("123456"),
                "{shown}"
            );
        }
        assert_eq!(
            parse(&text).unwrap_err().to_string(),
            "line 2 is not KEY=VALUE"
        );
    }
}
