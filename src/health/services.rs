//! State of the `SERVICES` units: one D-Bus call to systemd for all of them
//! (`sdbus::list_units`), never a child process.

use std::time::Duration;

use anyhow::Result;

use super::sdbus;
use crate::files::health::ServiceInfo;

/// The marker for a unit whose state could not be read this run.
pub const UNKNOWN: &str = "unknown";

/// How long systemd may take to answer before the units read `unknown`.
const TIMEOUT: Duration = Duration::from_secs(5);

/// systemd's answers, matched to the configured names by position (an
/// alias such as `sshd.service` answers as `ssh.service`).
pub fn from_states(units: &[String], states: Vec<sdbus::UnitState>) -> Vec<ServiceInfo> {
    let or_unknown = |s: String| if s.is_empty() { UNKNOWN.into() } else { s };
    units
        .iter()
        .zip(states)
        .map(|(unit, s)| ServiceInfo {
            unit: unit.clone(),
            active: or_unknown(s.active),
            sub: or_unknown(s.sub),
        })
        .collect()
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

/// Asks systemd for every unit at once. No units: no connection at all.
pub fn probe(units: &[String]) -> Result<Vec<ServiceInfo>> {
    if units.is_empty() {
        return Ok(Vec::new());
    }
    Ok(from_states(units, sdbus::list_units(units, TIMEOUT)?))
}
