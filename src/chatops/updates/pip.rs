//! `/pip_sync`: `PIP_REQUIREMENTS` into `PIP_VENV`, summarised.

use super::*;
use crate::chatops::jobs::JobResult;
use crate::chatops::{Exec, Refused};
use crate::config::Config;
use anyhow::Result;
use std::path::{Path, PathBuf};

/// What `/pip_sync` will run, checked before anything starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipPlan {
    pub pip: PathBuf,
    pub requirements: PathBuf,
}

/// Checks `UPDATE_PIP_VENV` and `UPDATE_PIP_REQUIREMENTS`: set, and the venv's pip and the file exist.
pub fn pip_plan(cfg: &Config) -> Result<PipPlan, Refused> {
    let (Some(venv), Some(req)) = (&cfg.update_pip_venv, &cfg.update_pip_requirements) else {
        return Err(Refused::PipNotConfigured);
    };
    let venv_is = |f: fn(PathBuf) -> Refused| Err(f(venv.clone()));
    if !venv.is_dir() {
        return venv_is(|venv| Refused::PipVenvNotFolder { venv });
    }
    let pip = venv.join("bin/pip");
    if !is_executable(&pip) {
        return venv_is(|venv| Refused::PipVenvWithoutPip { venv });
    }
    if !req.is_file() {
        return Err(Refused::PipRequirementsMissing {
            requirements: req.clone(),
        });
    }
    Ok(PipPlan {
        pip,
        requirements: req.clone(),
    })
}

pub(super) fn is_executable(p: &Path) -> bool {
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

impl JobResult for Done<PipOutcome> {
    fn failure(&self) -> Option<String> {
        match &self.outcome {
            PipOutcome::Failed(why) => Some(why.clone()),
            PipOutcome::Synced { .. } => None,
        }
    }
}
