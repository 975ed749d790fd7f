//! `/smart` and `/smart_ack`: the disks' SMART readings as the health job
//! keeps them (`smart-state.json`, with baselines) plus root's notes
//! (`smart-readings.json`: no smartctl, an unreadable device), and
//! accepting a disk's current counts as its baseline.
//!
//! `/smart_ack <disk>` names one of the disks in `smart-state.json` or is
//! refused before any question; on Yes the acceptance is one read, change
//! and atomic write under `health::smart::locked`, the lock the health
//! job's merge also holds, so neither write loses the other.

use std::path::Path;

use anyhow::Result;
use chrono::{DateTime, Utc};
use teloxide::types::MessageId;

use super::AuditResult;
use super::command::Command;
use super::confirm::{self, Confirmable};
use super::i18n::{SenseTexts, Texts};
use super::loaded::{Loaded, load};
use super::req::{Req, replied};
use super::text::{esc, fill, num, when};
use crate::files::health::{SmartDisk, SmartReadings, SmartState};
use crate::health::smart;
use crate::{atomic, files, paths};

/// Serves `/smart` and `/smart_ack`; returns what to audit.
pub async fn handle(req: &Req, cmd: Command, args: &str) -> AuditResult {
    let dir = req.shared.config().state_dir;
    let state = load::<SmartState>(&dir.join(paths::SMART_STATE));
    let t = req.texts();
    if cmd == Command::SmartAck {
        return match pick_disk(args, &state) {
            Ok(dev) => replied(
                confirm::ask(req, Confirmable::SmartAck(dev)).await,
                AuditResult::Ok,
            ),
            Err(refusal) => replied(
                req.reply(&refusal.html(t.senses)).await,
                AuditResult::Failed(refusal.reason().to_string()),
            ),
        };
    }
    let readings = load::<SmartReadings>(&dir.join(paths::SMART_READINGS));
    let html = render(t, &state, &readings, Utc::now());
    replied(req.reply(&html).await, AuditResult::Ok)
}

/// Why `/smart_ack`'s argument was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum AckRefusal {
    /// Not exactly one word.
    Usage,
    /// No disk has readings yet (or the file cannot be read).
    NoDisks,
    /// Not one of the disks in `smart-state.json`.
    Unknown { dev: String, known: Vec<String> },
}

impl AckRefusal {
    /// The audit line's reason.
    pub fn reason(&self) -> &'static str {
        match self {
            AckRefusal::Usage => "invalid arguments",
            AckRefusal::NoDisks => "no SMART disks",
            AckRefusal::Unknown { .. } => "unknown disk",
        }
    }

    pub fn html(&self, s: &SenseTexts) -> String {
        match self {
            AckRefusal::Usage => s.ack_usage.to_string(),
            AckRefusal::NoDisks => s.ack_no_disks.to_string(),
            AckRefusal::Unknown { dev, known } => {
                let known: Vec<String> = known
                    .iter()
                    .map(|k| format!("<code>{}</code>", esc(short(k))))
                    .collect();
                fill(
                    s.ack_unknown,
                    &[("dev", &esc(dev)), ("known", &known.join(", "))],
                )
            }
        }
    }
}

/// `/dev/sda` as typed after `/smart_ack`: `sda`.
fn short(dev: &str) -> &str {
    dev.trim_start_matches("/dev/")
}

/// The disk `/smart_ack`'s argument names (`sda` or `/dev/sda`), spelled as
/// `smart-state.json` spells it; anything else is refused (pure). Only the
/// file's own device name goes any further, never the typed text.
pub fn pick_disk(args: &str, state: &Loaded<SmartState>) -> Result<String, AckRefusal> {
    let words: Vec<&str> = args.split_whitespace().collect();
    let [typed] = words.as_slice() else {
        return Err(AckRefusal::Usage);
    };
    let disks = match state {
        Loaded::Ok(s) if !s.disks.is_empty() => &s.disks,
        _ => return Err(AckRefusal::NoDisks),
    };
    disks
        .iter()
        .find(|d| short(&d.device) == short(typed))
        .map(|d| d.device.clone())
        .ok_or_else(|| AckRefusal::Unknown {
            dev: typed.chars().take(64).collect(),
            known: disks.iter().map(|d| d.device.clone()).collect(),
        })
}

/// On Yes: accepts the disk's counts in `smart-state.json` under the lock,
/// then edits the question into what the baseline now holds.
pub async fn run_confirmed(req: &Req, msg_id: MessageId, dev: &str) -> AuditResult {
    let s = req.texts().senses;
    let dir = req.shared.config().state_dir;
    let owned = dev.to_string();
    let done = tokio::task::spawn_blocking(move || accept_now(&dir, &owned)).await;
    let (html, result) = match done {
        Ok(Ok(Some(disk))) => (accepted_html(s, &disk), AuditResult::Ok),
        Ok(Ok(None)) => (
            fill(s.ack_gone, &[("dev", &esc(dev))]),
            AuditResult::Failed("unknown disk".into()),
        ),
        Ok(Err(e)) => (
            fill(s.ack_failed, &[("err", &esc(&format!("{e:#}")))]),
            AuditResult::Failed(format!("{e:#}")),
        ),
        Err(e) => (
            fill(s.ack_failed, &[("err", &esc(&e.to_string()))]),
            AuditResult::Failed(e.to_string()),
        ),
    };
    replied(req.edit(msg_id, &html).await, result)
}

/// Reads, accepts and writes `smart-state.json` under the lock; the disk as
/// it now stands, or none when the file or the disk is gone.
fn accept_now(dir: &Path, dev: &str) -> Result<Option<SmartDisk>> {
    smart::locked(dir, || -> Result<Option<SmartDisk>> {
        let path = dir.join(paths::SMART_STATE);
        let Some(mut state) = files::read_json_if_exists::<SmartState>(&path)? else {
            return Ok(None);
        };
        if !smart::accept(&mut state, dev) {
            return Ok(None);
        }
        atomic::write_json(&path, &state)?;
        Ok(state.disks.into_iter().find(|d| d.device == dev))
    })?
}

/// The reply after an acceptance: every counter and its baseline now.
fn accepted_html(s: &SenseTexts, d: &SmartDisk) -> String {
    if d.baseline.is_empty() {
        return fill(s.ack_done_empty, &[("dev", &esc(&d.device))]);
    }
    let list: Vec<String> = d
        .baseline
        .iter()
        .map(|(k, v)| {
            let now = d.counters.get(k).copied().unwrap_or(*v);
            counter_line(s, k, now, *v)
        })
        .collect();
    fill(
        s.ack_done,
        &[("dev", &esc(&d.device)), ("list", &list.join("\n"))],
    )
}

fn counter_line(s: &SenseTexts, name: &str, now: u64, base: u64) -> String {
    let tpl = if now > base {
        s.counter_grown
    } else {
        s.counter_ok
    };
    fill(
        tpl,
        &[
            ("name", &esc(name)),
            ("now", &now.to_string()),
            ("base", &base.to_string()),
        ],
    )
}

/// `/smart` (pure): each disk, then the notes about the check itself.
pub fn render(
    t: &Texts,
    state: &Loaded<SmartState>,
    readings: &Loaded<SmartReadings>,
    now: DateTime<Utc>,
) -> String {
    let s = t.senses;
    let mut out = vec![s.smart_head.to_string()];
    match state {
        Loaded::Ok(st) => {
            for d in &st.disks {
                out.push(String::new());
                out.extend(disk_lines(t, d, now));
            }
        }
        Loaded::Corrupt(_) => out.push(s.state_corrupt.to_string()),
        Loaded::Missing => {}
    }
    let mut notes = Vec::new();
    match readings {
        Loaded::Ok(r) => {
            notes.extend(r.notes.iter().map(|n| note_line(s, n)));
            notes.extend(
                r.errors
                    .iter()
                    .map(|e| fill(s.check_error, &[("err", &esc(e))])),
            );
        }
        Loaded::Corrupt(e) => notes.push(fill(s.check_error, &[("err", &esc(e))])),
        Loaded::Missing if matches!(state, Loaded::Missing) => notes.push(s.never_ran.to_string()),
        Loaded::Missing => {}
    }
    if !notes.is_empty() {
        out.push(String::new());
        out.extend(notes);
    }
    out.join("\n")
}

/// One disk: name and model; status, power-on hours, temperature, wear;
/// each counter against its baseline; when it was read.
fn disk_lines(t: &Texts, d: &SmartDisk, now: DateTime<Utc>) -> Vec<String> {
    let s = t.senses;
    let model = d
        .model
        .as_deref()
        .map_or_else(|| t.unknown.to_string(), esc);
    let mut lines = vec![fill(s.disk, &[("dev", &esc(&d.device)), ("model", &model)])];
    let mut facts = vec![
        match d.passed {
            Some(true) => s.passed,
            Some(false) => s.failed,
            None => s.status_unknown,
        }
        .to_string(),
    ];
    if let Some(h) = d.power_on_hours {
        facts.push(fill(s.power_on, &[("hours", &h.to_string())]));
    }
    if let Some(c) = d.temperature_c {
        facts.push(fill(s.temp, &[("temp", &num(c))]));
    }
    if let Some(p) = d.percentage_used {
        facts.push(fill(s.life_used, &[("percent", &p.to_string())]));
    }
    lines.push(facts.join(" · "));
    if !d.counters.is_empty() {
        lines.push(s.counters_head.to_string());
        for (k, v) in &d.counters {
            let base = d.baseline.get(k).copied().unwrap_or(*v);
            lines.push(counter_line(s, k, *v, base));
        }
    }
    if !d.checked_at.is_empty() {
        let at = when(&t.clock, &d.checked_at, now);
        lines.push(fill(s.checked, &[("at", &at)]));
    }
    if d.standby {
        lines.push(s.standby.to_string());
    }
    let grown = d
        .counters
        .iter()
        .any(|(k, v)| d.baseline.get(k).is_some_and(|b| v > b));
    if grown {
        lines.push(fill(s.ack_hint, &[("dev", &esc(short(&d.device)))]));
    }
    lines
}

/// What one of root's notes (`smartctl.rs`) means, by the words it writes.
#[derive(Debug, PartialEq)]
enum Note<'a> {
    NoSmartctl,
    /// An NVMe disk whose health log needs `CAP_SYS_ADMIN`.
    NvmeAdmin(&'a str),
    Unreadable {
        dev: &'a str,
        why: &'a str,
    },
    Other(&'a str),
}

fn classify(note: &str) -> Note<'_> {
    if note.starts_with("smartctl is not installed") {
        return Note::NoSmartctl;
    }
    let Some((dev, why)) = note
        .strip_prefix("SMART is not readable on ")
        .and_then(|rest| rest.split_once(": "))
    else {
        return Note::Other(note);
    };
    let denied = [
        "Permission denied",
        "CAP_SYS_ADMIN",
        "Operation not permitted",
    ]
    .iter()
    .any(|w| why.contains(w));
    if short(dev).starts_with("nvme") && denied {
        Note::NvmeAdmin(dev)
    } else {
        Note::Unreadable { dev, why }
    }
}

fn note_line(s: &SenseTexts, note: &str) -> String {
    match classify(note) {
        Note::NoSmartctl => s.no_smartctl.to_string(),
        Note::NvmeAdmin(dev) => fill(s.nvme_admin, &[("dev", &esc(dev))]),
        Note::Unreadable { dev, why } => {
            fill(s.unreadable, &[("dev", &esc(dev)), ("why", &esc(why))])
        }
        Note::Other(n) => esc(n),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::bot::i18n::texts;
    use crate::config::Lang;

    fn now() -> DateTime<Utc> {
        files::parse_rfc3339("2026-11-25T19:30:00Z").unwrap()
    }

    fn ata() -> SmartDisk {
        SmartDisk {
            device: "/dev/sda".into(),
            model: Some("ST500LM021-1KJ152".into()),
            checked_at: "2026-11-25T19:00:00Z".into(),
            passed: Some(true),
            power_on_hours: Some(33712),
            temperature_c: Some(37.0),
            counters: BTreeMap::from([
                ("reallocated_sectors".into(), 8),
                ("pending_sectors".into(), 0),
            ]),
            baseline: BTreeMap::from([
                ("reallocated_sectors".into(), 0),
                ("pending_sectors".into(), 0),
            ]),
            ..SmartDisk::default()
        }
    }

    fn nvme() -> SmartDisk {
        SmartDisk {
            device: "/dev/nvme0n1".into(),
            model: Some("<b>Samsung</b>".into()),
            checked_at: "2026-11-25T19:00:00Z".into(),
            passed: Some(true),
            percentage_used: Some(3),
            counters: BTreeMap::from([("media_errors".into(), 0)]),
            baseline: BTreeMap::from([("media_errors".into(), 0)]),
            standby: true,
            ..SmartDisk::default()
        }
    }

    fn state(disks: Vec<SmartDisk>) -> Loaded<SmartState> {
        Loaded::Ok(SmartState {
            schema: 1,
            checked_at: Some("2026-11-25T19:00:00Z".into()),
            disks,
        })
    }

    #[test]
    fn shows_counters_against_baselines_and_marks_growth() {
        let t = texts(Lang::En);
        let html = render(t, &state(vec![ata(), nvme()]), &Loaded::Missing, now());
        assert!(
            html.contains("<b>/dev/sda</b> · ST500LM021-1KJ152"),
            "{html}"
        );
        assert!(html.contains("on for 33712 h · 37°C"), "{html}");
        assert!(
            html.contains("⚠️ <code>reallocated_sectors</code> 8 / 0 (grown)"),
            "{html}"
        );
        assert!(
            html.contains("  <code>pending_sectors</code> 0 / 0\n"),
            "{html}"
        );
        assert!(html.contains("/smart_ack sda"), "{html}");
        assert!(html.contains("3% of rated life used"), "{html}");
        assert!(html.contains("&lt;b&gt;Samsung"), "model escaped: {html}");
        assert!(html.contains("asleep"), "{html}");
        assert_eq!(html.matches("/smart_ack").count(), 1, "only sda grew");
        let id = render(
            texts(Lang::Id),
            &state(vec![ata()]),
            &Loaded::Missing,
            now(),
        );
        assert!(
            id.contains("(naik)") && id.contains("menyala 33712 jam"),
            "{id}"
        );
    }

    #[test]
    fn notes_say_why_there_is_nothing_to_show() {
        let s = texts(Lang::En).senses;
        let t = texts(Lang::En);
        let never = render(t, &Loaded::Missing, &Loaded::Missing, now());
        assert!(never.contains(s.never_ran), "{never}");
        let readings = Loaded::Ok(SmartReadings {
            notes: vec![
                "smartctl is not installed, so disks are not checked (apt install smartmontools)"
                    .into(),
                "SMART is not readable on /dev/nvme0n1: Read NVMe Identify Controller failed: NVME_IOCTL_ADMIN_CMD: Permission denied".into(),
                "SMART is not readable on /dev/vda: /dev/vda: Unable to detect device type".into(),
            ],
            ..SmartReadings::default()
        });
        let html = render(t, &state(vec![]), &readings, now());
        assert!(html.contains(s.no_smartctl), "{html}");
        assert!(
            html.contains("/dev/nvme0n1 (NVMe) needs CAP_SYS_ADMIN"),
            "{html}"
        );
        assert!(
            html.contains("SMART of /dev/vda cannot be read: <code>/dev/vda: Unable"),
            "{html}"
        );
        assert!(!html.contains(s.never_ran));
        assert_eq!(classify("something new"), Note::Other("something new"));
    }

    #[test]
    fn only_a_known_disk_is_accepted_and_by_its_own_name() {
        let st = state(vec![ata(), nvme()]);
        assert_eq!(pick_disk("sda", &st), Ok("/dev/sda".into()));
        assert_eq!(pick_disk("/dev/nvme0n1", &st), Ok("/dev/nvme0n1".into()));
        assert_eq!(pick_disk("", &st), Err(AckRefusal::Usage));
        assert_eq!(pick_disk("sda sdb", &st), Err(AckRefusal::Usage));
        for bad in [
            "sdb",
            "../sda",
            "/dev/../dev/sda",
            "sda;reboot",
            "/etc/passwd",
        ] {
            let Err(AckRefusal::Unknown { dev, known }) = pick_disk(bad, &st) else {
                panic!("{bad} accepted");
            };
            assert_eq!(dev, bad);
            assert_eq!(known, ["/dev/sda", "/dev/nvme0n1"]);
        }
        assert_eq!(pick_disk("sda", &state(vec![])), Err(AckRefusal::NoDisks));
        assert_eq!(pick_disk("sda", &Loaded::Missing), Err(AckRefusal::NoDisks));
        let long = "x".repeat(300);
        let Err(r) = pick_disk(&long, &st) else {
            panic!()
        };
        let html = r.html(texts(Lang::Id).senses);
        assert!(
            html.contains("<code>sda</code>") && html.len() < 400,
            "{html}"
        );
        let html = AckRefusal::Unknown {
            dev: "<i>".into(),
            known: vec![],
        }
        .html(texts(Lang::En).senses);
        assert!(html.contains("&lt;i&gt;"), "{html}");
    }

    #[test]
    fn an_acceptance_is_written_under_the_lock_and_says_what_holds() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            accept_now(dir.path(), "/dev/sda").unwrap().is_none(),
            "no file"
        );
        let Loaded::Ok(st) = state(vec![ata()]) else {
            unreachable!()
        };
        atomic::write_json(&dir.path().join(paths::SMART_STATE), &st).unwrap();
        assert!(accept_now(dir.path(), "/dev/sdb").unwrap().is_none());
        let d = accept_now(dir.path(), "/dev/sda").unwrap().unwrap();
        assert_eq!(d.baseline, d.counters);
        let kept: SmartState = files::read_json(&dir.path().join(paths::SMART_STATE)).unwrap();
        assert_eq!(kept.disks[0].baseline["reallocated_sectors"], 8);
        assert!(kept.disks[0].problems.is_empty());
        let html = accepted_html(texts(Lang::En).senses, &d);
        assert!(
            html.contains("<code>reallocated_sectors</code> 8 / 8"),
            "{html}"
        );
    }
}
