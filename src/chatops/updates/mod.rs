//! Updates from chat: `potion-helper apt update|upgrade` (parsed into packages
//! and the reboot flag), the venv's pip against the lock file, and
//! `git pull --ff-only` over `UPDATE_GIT_REPOS` with old..new commits.
//!
//! Each run returns a [`Done`]: a structured outcome plus the full output
//! text for the document the bot sends afterwards. Configuration is checked
//! by the `*_plan` functions first, so a refusal never starts a job.

use std::time::Duration;

use anyhow::Result;

use super::Exec;
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

mod apt;
mod git;
mod pip;

pub use apt::*;
pub use git::*;
pub use pip::*;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chatops::jobs::JobResult;
    use crate::config::Config;
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
        let none = parse_apt_update("Listing...\nreboot-required: no\n").unwrap();
        assert_eq!(
            none,
            AptReport {
                packages: vec![],
                reboot_required: false
            }
        );
        assert!(
            parse_apt_update("libssl3/stable 1 amd64 [upgradable from: 0]\n")
                .unwrap_err()
                .to_string()
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
        assert!(
            pip_plan(&cfg(&[]))
                .unwrap_err()
                .to_string()
                .contains("not configured")
        );
        let dir = tempfile::tempdir().unwrap();
        let venv = dir.path().join("venv");
        let req = dir.path().join("req.txt");
        let c = cfg(&[
            ("UPDATE_PIP_VENV", venv.to_str().unwrap()),
            ("UPDATE_PIP_REQUIREMENTS", req.to_str().unwrap()),
        ]);
        assert!(
            pip_plan(&c)
                .unwrap_err()
                .to_string()
                .contains("is not a folder")
        );
        std::fs::create_dir_all(venv.join("bin")).unwrap();
        assert!(pip_plan(&c).unwrap_err().to_string().contains("no bin/pip"));
        std::fs::write(venv.join("bin/pip"), "#!/bin/false\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(venv.join("bin/pip"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        assert!(
            pip_plan(&c)
                .unwrap_err()
                .to_string()
                .contains("does not exist")
        );
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
                .to_string()
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
        let done = Done {
            outcome: pulls,
            output: String::new(),
        };
        assert_eq!(done.failure().unwrap(), "1 of 3 repositories not updated");
    }
}
