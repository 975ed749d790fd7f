//! `/speed`: `speedtest-cli --json` as a job, summarised.

use super::*;
use crate::chatops::Exec;
use crate::chatops::jobs::JobResult;
use anyhow::{Context, Result};
use serde::Deserialize;

#[derive(Deserialize)]
pub(super) struct SpeedJson {
    download: f64,
    upload: f64,
    ping: f64,
    #[serde(default)]
    server: Option<SpeedServer>,
    #[serde(default)]
    client: Option<SpeedClient>,
}

#[derive(Deserialize)]
pub(super) struct SpeedServer {
    #[serde(default)]
    name: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    sponsor: String,
    #[serde(default)]
    d: Option<f64>,
}

#[derive(Deserialize)]
pub(super) struct SpeedClient {
    #[serde(default)]
    isp: String,
}

/// A finished speed test.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeedResult {
    pub download_mbit: f64,
    pub upload_mbit: f64,
    pub ping_ms: f64,
    /// Sponsor, city and country of the test server.
    pub server: String,
    pub distance_km: Option<f64>,
    pub isp: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SpeedOutcome {
    /// `speedtest-cli` is missing; `hint` says how to install it.
    NotInstalled {
        hint: &'static str,
    },
    Failed(String),
    Done(SpeedResult),
}

/// Parses `speedtest-cli --json` (speeds there are in bit/s).
pub fn parse_speed(json: &str) -> Result<SpeedResult> {
    let j: SpeedJson =
        serde_json::from_str(json.trim()).context("speedtest-cli printed unexpected JSON")?;
    let server = j.server.map(|s| {
        let place = [s.name, s.country]
            .into_iter()
            .filter(|x| !x.is_empty())
            .collect::<Vec<_>>()
            .join(", ");
        (format!("{} ({place})", s.sponsor), s.d)
    });
    Ok(SpeedResult {
        download_mbit: j.download / 1e6,
        upload_mbit: j.upload / 1e6,
        ping_ms: j.ping,
        distance_km: server.as_ref().and_then(|s| s.1),
        server: server.map(|s| s.0).unwrap_or_default(),
        isp: j.client.map(|c| c.isp).filter(|i| !i.is_empty()),
    })
}

/// `/speed`: runs `speedtest-cli --json` when installed.
pub fn speed(exec: &Exec) -> Result<SpeedOutcome> {
    let Some(program) = exec.find("speedtest-cli") else {
        return Ok(SpeedOutcome::NotInstalled {
            hint: SPEED_INSTALL_HINT,
        });
    };
    let out = exec.cmd(program, SPEED_TIMEOUT).arg("--json").run()?;
    if !out.success() {
        let err = out.stderr_lossy();
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Ok(SpeedOutcome::Failed(format!(
            "{}: {last}",
            out.describe_end()
        )));
    }
    match parse_speed(&out.stdout_lossy()) {
        Ok(r) => Ok(SpeedOutcome::Done(r)),
        Err(e) => Ok(SpeedOutcome::Failed(format!("{e:#}"))),
    }
}

impl JobResult for SpeedOutcome {
    fn failure(&self) -> Option<String> {
        match self {
            SpeedOutcome::Done(_) => None,
            SpeedOutcome::NotInstalled { hint } => {
                Some(format!("speedtest-cli is not installed ({hint})"))
            }
            SpeedOutcome::Failed(why) => Some(why.clone()),
        }
    }
}
