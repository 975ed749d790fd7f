//! The dead-man's switch (healthchecks.io / Uptime Kuma push conventions):
//! after a run, GET the URL (all well) or `URL/fail` (an alert is active);
//! the daily backup sends `URL/start`, then the plain URL or `URL/fail`.
//! A ping never fails the job or holds it past its timeout, and the URL is
//! only ever logged as scheme and host (its path is the secret).

use std::time::Duration;

use url::Url;

use super::http;

/// How long one ping may take.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// A ping URL from the settings. Its `Debug` shows only scheme and host,
/// so printing a `Config` never reveals the secret path.
#[derive(Clone, PartialEq)]
pub struct PingUrl(pub Url);

impl std::fmt::Debug for PingUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PingUrl({})", http::shown(&self.0))
    }
}

/// Which ping: the suffix healthchecks.io and Uptime Kuma understand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ping {
    Start,
    Success,
    Fail,
}

/// The URL for `ping`: `URL`, `URL/start` or `URL/fail` (query kept).
pub fn url_for(base: &Url, ping: Ping) -> Url {
    let mut u = base.clone();
    let suffix = match ping {
        Ping::Start => "start",
        Ping::Success => return u,
        Ping::Fail => "fail",
    };
    let path = format!("{}/{suffix}", base.path().trim_end_matches('/'));
    u.set_path(&path);
    u
}

/// Sends `ping` to `base` with `timeout`. A failure is logged (host only)
/// and otherwise ignored; the answer's status comes back for tests and callers
/// that want to say more.
pub fn send(base: &PingUrl, ping: Ping, timeout: Duration) -> Option<u16> {
    let url = url_for(&base.0, ping);
    match http::get(&url, timeout) {
        Ok(a) if (200..300).contains(&a.status) => Some(a.status),
        Ok(a) => {
            log::warn!(
                "dead-man ping to {} answered {}",
                http::shown(&url),
                a.status
            );
            Some(a.status)
        }
        Err(e) => {
            log::warn!("dead-man ping to {} failed: {e:#}", http::shown(&url));
            None
        }
    }
}

/// Runs `job` between a `/start` ping and, by `ok` on its result, the
/// plain or the `/fail` one, when `url` is set (the daily backup's
/// `BACKUP_HEALTHCHECK_URL`). The pings never change the result, and each
/// waits at most [`TIMEOUT`].
pub fn around<T>(url: Option<&PingUrl>, job: impl FnOnce() -> T, ok: impl FnOnce(&T) -> bool) -> T {
    let Some(url) = url else {
        return job();
    };
    send(url, Ping::Start, TIMEOUT);
    let result = job();
    let end = if ok(&result) {
        Ping::Success
    } else {
        Ping::Fail
    };
    send(url, end, TIMEOUT);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_follow_the_push_conventions() {
        let u = Url::parse("https://hc-ping.com/2f9a7c1e-uuid?rid=1").unwrap();
        assert_eq!(
            url_for(&u, Ping::Success).as_str(),
            "https://hc-ping.com/2f9a7c1e-uuid?rid=1"
        );
        assert_eq!(
            url_for(&u, Ping::Fail).as_str(),
            "https://hc-ping.com/2f9a7c1e-uuid/fail?rid=1"
        );
        let slash = Url::parse("http://kuma.lan:3001/api/push/abc/").unwrap();
        assert_eq!(
            url_for(&slash, Ping::Start).as_str(),
            "http://kuma.lan:3001/api/push/abc/start"
        );
        assert_eq!(http::shown(&u), "https://hc-ping.com/…");
        assert_eq!(http::shown(&slash), "http://kuma.lan:3001/…");
        assert_eq!(
            format!("{:?}", PingUrl(u)),
            "PingUrl(https://hc-ping.com/…)"
        );
    }

    /// A local server answering 200 to everything; the paths it was asked for.
    fn server() -> (Url, std::sync::mpsc::Receiver<String>) {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let base = format!(
            "http://{}/ping/secret-uuid",
            server.server_addr().to_ip().unwrap()
        );
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for req in server.incoming_requests() {
                tx.send(req.url().to_string()).ok();
                req.respond(tiny_http::Response::empty(200)).ok();
            }
        });
        (Url::parse(&base).unwrap(), rx)
    }

    #[test]
    fn around_pings_start_then_success_or_fail() {
        let (base, asked) = server();
        let url = PingUrl(base);
        let r = around(Some(&url), || 0, |code| *code == 0);
        assert_eq!(r, 0);
        let paths: Vec<String> = asked.try_iter().collect();
        assert_eq!(paths, ["/ping/secret-uuid/start", "/ping/secret-uuid"]);
        let r = around(Some(&url), || 1, |code| *code == 0);
        assert_eq!(r, 1, "the result is the job's");
        let paths: Vec<String> = asked.try_iter().collect();
        assert_eq!(paths, ["/ping/secret-uuid/start", "/ping/secret-uuid/fail"]);
        // No URL: no ping at all.
        assert_eq!(around(None, || 7, |_| true), 7);
        assert_eq!(asked.try_iter().count(), 0);
    }

    #[test]
    fn an_unreachable_ping_server_costs_no_more_than_the_timeout() {
        // A listener that never answers: every ping times out.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url =
            PingUrl(Url::parse(&format!("http://{}/x", silent.local_addr().unwrap())).unwrap());
        let started = std::time::Instant::now();
        assert_eq!(send(&url, Ping::Start, Duration::from_millis(200)), None);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
}
