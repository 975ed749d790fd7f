//! State of the `SERVICES` units: one `systemctl show` call for all of them
//! (never one process per unit), parsed by position.

use std::time::Duration;

use anyhow::{Result, bail};

use crate::files::health::ServiceInfo;
use crate::process::Cmd;

/// The marker for a unit whose state could not be read this run.
pub const UNKNOWN: &str = "unknown";

/// Arguments of the one `systemctl` call.
pub fn show_args(units: &[String]) -> Vec<String> {
    let mut a = vec![
        "show".to_string(),
        "--property=Id,ActiveState,SubState".to_string(),
        "--".to_string(),
    ];
    a.extend(units.iter().cloned());
    a
}

/// Parses `systemctl show` output: one blank-line separated block per unit,
/// in the order they were asked for. Blocks are matched by position, not by
/// `Id`, because an alias (`sshd.service`) reports its real name (`ssh.service`).
pub fn parse_show(stdout: &str, units: &[String]) -> Result<Vec<ServiceInfo>> {
    let blocks: Vec<&str> = stdout
        .split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .collect();
    if blocks.len() != units.len() {
        bail!(
            "systemctl show gave {} answers for {} units",
            blocks.len(),
            units.len()
        );
    }
    Ok(units
        .iter()
        .zip(blocks)
        .map(|(unit, block)| {
            let get = |key: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                    .filter(|v| !v.is_empty())
                    .unwrap_or(UNKNOWN)
                    .to_string()
            };
            ServiceInfo {
                unit: unit.clone(),
                active: get("ActiveState"),
                sub: get("SubState"),
            }
        })
        .collect())
}

/// Every unit marked unknown (the probe failed).
pub fn unknown(units: &[String]) -> Vec<ServiceInfo> {
    units
        .iter()
        .map(|u| ServiceInfo {
            unit: u.clone(),
            active: UNKNOWN.into(),
            sub: UNKNOWN.into(),
        })
        .collect()
}

/// Asks systemd for every unit at once. No units: no process at all.
pub fn probe(units: &[String]) -> Result<Vec<ServiceInfo>> {
    if units.is_empty() {
        return Ok(Vec::new());
    }
    let out = Cmd::new("systemctl")
        .args(show_args(units))
        .env("SYSTEMD_PAGER", "")
        .timeout(Duration::from_secs(10))
        .max_output(64 * 1024)
        .run()?;
    if !out.success() {
        bail!(
            "systemctl show failed ({}): {}",
            out.describe_end(),
            one_line(&out.stderr_lossy())
        );
    }
    parse_show(&out.stdout_lossy(), units)
}

/// systemctl's multi-line complaints as one line for the report's `errors`.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn one_call_for_all_units() {
        let a = show_args(&units(&["a.service", "b.service"]));
        assert_eq!(
            a,
            [
                "show",
                "--property=Id,ActiveState,SubState",
                "--",
                "a.service",
                "b.service"
            ]
        );
    }

    #[test]
    fn parses_blocks_by_position() {
        let out = "Id=ssh.service\nActiveState=active\nSubState=running\n\n\
                   ActiveState=failed\nSubState=failed\nId=ollama.service\n\n\
                   Id=nope.service\nActiveState=inactive\nSubState=dead\n";
        let got = parse_show(
            out,
            &units(&["sshd.service", "ollama.service", "nope.service"]),
        )
        .unwrap();
        assert_eq!(got[0].unit, "sshd.service");
        assert_eq!(got[0].active, "active");
        assert_eq!(got[0].sub, "running");
        assert_eq!(got[1].active, "failed");
        assert_eq!(got[2].sub, "dead");
        assert!(parse_show(out, &units(&["a.service"])).is_err());
    }
}
