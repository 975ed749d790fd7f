//! `/ip`: interfaces from `ip -j addr` and the public address from an echo service.

use super::*;
use crate::chatops::Exec;
use anyhow::{Context, Result};
use serde::Deserialize;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

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
pub(super) struct IpLink {
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
pub(super) struct IpAddrInfo {
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

/// What `/ip` shows: the interfaces and the public address, if the echo service answered.
#[derive(Debug, Clone, PartialEq)]
pub struct IpOverview {
    pub interfaces: Vec<Interface>,
    pub public: Option<IpAddr>,
}

/// Interfaces worth showing (not loopback, and either up or holding an
/// address), and how many were left out.
pub fn visible(ifaces: &[Interface]) -> (Vec<&Interface>, usize) {
    let shown: Vec<&Interface> = ifaces
        .iter()
        .filter(|i| !(i.loopback || (i.addrs.is_empty() && i.state != "UP")))
        .collect();
    let hidden = ifaces.len() - shown.len();
    (shown, hidden)
}

/// `/ip`: interfaces, and the public IP asked in parallel so an unreachable
/// echo service costs at most its own timeout and never hides the interfaces.
pub fn ip_overview(exec: &Exec, echo: &EchoService, timeout: Duration) -> Result<IpOverview> {
    let echo = echo.clone();
    let public = std::thread::spawn(move || public_ip(&echo, timeout).ok());
    let interfaces = interfaces(exec)?;
    let public = public.join().unwrap_or(None);
    Ok(IpOverview { interfaces, public })
}

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

/// Why the public address could not be learnt from an echo service.
#[derive(Debug)]
pub enum EchoError {
    Connect {
        addr: SocketAddr,
        cause: io::Error,
    },
    /// The socket's timeouts could not be set.
    Socket(io::Error),
    Send {
        addr: SocketAddr,
        cause: io::Error,
    },
    Read {
        addr: SocketAddr,
        cause: io::Error,
    },
    TooSlow {
        addr: SocketAddr,
    },
    TooMuch {
        addr: SocketAddr,
    },
    NotHttp,
    /// An HTTP status line other than 200.
    Status(String),
    NoAddress,
}

impl std::fmt::Display for EchoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EchoError::Connect { addr, cause } => write!(f, "cannot reach {addr}: {cause}"),
            EchoError::Socket(cause) => write!(f, "{cause}"),
            EchoError::Send { addr, cause } => write!(f, "sending to {addr}: {cause}"),
            EchoError::Read { addr, cause } => write!(f, "reading from {addr}: {cause}"),
            EchoError::TooSlow { addr } => write!(f, "{addr} answered too slowly"),
            EchoError::TooMuch { addr } => write!(f, "{addr} sent too much"),
            EchoError::NotHttp => f.write_str("the answer is not HTTP"),
            EchoError::Status(s) => write!(f, "the echo service answered {s:?}"),
            EchoError::NoAddress => f.write_str("the answer holds no IP address"),
        }
    }
}

impl std::error::Error for EchoError {}

/// Asks `echo` for our public address; any failure within `timeout` per step is an error.
pub fn public_ip(echo: &EchoService, timeout: Duration) -> Result<IpAddr, EchoError> {
    let start = Instant::now();
    let addr = echo.addr;
    let mut stream = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|cause| EchoError::Connect { addr, cause })?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(EchoError::Socket)?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(EchoError::Socket)?;
    let request = format!(
        "GET {} HTTP/1.0\r\nHost: {}\r\nUser-Agent: potion-runner\r\nConnection: close\r\n\r\n",
        echo.path, echo.host
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|cause| EchoError::Send { addr, cause })?;
    let mut response = Vec::new();
    let mut chunk = [0u8; 2048];
    loop {
        // The read timeout is per read; this bounds the whole answer too.
        if start.elapsed() > timeout * 2 {
            return Err(EchoError::TooSlow { addr });
        }
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) if response.len() + n <= 16 * 1024 => response.extend_from_slice(&chunk[..n]),
            Ok(_) => return Err(EchoError::TooMuch { addr }),
            Err(cause) => return Err(EchoError::Read { addr, cause }),
        }
    }
    parse_echo_response(&String::from_utf8_lossy(&response))
}

/// Reads an HTTP response whose body is a bare address or holds an `ip=` line.
pub fn parse_echo_response(resp: &str) -> Result<IpAddr, EchoError> {
    let (head, body) = resp
        .split_once("\r\n\r\n")
        .or_else(|| resp.split_once("\n\n"))
        .ok_or(EchoError::NotHttp)?;
    let status = head.lines().next().unwrap_or("");
    if status.split_whitespace().nth(1) != Some("200") {
        return Err(EchoError::Status(status.to_string()));
    }
    let body = body.trim();
    if let Ok(ip) = body.parse() {
        return Ok(ip);
    }
    body.lines()
        .find_map(|l| l.strip_prefix("ip="))
        .and_then(|v| v.trim().parse().ok())
        .ok_or(EchoError::NoAddress)
}
