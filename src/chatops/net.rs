//! Network from chat: interfaces and addresses (`ip -j addr`), the public IP
//! (one plain HTTP request with short timeouts), `ping`, `tailscale status
//! --json` and `speedtest-cli --json`, each parsed into a value and rendered as text.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::jobs::JobResult;
use super::{Error, Exec};
use crate::validate;

/// `ip` answers at once; anything longer is a wedged system.
pub const IP_TIMEOUT: Duration = Duration::from_secs(5);
/// `ping -c 3 -W 2` ends within about 4 s; DNS for a dead resolver adds some.
pub const PING_TIMEOUT: Duration = Duration::from_secs(20);
pub const TAILSCALE_TIMEOUT: Duration = Duration::from_secs(10);
/// A full speed test takes 20 to 60 s on a home line.
pub const SPEED_TIMEOUT: Duration = Duration::from_secs(120);
/// What to tell the owner when `speedtest-cli` is missing.
pub const SPEED_INSTALL_HINT: &str = "sudo apt install speedtest-cli";

// ---------------------------------------------------------------- interfaces

/// One network interface and its addresses.
#[derive(Debug, Clone, PartialEq)]
pub struct Interface {
    pub name: String,
    /// Operational state as the kernel reports it (`UP`, `DOWN`, `UNKNOWN`).
    pub state: String,
    pub mac: Option<String>,
    pub loopback: bool,
    pub addrs: Vec<IfAddr>,
}

/// One address on an interface.
#[derive(Debug, Clone, PartialEq)]
pub struct IfAddr {
    pub ip: IpAddr,
    pub prefix: u8,
    /// `global`, `link`, `host`.
    pub scope: String,
}

#[derive(Deserialize)]
struct IpLink {
    ifname: String,
    #[serde(default)]
    operstate: Option<String>,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    link_type: Option<String>,
    #[serde(default)]
    addr_info: Vec<IpAddrInfo>,
}

#[derive(Deserialize)]
struct IpAddrInfo {
    #[serde(default)]
    local: Option<String>,
    #[serde(default)]
    prefixlen: Option<u8>,
    #[serde(default)]
    scope: Option<String>,
}

/// Parses the JSON of `ip -j addr show`.
pub fn parse_ip_json(json: &str) -> Result<Vec<Interface>> {
    let links: Vec<IpLink> =
        serde_json::from_str(json).context("ip -j addr printed unexpected JSON")?;
    Ok(links
        .into_iter()
        .map(|l| Interface {
            loopback: l.link_type.as_deref() == Some("loopback"),
            name: l.ifname,
            state: l.operstate.unwrap_or_else(|| "UNKNOWN".into()),
            mac: l.address.filter(|a| a != "00:00:00:00:00:00"),
            addrs: l
                .addr_info
                .into_iter()
                .filter_map(|a| {
                    Some(IfAddr {
                        ip: a.local?.parse().ok()?,
                        prefix: a.prefixlen.unwrap_or(0),
                        scope: a.scope.unwrap_or_else(|| "global".into()),
                    })
                })
                .collect(),
        })
        .collect())
}

/// Runs `ip -j addr show` and parses it.
pub fn interfaces(exec: &Exec) -> Result<Vec<Interface>> {
    let program = exec
        .find("ip")
        .context("the ip program is missing; install iproute2")?;
    let out = exec
        .cmd(program, IP_TIMEOUT)
        .args(["-j", "addr", "show"])
        .run()?;
    if !out.success() {
        anyhow::bail!(
            "ip -j addr {}: {}",
            out.describe_end(),
            out.stderr_lossy().trim()
        );
    }
    parse_ip_json(&out.stdout_lossy())
}

/// Interfaces worth showing: not loopback, and either up or holding an address.
pub fn render_interfaces(ifaces: &[Interface], public: Option<IpAddr>) -> String {
    let mut lines = Vec::new();
    let mut hidden = 0;
    for i in ifaces {
        if i.loopback || (i.addrs.is_empty() && i.state != "UP") {
            hidden += 1;
            continue;
        }
        lines.push(format!("{} ({})", i.name, i.state.to_ascii_lowercase()));
        for a in &i.addrs {
            let scope = if a.scope == "global" {
                String::new()
            } else {
                format!(" ({})", a.scope)
            };
            lines.push(format!("  {}/{}{scope}", a.ip, a.prefix));
        }
    }
    if lines.is_empty() {
        lines.push("no network interface is up".into());
    }
    if hidden > 0 {
        lines.push(format!("({hidden} loopback or down interfaces not shown)"));
    }
    lines.push(match public {
        Some(ip) => format!("public IP: {ip}"),
        None => "public IP: not reachable".into(),
    });
    lines.join("\n")
}

/// `/ip`: interfaces, and the public IP asked in parallel so an unreachable
/// echo service costs at most its own timeout and never hides the interfaces.
pub fn ip_overview(exec: &Exec, echo: &EchoService, timeout: Duration) -> Result<String> {
    let echo = echo.clone();
    let public = std::thread::spawn(move || public_ip(&echo, timeout).ok());
    let ifaces = interfaces(exec)?;
    let public = public.join().unwrap_or(None);
    Ok(render_interfaces(&ifaces, public))
}

// ---------------------------------------------------------------- public IP

/// An HTTP service that answers with the caller's address.
#[derive(Debug, Clone)]
pub struct EchoService {
    pub addr: SocketAddr,
    pub host: String,
    pub path: String,
}

impl EchoService {
    /// Cloudflare's trace page on 1.1.1.1: no DNS lookup (which has no
    /// timeout of its own), plain HTTP, answers `ip=…` among other lines.
    pub fn cloudflare() -> EchoService {
        EchoService {
            addr: SocketAddr::from(([1, 1, 1, 1], 80)),
            host: "1.1.1.1".into(),
            path: "/cdn-cgi/trace".into(),
        }
    }
}

/// Asks `echo` for our public address; any failure within `timeout` per step is an error.
pub fn public_ip(echo: &EchoService, timeout: Duration) -> Result<IpAddr, String> {
    let start = Instant::now();
    let mut stream = TcpStream::connect_timeout(&echo.addr, timeout)
        .map_err(|e| format!("cannot reach {}: {e}", echo.addr))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "GET {} HTTP/1.0\r\nHost: {}\r\nUser-Agent: potion-runner\r\nConnection: close\r\n\r\n",
        echo.path, echo.host
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("sending to {}: {e}", echo.addr))?;
    let mut response = Vec::new();
    let mut chunk = [0u8; 2048];
    loop {
        // The read timeout is per read; this bounds the whole answer too.
        if start.elapsed() > timeout * 2 {
            return Err(format!("{} answered too slowly", echo.addr));
        }
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) if response.len() + n <= 16 * 1024 => response.extend_from_slice(&chunk[..n]),
            Ok(_) => return Err(format!("{} sent too much", echo.addr)),
            Err(e) => return Err(format!("reading from {}: {e}", echo.addr)),
        }
    }
    parse_echo_response(&String::from_utf8_lossy(&response))
}

/// Reads an HTTP response whose body is a bare address or holds an `ip=` line.
pub fn parse_echo_response(resp: &str) -> Result<IpAddr, String> {
    let (head, body) = resp
        .split_once("\r\n\r\n")
        .or_else(|| resp.split_once("\n\n"))
        .ok_or("the answer is not HTTP")?;
    let status = head.lines().next().unwrap_or("");
    if status.split_whitespace().nth(1) != Some("200") {
        return Err(format!("the echo service answered {status:?}"));
    }
    let body = body.trim();
    if let Ok(ip) = body.parse() {
        return Ok(ip);
    }
    body.lines()
        .find_map(|l| l.strip_prefix("ip="))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| "the answer holds no IP address".to_string())
}

// ---------------------------------------------------------------- ping

/// A validated ping target: a host name or an IP address, never an option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PingTarget(String);

impl PingTarget {
    pub fn parse(raw: &str) -> Result<PingTarget, String> {
        validate::host(raw).map(PingTarget)
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

/// `/ping [host]`: validates the host, then runs ping.
pub fn ping(exec: &Exec, raw_host: &str) -> Result<PingOutcome, Error> {
    let target = PingTarget::parse(raw_host).map_err(Error::Refused)?;
    Ok(ping_target(exec, &target)?)
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
fn ms(v: f64) -> String {
    if v < 1.0 {
        format!("{v:.3}")
    } else {
        format!("{v:.1}")
    }
}

pub fn render_ping(target: &str, outcome: &PingOutcome) -> String {
    match outcome {
        PingOutcome::Failed(why) => format!("ping {target}: failed: {why}"),
        PingOutcome::Summary(s) => {
            let mut text = format!(
                "ping {target}: {}/{} replies, {}% loss",
                s.received, s.transmitted, s.loss_percent
            );
            if let Some(r) = s.rtt {
                text.push_str(&format!(
                    "\nrtt min/avg/max {}/{}/{} ms",
                    ms(r.min),
                    ms(r.avg),
                    ms(r.max)
                ));
            }
            text
        }
    }
}

// ---------------------------------------------------------------- tailscale

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TsStatus {
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
struct TsNode {
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

fn parse_time(s: Option<&str>) -> Option<DateTime<Utc>> {
    let t = DateTime::parse_from_rfc3339(s?).ok()?.with_timezone(&Utc);
    // Go's zero time means "never".
    (t.timestamp() > 0).then_some(t)
}

fn ts_peer(n: &TsNode) -> TsPeer {
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

fn ago(now: DateTime<Utc>, t: DateTime<Utc>) -> String {
    let d = now - t;
    if d.num_days() >= 1 {
        format!("{} d ago", d.num_days())
    } else if d.num_hours() >= 1 {
        format!("{} h ago", d.num_hours())
    } else {
        format!("{} min ago", d.num_minutes().max(0))
    }
}

pub fn render_tailscale(outcome: &TailscaleOutcome, now: DateTime<Utc>) -> String {
    let s = match outcome {
        TailscaleOutcome::NotInstalled => {
            return "tailscale is not installed on this machine (see tailscale.com/download/linux)"
                .into();
        }
        TailscaleOutcome::Failed(why) => return format!("tailscale status failed: {why}"),
        TailscaleOutcome::Status(s) => s,
    };
    let mut lines = vec![format!("tailscale {} ({})", s.version, s.backend_state)];
    if let Some(me) = &s.me {
        lines.push(format!("this machine: {} {}", me.name, me.ips.join(", ")));
    }
    lines.push(match s.key_expiry {
        None => "key expiry: disabled".into(),
        Some(t) if t <= now => format!(
            "key EXPIRED on {} — re-authenticate with tailscale up",
            t.format("%Y-%m-%d")
        ),
        Some(t) => format!(
            "key expires {} (in {} days)",
            t.format("%Y-%m-%d"),
            (t - now).num_days()
        ),
    });
    lines.push(format!("peers online: {}", s.online.len()));
    for p in &s.online {
        let exit = if p.exit_node { " [exit node]" } else { "" };
        lines.push(format!(
            "  {} {} ({}){exit}",
            p.name,
            p.ips.first().map_or("", |s| s),
            p.os
        ));
    }
    lines.push(format!("peers offline: {}", s.offline.len()));
    for p in &s.offline {
        let seen = p.last_seen.map_or("never seen".to_string(), |t| {
            format!("seen {}", ago(now, t))
        });
        lines.push(format!("  {} ({}), {seen}", p.name, p.os));
    }
    for h in &s.health {
        lines.push(format!("health: {h}"));
    }
    lines.join("\n")
}

// ---------------------------------------------------------------- speed

#[derive(Deserialize)]
struct SpeedJson {
    download: f64,
    upload: f64,
    ping: f64,
    #[serde(default)]
    server: Option<SpeedServer>,
    #[serde(default)]
    client: Option<SpeedClient>,
}

#[derive(Deserialize)]
struct SpeedServer {
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
struct SpeedClient {
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

pub fn render_speed(outcome: &SpeedOutcome) -> String {
    match outcome {
        SpeedOutcome::NotInstalled { hint } => {
            format!("speedtest-cli is not installed; install it with: {hint}")
        }
        SpeedOutcome::Failed(why) => format!("speed test failed: {why}"),
        SpeedOutcome::Done(r) => {
            let mut text = format!(
                "download {:.1} Mbit/s\nupload {:.1} Mbit/s\nping {:.0} ms",
                r.download_mbit, r.upload_mbit, r.ping_ms
            );
            if !r.server.is_empty() {
                text.push_str(&format!("\nserver: {}", r.server));
                if let Some(d) = r.distance_km {
                    text.push_str(&format!(", {d:.0} km"));
                }
            }
            if let Some(isp) = &r.isp {
                text.push_str(&format!("\nISP: {isp}"));
            }
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    const IP_JSON: &str = include_str!("testdata/ip-addr.json");
    const TS_JSON: &str = include_str!("testdata/tailscale-status.json");
    const SPEED_JSON: &str = include_str!("testdata/speedtest.json");

    fn now() -> DateTime<Utc> {
        "2026-11-25T19:00:00Z".parse().unwrap()
    }

    #[test]
    fn interfaces_from_ip_json() {
        let ifs = parse_ip_json(IP_JSON).unwrap();
        assert_eq!(ifs.len(), 5);
        assert!(ifs[0].loopback && ifs[0].mac.is_none());
        let wl = &ifs[2];
        assert_eq!((wl.name.as_str(), wl.state.as_str()), ("wlp3s0", "UP"));
        assert_eq!(wl.addrs[0].ip.to_string(), "192.168.1.23");
        assert_eq!(
            (wl.addrs[0].prefix, wl.addrs[1].scope.as_str()),
            (24, "link")
        );
        let text = render_interfaces(&ifs, None);
        assert!(
            text.contains("wlp3s0 (up)\n  192.168.1.23/24\n  fe80::1a2b:3c4d:5e6f:7a8b/64 (link)"),
            "{text}"
        );
        assert!(text.contains("tailscale0 (unknown)\n  100.101.102.103/32"));
        assert!(
            text.contains("docker0 (down)\n  172.17.0.1/16"),
            "down but addressed: shown"
        );
        assert!(!text.contains("enp2s0") && !text.contains("127.0.0.1"));
        assert!(text.contains("(2 loopback or down interfaces not shown)"));
        assert!(text.ends_with("public IP: not reachable"));
        assert!(
            render_interfaces(&ifs, Some("203.0.113.45".parse().unwrap()))
                .ends_with("public IP: 203.0.113.45")
        );
        assert!(parse_ip_json("not json").is_err());
    }

    #[test]
    fn echo_responses() {
        let ip = |s: &str| parse_echo_response(s);
        assert_eq!(
            ip("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n203.0.113.7\n")
                .unwrap()
                .to_string(),
            "203.0.113.7"
        );
        assert_eq!(
            ip("HTTP/1.1 200 OK\r\n\r\nfl=12f\nh=1.1.1.1\nip=2001:db8::5\nts=1\n")
                .unwrap()
                .to_string(),
            "2001:db8::5"
        );
        assert!(
            ip("HTTP/1.1 301 Moved\r\n\r\nip=1.2.3.4")
                .unwrap_err()
                .contains("301")
        );
        assert!(ip("HTTP/1.1 200 OK\r\n\r\n<html>").is_err());
        assert!(ip("garbage").is_err());
    }

    fn serve_once(reply: &'static [u8], delay: Duration) -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = l.accept() {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                std::thread::sleep(delay);
                let _ = s.write_all(reply);
            }
        });
        addr
    }

    fn echo(addr: SocketAddr) -> EchoService {
        EchoService {
            addr,
            host: "test".into(),
            path: "/".into(),
        }
    }

    #[test]
    fn public_ip_from_a_local_echo_service() {
        let addr = serve_once(b"HTTP/1.0 200 OK\r\n\r\n198.51.100.1\n", Duration::ZERO);
        assert_eq!(
            public_ip(&echo(addr), Duration::from_secs(2))
                .unwrap()
                .to_string(),
            "198.51.100.1"
        );
    }

    #[test]
    fn public_ip_gives_up_on_a_silent_service() {
        let addr = serve_once(b"", Duration::from_secs(3));
        let t = Instant::now();
        let e = public_ip(&echo(addr), Duration::from_millis(300)).unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        assert!(e.contains("reading"), "{e}");
        // Nothing listens on a port we just released: refused at once.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        assert!(
            public_ip(&echo(port), Duration::from_millis(300))
                .unwrap_err()
                .contains("cannot reach")
        );
    }

    #[test]
    fn ping_targets_never_become_options() {
        assert_eq!(
            ping_args(&PingTarget::parse("1.1.1.1").unwrap()).join(" "),
            "-c 3 -W 2 -- 1.1.1.1"
        );
        for bad in ["-f", "--flood", "a;b", "a b", "$(id)", "", &"a".repeat(300)] {
            assert!(PingTarget::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn ping_summaries() {
        let ok = "PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data.\n64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=0.031 ms\n\n--- 127.0.0.1 ping statistics ---\n3 packets transmitted, 3 received, 0% packet loss, time 2041ms\nrtt min/avg/max/mdev = 0.031/0.045/0.061/0.012 ms\n";
        let s = parse_ping(ok).unwrap();
        assert_eq!((s.transmitted, s.received, s.loss_percent), (3, 3, 0.0));
        assert_eq!(
            s.rtt,
            Some(Rtt {
                min: 0.031,
                avg: 0.045,
                max: 0.061
            })
        );
        let lost = "--- 10.9.9.9 ping statistics ---\n3 packets transmitted, 0 received, +3 errors, 100% packet loss, time 2050ms\n";
        let s = parse_ping(lost).unwrap();
        assert_eq!((s.received, s.loss_percent, s.rtt), (0, 100.0, None));
        let partial = "3 packets transmitted, 2 received, 33.3333% packet loss, time 2003ms\nrtt min/avg/max/mdev = 10.1/12.2/14.3/1.0 ms\n";
        assert_eq!(parse_ping(partial).unwrap().loss_percent, 33.3333);
        let busybox = "--- 1.1.1.1 ping statistics ---\n3 packets transmitted, 3 packets received, 0% packet loss\nround-trip min/avg/max = 9.1/9.5/10.2 ms\n";
        assert_eq!(parse_ping(busybox).unwrap().rtt.unwrap().max, 10.2);
        assert!(parse_ping("ping: nosuch: Name or service not known\n").is_none());
        let text = render_ping("1.1.1.1", &PingOutcome::Summary(parse_ping(ok).unwrap()));
        assert_eq!(
            text,
            "ping 1.1.1.1: 3/3 replies, 0% loss\nrtt min/avg/max 0.031/0.045/0.061 ms"
        );
    }

    #[test]
    fn tailscale_summary() {
        let s = parse_tailscale(TS_JSON).unwrap();
        assert_eq!(
            (s.backend_state.as_str(), s.version.as_str()),
            ("Running", "1.76.6")
        );
        let me = s.me.as_ref().unwrap();
        assert_eq!(me.name, "x450l");
        assert_eq!(me.ips[0], "100.101.102.103");
        assert_eq!(
            s.key_expiry.unwrap().to_rfc3339(),
            "2027-03-01T08:14:55+00:00"
        );
        let names = |v: &[TsPeer]| v.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&s.online), ["pixel-8", "vps-sg"]);
        assert_eq!(names(&s.offline), ["thinkpad"]);
        let text = render_tailscale(&TailscaleOutcome::Status(Box::new(s)), now());
        assert!(
            text.contains("this machine: x450l 100.101.102.103, fd7a:115c:a1e0::9f01:6667"),
            "{text}"
        );
        assert!(
            text.contains("key expires 2027-03-01 (in 95 days)"),
            "{text}"
        );
        assert!(text.contains("peers online: 2\n  pixel-8 100.88.77.66 (android)\n  vps-sg 100.90.80.70 (linux) [exit node]"), "{text}");
        assert!(
            text.contains("peers offline: 1\n  thinkpad (windows), seen 3 d ago"),
            "{text}"
        );
    }

    #[test]
    fn tailscale_edge_cases() {
        // Logged out: no peers (null), no key expiry, another state.
        let s = parse_tailscale(r#"{"Version":"1.76.6","BackendState":"NeedsLogin","Self":{"HostName":"x450l","DNSName":"","TailscaleIPs":null,"Online":false},"Peer":null,"Health":["not logged in"]}"#).unwrap();
        assert!(s.online.is_empty() && s.offline.is_empty() && s.key_expiry.is_none());
        let text = render_tailscale(&TailscaleOutcome::Status(Box::new(s)), now());
        assert!(
            text.starts_with("tailscale 1.76.6 (NeedsLogin)\nthis machine: x450l"),
            "{text}"
        );
        assert!(text.contains("key expiry: disabled") && text.contains("health: not logged in"));
        let expired = TS_JSON.replace("2027-03-01T08:14:55Z", "2026-11-20T00:00:00Z");
        let text = render_tailscale(
            &TailscaleOutcome::Status(Box::new(parse_tailscale(&expired).unwrap())),
            now(),
        );
        assert!(text.contains("key EXPIRED on 2026-11-20"), "{text}");
        assert!(render_tailscale(&TailscaleOutcome::NotInstalled, now()).contains("not installed"));
    }

    #[test]
    fn speed_results() {
        let r = parse_speed(SPEED_JSON).unwrap();
        assert!((r.download_mbit - 46.185).abs() < 0.001);
        assert!((r.upload_mbit - 10.525).abs() < 0.001);
        assert_eq!(r.server, "Biznet Networks (Jakarta, Indonesia)");
        assert_eq!(
            render_speed(&SpeedOutcome::Done(r)),
            "download 46.2 Mbit/s\nupload 10.5 Mbit/s\nping 21 ms\nserver: Biznet Networks (Jakarta, Indonesia), 12 km\nISP: Example Broadband"
        );
        assert!(parse_speed("Cannot retrieve speedtest configuration").is_err());
        let hint = render_speed(&SpeedOutcome::NotInstalled {
            hint: SPEED_INSTALL_HINT,
        });
        assert_eq!(
            hint,
            "speedtest-cli is not installed; install it with: sudo apt install speedtest-cli"
        );
    }
}
