//! `/apt_update` and `/apt_upgrade` through the helper, and their summaries.

use super::*;
use crate::chatops::Exec;
use crate::chatops::jobs::JobResult;
use crate::process::Output;
use anyhow::Result;

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
    /// The helper failed: its end and last line of stderr.
    Failed(String),
    /// The helper's answer could not be read.
    BadReport(BadReport),
}

/// How `apt upgrade` through the helper ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AptUpgradeOutcome {
    Upgraded,
    /// The helper's end and its last line of stderr.
    Failed(String),
}

/// Why the helper's `apt update` output could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadReport {
    /// A `reboot-required:` line with neither `yes` nor `no`.
    RebootValue(String),
    /// No `reboot-required:` line at all.
    NoRebootLine,
}

impl std::fmt::Display for BadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BadReport::RebootValue(v) => write!(f, "the helper said reboot-required: {v:?}"),
            BadReport::NoRebootLine => {
                f.write_str("the helper's output ends without a reboot-required line")
            }
        }
    }
}

impl std::error::Error for BadReport {}

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
pub fn parse_apt_update(stdout: &str) -> Result<AptReport, BadReport> {
    let mut packages = Vec::new();
    let mut reboot = None;
    for line in stdout.lines() {
        if let Some(v) = line.trim().strip_prefix("reboot-required:") {
            reboot = match v.trim() {
                "yes" => Some(true),
                "no" => Some(false),
                other => return Err(BadReport::RebootValue(other.to_string())),
            };
        } else if let Some(p) = parse_upgradable(line) {
            packages.push(p);
        }
    }
    let reboot_required = reboot.ok_or(BadReport::NoRebootLine)?;
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
        parse_apt_update(&out.stdout_lossy())
            .map_or_else(AptOutcome::BadReport, AptOutcome::Checked)
    } else {
        AptOutcome::Failed(helper_failure(&out))
    };
    Ok(Done {
        outcome,
        output: log,
    })
}

/// `apt upgrade` through the helper, after the owner confirmed.
pub fn apt_upgrade(exec: &Exec) -> Result<Done<AptUpgradeOutcome>> {
    let mut log = String::new();
    let cmd = exec.helper(&["apt", "upgrade"], APT_UPGRADE_TIMEOUT);
    let out = run_logged(exec, cmd, &mut log)?;
    let outcome = if out.success() {
        AptUpgradeOutcome::Upgraded
    } else {
        AptUpgradeOutcome::Failed(helper_failure(&out))
    };
    Ok(Done {
        outcome,
        output: log,
    })
}

pub(super) fn helper_failure(out: &Output) -> String {
    let err = out.stderr_lossy();
    match last_line(&err) {
        "" => out.describe_end(),
        l => format!("{}: {l}", out.describe_end()),
    }
}

impl JobResult for Done<AptOutcome> {
    fn failure(&self) -> Option<String> {
        match &self.outcome {
            AptOutcome::Failed(why) => Some(why.clone()),
            AptOutcome::BadReport(e) => Some(e.to_string()),
            AptOutcome::Checked(_) => None,
        }
    }
}

impl JobResult for Done<AptUpgradeOutcome> {
    fn failure(&self) -> Option<String> {
        match &self.outcome {
            AptUpgradeOutcome::Failed(why) => Some(why.clone()),
            AptUpgradeOutcome::Upgraded => None,
        }
    }
}
