//! `/tailscale`: `tailscale status --json`, summarised.

use super::*;
use crate::chatops::Exec;
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct TsStatus {
    #[serde(default)]
    version: String,
    #[serde(default)]
    backend_state: String,
    #[serde(rename = "Self")]
    me: Option<TsNode>,
    #[serde(default)]
    peer: Option<BTreeMap<String, TsNode>>,
    #[serde(default)]
    health: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct TsNode {
    #[serde(default)]
    host_name: String,
    #[serde(rename = "DNSName", default)]
    dns_name: String,
    #[serde(rename = "OS", default)]
    os: String,
    #[serde(rename = "TailscaleIPs", default)]
    tailscale_ips: Option<Vec<String>>,
    #[serde(default)]
    online: bool,
    #[serde(default)]
    last_seen: Option<String>,
    #[serde(default)]
    key_expiry: Option<String>,
    #[serde(default)]
    exit_node: bool,
}

/// One node of the tailnet, as shown in chat.
#[derive(Debug, Clone, PartialEq)]
pub struct TsPeer {
    /// The MagicDNS short name, else the host name.
    pub name: String,
    pub os: String,
    pub ips: Vec<String>,
    pub online: bool,
    pub last_seen: Option<DateTime<Utc>>,
    pub exit_node: bool,
}

/// What `tailscale status --json` says, summarised.
#[derive(Debug, Clone, PartialEq)]
pub struct TailscaleSummary {
    /// `Running`, `NeedsLogin`, `Stopped`, …
    pub backend_state: String,
    pub version: String,
    pub me: Option<TsPeer>,
    /// `None` when key expiry is disabled for this node.
    pub key_expiry: Option<DateTime<Utc>>,
    pub online: Vec<TsPeer>,
    pub offline: Vec<TsPeer>,
    pub health: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TailscaleOutcome {
    NotInstalled,
    /// The binary ran but could not report (daemon down, bad output).
    Failed(String),
    Status(Box<TailscaleSummary>),
}

pub(super) fn parse_time(s: Option<&str>) -> Option<DateTime<Utc>> {
    let t = DateTime::parse_from_rfc3339(s?).ok()?.with_timezone(&Utc);
    // Go's zero time means "never".
    (t.timestamp() > 0).then_some(t)
}

pub(super) fn ts_peer(n: &TsNode) -> TsPeer {
    let short = n.dns_name.split('.').next().unwrap_or("");
    TsPeer {
        name: if short.is_empty() {
            n.host_name.clone()
        } else {
            short.to_string()
        },
        os: n.os.clone(),
        ips: n.tailscale_ips.clone().unwrap_or_default(),
        online: n.online,
        last_seen: parse_time(n.last_seen.as_deref()),
        exit_node: n.exit_node,
    }
}

/// Parses `tailscale status --json`.
pub fn parse_tailscale(json: &str) -> Result<TailscaleSummary> {
    let st: TsStatus =
        serde_json::from_str(json).context("tailscale status --json printed unexpected JSON")?;
    let mut online = Vec::new();
    let mut offline = Vec::new();
    for n in st.peer.iter().flat_map(|m| m.values()) {
        let p = ts_peer(n);
        if p.online {
            online.push(p);
        } else {
            offline.push(p);
        }
    }
    online.sort_by(|a, b| a.name.cmp(&b.name));
    offline.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(TailscaleSummary {
        backend_state: st.backend_state,
        version: st.version.split('-').next().unwrap_or("").to_string(),
        key_expiry: st
            .me
            .as_ref()
            .and_then(|m| parse_time(m.key_expiry.as_deref())),
        me: st.me.as_ref().map(ts_peer),
        online,
        offline,
        health: st.health.unwrap_or_default(),
    })
}

/// `/tailscale`: runs `tailscale status --json` when the binary exists.
pub fn tailscale(exec: &Exec) -> Result<TailscaleOutcome> {
    let Some(program) = exec.find("tailscale") else {
        return Ok(TailscaleOutcome::NotInstalled);
    };
    let out = exec
        .cmd(program, TAILSCALE_TIMEOUT)
        .args(["status", "--json"])
        .run()?;
    let stdout = out.stdout_lossy();
    // `status --json` exits non-zero when logged out but still prints the JSON.
    match parse_tailscale(&stdout) {
        Ok(s) => Ok(TailscaleOutcome::Status(Box::new(s))),
        Err(e) => {
            let stderr = out.stderr_lossy();
            let why = stderr
                .lines()
                .find(|l| !l.trim().is_empty())
                .map(str::to_string)
                .unwrap_or_else(|| format!("{e:#}"));
            Ok(TailscaleOutcome::Failed(format!(
                "{}: {why}",
                out.describe_end()
            )))
        }
    }
}
