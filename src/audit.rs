//! The audit trail: one JSON object a line appended to `$LOG_DIR/actions.log`
//! (`docs/contract.md` §4) for every command, button press, action and refusal.
//!
//! The file is opened with `O_APPEND` for each line, so concurrent writers
//! never interleave inside a line and nothing earlier is ever rewritten.

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{Context, Result};

use crate::files::bot::AuditEntry;

/// Longest argument text kept in the log; chat text can be arbitrarily long.
const MAX_ARGS: usize = 300;
/// Longest action name kept (an unknown `/command` is whatever was typed).
const MAX_ACTION: usize = 64;
/// Longest result text kept (a failure can quote a program's whole output).
const MAX_RESULT: usize = 300;
/// How much of the end of the log [`tail`] reads: far more than the few
/// dozen lines anyone asks for, however long the log has grown.
const TAIL_BYTES: u64 = 64 << 10;

/// Redacts token-shaped text first (a cut could otherwise split a token so
/// it no longer looks like one), then keeps at most `max` characters.
fn cut(s: &str, max: usize) -> String {
    let s = crate::redact::redact(s);
    let mut out: String = s.chars().take(max).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// What an action leaves in the audit log.
#[derive(Debug, Clone, PartialEq)]
pub enum AuditResult {
    Ok,
    Denied,
    Failed(String),
}

impl std::fmt::Display for AuditResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuditResult::Ok => f.write_str("ok"),
            AuditResult::Denied => f.write_str("denied"),
            AuditResult::Failed(e) => write!(f, "failed: {e}"),
        }
    }
}

/// Builds an entry stamped with the current time; long arguments and results
/// are cut and token-shaped text is redacted.
pub fn entry(
    user_id: u64,
    username: Option<&str>,
    action: &str,
    arguments: &str,
    result: &str,
) -> AuditEntry {
    AuditEntry {
        time: crate::files::now_rfc3339(),
        user_id,
        username: username.map(|u| cut(u, MAX_ACTION)),
        action: cut(action, MAX_ACTION),
        arguments: cut(arguments, MAX_ARGS),
        result: cut(result, MAX_RESULT),
    }
}

/// Appends one line to the log, creating the file (mode 0640) and its folder.
pub fn append(path: &Path, e: &AuditEntry) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut line = serde_json::to_vec(e).context("serializing audit entry")?;
    line.push(b'\n');
    let mut f = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o640)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    // One write call per line: with O_APPEND the kernel places it whole at the end.
    f.write_all(&line)
        .with_context(|| format!("appending to {}", path.display()))
}

/// The last `n` lines of the log, oldest first (a missing log is empty).
/// Only the last [`TAIL_BYTES`] are read, so a long log costs no more than a
/// short one; a line cut at the start of that window is skipped.
pub fn tail(path: &Path, n: usize) -> Result<Vec<AuditEntry>> {
    let what = || format!("reading {}", path.display());
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(what),
    };
    let len = f.metadata().with_context(what)?.len();
    let start = len.saturating_sub(TAIL_BYTES);
    f.seek(SeekFrom::Start(start)).with_context(what)?;
    let mut bytes = Vec::new();
    f.take(TAIL_BYTES)
        .read_to_end(&mut bytes)
        .with_context(what)?;
    let mut text = String::from_utf8_lossy(&bytes);
    if start > 0 {
        // The window most likely starts inside a line: drop that piece.
        let after = text.find('\n').map_or(text.len(), |i| i + 1);
        text = text[after..].to_string().into();
    }
    let mut out: Vec<AuditEntry> = text
        .lines()
        .rev()
        .filter_map(|l| serde_json::from_str(l).ok())
        .take(n)
        .collect();
    out.reverse();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_lines_and_tails_them() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("logs/actions.log");
        for i in 0..5 {
            append(&p, &entry(7, Some("me"), "status", &i.to_string(), "ok")).unwrap();
        }
        let t = tail(&p, 2).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].arguments, "3");
        assert_eq!(t[1].arguments, "4");
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text.lines().count(), 5);
        assert!(
            text.lines()
                .all(|l| l.starts_with('{') && l.contains("\"user_id\":7"))
        );
    }

    #[test]
    fn tokens_are_redacted_in_every_field() {
        let token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ";
        let e = entry(1, Some(token), "svc", token, &format!("failed: {token}"));
        let line = serde_json::to_string(&e).unwrap();
        assert!(!line.contains("AAHdqTcv"), "{line}");
        assert!(line.contains(crate::redact::MARK), "{line}");
    }

    #[test]
    fn long_arguments_are_cut() {
        let e = entry(1, None, &"y".repeat(5000), &"x".repeat(5000), "denied");
        assert!(e.arguments.chars().count() <= MAX_ARGS + 1);
        assert!(e.arguments.ends_with('…'));
        assert_eq!(e.action.chars().count(), MAX_ACTION + 1);
        assert_eq!(entry(1, None, "svc", "ollama", "ok").arguments, "ollama");
    }

    #[test]
    fn long_results_are_cut() {
        let e = entry(1, None, "apt", "update", &"z".repeat(5000));
        assert_eq!(e.result.chars().count(), MAX_RESULT + 1);
        assert!(e.result.ends_with('…'));
        assert_eq!(entry(1, None, "svc", "ollama", "ok").result, "ok");
    }

    #[test]
    fn tail_reads_only_the_end_of_a_long_log() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("actions.log");
        // A huge first line that is not JSON: a tail that read the whole
        // file would still work, so check the window by what it skips.
        std::fs::write(&p, format!("{}\n", "#".repeat(3 * TAIL_BYTES as usize))).unwrap();
        for i in 0..2000 {
            append(&p, &entry(7, None, "status", &i.to_string(), "ok")).unwrap();
        }
        let t = tail(&p, 3).unwrap();
        let args: Vec<_> = t.iter().map(|e| e.arguments.as_str()).collect();
        assert_eq!(args, ["1997", "1998", "1999"]);
        // Asking for more than the window holds gives what the window holds,
        // all whole lines, the newest last.
        let all = tail(&p, 100_000).unwrap();
        assert!(all.len() > 100 && all.len() < 2000, "{}", all.len());
        assert_eq!(all.last().unwrap().arguments, "1999");
        let first: usize = all[0].arguments.parse().unwrap();
        assert_eq!(first + all.len(), 2000, "consecutive up to the end");
    }

    #[test]
    fn missing_log_tails_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert!(tail(&dir.path().join("nope"), 5).unwrap().is_empty());
    }
}
