//! `/git_pull`: fast-forward pulls of `GIT_REPOS`, summarised.

use super::*;
use crate::chatops::jobs::JobResult;
use crate::chatops::{Exec, Refused};
use crate::config::Config;
use crate::process::Cmd;
use anyhow::Result;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The repositories `/git_pull` will update, checked before anything starts.
pub fn git_plan(cfg: &Config) -> Result<Vec<PathBuf>, Refused> {
    if cfg.update_git_repos.is_empty() {
        return Err(Refused::GitNotConfigured);
    }
    Ok(cfg.update_git_repos.clone())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitOutcome {
    UpToDate {
        head: String,
    },
    Updated {
        old: String,
        new: String,
        /// `git log --oneline old..new`, newest first, at most [`MAX_COMMITS`].
        commits: Vec<String>,
    },
    /// Local history diverged from upstream: nothing was changed.
    NotFastForward(String),
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoPull {
    pub repo: PathBuf,
    pub outcome: GitOutcome,
}

pub(super) fn git(exec: &Exec, repo: &Path, timeout: Duration) -> Cmd {
    exec.cmd("git", timeout)
        .arg("-C")
        .arg(repo)
        // Never wait for a password: fail at once instead of hanging to the timeout.
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
        // Messages are matched below, so keep them untranslated.
        .env("LC_ALL", "C")
}

/// The commit `HEAD` names; the inner `Err` is the outcome to report when
/// git cannot say.
pub(super) fn head(
    exec: &Exec,
    repo: &Path,
    log: &mut String,
) -> Result<Result<String, GitOutcome>> {
    let cmd = git(exec, repo, Duration::from_secs(30)).args(["rev-parse", "--verify", "HEAD"]);
    let out = run_logged(exec, cmd, log)?;
    Ok(if out.success() {
        Ok(out.stdout_lossy().trim().to_string())
    } else {
        Err(GitOutcome::Failed(format!(
            "cannot read HEAD: {}",
            reason(&out.stderr_lossy())
        )))
    })
}

/// Fast-forwards one repository and reports what changed.
pub fn pull_repo(exec: &Exec, repo: &Path, log: &mut String) -> Result<RepoPull> {
    let done = |outcome| {
        Ok(RepoPull {
            repo: repo.to_path_buf(),
            outcome,
        })
    };
    if !repo.is_dir() {
        return done(GitOutcome::Failed(format!(
            "{} is not a folder",
            repo.display()
        )));
    }
    let old = match head(exec, repo, log)? {
        Ok(h) => h,
        Err(failed) => return done(failed),
    };
    let pull = git(exec, repo, GIT_TIMEOUT).args(["pull", "--ff-only", "--no-rebase"]);
    let out = run_logged(exec, pull, log)?;
    if !out.success() {
        let err = out.stderr_lossy();
        if out.status.is_some() && err.to_ascii_lowercase().contains("fast-forward") {
            return done(GitOutcome::NotFastForward(
                "local commits diverge from upstream; nothing was changed, merge by hand".into(),
            ));
        }
        let why = err
            .lines()
            .find(|l| l.starts_with("fatal:") || l.starts_with("error:"))
            .unwrap_or_else(|| last_line(&err));
        return done(GitOutcome::Failed(format!(
            "{}: {}",
            out.describe_end(),
            why.trim()
        )));
    }
    let new = match head(exec, repo, log)? {
        Ok(h) => h,
        Err(failed) => return done(failed),
    };
    if new == old {
        return done(GitOutcome::UpToDate { head: new });
    }
    let range = format!("{old}..{new}");
    let cmd = git(exec, repo, Duration::from_secs(30))
        .args(["log", "--oneline", "--no-decorate", "--no-color"])
        .arg(format!("-n{MAX_COMMITS}"))
        .arg(&range)
        .arg("--");
    let out = run_logged(exec, cmd, log)?;
    let commits = out.stdout_lossy().lines().map(str::to_string).collect();
    done(GitOutcome::Updated { old, new, commits })
}

/// `/git_pull`: every repository in the plan, one after the other.
pub fn git_pull(exec: &Exec, repos: &[PathBuf]) -> Result<Done<Vec<RepoPull>>> {
    let mut log = String::new();
    let mut pulls = Vec::new();
    for repo in repos {
        if exec.is_cancelled() {
            break;
        }
        pulls.push(pull_repo(exec, repo, &mut log)?);
    }
    Ok(Done {
        outcome: pulls,
        output: log,
    })
}

/// The first ten characters of a commit id; whole when shorter or when cut
/// would split a character (git's output is text we did not write).
pub fn short(hash: &str) -> &str {
    hash.get(..10).unwrap_or(hash)
}

/// How many repositories a pull left behind (not fast-forward, or failed).
pub fn not_updated(pulls: &[RepoPull]) -> usize {
    pulls
        .iter()
        .filter(|p| {
            matches!(
                p.outcome,
                GitOutcome::NotFastForward(_) | GitOutcome::Failed(_)
            )
        })
        .count()
}

impl JobResult for Done<Vec<RepoPull>> {
    fn failure(&self) -> Option<String> {
        let bad = not_updated(&self.outcome);
        (bad > 0).then(|| format!("{bad} of {} repositories not updated", self.outcome.len()))
    }
}
