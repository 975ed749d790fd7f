//! Logs from chat: `journalctl` for the bot's own unit, a whitelisted unit, or
//! errors since a time; and which files in `LOG_DIR` may be sent as a document.
//!
//! Every value from chat becomes a checked newtype ([`AllowedUnit`],
//! [`Since`], [`LogFile`]) before anything runs, so a refused request never
//! reaches a process.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use chrono::{Duration as ChronoDuration, NaiveDateTime};

use super::fit::{Fitted, fit_message};
use super::{Exec, Refused};
use crate::config::Config;
use crate::paths;
use crate::process::Output;
use crate::validate;

/// Lines shown when the user names no count.
pub const DEFAULT_LINES: usize = 50;
/// Most lines ever asked of journalctl (more goes nowhere useful in chat).
pub const MAX_LINES: usize = 2000;
/// journalctl on a slow disk with a big journal can take a while, but not this long.
pub const JOURNAL_TIMEOUT: Duration = Duration::from_secs(30);
/// How far back `/log_errors` may look.
pub const MAX_SINCE_DAYS: i64 = 31;
/// Telegram's limit for a document a bot sends.
pub const MAX_DOCUMENT_BYTES: u64 = 50 * 1000 * 1000;

/// A unit whose journal the owner may read: one of `SERVICES` or the bot's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedUnit(String);

impl AllowedUnit {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks a unit name from chat against the whitelist (`SERVICES` plus `SELF_SERVICE`).
pub fn allowed_unit(cfg: &Config, raw: &str) -> Result<AllowedUnit, Refused> {
    let unit = validate::unit_name(raw)?;
    if unit == cfg.self_service || cfg.services.contains(&unit) {
        Ok(AllowedUnit(unit))
    } else {
        Err(Refused::UnitNotListed { unit })
    }
}

/// The bot's own unit, always allowed.
pub fn self_unit(cfg: &Config) -> AllowedUnit {
    AllowedUnit(cfg.self_service.clone())
}

/// Clamps a line count from chat to 1..=[`MAX_LINES`]; `None` gives [`DEFAULT_LINES`].
pub fn line_count(raw: Option<&str>) -> Result<usize, Refused> {
    let Some(s) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(DEFAULT_LINES);
    };
    let n: usize = s.parse().map_err(|_| Refused::NotLines {
        value: s.to_string(),
    })?;
    Ok(n.clamp(1, MAX_LINES))
}

/// A start time for `/log_errors`, already turned into journalctl's argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Since {
    /// What the user asked for, normalised (`2h`, `today`).
    pub label: String,
    /// Local wall-clock time, as `--since` reads it.
    pub at: NaiveDateTime,
}

impl Since {
    /// The one journalctl argument (`--since=YYYY-MM-DD HH:MM:SS`), built
    /// here from a parsed time so no user text reaches journalctl.
    pub fn arg(&self) -> String {
        format!("--since={}", self.at.format("%Y-%m-%d %H:%M:%S"))
    }
}

/// Parses `30m`, `1h`, `2d`, `1w`, `today` or `yesterday` (default `24h`)
/// relative to `now` (local time).
pub fn parse_since(raw: Option<&str>, now: NaiveDateTime) -> Result<Since, Refused> {
    let s = raw
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "24h".into());
    // `2 jam` and `hari ini` are written with a space; the words are matched without.
    let word: String = s.split_whitespace().collect();
    let midnight = now.date().and_hms_opt(0, 0, 0).expect("midnight exists");
    let at = match word.as_str() {
        "today" | "hariini" => midnight,
        "yesterday" | "kemarin" => midnight - ChronoDuration::days(1),
        _ => {
            let value = || s.clone();
            let bad = || Refused::NotSpan { value: value() };
            let split = word.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
            let (num, unit) = word.split_at(split);
            if num.is_empty() || num.len() > 6 {
                return Err(bad());
            }
            let n: i64 = num.parse().map_err(|_| bad())?;
            let span = match unit {
                "m" | "min" | "menit" => ChronoDuration::minutes(n),
                "h" | "jam" => ChronoDuration::hours(n),
                "d" | "hari" => ChronoDuration::days(n),
                "w" | "minggu" => ChronoDuration::weeks(n),
                _ => return Err(bad()),
            };
            if n == 0 {
                return Err(Refused::EmptySpan { value: value() });
            }
            if span > ChronoDuration::days(MAX_SINCE_DAYS) {
                return Err(Refused::SpanTooLong { value: value() });
            }
            now - span
        }
    };
    Ok(Since { label: s, at })
}

/// How a journal read went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalState {
    /// This many entries were printed.
    Entries(usize),
    /// journalctl ran and had nothing to show.
    NoEntries,
    /// No journal could be read; the text says why and what to do.
    Unavailable(String),
}

/// One journal read: a title for the message, the raw text, and how it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Journal {
    pub title: String,
    pub text: String,
    pub state: JournalState,
    /// A remark worth showing even when entries came back (e.g. missing permissions).
    pub hint: Option<String>,
}

impl Journal {
    /// The chat message: title, state and the newest lines that fit.
    pub fn message(&self) -> Fitted {
        match &self.state {
            JournalState::Entries(n) => {
                let mut header = format!("{} ({n} entries)", self.title);
                if let Some(h) = &self.hint {
                    header.push_str(&format!("\nnote: {h}"));
                }
                fit_message(&header, &self.text)
            }
            JournalState::NoEntries => fit_message(&format!("{}: no entries", self.title), ""),
            JournalState::Unavailable(why) => {
                fit_message(&format!("{}: journal unavailable: {why}", self.title), "")
            }
        }
    }
}

/// journalctl for the last `lines` lines of one unit.
pub fn unit_journal_args(unit: &AllowedUnit, lines: usize) -> Vec<String> {
    vec![
        "-u".into(),
        unit.0.clone(),
        "-n".into(),
        lines.clamp(1, MAX_LINES).to_string(),
        "--no-pager".into(),
        "-o".into(),
        "short-iso".into(),
    ]
}

/// journalctl for priority err and worse across `units` since a time.
pub fn errors_args(units: &[AllowedUnit], since: &Since) -> Vec<String> {
    let mut args = vec!["-p".to_string(), "err".into()];
    for u in units {
        args.push("-u".into());
        args.push(u.0.clone());
    }
    args.extend([
        since.arg(),
        "-n".into(),
        MAX_LINES.to_string(),
        "--no-pager".into(),
        "-o".into(),
        "short-iso".into(),
    ]);
    args
}

/// The whitelisted units plus the bot's own, each once.
pub fn all_allowed_units(cfg: &Config) -> Vec<AllowedUnit> {
    let mut units = vec![self_unit(cfg)];
    for s in &cfg.services {
        if *s != cfg.self_service {
            units.push(AllowedUnit(s.clone()));
        }
    }
    units
}

/// `/log_journal <unit>` and `/log_runtime`: the last lines of one allowed unit.
pub fn unit_journal(exec: &Exec, unit: &AllowedUnit, lines: usize) -> Result<Journal> {
    let title = format!("journal of {}", unit.0);
    run_journal(exec, title, unit_journal_args(unit, lines))
}

/// `/log_errors [since]`: errors and worse across the allowed units.
pub fn errors_since(exec: &Exec, cfg: &Config, since: &Since) -> Result<Journal> {
    let title = format!(
        "errors since {} ({})",
        since.at.format("%Y-%m-%d %H:%M"),
        since.label
    );
    run_journal(exec, title, errors_args(&all_allowed_units(cfg), since))
}

fn run_journal(exec: &Exec, title: String, args: Vec<String>) -> Result<Journal> {
    let Some(program) = exec.find("journalctl") else {
        return Ok(Journal {
            title,
            text: String::new(),
            state: JournalState::Unavailable(
                "journalctl is not installed (this machine has no systemd journal)".into(),
            ),
            hint: None,
        });
    };
    let out = exec.cmd(program, JOURNAL_TIMEOUT).args(args).run()?;
    Ok(interpret(title, &out))
}

/// Reads journalctl's output: entries, "no entries", or why no journal could be read.
pub fn interpret(title: String, out: &Output) -> Journal {
    let stdout = out.stdout_lossy();
    let stderr = out.stderr_lossy();
    let text = stdout
        .lines()
        .filter(|l| l.trim() != "-- No entries --")
        .collect::<Vec<_>>()
        .join("\n");
    let entries = text.lines().filter(|l| !l.starts_with("-- ")).count();
    let hint = permission_hint(&stderr);
    let state = if !out.success() {
        let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        JournalState::Unavailable(format!("journalctl {}: {first}", out.describe_end()))
    } else if entries > 0 {
        JournalState::Entries(entries)
    } else if stderr.contains("No journal files were found") {
        JournalState::Unavailable(
            "this machine has no journal files (is systemd-journald running?)".into(),
        )
    } else if let Some(h) = &hint {
        JournalState::Unavailable(h.clone())
    } else {
        JournalState::NoEntries
    };
    Journal {
        title,
        text,
        state,
        hint,
    }
}

fn permission_hint(stderr: &str) -> Option<String> {
    (stderr.contains("insufficient permissions") || stderr.contains("not seeing messages")).then(
        || {
            "the bot's user may not read the system journal; add it to the systemd-journal group"
                .to_string()
        },
    )
}

/// A file in `LOG_DIR` that may be sent as a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    pub name: String,
    pub path: PathBuf,
    pub size: u64,
}

/// True for the names `/log_file` may send: `actions.log` and its rotations
/// (`actions.log.1`, `actions.log.2.gz`, … up to 14).
pub fn is_sendable_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix(paths::ACTIONS_LOG) else {
        return false;
    };
    if rest.is_empty() {
        return true;
    }
    let Some(rest) = rest.strip_prefix('.') else {
        return false;
    };
    let num = rest.strip_suffix(".gz").unwrap_or(rest);
    !num.is_empty()
        && num.len() <= 2
        && !num.starts_with('0')
        && num.bytes().all(|b| b.is_ascii_digit())
        && num.parse::<u32>().is_ok_and(|n| n <= 14)
}

/// Checks a log name from chat (default `actions.log`) without touching the disk.
pub fn log_name(raw: Option<&str>) -> Result<String, Refused> {
    let name = raw
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(paths::ACTIONS_LOG);
    if name.contains('/') || name.contains('\\') || name.contains("..") || name.starts_with('.') {
        return Err(Refused::LogIsPath { name: name.into() });
    }
    if !is_sendable_name(name) {
        return Err(Refused::LogNotSendable { name: name.into() });
    }
    Ok(name.to_string())
}

/// `/log_file [name]`: the file to send as a document, after checking it is a
/// plain file (not a symlink out of `LOG_DIR`) small enough for Telegram.
pub fn log_file(log_dir: &Path, raw: Option<&str>) -> Result<LogFile, Refused> {
    let name = log_name(raw)?;
    let path = log_dir.join(&name);
    let meta = std::fs::symlink_metadata(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Refused::LogMissing {
            name: name.clone(),
            dir: log_dir.to_path_buf(),
        },
        _ => Refused::LogUnreadable {
            path: path.clone(),
            cause: e.to_string(),
        },
    })?;
    if !meta.file_type().is_file() {
        return Err(Refused::LogNotFile { path });
    }
    if meta.len() > MAX_DOCUMENT_BYTES {
        return Err(Refused::LogTooBig {
            name,
            megabytes: meta.len() / 1_000_000,
        });
    }
    Ok(LogFile {
        name,
        path,
        size: meta.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;

    fn cfg(services: &str) -> Config {
        let mut p = BTreeMap::new();
        p.insert("SERVICES".to_string(), services.to_string());
        Config::from_pairs(&p).unwrap()
    }

    fn now() -> NaiveDateTime {
        NaiveDateTime::parse_from_str("2026-11-25 10:30:00", "%Y-%m-%d %H:%M:%S").unwrap()
    }

    fn output(stdout: &str, stderr: &str, code: i32) -> Output {
        Output {
            status: Some(ExitStatus::from_raw(code << 8)),
            stdout: stdout.as_bytes().to_vec(),
            stderr: stderr.as_bytes().to_vec(),
            timed_out: false,
            cancelled: false,
            truncated: false,
            elapsed: Duration::from_millis(5),
        }
    }

    #[test]
    fn only_whitelisted_units_are_allowed() {
        let c = cfg("ollama.service,open-webui");
        assert_eq!(
            allowed_unit(&c, "ollama").unwrap().as_str(),
            "ollama.service"
        );
        assert_eq!(
            allowed_unit(&c, "open-webui.service").unwrap().as_str(),
            "open-webui.service"
        );
        assert_eq!(
            allowed_unit(&c, "potion-runner").unwrap().as_str(),
            "potion-runner.service"
        );
        let e = allowed_unit(&c, "sshd.service").unwrap_err();
        assert!(e.to_string().contains("not in SERVICES"), "{e}");
        for bad in ["../../etc/shadow", "-f", "--all", "a;b", ""] {
            assert!(allowed_unit(&c, bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn journal_arguments() {
        let c = cfg("ollama.service");
        let u = allowed_unit(&c, "ollama").unwrap();
        assert_eq!(
            unit_journal_args(&u, 30).join(" "),
            "-u ollama.service -n 30 --no-pager -o short-iso"
        );
        assert_eq!(unit_journal_args(&u, 999_999)[3], MAX_LINES.to_string());
        let since = parse_since(Some("2h"), now()).unwrap();
        assert_eq!(
            errors_args(&all_allowed_units(&c), &since).join(" "),
            "-p err -u potion-runner.service -u ollama.service --since=2026-11-25 08:30:00 -n 2000 --no-pager -o short-iso"
        );
    }

    #[test]
    fn line_counts() {
        assert_eq!(line_count(None).unwrap(), DEFAULT_LINES);
        assert_eq!(line_count(Some("10")).unwrap(), 10);
        assert_eq!(line_count(Some("0")).unwrap(), 1);
        assert_eq!(line_count(Some("99999")).unwrap(), MAX_LINES);
        assert!(line_count(Some("-5")).is_err());
        assert!(line_count(Some("ten")).is_err());
    }

    #[test]
    fn since_spans() {
        let at = |s: &str| parse_since(Some(s), now()).unwrap().arg();
        assert_eq!(at("1h"), "--since=2026-11-25 09:30:00");
        assert_eq!(at("30m"), "--since=2026-11-25 10:00:00");
        assert_eq!(at("2d"), "--since=2026-11-23 10:30:00");
        assert_eq!(at("1W"), "--since=2026-11-18 10:30:00");
        assert_eq!(at("today"), "--since=2026-11-25 00:00:00");
        assert_eq!(at("yesterday"), "--since=2026-11-24 00:00:00");
        // Indonesian, as the owner writes it.
        assert_eq!(at("kemarin"), "--since=2026-11-24 00:00:00");
        assert_eq!(at("hari ini"), "--since=2026-11-25 00:00:00");
        assert_eq!(at("2 jam"), "--since=2026-11-25 08:30:00");
        assert_eq!(at("30 menit"), "--since=2026-11-25 10:00:00");
        assert_eq!(at("3 hari"), "--since=2026-11-22 10:30:00");
        assert_eq!(parse_since(None, now()).unwrap().label, "24h");
        for bad in [
            "-1h",
            "1",
            "h",
            "1y",
            "0h",
            "32d",
            "99999999h",
            "1h;id",
            "--since=x",
            "1.5h",
            "today2",
            "2 jam lagi",
        ] {
            assert!(parse_since(Some(bad), now()).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn interpreting_journal_output() {
        let j = interpret(
            "t".into(),
            &output(
                "2026-11-25T10:00:00+0000 host ollama[1]: started\n2026-11-25T10:00:01+0000 host ollama[1]: ready\n",
                "",
                0,
            ),
        );
        assert_eq!(j.state, JournalState::Entries(2));
        assert!(j.message().text.starts_with("t (2 entries)\n2026"));

        let j = interpret("t".into(), &output("-- No entries --\n", "", 0));
        assert_eq!(j.state, JournalState::NoEntries);
        assert_eq!(j.message().text, "t: no entries");

        let j = interpret(
            "t".into(),
            &output("-- No entries --\n", "No journal files were found.\n", 0),
        );
        assert!(
            matches!(j.state, JournalState::Unavailable(ref w) if w.contains("no journal files"))
        );

        let j = interpret(
            "t".into(),
            &output(
                "",
                "No journal files were opened due to insufficient permissions.\n",
                0,
            ),
        );
        assert!(
            matches!(j.state, JournalState::Unavailable(ref w) if w.contains("systemd-journal group"))
        );

        let j = interpret("t".into(), &output("", "Failed to parse timestamp\n", 1));
        assert!(
            matches!(j.state, JournalState::Unavailable(ref w) if w.contains("exit code 1: Failed to parse"))
        );
    }

    #[test]
    fn log_names() {
        assert_eq!(log_name(None).unwrap(), "actions.log");
        for ok in [
            "actions.log",
            "actions.log.1",
            "actions.log.2.gz",
            "actions.log.14",
        ] {
            assert_eq!(log_name(Some(ok)).unwrap(), ok);
        }
        for bad in [
            "../../etc/shadow",
            "/etc/passwd",
            "..",
            ".env",
            "actions.log/../x",
            "actions.log.0",
            "actions.log.15",
            "actions.log.01",
            "actions.logx",
            "other.log",
            "-f",
        ] {
            assert!(log_name(Some(bad)).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn log_file_checks_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let e = log_file(dir.path(), None).unwrap_err();
        assert!(matches!(e, Refused::LogMissing { .. }), "{e:?}");
        assert!(e.to_string().contains("does not exist"), "{e}");
        std::fs::write(dir.path().join("actions.log"), "{}\n").unwrap();
        std::fs::write(dir.path().join("actions.log.2.gz"), "x").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("actions.log.1")).unwrap();
        let f = log_file(dir.path(), None).unwrap();
        assert_eq!((f.path, f.size), (dir.path().join("actions.log"), 3));
        let e = log_file(dir.path(), Some("actions.log.1")).unwrap_err();
        assert!(e.to_string().contains("not a plain file"), "{e}");
        let f = log_file(dir.path(), Some("actions.log.2.gz")).unwrap();
        assert_eq!((f.name.as_str(), f.size), ("actions.log.2.gz", 1));
    }
}
