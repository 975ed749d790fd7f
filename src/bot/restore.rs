//! `/restore <id> <path>`: without arguments a hint with the newest
//! snapshots from `backups.json`; with them, the id and path are checked here
//! with the same validators the helper uses (`validate.rs`), then the bot
//! asks Yes/No (`confirm.rs`: 60 s, same admin, once) and on Yes runs
//! `sudo -n potion-helper restore ID PATH`, showing the elapsed time in the
//! question's message (`progress.rs`) until the helper answers.
//!
//! The bot cannot write `BACKUP_DIR` (root-owned, and read-only inside its
//! sandbox), so the restore itself is the helper's: always into the staging
//! folder `BACKUP_DIR/restored/<ID>/`, never over live files.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use teloxide::types::MessageId;

use crate::files::backup::SnapshotIndex;
use crate::helper::plan::RESTORE_TIMEOUT_S;
use crate::paths;
use crate::process::Cmd;
use crate::validate;

use super::AuditResult;
use super::confirm::{self, Confirmable};
use super::helper::HelperError;
use super::i18n::{RestoreTexts, Said, Texts, pre, texts};
use super::loaded::{Loaded, load};
use super::plan::HelperAction;
use super::progress::Progress;
use super::req::{Req, replied};
use super::text::{bytes, duration, esc, fill};

/// How long the bot waits for the helper: its own limit plus a margin, so
/// the helper (and the unit it started) ends first and says why.
pub const RESTORE_WAIT: Duration = Duration::from_secs(RESTORE_TIMEOUT_S + 120);
/// How often the running message shows the elapsed time.
const TICK: Duration = Duration::from_secs(15);
/// Snapshots listed by `/restore` without arguments.
const HINT_SNAPSHOTS: usize = 5;

/// What `/restore` with its arguments asks for (pure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    /// No arguments: how to use it and the newest snapshots.
    Hint,
    /// Refused before anything ran; the reason for the user.
    Refuse(crate::validate::Invalid),
    /// Ask Yes/No to restore `path` from snapshot `id` (both validated).
    Confirm { id: String, path: String },
}

/// Splits `<id> <path>` (the path is the rest of the line, so it may hold
/// spaces), takes `latest` as `newest`, and validates both.
pub fn plan(args: &str, newest: Option<&str>) -> Ask {
    let args = args.trim();
    if args.is_empty() {
        return Ask::Hint;
    }
    let (id, path) = args
        .split_once(char::is_whitespace)
        .map_or((args, ""), |(i, p)| (i, p.trim()));
    let id = if id.eq_ignore_ascii_case("latest") {
        match newest {
            Some(n) => n,
            // No snapshot yet: the hint says so.
            None => return Ask::Hint,
        }
    } else {
        id
    };
    let id = match validate::snapshot_id(id) {
        Ok(id) => id,
        Err(e) => return Ask::Refuse(e),
    };
    match validate::restore_path(path) {
        Ok(path) => Ask::Confirm { id, path },
        Err(e) => Ask::Refuse(e),
    }
}

/// The full argument vector after `sudo`: the shared helper call with the restore action.
pub fn sudo_args(id: &str, path: &str) -> Vec<String> {
    super::helper::sudo_args(&HelperAction::Restore {
        id: id.to_string(),
        path: path.to_string(),
    })
}

/// What the helper reports for a finished restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    pub dest: String,
    pub files: u64,
    pub bytes: u64,
}

/// Reads the helper's `restored-to:`/`files:`/`bytes:`/`verified: yes`
/// lines; `None` unless all are there and verified.
pub fn parse_result(stdout: &str) -> Option<Restored> {
    let field = |key: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(": "))
            .map(str::trim)
    };
    if field("verified")? != "yes" {
        return None;
    }
    Some(Restored {
        dest: field("restored-to").filter(|d| !d.is_empty())?.to_string(),
        files: field("files")?.parse().ok()?,
        bytes: field("bytes")?.parse().ok()?,
    })
}

/// The hint for `/restore` alone (HTML).
pub fn hint(r: &RestoreTexts, index: &Loaded<SnapshotIndex>) -> String {
    let snaps = match index {
        Loaded::Missing => return r.no_snapshots.to_string(),
        Loaded::Corrupt(e) => return fill(r.index_unreadable, &[("err", &esc(e))]),
        Loaded::Ok(i) if i.snapshots.is_empty() => return r.no_snapshots.to_string(),
        Loaded::Ok(i) => &i.snapshots,
    };
    let mut html = fill(r.hint, &[("id", &esc(&snaps[0].id))]);
    for s in snaps.iter().take(HINT_SNAPSHOTS) {
        html.push('\n');
        html.push_str(&fill(
            r.list_line,
            &[
                ("id", &esc(&s.id)),
                ("files", &s.files.to_string()),
                ("size", &bytes(s.bytes)),
            ],
        ));
        if s.verify.as_ref().is_some_and(|v| v.status != "ok") {
            html.push_str(r.verify_failed);
        }
    }
    html
}

/// The helper's last stderr line without its wrapping: `potion-helper:
/// failed: <argv> failed (exit code 1): potion-backup: <why>` → `<why>`.
pub fn reason(line: &str) -> String {
    let mut s = line.trim();
    for prefix in ["potion-helper: ", "refused: ", "failed: "] {
        s = s.strip_prefix(prefix).unwrap_or(s);
    }
    if let Some((_, why)) = s.split_once("): potion-backup: ") {
        s = why;
    }
    s.to_string()
}

/// How a helper run ended, as the message and the audit result (pure).
pub fn outcome(
    t: &Texts,
    id: &str,
    path: &str,
    out: anyhow::Result<crate::process::Output>,
) -> (String, AuditResult) {
    let r = &t.restore;
    // The helper's and sudo's own words go in `<pre>`, verbatim.
    let failed =
        |tpl: &str, why: String| (fill(tpl, &[("err", &pre(&why))]), AuditResult::Failed(why));
    let out = match out {
        Ok(o) => o,
        Err(e) => return failed(r.unavailable, format!("{e:#}")),
    };
    let what = || fill(r.action, &[("path", &esc(path)), ("id", &esc(id))]);
    let e = if out.timed_out {
        HelperError::TimedOut
    } else {
        match super::helper::classify(&out) {
            Ok(()) => return done(r, id, &out),
            Err(e) => e,
        }
    };
    match e {
        HelperError::Missing(m) => failed(r.unavailable, m),
        HelperError::Failed(m) => failed(r.failed, reason(&m)),
        HelperError::Refused(code, _) => (
            fill((t.errors.helper)(code), &[("what", &what())]),
            AuditResult::Failed(e.reason()),
        ),
        HelperError::TimedOut => (
            fill(
                t.errors.helper_timeout,
                &[
                    ("what", &what()),
                    ("secs", &RESTORE_WAIT.as_secs().to_string()),
                ],
            ),
            AuditResult::Failed(format!(
                "no answer within {}",
                duration(RESTORE_WAIT.as_secs())
            )),
        ),
    }
}

fn done(r: &RestoreTexts, id: &str, out: &crate::process::Output) -> (String, AuditResult) {
    match parse_result(&out.stdout_lossy()) {
        Some(done) => (
            fill(
                r.done,
                &[
                    ("files", &done.files.to_string()),
                    ("size", &bytes(done.bytes)),
                    ("id", &esc(id)),
                    ("dest", &esc(&done.dest)),
                ],
            ),
            AuditResult::Ok,
        ),
        None => {
            let why = "the helper gave no result";
            (
                fill(r.failed, &[("err", &pre(why))]),
                AuditResult::Failed(why.into()),
            )
        }
    }
}

/// `/restore [<id> <path>]`: the hint, a refusal, or the Yes/No question.
pub async fn handle(req: &Req, args: &str) -> AuditResult {
    let r = &texts(req.lang()).restore;
    let cfg = req.shared.config();
    let index = load::<SnapshotIndex>(&cfg.state_dir.join(paths::BACKUP_INDEX));
    let newest = match &index {
        Loaded::Ok(i) => i.snapshots.first().map(|s| s.id.as_str()),
        _ => None,
    };
    match plan(args, newest) {
        Ask::Hint => replied(req.reply(&hint(r, &index)).await, AuditResult::Ok),
        Ask::Refuse(why) => replied(
            req.reply(&fill(r.refused, &[("err", &why.said(req.texts().errors))]))
                .await,
            AuditResult::Failed(format!("invalid arguments: {why}")),
        ),
        Ask::Confirm { id, path } => {
            let what = Confirmable::Helper(HelperAction::Restore { id, path });
            replied(confirm::ask(req, what).await, AuditResult::Ok)
        }
    }
}

/// Kills the helper's `sudo` when the run is dropped unfinished (the bot
/// stops: its handlers are aborted after the shutdown grace), so the bot
/// never waits an hour for it, and writes that run's one audit line instead
/// of the handler. The restore itself may still finish: under systemd it is
/// a unit of its own.
struct Running<'a> {
    cancel: Arc<AtomicBool>,
    done: bool,
    req: &'a Req,
    args: String,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::SeqCst);
        if !self.done {
            let why =
                "the bot stopped while the restore ran; it may still finish in the staging folder";
            self.req
                .audit("restore", &self.args, &AuditResult::Failed(why.into()));
        }
    }
}

/// Runs a confirmed restore: the question's message shows the elapsed time
/// while the helper works, then the result (staging path, files, bytes) or
/// why it failed. The handler task waits; the bot's other updates do not.
pub async fn run_confirmed(req: &Req, msg_id: MessageId, id: &str, path: &str) -> AuditResult {
    let r = &texts(req.lang()).restore;
    let running = |secs: u64| {
        fill(
            r.running,
            &[
                ("path", &esc(path)),
                ("id", &esc(id)),
                ("elapsed", &duration(secs)),
            ],
        )
    };
    let mut guard = Running {
        cancel: Arc::new(AtomicBool::new(false)),
        done: false,
        req,
        args: format!("{id} {path}"),
    };
    let mut progress = Progress::on(req, msg_id);
    progress.show(&running(0)).await;
    let cmd = Cmd::new("sudo")
        .args(sudo_args(id, path))
        .timeout(RESTORE_WAIT)
        .max_output(64 * 1024)
        .cancel_flag(guard.cancel.clone());
    let started = Instant::now();
    let mut run = std::pin::pin!(cmd.run_async());
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + TICK, TICK);
    let out = loop {
        tokio::select! {
            out = &mut run => break out,
            _ = tick.tick() => progress.show(&running(started.elapsed().as_secs())).await,
        }
    };
    guard.done = true;
    let (html, result) = outcome(req.texts(), id, path, out);
    log::info!("restore {id} {path:?}: {result}");
    progress.finish(&html).await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::backup::{SnapshotSummary, VerifySummary};
    use crate::process::Output;

    const ID: &str = "20260314T031500Z";

    #[test]
    fn arguments_become_a_question_or_a_refusal() {
        assert_eq!(plan("  ", None), Ask::Hint);
        assert_eq!(
            plan(&format!("{ID} /opt/my app/.env"), None),
            Ask::Confirm {
                id: ID.into(),
                path: "/opt/my app/.env".into()
            }
        );
        assert_eq!(
            plan("latest opt/x", Some(ID)),
            Ask::Confirm {
                id: ID.into(),
                path: "opt/x".into()
            }
        );
        let long = format!("{ID} /{}", "a".repeat(5000));
        for bad in [
            format!("{ID} ../../etc/shadow"),
            format!("{ID} /opt/../etc/shadow"),
            format!("{ID} --overwrite"),
            format!("{ID} /a\nb"),
            ID.to_string(),
            format!("{ID} /"),
            ";id /etc/shadow".to_string(),
            "20260314T031500Z;id /x".to_string(),
            long,
        ] {
            assert!(
                matches!(plan(&bad, None), Ask::Refuse(_)),
                "{:.60?} accepted",
                bad
            );
        }
        // `latest` with no snapshot yet: the hint says there is none.
        assert_eq!(plan("latest /etc", None), Ask::Hint);
    }

    #[test]
    fn the_helper_is_called_by_its_absolute_path() {
        assert_eq!(
            sudo_args(ID, "/opt/x"),
            ["-n", paths::HELPER_PATH, "restore", ID, "/opt/x"]
        );
    }

    #[test]
    fn results_are_read_only_when_complete_and_verified() {
        let good = "restored-to: /b/restored/X/opt/x\nfiles: 3\nbytes: 1234\nverified: yes\n";
        assert_eq!(
            parse_result(good),
            Some(Restored {
                dest: "/b/restored/X/opt/x".into(),
                files: 3,
                bytes: 1234
            })
        );
        assert_eq!(parse_result(&good.replace("yes", "no")), None);
        assert_eq!(parse_result("files: 3\nbytes: 1\nverified: yes\n"), None);
        assert_eq!(parse_result(""), None);
    }

    fn output(code: i32, stdout: &str, stderr: &str) -> Output {
        use std::os::unix::process::ExitStatusExt;
        Output {
            status: Some(std::process::ExitStatus::from_raw(code << 8)),
            stdout: stdout.as_bytes().to_vec(),
            stderr: stderr.as_bytes().to_vec(),
            timed_out: false,
            cancelled: false,
            truncated: false,
            elapsed: Duration::ZERO,
        }
    }

    #[test]
    fn outcomes_say_where_or_why() {
        let t = texts(crate::config::Lang::En);
        let outcome = |id, out| outcome(t, id, "/a", out);
        let ok = "restored-to: /b/restored/X/<x>\nfiles: 2\nbytes: 2048\nverified: yes\n";
        let (html, res) = outcome(ID, Ok(output(0, ok, "")));
        assert_eq!(res, AuditResult::Ok);
        assert!(html.contains("2 files (2.0 KiB)"), "{html}");
        assert!(html.contains("/b/restored/X/&lt;x&gt;"), "{html}");
        let (html, res) = outcome(
            ID,
            Ok(output(
                1,
                "",
                "potion-helper: refused: there is no snapshot X\n",
            )),
        );
        assert!(matches!(res, AuditResult::Failed(ref m) if m.contains("no snapshot")));
        assert!(html.starts_with("❌ The restore failed"), "{html}");
        assert!(matches!(res, AuditResult::Failed(ref m) if m == "there is no snapshot X"));
        let long = "potion-helper: failed: /usr/bin/potion-backup --env /e restore --json -- X /a failed (exit code 1): potion-backup: 2 files already exist at the destination\n";
        let (html, _) = outcome(ID, Ok(output(1, "", long)));
        assert_eq!(
            html,
            "❌ The restore failed: <pre>2 files already exist at the destination</pre>"
        );
        let (html, _) = outcome(ID, Ok(output(1, "", "sudo: a password is required\n")));
        assert!(html.contains("helper could not be run"), "{html}");
        let (_, res) = outcome(ID, Ok(output(0, "odd\n", "")));
        assert!(matches!(res, AuditResult::Failed(_)));
        let (_, res) = outcome(ID, Err(anyhow::anyhow!("no sudo")));
        assert!(matches!(res, AuditResult::Failed(_)));
    }

    #[test]
    fn the_hint_lists_the_newest_snapshots() {
        let r = &texts(crate::config::Lang::En).restore;
        assert_eq!(hint(r, &Loaded::Missing), r.no_snapshots);
        let snap = |id: &str, status: Option<&str>| SnapshotSummary {
            id: id.into(),
            finished_at: "2026-03-14T03:16:00Z".into(),
            files: 10,
            bytes: 2048,
            new_bytes: 0,
            verify: status.map(|s| VerifySummary {
                id: id.into(),
                at: "2026-03-14T04:00:00Z".into(),
                status: s.into(),
                checked_files: 10,
                total_files: 10,
                sample_percent: None,
                problems: u64::from(s != "ok"),
                coverage_percent: None,
                damaged: Vec::new(),
            }),
        };
        let ids: Vec<String> = (0..7)
            .map(|i| format!("2026031{i}T031500Z"))
            .rev()
            .collect();
        let mut snapshots: Vec<SnapshotSummary> = ids.iter().map(|i| snap(i, None)).collect();
        snapshots[1] = snap(&ids[1], Some("failed"));
        let index = SnapshotIndex {
            schema: 1,
            updated_at: String::new(),
            snapshots,
            last_verify: None,
        };
        let html = hint(r, &Loaded::Ok(index));
        assert!(
            html.contains(&format!("/restore {} /opt", ids[0])),
            "{html}"
        );
        assert_eq!(html.matches("• ").count(), HINT_SNAPSHOTS, "{html}");
        assert!(html.contains("10 files, 2.0 KiB"), "{html}");
        assert_eq!(html.matches("verify failed").count(), 1, "{html}");
        assert!(!html.contains(&ids[6]), "{html}");
    }
}
