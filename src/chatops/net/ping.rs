//! `/ping`: a checked target, `ping`'s summary and its rendering.

use super::*;
use crate::chatops::{Exec, Refused};
use crate::validate;
use anyhow::{Context, Result};

/// A validated ping target: a host name or an IP address, never an option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PingTarget(String);

impl PingTarget {
    pub fn parse(raw: &str) -> Result<PingTarget, Refused> {
        Ok(PingTarget(validate::host(raw)?))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `ping -c 3 -W 2 -- HOST`: three probes, two seconds each, and `--` so the
/// host can never be read as an option even if validation had a hole.
pub fn ping_args(target: &PingTarget) -> Vec<String> {
    ["-c", "3", "-W", "2", "--", &target.0]
        .map(str::to_string)
        .to_vec()
}

/// Round-trip times in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rtt {
    pub min: f64,
    pub avg: f64,
    pub max: f64,
}

/// The statistics block ping prints at the end.
#[derive(Debug, Clone, PartialEq)]
pub struct PingSummary {
    pub transmitted: u32,
    pub received: u32,
    pub loss_percent: f64,
    /// Absent when no reply came back.
    pub rtt: Option<Rtt>,
}

/// How a ping went: statistics, or why there are none (e.g. unknown host).
#[derive(Debug, Clone, PartialEq)]
pub enum PingOutcome {
    Summary(PingSummary),
    Failed(String),
}

/// Parses ping's summary (iputils and busybox wording).
pub fn parse_ping(stdout: &str) -> Option<PingSummary> {
    let stats = stdout
        .lines()
        .find(|l| l.contains("packets transmitted") && l.contains("received"))?;
    let mut transmitted = None;
    let mut received = None;
    let mut loss = None;
    for part in stats.split(',').map(str::trim) {
        let num = part.split_whitespace().next().unwrap_or("");
        if part.ends_with("packets transmitted") {
            transmitted = num.parse().ok();
        } else if part.ends_with("received") {
            received = num.parse().ok();
        } else if part.ends_with("packet loss") {
            loss = num.trim_end_matches('%').parse().ok();
        }
    }
    let rtt = stdout
        .lines()
        .find(|l| l.starts_with("rtt ") || l.starts_with("round-trip "))
        .and_then(|l| {
            let values = l.split('=').nth(1)?.split_whitespace().next()?;
            let v: Vec<f64> = values
                .split('/')
                .map(|x| x.parse().ok())
                .collect::<Option<_>>()?;
            (v.len() >= 3).then(|| Rtt {
                min: v[0],
                avg: v[1],
                max: v[2],
            })
        });
    Some(PingSummary {
        transmitted: transmitted?,
        received: received?,
        loss_percent: loss?,
        rtt,
    })
}

/// Runs ping against an already validated target.
pub fn ping_target(exec: &Exec, target: &PingTarget) -> Result<PingOutcome> {
    let program = exec
        .find("ping")
        .context("the ping program is missing; install iputils-ping")?;
    let out = exec
        .cmd(program, PING_TIMEOUT)
        .args(ping_args(target))
        .run()?;
    if let Some(s) = parse_ping(&out.stdout_lossy()) {
        return Ok(PingOutcome::Summary(s));
    }
    let why = out
        .stderr_lossy()
        .lines()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_string())
        .unwrap_or_else(|| out.describe_end());
    Ok(PingOutcome::Failed(why))
}

/// Milliseconds with enough digits to mean something (loopback is sub-millisecond).
pub fn ms(v: f64) -> String {
    if v < 1.0 {
        format!("{v:.3}")
    } else {
        format!("{v:.1}")
    }
}
