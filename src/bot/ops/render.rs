//! The results of the chat operations in the reply language (HTML): the
//! chatops core returns typed values, the words come from the catalogue
//! (`i18n::errors`, its `OpsResults`). A program's own words (a failure's
//! line, commit subjects, package versions) go in `<pre>` verbatim. Every
//! body fits the room it is given: whole lines, then "+N more in the
//! document" (the full output follows as a document).

use chrono::{DateTime, Utc};

use crate::chatops::fit::tg_len;
use crate::chatops::net::{self, IpOverview, PingOutcome, SpeedOutcome, TailscaleOutcome};
use crate::chatops::updates::{
    self, AptOutcome, AptUpgradeOutcome, Done, GitOutcome, PipOutcome, RepoPull,
};

use super::super::i18n::{OpsResults, pre};
use super::super::text::{ClockWords, esc, fill, when};

/// Commits shown per repository in chat.
const COMMITS_SHOWN: usize = 10;

/// A long job's result: why it failed (HTML, for the status line) and its body.
pub trait JobSaid {
    /// Why the job did not do its work, when it did not.
    fn why(&self, w: &OpsResults) -> Option<String>;
    /// The body, at most `room` long.
    fn body(&self, w: &OpsResults, room: usize) -> String;
}

/// `head`, then as many of `lines` as fit in `room` with it, then
/// "+N more" for the rest. `pre_lines` are a program's words: they go in one
/// `<pre>` block.
pub fn fit_lines(
    w: &OpsResults,
    head: &str,
    lines: &[String],
    pre_lines: bool,
    room: usize,
) -> String {
    let (open, close) = if pre_lines {
        ("<pre>", "</pre>")
    } else {
        ("", "")
    };
    let mut out = head.to_string();
    if lines.is_empty() {
        return out;
    }
    let more = |n: usize| fill(w.lines_more, &[("n", &n.to_string())]);
    // Room for the block's tags and the longest "+N more" line.
    let budget = room
        .saturating_sub(tg_len(head) + open.len() + close.len() + 2 + tg_len(&more(lines.len())));
    let mut used = 0;
    let mut kept = Vec::new();
    for l in lines {
        let cost = tg_len(l) + 1;
        if used + cost > budget {
            break;
        }
        used += cost;
        kept.push(l.as_str());
    }
    if !kept.is_empty() {
        out += &format!("\n{open}{}{close}", kept.join("\n"));
    }
    if kept.len() < lines.len() {
        out += &format!("\n{}", more(lines.len() - kept.len()));
    }
    out
}

/// `/ip`: the interfaces that are up or hold an address, and the public IP.
pub fn ip(w: &OpsResults, o: &IpOverview) -> String {
    let (shown, hidden) = net::visible(&o.interfaces);
    let mut lines = Vec::new();
    for i in shown {
        lines.push(format!(
            "<b>{}</b> ({})",
            esc(&i.name),
            esc(&i.state.to_ascii_lowercase())
        ));
        for a in &i.addrs {
            let scope = if a.scope == "global" {
                String::new()
            } else {
                format!(" ({})", esc(&a.scope))
            };
            lines.push(format!("  <code>{}/{}</code>{scope}", a.ip, a.prefix));
        }
    }
    if lines.is_empty() {
        lines.push(w.ip_none_up.to_string());
    }
    if hidden > 0 {
        lines.push(fill(w.ip_hidden, &[("n", &hidden.to_string())]));
    }
    lines.push(match o.public {
        Some(ip) => fill(w.ip_public, &[("ip", &format!("<code>{ip}</code>"))]),
        None => w.ip_public_none.to_string(),
    });
    lines.join("\n")
}

/// `/ping`: the summary, or why ping could not say.
pub fn ping(w: &OpsResults, host: &str, o: &PingOutcome) -> String {
    let host = format!("<code>{}</code>", esc(host));
    match o {
        PingOutcome::Failed(why) => {
            format!("{}\n{}", fill(w.ping_failed, &[("host", &host)]), pre(why))
        }
        PingOutcome::Summary(s) => {
            let mut text = fill(
                w.ping_summary,
                &[
                    ("host", &host),
                    ("received", &s.received.to_string()),
                    ("sent", &s.transmitted.to_string()),
                    ("loss", &s.loss_percent.to_string()),
                ],
            );
            if let Some(r) = s.rtt {
                let [min, avg, max] = [r.min, r.avg, r.max].map(net::ms);
                text += &format!(
                    "\n{}",
                    fill(w.ping_rtt, &[("min", &min), ("avg", &avg), ("max", &max)])
                );
            }
            text
        }
    }
}

/// `/tailscale`: this machine, the key's expiry and the peers.
pub fn tailscale(
    w: &OpsResults,
    clock: &ClockWords,
    o: &TailscaleOutcome,
    now: DateTime<Utc>,
    room: usize,
) -> String {
    let s = match o {
        TailscaleOutcome::NotInstalled => return w.ts_not_installed.to_string(),
        TailscaleOutcome::Failed(why) => return format!("{}\n{}", w.ts_failed, pre(why)),
        TailscaleOutcome::Status(s) => s,
    };
    let at = |t: DateTime<Utc>| when(clock, &crate::files::rfc3339(t), now);
    let mut head = vec![fill(
        w.ts_head,
        &[
            ("version", &esc(&s.version)),
            ("state", &esc(&s.backend_state)),
        ],
    )];
    if let Some(me) = &s.me {
        head.push(fill(
            w.ts_me,
            &[("name", &esc(&me.name)), ("ips", &esc(&me.ips.join(", ")))],
        ));
    }
    head.push(match s.key_expiry {
        None => w.ts_key_off.to_string(),
        Some(t) if t <= now => fill(w.ts_key_expired, &[("when", &at(t))]),
        Some(t) => fill(
            w.ts_key_expires,
            &[
                ("when", &at(t)),
                ("days", &(t - now).num_days().to_string()),
            ],
        ),
    });
    let mut lines = vec![fill(w.ts_online, &[("n", &s.online.len().to_string())])];
    for p in &s.online {
        let exit = if p.exit_node { w.ts_exit_node } else { "" };
        let ip = p.ips.first().map_or("", |s| s);
        lines.push(format!(
            "  {} <code>{}</code> ({}){exit}",
            esc(&p.name),
            esc(ip),
            esc(&p.os)
        ));
    }
    lines.push(fill(w.ts_offline, &[("n", &s.offline.len().to_string())]));
    for p in &s.offline {
        let seen = p.last_seen.map_or_else(
            || w.ts_never_seen.to_string(),
            |t| fill(w.ts_seen, &[("when", &at(t))]),
        );
        lines.push(format!("  {} ({}), {seen}", esc(&p.name), esc(&p.os)));
    }
    let mut body = head.join("\n");
    if !s.health.is_empty() {
        body += &format!("\n{}\n{}", w.ts_health, pre(&s.health.join("\n")));
    }
    fit_lines(w, &body, &lines, false, room)
}

impl JobSaid for SpeedOutcome {
    fn why(&self, w: &OpsResults) -> Option<String> {
        match self {
            SpeedOutcome::Done(_) => None,
            SpeedOutcome::NotInstalled { hint } => {
                Some(fill(w.speed_not_installed, &[("hint", &esc(hint))]))
            }
            SpeedOutcome::Failed(why) => Some(pre(why)),
        }
    }

    fn body(&self, w: &OpsResults, _room: usize) -> String {
        let SpeedOutcome::Done(r) = self else {
            return String::new();
        };
        let mut text = fill(
            w.speed_done,
            &[
                ("down", &format!("{:.1}", r.download_mbit)),
                ("up", &format!("{:.1}", r.upload_mbit)),
                ("ping", &format!("{:.0}", r.ping_ms)),
            ],
        );
        if !r.server.is_empty() {
            text += &format!("\n{}", fill(w.speed_server, &[("server", &esc(&r.server))]));
            if let Some(d) = r.distance_km {
                text += &fill(w.speed_distance, &[("km", &format!("{d:.0}"))]);
            }
        }
        if let Some(isp) = &r.isp {
            text += &format!("\n{}", fill(w.speed_isp, &[("isp", &esc(isp))]));
        }
        text
    }
}

impl JobSaid for Done<AptOutcome> {
    fn why(&self, w: &OpsResults) -> Option<String> {
        match &self.outcome {
            AptOutcome::Checked(_) => None,
            AptOutcome::Failed(why) => Some(pre(why)),
            AptOutcome::BadReport(_) => Some(w.apt_bad_report.to_string()),
        }
    }

    /// The count first, then as many packages as fit, then "+N more".
    fn body(&self, w: &OpsResults, room: usize) -> String {
        let AptOutcome::Checked(r) = &self.outcome else {
            return String::new();
        };
        let mut head = if r.packages.is_empty() {
            w.apt_up_to_date.to_string()
        } else {
            fill(w.apt_count, &[("n", &r.packages.len().to_string())])
        };
        if r.reboot_required {
            head += &format!("\n{}", w.apt_reboot);
        }
        let lines: Vec<String> = r
            .packages
            .iter()
            .map(|p| {
                esc(&format!(
                    "{} {} → {}",
                    p.name,
                    p.from.as_deref().unwrap_or("?"),
                    p.to
                ))
            })
            .collect();
        fit_lines(w, &head, &lines, true, room)
    }
}

impl JobSaid for Done<AptUpgradeOutcome> {
    fn why(&self, _w: &OpsResults) -> Option<String> {
        match &self.outcome {
            AptUpgradeOutcome::Upgraded => None,
            AptUpgradeOutcome::Failed(why) => Some(pre(why)),
        }
    }

    fn body(&self, _w: &OpsResults, _room: usize) -> String {
        String::new()
    }
}

impl JobSaid for Done<PipOutcome> {
    fn why(&self, _w: &OpsResults) -> Option<String> {
        match &self.outcome {
            PipOutcome::Synced { .. } => None,
            PipOutcome::Failed(why) => Some(pre(why)),
        }
    }

    fn body(&self, w: &OpsResults, room: usize) -> String {
        match &self.outcome {
            PipOutcome::Synced { installed } if installed.is_empty() => w.pip_in_sync.to_string(),
            PipOutcome::Synced { installed } => {
                let head = fill(w.pip_installed, &[("n", &installed.len().to_string())]);
                let lines: Vec<String> = installed.iter().map(|p| esc(p)).collect();
                fit_lines(w, &head, &lines, true, room)
            }
            PipOutcome::Failed(_) => String::new(),
        }
    }
}

impl JobSaid for Done<Vec<RepoPull>> {
    fn why(&self, w: &OpsResults) -> Option<String> {
        let bad = crate::chatops::updates::not_updated(&self.outcome);
        (bad > 0).then(|| {
            fill(
                w.git_not_updated,
                &[
                    ("bad", &bad.to_string()),
                    ("n", &self.outcome.len().to_string()),
                ],
            )
        })
    }

    fn body(&self, w: &OpsResults, room: usize) -> String {
        let mut lines = Vec::new();
        for p in &self.outcome {
            let repo = format!("<code>{}</code>", esc(&p.repo.display().to_string()));
            let repo = ("repo", repo.as_str());
            match &p.outcome {
                GitOutcome::UpToDate { head } => {
                    lines.push(fill(
                        w.git_up_to_date,
                        &[repo, ("head", &esc(updates::short(head)))],
                    ));
                }
                GitOutcome::Updated { old, new, commits } => {
                    let range = esc(&format!("{}..{}", updates::short(old), updates::short(new)));
                    lines.push(fill(
                        w.git_updated,
                        &[repo, ("range", &range), ("n", &commits.len().to_string())],
                    ));
                    // The newest few in chat; all of them are in the document.
                    if !commits.is_empty() {
                        lines.push(pre(&commits[..commits.len().min(COMMITS_SHOWN)].join("\n")));
                    }
                    if commits.len() > COMMITS_SHOWN {
                        let n = (commits.len() - COMMITS_SHOWN).to_string();
                        lines.push(fill(w.lines_more, &[("n", &n)]));
                    }
                }
                GitOutcome::NotFastForward(why) => {
                    lines.push(format!("{}\n{}", fill(w.git_not_ff, &[repo]), pre(why)))
                }
                GitOutcome::Failed(why) => {
                    lines.push(format!("{}\n{}", fill(w.git_failed, &[repo]), pre(why)))
                }
            }
        }
        fit_lines(w, "", &lines, false, room)
            .trim_start()
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bot::i18n::texts;
    use crate::chatops::fit::MESSAGE_MAX;
    use crate::chatops::updates::{AptReport, Upgradable};
    use crate::config::Lang;

    fn words(lang: Lang) -> &'static OpsResults {
        &texts(lang).errors.ops
    }

    fn now() -> DateTime<Utc> {
        "2026-11-25T19:00:00Z".parse().unwrap()
    }

    #[test]
    fn ip_lists_what_is_up_and_the_public_address() {
        let json = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/chatops/ip-addr.json"
        ));
        let interfaces = net::parse_ip_json(json).unwrap();
        let o = IpOverview {
            interfaces,
            public: None,
        };
        let text = ip(words(Lang::Id), &o);
        assert!(
            text.contains("<b>wlp3s0</b> (up)\n  <code>192.168.1.23/24</code>"),
            "{text}"
        );
        assert!(
            text.contains("<code>fe80::1a2b:3c4d:5e6f:7a8b/64</code> (link)"),
            "{text}"
        );
        assert!(!text.contains("enp2s0") && !text.contains("127.0.0.1"));
        assert!(text.contains("(2 antarmuka loopback atau mati tidak ditampilkan)"));
        assert!(text.ends_with("IP publik: tidak terjangkau (layanan pengecek tidak menjawab)"));
        let o = IpOverview {
            public: Some("203.0.113.45".parse().unwrap()),
            ..o
        };
        assert!(ip(words(Lang::En), &o).ends_with("Public IP: <code>203.0.113.45</code>"));
    }

    #[test]
    fn ping_says_replies_or_why_not() {
        let ok = "3 packets transmitted, 3 received, 0% packet loss, time 2003ms\nrtt min/avg/max/mdev = 0.031/0.045/0.061/0.012 ms\n";
        let s = PingOutcome::Summary(net::parse_ping(ok).unwrap());
        assert_eq!(
            ping(words(Lang::En), "1.1.1.1", &s),
            "<code>1.1.1.1</code>: 3 of 3 replies, 0% loss\nround trip min/avg/max 0.031/0.045/0.061 ms"
        );
        let failed = PingOutcome::Failed("ping: nosuch: Name or service not known".into());
        let text = ping(words(Lang::Id), "nosuch", &failed);
        assert!(
            text.starts_with("Ping ke <code>nosuch</code> tidak jalan"),
            "{text}"
        );
        assert!(
            text.ends_with("<pre>ping: nosuch: Name or service not known</pre>"),
            "{text}"
        );
    }

    #[test]
    fn tailscale_in_local_time_and_words() {
        let json = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/chatops/tailscale-status.json"
        ));
        let s = TailscaleOutcome::Status(Box::new(net::parse_tailscale(json).unwrap()));
        let t = texts(Lang::En);
        let text = tailscale(&t.errors.ops, &t.clock, &s, now(), MESSAGE_MAX);
        assert!(
            text.contains("This machine: x450l 100.101.102.103, fd7a:115c:a1e0::9f01:6667"),
            "{text}"
        );
        assert!(text.contains("(95 days left)"), "{text}");
        assert!(!text.contains("T08:14:55Z"), "local time, not UTC: {text}");
        assert!(text.contains("Peers online: 2\n  pixel-8 <code>100.88.77.66</code> (android)\n  vps-sg <code>100.90.80.70</code> (linux) [exit node]"), "{text}");
        assert!(
            text.contains("Peers offline: 1\n  thinkpad (windows), last seen"),
            "{text}"
        );
        let id = texts(Lang::Id);
        let missing = tailscale(
            &id.errors.ops,
            &id.clock,
            &TailscaleOutcome::NotInstalled,
            now(),
            MESSAGE_MAX,
        );
        assert!(missing.contains("belum terpasang"), "{missing}");
    }

    #[test]
    fn speed_says_the_numbers_or_why_not() {
        let json = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/chatops/speedtest.json"
        ));
        let done = SpeedOutcome::Done(net::parse_speed(json).unwrap());
        let w = words(Lang::En);
        assert_eq!(
            done.body(w, MESSAGE_MAX),
            "⬇️ download 46.2 Mbit/s\n⬆️ upload 10.5 Mbit/s\nping 21 ms\nserver: Biznet Networks (Jakarta, Indonesia), 12 km\nISP: Example Broadband"
        );
        assert_eq!(done.why(w), None);
        let missing = SpeedOutcome::NotInstalled {
            hint: net::SPEED_INSTALL_HINT,
        };
        assert_eq!(
            missing.why(words(Lang::Id)).unwrap(),
            "speedtest-cli belum terpasang; pasang dengan <code>sudo apt install speedtest-cli</code>."
        );
    }

    fn apt(n: usize, reboot: bool) -> Done<AptOutcome> {
        let packages = (0..n)
            .map(|i| Upgradable {
                name: format!("package-with-a-long-name-{i:04}"),
                origin: "stable-security".into(),
                from: Some("3.0.14-1~deb12u2".into()),
                to: "3.0.15-1~deb12u1".into(),
                arch: "amd64".into(),
            })
            .collect();
        Done {
            outcome: AptOutcome::Checked(AptReport {
                packages,
                reboot_required: reboot,
            }),
            output: String::new(),
        }
    }

    #[test]
    fn apt_leads_with_the_count_and_never_cuts_its_header() {
        let w = words(Lang::Id);
        let few = apt(2, true).body(w, MESSAGE_MAX);
        assert_eq!(
            few,
            "📦 2 paket bisa diperbarui:\n⚠️ Perlu reboot setelah pembaruan terakhir.\n<pre>package-with-a-long-name-0000 3.0.14-1~deb12u2 → 3.0.15-1~deb12u1\npackage-with-a-long-name-0001 3.0.14-1~deb12u2 → 3.0.15-1~deb12u1</pre>"
        );
        let room = MESSAGE_MAX - 60;
        let many = apt(400, false).body(w, room);
        assert!(
            many.starts_with("📦 400 paket bisa diperbarui:\n<pre>package-with-a-long-name-0000 "),
            "{many:.200}"
        );
        assert!(tg_len(&many) <= room, "{}", tg_len(&many));
        let shown = many.matches("package-with").count();
        assert!(shown > 20, "as many as fit: {shown}");
        assert!(
            many.ends_with(&format!("</pre>\n+{} lagi di dokumen", 400 - shown)),
            "{}",
            &many[many.len() - 80..]
        );
        assert_eq!(
            apt(0, false).body(words(Lang::En), MESSAGE_MAX),
            "Everything is up to date."
        );
        let failed = Done {
            outcome: AptOutcome::Failed("exit code 100: E: lock".into()),
            output: String::new(),
        };
        assert_eq!(failed.why(w).unwrap(), "<pre>exit code 100: E: lock</pre>");
    }

    #[test]
    fn pip_and_git_say_what_changed() {
        let w = words(Lang::En);
        let pip = |installed: Vec<String>| Done {
            outcome: PipOutcome::Synced { installed },
            output: String::new(),
        };
        assert_eq!(
            pip(vec![]).body(w, MESSAGE_MAX),
            "The venv is in sync; nothing was installed."
        );
        assert_eq!(
            pip(vec!["six-1.16.0".into()]).body(w, MESSAGE_MAX),
            "1 packages installed or changed:\n<pre>six-1.16.0</pre>"
        );
        let pulls = vec![
            RepoPull {
                repo: "/srv/a".into(),
                outcome: GitOutcome::Updated {
                    old: "1111111111aaaa".into(),
                    new: "2222222222bbbb".into(),
                    commits: vec!["2222222 fix <x>".into(), "1234567 feat".into()],
                },
            },
            RepoPull {
                repo: "/srv/b".into(),
                outcome: GitOutcome::UpToDate {
                    head: "3333333333cccc".into(),
                },
            },
            RepoPull {
                repo: "/srv/c".into(),
                outcome: GitOutcome::NotFastForward("diverged".into()),
            },
        ];
        let done = Done {
            outcome: pulls,
            output: String::new(),
        };
        assert_eq!(
            done.body(w, MESSAGE_MAX),
            "<code>/srv/a</code>: 1111111111..2222222222 (2 new commits)\n<pre>2222222 fix &lt;x&gt;\n1234567 feat</pre>\n<code>/srv/b</code>: already up to date (3333333333)\n<code>/srv/c</code>: can't fast-forward, nothing was changed. git said:\n<pre>diverged</pre>"
        );
        assert_eq!(
            done.why(words(Lang::Id)).unwrap(),
            "1 dari 3 repositori tidak diperbarui"
        );
    }
}
