//! Updates from chat: `potion-helper apt update|upgrade` (parsed into packages
//! and the reboot flag), the venv's pip against the lock file, and
//! `git pull --ff-only` over `UPDATE_GIT_REPOS` with old..new commits.
//!
//! Each run returns a [`Done`]: a structured outcome plus the full output
//! text for the document the bot sends afterwards. Configuration is checked
//! by the `*_plan` functions first, so a refusal never starts a job.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;

use super::Exec;
use super::jobs::JobResult;
use crate::config::Config;
use crate::process::{Cmd, Output};

/// apt-get update over a slow mirror, plus the listing.
pub const APT_UPDATE_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// A full upgrade on an old laptop's HDD.
pub const APT_UPGRADE_TIMEOUT: Duration = Duration::from_secs(60 * 60);
pub const PIP_TIMEOUT: Duration = Duration::from_secs(20 * 60);
/// One repository's fetch; a hung remote is killed here.
pub const GIT_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// Most new commits listed per repository.
pub const MAX_COMMITS: usize = 50;

/// An outcome plus everything the programs printed.
#[derive(Debug, Clone, PartialEq)]
pub struct Done<T> {
    pub outcome: T,
    /// Commands and their stdout/stderr, for the full-output document.
    pub output: String,
}

/// Appends one command's run to a transcript.
fn record(log: &mut String, cmd: &Cmd, out: &Output) {
    log.push_str(&format!("$ {}\n", cmd.display()));
    for stream in [out.stdout_lossy(), out.stderr_lossy()] {
        if !stream.is_empty() {
            log.push_str(&stream);
            if !stream.ends_with('\n') {
                log.push('\n');
            }
        }
    }
    if !out.success() {
        log.push_str(&format!("[{}]\n", out.describe_end()));
    }
}

/// Runs `cmd`, notes it in the live transcript, and records it in `log`.
fn run_logged(exec: &Exec, cmd: Cmd, log: &mut String) -> Result<Output> {
    exec.note(&format!("$ {}", cmd.display()));
    let out = cmd.run()?;
    record(log, &cmd, &out);
    Ok(out)
}

fn last_line(s: &str) -> &str {
    s.lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
}

/// The line of a failing program's stderr that says why: its first
/// `fatal:`/`error:` line, else its first line (git puts advice after it).
fn reason(stderr: &str) -> &str {
    let mut lines = stderr.lines().map(str::trim).filter(|l| !l.is_empty());
    stderr
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("fatal:") || l.starts_with("error:") || l.starts_with("ERROR:"))
        .or_else(|| lines.next())
        .unwrap_or("")
}

// ---------------------------------------------------------------- apt

/// One package `apt list --upgradable` reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgradable {
    pub name: String,
    /// Suites it comes from, e.g. `bookworm-security`.
    pub origin: String,
    pub from: Option<String>,
    pub to: String,
    pub arch: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AptReport {
    pub packages: Vec<Upgradable>,
    pub reboot_required: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AptOutcome {
    Checked(AptReport),
    Failed(String),
}

/// Parses one `apt list --upgradable` line:
/// `openssl/stable-security 3.0.15-1~deb12u1 amd64 [upgradable from: 3.0.14-1~deb12u2]`.
pub fn parse_upgradable(line: &str) -> Option<Upgradable> {
    let (head, bracket) = line.trim().split_once(" [upgradable from: ")?;
    let from = bracket.strip_suffix(']')?.trim();
    let mut parts = head.split_whitespace();
    let (name, origin) = parts.next()?.split_once('/')?;
    let to = parts.next()?;
    let arch = parts.next().unwrap_or("");
    if name.is_empty() || parts.next().is_some() {
        return None;
    }
    Some(Upgradable {
        name: name.into(),
        origin: origin.into(),
        from: (!from.is_empty()).then(|| from.to_string()),
        to: to.into(),
        arch: arch.into(),
    })
}

/// Parses the helper's `apt update` stdout: upgradable lines, then `reboot-required: yes|no`.
pub fn parse_apt_update(stdout: &str) -> Result<AptReport, String> {
    let mut packages = Vec::new();
    let mut reboot = None;
    for line in stdout.lines() {
        if let Some(v) = line.trim().strip_prefix("reboot-required:") {
            reboot = match v.trim() {
                "yes" => Some(true),
                "no" => Some(false),
                other => return Err(format!("the helper said reboot-required: {other:?}")),
            };
        } else if let Some(p) = parse_upgradable(line) {
            packages.push(p);
        }
    }
    let reboot_required =
        reboot.ok_or("the helper's output ends without a reboot-required line")?;
    Ok(AptReport {
        packages,
        reboot_required,
    })
}

/// `/apt_update`: refresh the package lists through the helper and list upgrades.
pub fn apt_update(exec: &Exec) -> Result<Done<AptOutcome>> {
    let mut log = String::new();
    let cmd = exec.helper(&["apt", "update"], APT_UPDATE_TIMEOUT);
    let out = run_logged(exec, cmd, &mut log)?;
    let outcome = if out.success() {
        parse_apt_update(&out.stdout_lossy()).map_or_else(AptOutcome::Failed, AptOutcome::Checked)
    } else {
        AptOutcome::Failed(helper_failure(&out))
    };
    Ok(Done {
        outcome,
        output: log,
    })
}

/// `apt upgrade` through the helper, after the owner confirmed.
pub fn apt_upgrade(exec: &Exec) -> Result<Done<Result<(), String>>> {
    let mut log = String::new();
    let cmd = exec.helper(&["apt", "upgrade"], APT_UPGRADE_TIMEOUT);
    let out = run_logged(exec, cmd, &mut log)?;
    let outcome = if out.success() {
        Ok(())
    } else {
        Err(helper_failure(&out))
    };
    Ok(Done {
        outcome,
        output: log,
    })
}

fn helper_failure(out: &Output) -> String {
    let err = out.stderr_lossy();
    match last_line(&err) {
        "" => out.describe_end(),
        l => format!("{}: {l}", out.describe_end()),
    }
}

pub fn render_apt(outcome: &AptOutcome) -> String {
    match outcome {
        AptOutcome::Failed(why) => format!("apt update failed: {why}"),
        AptOutcome::Checked(r) => {
            let mut lines = vec![if r.packages.is_empty() {
                "apt: everything is up to date".to_string()
            } else {
                format!("apt: {} packages can be upgraded", r.packages.len())
            }];
            for p in &r.packages {
                lines.push(format!(
                    "  {} {} → {}",
                    p.name,
                    p.from.as_deref().unwrap_or("?"),
                    p.to
                ));
            }
            if r.reboot_required {
                lines.push("a reboot is required".into());
            }
            lines.join("\n")
        }
    }
}

impl JobResult for Done<AptOutcome> {
    fn failure(&self) -> Option<String> {
        match &self.outcome {
            AptOutcome::Failed(why) => Some(why.clone()),
            AptOutcome::Checked(_) => None,
        }
    }
}

impl JobResult for Done<Result<(), String>> {
    fn failure(&self) -> Option<String> {
        self.outcome.clone().err()
    }
}

// ---------------------------------------------------------------- pip

/// What `/pip_sync` will run, checked before anything starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipPlan {
    pub pip: PathBuf,
    pub requirements: PathBuf,
}

/// Checks `UPDATE_PIP_VENV` and `UPDATE_PIP_REQUIREMENTS`: set, and the venv's pip and the file exist.
pub fn pip_plan(cfg: &Config) -> Result<PipPlan, String> {
    let (Some(venv), Some(req)) = (&cfg.update_pip_venv, &cfg.update_pip_requirements) else {
        return Err(
            "pip sync is not configured: set UPDATE_PIP_VENV and UPDATE_PIP_REQUIREMENTS in .env"
                .into(),
        );
    };
    if !venv.is_dir() {
        return Err(format!(
            "UPDATE_PIP_VENV {} is not a folder; create the venv with python3 -m venv",
            venv.display()
        ));
    }
    let pip = venv.join("bin/pip");
    if !is_executable(&pip) {
        return Err(format!(
            "{} has no bin/pip; is UPDATE_PIP_VENV a virtual environment?",
            venv.display()
        ));
    }
    if !req.is_file() {
        return Err(format!(
            "UPDATE_PIP_REQUIREMENTS {} does not exist",
            req.display()
        ));
    }
    Ok(PipPlan {
        pip,
        requirements: req.clone(),
    })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipOutcome {
    /// pip finished; these `name-version`s were installed or changed.
    Synced {
        installed: Vec<String>,
    },
    Failed(String),
}

/// The packages from pip's `Successfully installed a-1.0 b-2.0` line.
pub fn parse_pip_installed(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Successfully installed "))
        .flat_map(|rest| rest.split_whitespace().map(str::to_string))
        .collect()
}

/// `/pip_sync`: `pip install --no-input --disable-pip-version-check -r REQUIREMENTS`.
pub fn pip_sync(exec: &Exec, plan: &PipPlan) -> Result<Done<PipOutcome>> {
    let mut log = String::new();
    let cmd = exec
        .cmd(&plan.pip, PIP_TIMEOUT)
        .args(["install", "--no-input", "--disable-pip-version-check", "-r"])
        .arg(&plan.requirements)
        .env("PIP_NO_INPUT", "1")
        .env("LC_ALL", "C.UTF-8");
    let out = run_logged(exec, cmd, &mut log)?;
    let outcome = if out.success() {
        PipOutcome::Synced {
            installed: parse_pip_installed(&out.stdout_lossy()),
        }
    } else {
        let err = out.stderr_lossy();
        PipOutcome::Failed(format!("{}: {}", out.describe_end(), reason(&err)))
    };
    Ok(Done {
        outcome,
        output: log,
    })
}

pub fn render_pip(outcome: &PipOutcome) -> String {
    match outcome {
        PipOutcome::Synced { installed } if installed.is_empty() => {
            "pip: already in sync, nothing installed".into()
        }
        PipOutcome::Synced { installed } => {
            format!("pip: installed {}", installed.join(", "))
        }
        PipOutcome::Failed(why) => format!("pip sync failed: {why}"),
    }
}

impl JobResult for Done<PipOutcome> {
    fn failure(&self) -> Option<String> {
        match &self.outcome {
            PipOutcome::Failed(why) => Some(why.clone()),
            PipOutcome::Synced { .. } => None,
        }
    }
}

// ---------------------------------------------------------------- git

/// The repositories `/git_pull` will update, checked before anything starts.
pub fn git_plan(cfg: &Config) -> Result<Vec<PathBuf>, String> {
    if cfg.update_git_repos.is_empty() {
        return Err("no repositories to pull: set UPDATE_GIT_REPOS in .env".into());
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

fn git(exec: &Exec, repo: &Path, timeout: Duration) -> Cmd {
    exec.cmd("git", timeout)
        .arg("-C")
        .arg(repo)
        // Never wait for a password: fail at once instead of hanging to the timeout.
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
        // Messages are matched below, so keep them untranslated.
        .env("LC_ALL", "C")
}

fn head(exec: &Exec, repo: &Path, log: &mut String) -> Result<Result<String, String>> {
    let cmd = git(exec, repo, Duration::from_secs(30)).args(["rev-parse", "--verify", "HEAD"]);
    let out = run_logged(exec, cmd, log)?;
    Ok(if out.success() {
        Ok(out.stdout_lossy().trim().to_string())
    } else {
        Err(format!("cannot read HEAD: {}", reason(&out.stderr_lossy())))
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
        Err(why) => return done(GitOutcome::Failed(why)),
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
        Err(why) => return done(GitOutcome::Failed(why)),
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
fn short(hash: &str) -> &str {
    hash.get(..10).unwrap_or(hash)
}

pub fn render_git(pulls: &[RepoPull]) -> String {
    let mut lines = Vec::new();
    for p in pulls {
        let name = p.repo.display();
        match &p.outcome {
            GitOutcome::UpToDate { head } => {
                lines.push(format!("{name}: already up to date ({})", short(head)));
            }
            GitOutcome::Updated { old, new, commits } => {
                lines.push(format!(
                    "{name}: {}..{} ({} new commits)",
                    short(old),
                    short(new),
                    commits.len()
                ));
                lines.extend(commits.iter().map(|c| format!("  {c}")));
            }
            GitOutcome::NotFastForward(why) => {
                lines.push(format!("{name}: not fast-forwardable: {why}"));
            }
            GitOutcome::Failed(why) => lines.push(format!("{name}: failed: {why}")),
        }
    }
    lines.join("\n")
}

impl JobResult for Done<Vec<RepoPull>> {
    fn failure(&self) -> Option<String> {
        let bad = self
            .outcome
            .iter()
            .filter(|p| {
                matches!(
                    p.outcome,
                    GitOutcome::NotFastForward(_) | GitOutcome::Failed(_)
                )
            })
            .count();
        (bad > 0).then(|| format!("{bad} of {} repositories not updated", self.outcome.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const APT_OUT: &str = "\
Hit:1 http://deb.debian.org/debian bookworm InRelease
Get:2 http://security.debian.org/debian-security bookworm-security InRelease [48.0 kB]
Fetched 48.0 kB in 1s (52.1 kB/s)
Reading package lists...
Listing...
libssl3/stable-security 3.0.15-1~deb12u1 amd64 [upgradable from: 3.0.14-1~deb12u2]
openssl/stable-security 3.0.15-1~deb12u1 amd64 [upgradable from: 3.0.14-1~deb12u2]
tzdata/stable-updates,stable-updates 2024b-0+deb12u1 all [upgradable from: 2024a-0+deb12u1]
reboot-required: yes
";

    #[test]
    fn apt_listing() {
        let r = parse_apt_update(APT_OUT).unwrap();
        assert!(r.reboot_required);
        assert_eq!(r.packages.len(), 3);
        assert_eq!(
            r.packages[0],
            Upgradable {
                name: "libssl3".into(),
                origin: "stable-security".into(),
                from: Some("3.0.14-1~deb12u2".into()),
                to: "3.0.15-1~deb12u1".into(),
                arch: "amd64".into(),
            }
        );
        assert_eq!(r.packages[2].origin, "stable-updates,stable-updates");
        let text = render_apt(&AptOutcome::Checked(r));
        assert!(text.starts_with(
            "apt: 3 packages can be upgraded\n  libssl3 3.0.14-1~deb12u2 → 3.0.15-1~deb12u1"
        ));
        assert!(text.ends_with("a reboot is required"));
        let none = parse_apt_update("Listing...\nreboot-required: no\n").unwrap();
        assert_eq!(
            none,
            AptReport {
                packages: vec![],
                reboot_required: false
            }
        );
        assert_eq!(
            render_apt(&AptOutcome::Checked(none)),
            "apt: everything is up to date"
        );
        assert!(
            parse_apt_update("libssl3/stable 1 amd64 [upgradable from: 0]\n")
                .unwrap_err()
                .contains("reboot-required")
        );
        assert!(parse_apt_update("reboot-required: maybe\n").is_err());
        assert!(parse_upgradable("WARNING: apt does not have a stable CLI interface.").is_none());
    }

    #[test]
    fn failure_reasons() {
        let no_upstream = "There is no tracking information for the current branch.\nPlease specify which branch you want to merge with.\n\n    git pull <remote> <branch>\n";
        assert_eq!(
            reason(no_upstream),
            "There is no tracking information for the current branch."
        );
        let dubious = "fatal: detected dubious ownership in repository at '/srv/a'\nTo add an exception for this directory, call:\n\n\tgit config --global --add safe.directory /srv/a\n";
        assert_eq!(
            reason(dubious),
            "fatal: detected dubious ownership in repository at '/srv/a'"
        );
        assert_eq!(reason(""), "");
    }

    #[test]
    fn pip_output() {
        let out = "Processing ./probe-1.0-py3-none-any.whl\nInstalling collected packages: probe\nSuccessfully installed probe-1.0 six-1.16.0\n";
        assert_eq!(parse_pip_installed(out), ["probe-1.0", "six-1.16.0"]);
        assert!(parse_pip_installed("Requirement already satisfied: probe\n").is_empty());
        assert_eq!(
            render_pip(&PipOutcome::Synced { installed: vec![] }),
            "pip: already in sync, nothing installed"
        );
    }

    #[test]
    fn pip_plan_refuses_missing_pieces() {
        let cfg = |pairs: &[(&str, &str)]| {
            let p: BTreeMap<String, String> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Config::from_pairs(&p).unwrap()
        };
        assert!(pip_plan(&cfg(&[])).unwrap_err().contains("not configured"));
        let dir = tempfile::tempdir().unwrap();
        let venv = dir.path().join("venv");
        let req = dir.path().join("req.txt");
        let c = cfg(&[
            ("UPDATE_PIP_VENV", venv.to_str().unwrap()),
            ("UPDATE_PIP_REQUIREMENTS", req.to_str().unwrap()),
        ]);
        assert!(pip_plan(&c).unwrap_err().contains("is not a folder"));
        std::fs::create_dir_all(venv.join("bin")).unwrap();
        assert!(pip_plan(&c).unwrap_err().contains("no bin/pip"));
        std::fs::write(venv.join("bin/pip"), "#!/bin/false\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(venv.join("bin/pip"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        assert!(pip_plan(&c).unwrap_err().contains("does not exist"));
        std::fs::write(&req, "").unwrap();
        assert_eq!(
            pip_plan(&c).unwrap(),
            PipPlan {
                pip: venv.join("bin/pip"),
                requirements: req
            }
        );
        assert!(
            git_plan(&cfg(&[]))
                .unwrap_err()
                .contains("UPDATE_GIT_REPOS")
        );
    }

    #[test]
    fn git_rendering_and_failure() {
        let pulls = vec![
            RepoPull {
                repo: "/srv/a".into(),
                outcome: GitOutcome::Updated {
                    old: "1111111111aaaa".into(),
                    new: "2222222222bbbb".into(),
                    commits: vec!["2222222 fix".into(), "1234567 feat".into()],
                },
            },
            RepoPull {
                repo: "/srv/b".into(),
                outcome: GitOutcome::UpToDate {
                    head: "3333333333cc".into(),
                },
            },
            RepoPull {
                repo: "/srv/c".into(),
                outcome: GitOutcome::NotFastForward("diverged".into()),
            },
        ];
        assert_eq!(
            render_git(&pulls),
            "/srv/a: 1111111111..2222222222 (2 new commits)\n  2222222 fix\n  1234567 feat\n/srv/b: already up to date (3333333333)\n/srv/c: not fast-forwardable: diverged"
        );
        let done = Done {
            outcome: pulls,
            output: String::new(),
        };
        assert_eq!(done.failure().unwrap(), "1 of 3 repositories not updated");
    }
}
