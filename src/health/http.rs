//! One HTTP/1.1 GET with a hard deadline, for the probes (`PROBE_URLS`) and
//! the dead-man ping (`HEALTHCHECK_URL`): the status line is all either needs.
//!
//! Hand-written over `std::net::TcpStream` rather than `ureq`: a GET that
//! reads one status line is a few dozen lines, keeps the oneshot job's
//! binary and memory small, and every step (resolve, connect, write, read)
//! is bounded by the same deadline. Redirects are never followed (a 3xx is
//! reported as it is), so a probe cannot be sent to another host.
//! `https://` goes through rustls with the Mozilla roots (`webpki-roots`).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use url::Url;

/// How much of the answer is read looking for the status line.
const MAX_HEAD: usize = 8 * 1024;

/// What a GET got back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Answer {
    pub status: u16,
    /// From the start of the connection to the status line.
    pub latency: Duration,
}

/// Checks that `raw` is a URL this client can fetch (`http` or `https`,
/// with a host). Used when settings are read, so a bad URL never reaches a
/// run. The errors never repeat the URL: a ping URL's path is a secret.
pub fn parse_url(raw: &str) -> Result<Url> {
    let url = Url::parse(raw).context("not a URL")?;
    if !matches!(url.scheme(), "http" | "https") {
        bail!("not an http:// or https:// URL");
    }
    if url.host_str().is_none_or(str::is_empty) {
        bail!("the URL has no host");
    }
    Ok(url)
}

/// The URL as it may be shown or logged: scheme, host and port only, so a
/// secret in the path (a healthchecks.io uuid), query or user part never leaks.
pub fn shown(url: &Url) -> String {
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let hidden = if url.path() == "/" && url.query().is_none() {
        ""
    } else {
        "/…"
    };
    format!(
        "{}://{}{port}{hidden}",
        url.scheme(),
        url.host_str().unwrap_or("")
    )
}

/// GETs `url`, giving up at `timeout` after the call began.
pub fn get(url: &Url, timeout: Duration) -> Result<Answer> {
    let start = Instant::now();
    let deadline = start + timeout;
    let host = url.host_str().ok_or_else(|| anyhow!("no host"))?;
    let port = url
        .port_or_known_default()
        .ok_or_else(|| anyhow!("no port"))?;
    let addr = resolve(host, port, deadline)?;
    let left = remaining(deadline)?;
    let tcp = TcpStream::connect_timeout(&addr, left).map_err(|e| timed(e, "connecting"))?;
    tcp.set_nodelay(true)?;
    let request = request(url);
    let status = if url.scheme() == "https" {
        let tls = super::tls::client(host)?;
        let mut s = rustls::StreamOwned::new(tls, tcp);
        exchange(
            &mut s,
            |s, d| s.sock.set_read_timeout(Some(d)),
            &request,
            deadline,
        )?
    } else {
        let mut s = tcp;
        exchange(
            &mut s,
            |s, d| s.set_read_timeout(Some(d)),
            &request,
            deadline,
        )?
    };
    Ok(Answer {
        status,
        latency: start.elapsed(),
    })
}

/// The request bytes: `GET path?query HTTP/1.1` with `Host` and
/// `Connection: close` (the fragment and user part are never sent).
fn request(url: &Url) -> Vec<u8> {
    let mut target = url.path().to_string();
    if let Some(q) = url.query() {
        target.push('?');
        target.push_str(q);
    }
    let host = url.host_str().unwrap_or("");
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    format!(
        "GET {target} HTTP/1.1\r\nHost: {host}{port}\r\nUser-Agent: potion-runner/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    )
    .into_bytes()
}

/// Sends the request and reads until the status line, each read bounded by
/// what is left of the deadline.
fn exchange<S: Read + Write>(
    s: &mut S,
    set_timeout: impl Fn(&mut S, Duration) -> std::io::Result<()>,
    request: &[u8],
    deadline: Instant,
) -> Result<u16> {
    set_timeout(s, remaining(deadline)?)?;
    s.write_all(request).map_err(|e| timed(e, "sending"))?;
    let mut head = Vec::with_capacity(256);
    let mut buf = [0u8; 1024];
    loop {
        if let Some(end) = head.windows(2).position(|w| w == b"\r\n") {
            return status_code(&head[..end]);
        }
        if head.len() > MAX_HEAD {
            bail!("no status line in the first {MAX_HEAD} bytes");
        }
        set_timeout(s, remaining(deadline)?)?;
        let n = s.read(&mut buf).map_err(|e| timed(e, "reading"))?;
        if n == 0 {
            bail!("the server closed the connection without an answer");
        }
        head.extend_from_slice(&buf[..n]);
    }
}

/// `HTTP/1.1 200 OK` → 200.
fn status_code(line: &[u8]) -> Result<u16> {
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split(' ');
    let version = parts.next().unwrap_or("");
    let code = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") || code.len() != 3 {
        bail!(
            "not an HTTP answer: {:?}",
            line.chars().take(60).collect::<String>()
        );
    }
    code.parse()
        .map_err(|_| anyhow!("bad status code {code:?}"))
}

/// The first address of `host`. IP literals need no lookup; a name is
/// looked up on a thread of its own, so a slow resolver costs no more than
/// the time left (the thread is left behind when it is late, and the job
/// exits soon after).
fn resolve(host: &str, port: u16, deadline: Instant) -> Result<SocketAddr> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let name = host.to_string();
    std::thread::spawn(move || {
        let _ = tx.send(
            (name.as_str(), port)
                .to_socket_addrs()
                .map(|mut a| a.next()),
        );
    });
    match rx.recv_timeout(remaining(deadline)?) {
        Ok(found) => found
            .with_context(|| format!("looking up {host}"))?
            .ok_or_else(|| anyhow!("{host} has no address")),
        Err(_) => bail!("timed out looking up {host}"),
    }
}

fn remaining(deadline: Instant) -> Result<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        bail!("timed out");
    }
    Ok(left)
}

/// A socket error, with timeouts said plainly.
fn timed(e: std::io::Error, doing: &str) -> anyhow::Error {
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            anyhow!("timed out {doing}")
        }
        _ => anyhow!("{doing}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::*;

    /// A server that answers one connection with `answer` and returns what it was sent.
    fn one_shot(answer: &'static [u8]) -> (String, std::thread::JoinHandle<Vec<u8>>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let t = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut got = vec![0u8; 4096];
            let n = s.read(&mut got).unwrap();
            got.truncate(n);
            s.write_all(answer).ok();
            got
        });
        (addr.to_string(), t)
    }

    #[test]
    fn sends_a_plain_get_and_reads_the_status() {
        let (addr, t) = one_shot(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
        let url = parse_url(&format!("http://user:pw@{addr}/api/tags?x=1#frag")).unwrap();
        let a = get(&url, Duration::from_secs(2)).unwrap();
        assert_eq!(a.status, 204);
        let sent = String::from_utf8(t.join().unwrap()).unwrap();
        assert!(sent.starts_with("GET /api/tags?x=1 HTTP/1.1\r\n"), "{sent}");
        assert!(sent.contains(&format!("\r\nHost: {addr}\r\n")), "{sent}");
        assert!(!sent.contains("pw") && !sent.contains("frag"), "{sent}");
    }

    #[test]
    fn redirects_are_reported_not_followed_and_garbage_is_an_error() {
        let (addr, _t) =
            one_shot(b"HTTP/1.1 302 Found\r\nLocation: http://elsewhere.example/\r\n\r\n");
        let a = get(
            &parse_url(&format!("http://{addr}/")).unwrap(),
            Duration::from_secs(2),
        )
        .unwrap();
        assert_eq!(a.status, 302);
        let (addr, _t) = one_shot(b"SSH-2.0-OpenSSH_9.2\r\n");
        let e = get(
            &parse_url(&format!("http://{addr}/")).unwrap(),
            Duration::from_secs(2),
        )
        .unwrap_err();
        assert!(e.to_string().contains("not an HTTP answer"), "{e}");
        let (addr, _t) = one_shot(b"");
        let e = get(
            &parse_url(&format!("http://{addr}/")).unwrap(),
            Duration::from_secs(2),
        )
        .unwrap_err();
        assert!(e.to_string().contains("closed"), "{e}");
    }

    #[test]
    fn https_to_a_plain_server_fails_cleanly() {
        let (addr, _t) = one_shot(b"HTTP/1.1 200 OK\r\n\r\n");
        let url = parse_url(&format!(
            "https://localhost:{}/",
            addr.rsplit(':').next().unwrap()
        ))
        .unwrap();
        assert!(get(&url, Duration::from_secs(2)).is_err());
    }

    #[test]
    fn only_http_urls_with_a_host() {
        for bad in [
            "ftp://x/",
            "file:///etc/passwd",
            "http://",
            "no url",
            "unix:/run/x",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
        let e = parse_url("hc-ping.com/secret").unwrap_err();
        assert!(!format!("{e:#}").contains("secret"));
    }
}
