//! The audit trail: one JSON object a line appended to `$LOG_DIR/actions.log`
//! (contract §4) for every command, button press, action and refusal.
//!
//! The file is opened with `O_APPEND` for each line, so concurrent writers
//! never interleave inside a line and nothing earlier is ever rewritten.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{Context, Result};

use crate::files::bot::AuditEntry;

/// Longest argument text kept in the log; chat text can be arbitrarily long.
const MAX_ARGS: usize = 300;

/// Builds an entry stamped with the current time; long arguments are cut.
pub fn entry(
    user_id: u64,
    username: Option<&str>,
    action: &str,
    arguments: &str,
    result: &str,
) -> AuditEntry {
    let mut args: String = arguments.chars().take(MAX_ARGS).collect();
    if args.len() < arguments.len() {
        args.push('…');
    }
    AuditEntry {
        time: crate::files::now_rfc3339(),
        user_id,
        username: username.map(str::to_string),
        action: action.to_string(),
        arguments: args,
        result: result.to_string(),
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
pub fn tail(path: &Path, n: usize) -> Result<Vec<AuditEntry>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
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
    fn long_arguments_are_cut() {
        let e = entry(1, None, "svc", &"x".repeat(5000), "denied");
        assert!(e.arguments.chars().count() <= MAX_ARGS + 1);
        assert!(e.arguments.ends_with('…'));
    }

    #[test]
    fn missing_log_tails_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert!(tail(&dir.path().join("nope"), 5).unwrap().is_empty());
    }
}
