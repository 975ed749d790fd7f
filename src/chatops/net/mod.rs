//! Network from chat: interfaces and addresses (`ip -j addr`), the public IP
//! (one plain HTTP request with short timeouts), `ping`, `tailscale status
//! --json` and `speedtest-cli --json`, each parsed into a value and rendered as text.

use std::time::Duration;

/// `ip` answers at once; anything longer is a wedged system.
pub const IP_TIMEOUT: Duration = Duration::from_secs(5);
/// `ping -c 3 -W 2` ends within about 4 s; DNS for a dead resolver adds some.
pub const PING_TIMEOUT: Duration = Duration::from_secs(20);
pub const TAILSCALE_TIMEOUT: Duration = Duration::from_secs(10);
/// A full speed test takes 20 to 60 s on a home line.
pub const SPEED_TIMEOUT: Duration = Duration::from_secs(120);
/// What to tell the owner when `speedtest-cli` is missing.
pub const SPEED_INSTALL_HINT: &str = "sudo apt install speedtest-cli";

mod ip;
mod ping;
mod speed;
mod tailscale;

pub use ip::*;
pub use ping::*;
pub use speed::*;
pub use tailscale::*;

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use std::io::{Read, Write};
    use std::net::SocketAddr;
    use std::net::TcpListener;
    use std::time::Instant;

    const IP_JSON: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/chatops/ip-addr.json"
    ));
    const TS_JSON: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/chatops/tailscale-status.json"
    ));
    const SPEED_JSON: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/chatops/speedtest.json"
    ));

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
        let (shown, hidden) = visible(&ifs);
        let names: Vec<_> = shown.iter().map(|i| i.name.as_str()).collect();
        // docker0 is down but holds an address: shown; enp2s0 and lo are not.
        assert_eq!(names, ["wlp3s0", "tailscale0", "docker0"]);
        assert_eq!(hidden, 2);
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
                .to_string()
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
        let e = public_ip(&echo(addr), Duration::from_millis(300))
            .unwrap_err()
            .to_string();
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
                .to_string()
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
    }

    #[test]
    fn tailscale_edge_cases() {
        // Logged out: no peers (null), no key expiry, another state.
        let s = parse_tailscale(r#"{"Version":"1.76.6","BackendState":"NeedsLogin","Self":{"HostName":"x450l","DNSName":"","TailscaleIPs":null,"Online":false},"Peer":null,"Health":["not logged in"]}"#).unwrap();
        assert!(s.online.is_empty() && s.offline.is_empty() && s.key_expiry.is_none());
        assert_eq!(s.health, ["not logged in"]);
        assert_eq!(s.me.unwrap().name, "x450l");
        let expired = TS_JSON.replace("2027-03-01T08:14:55Z", "2026-11-20T00:00:00Z");
        let s = parse_tailscale(&expired).unwrap();
        assert!(s.key_expiry.unwrap() < now());
    }

    #[test]
    fn speed_results() {
        let r = parse_speed(SPEED_JSON).unwrap();
        assert!((r.download_mbit - 46.185).abs() < 0.001);
        assert!((r.upload_mbit - 10.525).abs() < 0.001);
        assert_eq!(r.server, "Biznet Networks (Jakarta, Indonesia)");
        assert_eq!(r.distance_km.map(f64::round), Some(12.0));
        assert_eq!(r.isp.as_deref(), Some("Example Broadband"));
        assert!(parse_speed("Cannot retrieve speedtest configuration").is_err());
    }
}
