//! `PROBE_URLS`: one GET per named URL each run, all at once and alongside
//! the `/proc` reads, so a hung service costs the run at most the timeout.
//! `ok` means a 2xx answer; `PROBE_DOWN:<name>` goes through `ALERT_CONSECUTIVE`.

use std::time::Duration;

use anyhow::Result;

use super::http;
pub use super::target::{Target, parse_targets};
use crate::alert_code::AlertCode;
use crate::alerts::{Check, Reading};
use crate::files::health::ProbeInfo;

/// How long one probe may take.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// GETs every target at once and waits for all (at most `timeout`).
pub fn run(targets: &[Target], timeout: Duration) -> Vec<ProbeInfo> {
    std::thread::scope(|s| {
        let handles: Vec<_> = targets
            .iter()
            .map(|t| s.spawn(move || http::get(&t.url, timeout)))
            .collect();
        targets
            .iter()
            .zip(handles)
            .map(|(t, h)| {
                let answer = h
                    .join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("the probe thread panicked")));
                info(t, answer)
            })
            .collect()
    })
}

/// The report entry for one probe.
pub fn info(t: &Target, answer: Result<http::Answer>) -> ProbeInfo {
    let mut url = t.url.clone();
    // Credentials in a probe URL never reach the report.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    match answer {
        Ok(a) => ProbeInfo {
            name: t.name.clone(),
            url: url.to_string(),
            ok: (200..300).contains(&a.status),
            status: Some(a.status),
            latency_ms: Some((a.latency.as_secs_f64() * 10_000.0).round() / 10.0),
            error: None,
        },
        Err(e) => ProbeInfo {
            name: t.name.clone(),
            url: url.to_string(),
            ok: false,
            status: None,
            latency_ms: None,
            error: Some(format!("{e:#}")),
        },
    }
}

/// One `PROBE_DOWN:<name>` reading per probe, needing `confirm` bad runs in a row.
pub fn readings(probes: &[ProbeInfo], confirm: u32) -> Vec<Reading> {
    probes
        .iter()
        .map(|p| Reading {
            code: AlertCode::ProbeDown.with(&p.name),
            check: Check::Flag {
                bad: Some(!p.ok),
                confirm,
                value: p.status.map(f64::from),
                threshold: None,
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_bad_ones_are_refused() {
        let t = parse_targets(
            " ollama=http://127.0.0.1:11434/api/tags , rag=https://rag.lan/health?x=1",
        )
        .unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].name, "ollama");
        assert_eq!(t[0].url.port(), Some(11434));
        assert_eq!(t[1].url.query(), Some("x=1"));
        assert!(parse_targets("").unwrap().is_empty());
        for bad in [
            "http://x",
            "a b=http://x",
            "a:b=http://x",
            "a=ftp://x/",
            "a=file:///etc/passwd",
            "a=not a url",
            "a=http://x,a=http://y",
        ] {
            assert!(parse_targets(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn credentials_never_reach_the_report() {
        let t = &parse_targets("x=http://user:secret@127.0.0.1:9/p").unwrap()[0];
        let p = info(t, Err(anyhow::anyhow!("refused")));
        assert_eq!(p.url, "http://127.0.0.1:9/p");
        assert!(!p.ok);
        assert_eq!(p.error.as_deref(), Some("refused"));
        let r = readings(&[p], 3);
        assert_eq!(r[0].code, "PROBE_DOWN:x");
        assert!(matches!(
            r[0].check,
            Check::Flag {
                bad: Some(true),
                confirm: 3,
                ..
            }
        ));
    }
}
