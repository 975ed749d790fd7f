//! Carries out a helper plan: runs each command with a cleared environment
//! and a fixed `PATH`, writes files atomically, and gathers what to print.
//! The first failing step stops the plan.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::atomic;
use crate::process::Cmd;

use super::plan::{self, Call, Show, Step};

/// Lines of a failing command's output kept in the one-line error.
const ERROR_TAIL_LINES: usize = 3;

/// Why a plan stopped: a kind plus what it was about. Its `Display` is the one
/// line the helper prints on stderr, which the bot relays.
#[derive(Debug)]
pub enum StepError {
    /// A plan step with no program (a planning bug; never run).
    EmptyCommand,
    /// The command could not be run or waited for.
    Spawn(anyhow::Error),
    /// The command ran and failed: how it ended and the last lines it printed.
    Failed {
        command: String,
        end: String,
        tail: Vec<String>,
    },
    /// `potion-backup restore --json` ended well but printed no result.
    NoRestoreResult { output: String },
    /// A file (or its folder) could not be written.
    Write { path: PathBuf, cause: anyhow::Error },
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepError::EmptyCommand => f.write_str("empty command"),
            StepError::Spawn(e) => write!(f, "{e:#}"),
            StepError::Failed { command, end, tail } if tail.is_empty() => {
                write!(f, "{command} failed ({end})")
            }
            StepError::Failed { command, end, tail } => {
                write!(f, "{command} failed ({end}): {}", tail.join(" / "))
            }
            StepError::NoRestoreResult { output } => {
                write!(f, "potion-backup restore gave no result: {output}")
            }
            StepError::Write { path, cause } => {
                write!(f, "writing {}: {cause:#}", path.display())
            }
        }
    }
}

impl std::error::Error for StepError {}

/// Runs `steps` in order. `Ok` holds what to print on stdout; `Err` the reason
/// for failing, for stderr.
pub fn execute(steps: &[Step]) -> Result<String, StepError> {
    let mut out = String::new();
    for step in steps {
        match step {
            Step::Run(c) => out.push_str(&run(c)?),
            Step::Write { path, text } => write(Path::new(path), text)?,
            Step::RebootRequired => {
                let yes = Path::new(plan::REBOOT_REQUIRED).exists();
                out.push_str(&format!(
                    "reboot-required: {}\n",
                    if yes { "yes" } else { "no" }
                ));
            }
        }
    }
    Ok(out)
}

fn run(c: &Call) -> Result<String, StepError> {
    let (program, args) = c.argv.split_first().ok_or(StepError::EmptyCommand)?;
    let mut cmd = Cmd::new(program)
        .args(args)
        .env_clear()
        .env("PATH", plan::CHILD_PATH)
        .env("LC_ALL", "C.UTF-8")
        .timeout(c.timeout);
    for (k, v) in &c.env {
        cmd = cmd.env(k, v);
    }
    let shown = cmd.display();
    log::debug!("running {shown}");
    let output = cmd.run().map_err(StepError::Spawn)?;
    if !output.success() {
        let stderr = output.stderr_lossy();
        let text = if stderr.trim().is_empty() {
            output.stdout_lossy()
        } else {
            stderr
        };
        // The whole tail goes to the journal; the caller gets one line (the
        // bot shows the last line of stderr).
        log::warn!(
            "{shown} failed ({}):\n{}",
            output.describe_end(),
            text.trim_end()
        );
        return Err(StepError::Failed {
            command: shown,
            end: output.describe_end(),
            tail: tail(&text),
        });
    }
    let stdout = output.stdout_lossy();
    Ok(match c.show {
        Show::Nothing => String::new(),
        Show::Stdout => stdout,
        Show::Upgradable => plan::upgradable_lines(&stdout)
            .into_iter()
            .map(|l| l + "\n")
            .collect(),
        Show::TimerInfo => plan::timer_info(&stdout),
        Show::Restored => {
            plan::restored_lines(&stdout).ok_or_else(|| StepError::NoRestoreResult {
                output: stdout.trim().to_string(),
            })?
        }
    })
}

/// The last [`ERROR_TAIL_LINES`] non-blank lines of `text`, trimmed.
fn tail(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(ERROR_TAIL_LINES);
    lines[start..]
        .iter()
        .map(|l| l.trim().to_string())
        .collect()
}

fn write(path: &Path, text: &str) -> Result<(), StepError> {
    let failed = |cause| StepError::Write {
        path: path.to_path_buf(),
        cause,
    };
    if let Some(dir) = path.parent() {
        atomic::ensure_dir(dir).map_err(failed)?;
    }
    atomic::write_with_mode(path, text.as_bytes(), 0o644).map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn step(argv: &[&str], show: Show) -> Step {
        Step::Run(Call {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            env: Vec::new(),
            timeout: Duration::from_secs(10),
            show,
        })
    }

    #[test]
    fn children_get_only_a_fixed_path() {
        // The test process has HOME, cargo's variables and more; none may reach the child.
        assert!(std::env::vars_os().count() > 2);
        let out = execute(&[step(&["/usr/bin/env"], Show::Stdout)]).unwrap();
        let mut keys: Vec<&str> = out.lines().filter_map(|l| l.split('=').next()).collect();
        keys.sort();
        assert_eq!(keys, ["LC_ALL", "PATH"], "{out}");
        assert!(out.contains(&format!("PATH={}", plan::CHILD_PATH)));
    }

    #[test]
    fn first_failure_stops_the_plan_with_its_stderr() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("never");
        let err = execute(&[
            step(&["/bin/ls", "/nonexistent-potion-helper"], Show::Nothing),
            Step::Write {
                path: marker.display().to_string(),
                text: "x".into(),
            },
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("exit code"), "{err}");
        assert!(err.contains("nonexistent-potion-helper"), "{err}");
        assert_eq!(err.lines().count(), 1, "one line for the bot: {err}");
        assert!(!marker.exists());
    }

    #[test]
    fn writes_files_with_their_folder_and_reports_reboot() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("t.d/schedule.conf");
        let out = execute(&[
            Step::Write {
                path: f.display().to_string(),
                text: "[Timer]\n".into(),
            },
            Step::RebootRequired,
        ])
        .unwrap();
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "[Timer]\n");
        let expected = if Path::new(plan::REBOOT_REQUIRED).exists() {
            "reboot-required: yes\n"
        } else {
            "reboot-required: no\n"
        };
        assert_eq!(out, expected);
    }
}
