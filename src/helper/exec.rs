//! Carries out a helper plan: runs each command with a cleared environment
//! and a fixed `PATH`, writes files atomically, and gathers what to print.
//! The first failing step stops the plan.

use std::path::Path;

use crate::atomic;
use crate::process::Cmd;

use super::plan::{self, Call, Show, Step};

/// Lines of a failing command's output kept in the one-line error.
const ERROR_TAIL_LINES: usize = 3;

/// Runs `steps` in order. `Ok` holds what to print on stdout; `Err` the reason
/// for failing, for stderr.
pub fn execute(steps: &[Step]) -> Result<String, String> {
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

fn run(c: &Call) -> Result<String, String> {
    let (program, args) = c.argv.split_first().ok_or("empty command")?;
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
    let output = cmd.run().map_err(|e| format!("{e:#}"))?;
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
        return Err(format!(
            "{shown} failed ({}){}",
            output.describe_end(),
            tail(&text)
        ));
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
        Show::Restored => plan::restored_lines(&stdout)?,
    })
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    let start = lines.len().saturating_sub(ERROR_TAIL_LINES);
    let kept: Vec<&str> = lines[start..].iter().map(|l| l.trim()).collect();
    format!(": {}", kept.join(" / "))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        atomic::ensure_dir(dir).map_err(|e| format!("{e:#}"))?;
    }
    atomic::write_with_mode(path, text.as_bytes(), 0o644)
        .map_err(|e| format!("writing {}: {e:#}", path.display()))
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
        .unwrap_err();
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
