//! Deciding without I/O what an operations command or button asks for: every
//! chat value becomes a checked chatops newtype here, so a refusal never
//! reaches a process; and the pure HTML of their replies.

use super::*;
use crate::chatops::Refused;

/// What one operations command asks for (decided by [`plan`]).
#[derive(Debug, Clone, PartialEq)]
pub enum OpsPlan {
    /// Refused before anything ran: why, rendered in the reply language.
    Refuse(Refused),
    /// Wrong number of arguments: show the usage.
    Usage,
    /// `/ping` alone: offer these favourites as buttons.
    PingPick(Vec<String>),
    Ping(PingTarget),
    Journal(AllowedUnit, usize),
    Errors(Since),
    /// A checked `LOG_DIR` name; the file is looked at when sending.
    LogFile(String),
    Ip,
    Tailscale,
    /// Ask Yes/No (the one question store), then run the job.
    Confirm(OpsJob),
    /// Run at once.
    Run(OpsJob),
}

/// Decides what an operations command means for the current config. Only
/// `/pip_sync` looks at the disk (does the venv exist?), so it can refuse
/// before asking.
pub fn plan(cfg: &Config, cmd: Command, args: &str, now: chrono::NaiveDateTime) -> OpsPlan {
    let words: Vec<&str> = args.split_whitespace().collect();
    let one = |w: &[&str]| -> Result<Option<String>, ()> {
        match w {
            [] => Ok(None),
            [a] => Ok(Some(a.to_string())),
            _ => Err(()),
        }
    };
    match cmd {
        Command::Ping => {
            if args.trim().is_empty() {
                return OpsPlan::PingPick(favourites(cfg));
            }
            // The whole text is the host: `/ping a b` is refused, not split.
            match PingTarget::parse(args) {
                Ok(t) => OpsPlan::Ping(t),
                Err(e) => OpsPlan::Refuse(e),
            }
        }
        Command::LogJournal => match words.as_slice() {
            [unit] | [unit, _] => {
                let unit = match logs::allowed_unit(cfg, unit) {
                    Ok(u) => u,
                    Err(e) => return OpsPlan::Refuse(e),
                };
                match logs::line_count(words.get(1).copied()) {
                    Ok(n) => OpsPlan::Journal(unit, n),
                    Err(e) => OpsPlan::Refuse(e),
                }
            }
            _ => OpsPlan::Usage,
        },
        Command::LogRuntime => match one(&words) {
            Ok(n) => match logs::line_count(n.as_deref()) {
                Ok(n) => OpsPlan::Journal(logs::self_unit(cfg), n),
                Err(e) => OpsPlan::Refuse(e),
            },
            Err(()) => OpsPlan::Usage,
        },
        // The whole text is the span: `2 jam`, `hari ini`.
        Command::LogErrors => match logs::parse_since(Some(args), now) {
            Ok(s) => OpsPlan::Errors(s),
            Err(e) => OpsPlan::Refuse(e),
        },
        Command::LogFile => match one(&words) {
            Ok(n) => match logs::log_name(n.as_deref()) {
                Ok(n) => OpsPlan::LogFile(n),
                Err(e) => OpsPlan::Refuse(e),
            },
            Err(()) => OpsPlan::Usage,
        },
        _ if !words.is_empty() => OpsPlan::Usage,
        Command::Ip => OpsPlan::Ip,
        Command::Tailscale => OpsPlan::Tailscale,
        Command::Speed => OpsPlan::Run(OpsJob::Speed),
        Command::AptUpdate => OpsPlan::Confirm(OpsJob::AptUpdate),
        Command::PipSync => match updates::pip_plan(cfg) {
            Ok(p) => OpsPlan::Confirm(OpsJob::Pip(p)),
            Err(e) => OpsPlan::Refuse(e),
        },
        Command::GitPull => match updates::git_plan(cfg) {
            Ok(repos) => OpsPlan::Confirm(OpsJob::Git(repos)),
            Err(e) => OpsPlan::Refuse(e),
        },
        _ => OpsPlan::Usage,
    }
}

/// `PING_HOSTS` entries that are valid hosts and fit in a button's data.
pub fn favourites(cfg: &Config) -> Vec<String> {
    cfg.ping_hosts
        .iter()
        .filter_map(|h| PingTarget::parse(h).ok())
        .map(|t| t.as_str().to_string())
        .filter(|h| Callback::Ping(h.clone()).data().is_some())
        .take(MAX_FAVOURITES)
        .collect()
}

/// `title_html` over `body` (plain text) in a `<pre>` block, escaped first and
/// then cut to the newest lines that fit one message (`chatops::fit`); `true`
/// when lines were left out and the full text should follow as a document.
pub fn fit_html(w: &OpsResults, title_html: &str, body: &str) -> (String, bool) {
    let body = body.trim_end();
    if body.is_empty() {
        return (title_html.to_string(), false);
    }
    let room = MESSAGE_MAX.saturating_sub(tg_len(title_html) + "\n<pre></pre>".len());
    let marker = |n: usize| esc(&fill(w.lines_earlier, &[("n", &n.to_string())]));
    let f = fit_with("", &esc(body), room, &marker);
    let kept = f.text.strip_prefix('\n').unwrap_or(&f.text);
    (format!("{title_html}\n<pre>{kept}</pre>"), f.as_document)
}

/// The status line of a finished job in the reply language (HTML); a
/// failure says why from the job's typed result.
pub fn status_line<T: JobSaid>(
    o: &OpsTexts,
    w: &OpsResults,
    what: &str,
    outcome: &JobOutcome<T>,
) -> String {
    let secs = outcome.elapsed.as_secs().to_string();
    let (tpl, why) = match &outcome.status {
        JobStatus::Ok => (o.job_ok, String::new()),
        JobStatus::Failed(_) => (
            o.job_failed,
            outcome
                .value
                .as_ref()
                .and_then(|v| v.why(w))
                .unwrap_or_else(|| w.job_aborted.to_string()),
        ),
        JobStatus::TimedOut => (o.job_timed_out, String::new()),
        JobStatus::Cancelled => (o.job_cancelled, String::new()),
    };
    fill(tpl, &[("what", what), ("secs", &secs), ("why", &why)])
}

/// The progress message while a job runs (HTML).
pub fn progress_html(o: &OpsTexts, what: &str, elapsed: Duration, last_line: &str) -> String {
    let mut s = fill(
        o.job_running,
        &[("what", what), ("secs", &elapsed.as_secs().to_string())],
    );
    if !last_line.is_empty() {
        s.push_str(&format!("\n<code>{}</code>", esc(last_line)));
    }
    s
}

/// Header and body of a journal read, in the reply language.
pub(super) fn journal_html(
    o: &OpsTexts,
    w: &OpsResults,
    title: &str,
    j: &Journal,
) -> (String, bool) {
    let hint = j
        .hint
        .as_ref()
        .map(|h| format!("\n{}", fill(o.log_hint, &[("hint", &esc(h))])))
        .unwrap_or_default();
    match &j.state {
        JournalState::Entries(n) => {
            let head = format!(
                "<b>{title}</b> ({}){hint}",
                fill(o.log_entries, &[("n", &n.to_string())])
            );
            fit_html(w, &head, &j.text)
        }
        JournalState::NoEntries => (format!("<b>{title}</b>: {}{hint}", o.log_none), false),
        // journalctl's (or the system's) words, verbatim.
        JournalState::Unavailable(why) => (
            format!(
                "<b>{title}</b>: {}",
                fill(o.log_unavailable, &[("why", &pre(why))])
            ),
            false,
        ),
    }
}
