//! `prune`: retention over snapshot dates (a pure function tested on a
//! synthetic calendar) and the careful deletion of what it lets go.

use anyhow::{Context, Result};
use chrono::{DateTime, Datelike, Local, TimeZone, Utc};

use std::ffi::OsStr;

use super::manifest::{self, DEL_PREFIX, Layout};
use super::root::{self, Root};
use super::{index, lock};
use crate::config::Config;

/// `BACKUP_KEEP_DAILY` / `_WEEKLY` / `_MONTHLY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keep {
    pub daily: u32,
    pub weekly: u32,
    pub monthly: u32,
}

/// The verdict on one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub id: String,
    pub keep: bool,
    /// Why it stays (`daily 2026-11-25`, `newest verified`, …) or goes.
    pub reasons: Vec<String>,
}

/// Decides which snapshots stay. For each rule, the newest snapshot of each
/// of the last N periods (day, ISO week, month in the time zone `tz`, the
/// owner's local time in production) that have snapshots stays.
/// The newest snapshot and the newest verified one always stay, so a prune can
/// never leave the owner without a good copy. Returns newest first.
pub fn retention<Tz: TimeZone>(
    snapshots: &[(String, DateTime<Utc>)],
    keep: Keep,
    newest_verified: Option<&str>,
    tz: &Tz,
) -> Vec<Decision>
where
    Tz::Offset: std::fmt::Display,
{
    let mut sorted: Vec<&(String, DateTime<Utc>)> = snapshots.iter().collect();
    sorted.sort_by(|a, b| b.0.cmp(&a.0));
    let mut decisions: Vec<Decision> = sorted
        .iter()
        .map(|(id, _)| Decision {
            id: id.clone(),
            keep: false,
            reasons: Vec::new(),
        })
        .collect();
    type Period<Tz> = fn(&DateTime<Tz>) -> String;
    let rules: [(&str, u32, Period<Tz>); 3] = [
        ("daily", keep.daily, |t| t.format("%Y-%m-%d").to_string()),
        ("weekly", keep.weekly, |t| {
            let w = t.iso_week();
            format!("{}-W{:02}", w.year(), w.week())
        }),
        ("monthly", keep.monthly, |t| t.format("%Y-%m").to_string()),
    ];
    for (name, count, period) in rules {
        let mut seen: Vec<String> = Vec::new();
        for (i, (_, t)) in sorted.iter().enumerate() {
            if seen.len() as u32 >= count {
                break;
            }
            let p = period(&t.with_timezone(tz));
            if !seen.contains(&p) {
                decisions[i].keep = true;
                decisions[i].reasons.push(format!("{name} {p}"));
                seen.push(p);
            }
        }
    }
    if let Some(d) = decisions.first_mut() {
        d.keep = true;
        d.reasons.push("newest".into());
    }
    if let Some(v) = newest_verified
        && let Some(d) = decisions.iter_mut().find(|d| d.id == v)
    {
        d.keep = true;
        d.reasons.push("newest verified".into());
    }
    for d in decisions.iter_mut().filter(|d| !d.keep) {
        d.reasons.push(format!(
            "not kept by daily {} / weekly {} / monthly {}",
            keep.daily, keep.weekly, keep.monthly
        ));
    }
    decisions
}

/// Applies retention to `BACKUP_DIR` (or only reports with `dry_run`).
pub fn prune(cfg: &Config, dry_run: bool) -> Result<Vec<Decision>> {
    let layout = Layout::new(&cfg.backup_dir);
    let root = if dry_run {
        None
    } else {
        Some(root::open(&layout.root)?)
    };
    // Waits for runs, verifies and restores: they read the snapshots it deletes.
    let _lock = match &root {
        Some(r) => Some(lock::wait(
            &r.dir,
            lock::Mode::Exclusive,
            lock::WAIT,
            "prune",
        )?),
        None => None,
    };
    let ids = layout.complete_ids()?;
    let snapshots: Vec<(String, DateTime<Utc>)> = ids
        .iter()
        .filter_map(|id| manifest::parse_id(id).map(|t| (id.clone(), t)))
        .collect();
    let newest_verified = ids
        .iter()
        .rev()
        .find(|id| index::read_verify(&layout, id).is_some_and(|r| r.last.status == "ok"))
        .cloned();
    let keep = Keep {
        daily: cfg.keep_daily,
        weekly: cfg.keep_weekly,
        monthly: cfg.keep_monthly,
    };
    // Days, weeks and months are the owner's: local time (`TZ`).
    let decisions = retention(&snapshots, keep, newest_verified.as_deref(), &Local);
    if let Some(root) = &root {
        for d in decisions.iter().filter(|d| !d.keep) {
            delete(&layout, root, &d.id)?;
        }
        if let Err(e) = index::refresh(&layout, root, &cfg.state_dir) {
            log::warn!("could not update the snapshot index: {e:#}");
        }
    }
    Ok(decisions)
}

/// Deletes one snapshot so that no crash leaves a final-named folder without
/// its manifest: rename it out of the way first, then drop the manifest, then
/// the files.
fn delete(layout: &Layout, root: &Root, id: &str) -> Result<()> {
    let doomed = format!("{DEL_PREFIX}{id}");
    let doomed = OsStr::new(&doomed);
    root.snapshots
        .rename(OsStr::new(id), &root.snapshots, doomed)
        .with_context(|| format!("moving {} aside", layout.snapshot(id).display()))?;
    root.snapshots.file().sync_all()?;
    let shown = layout.manifest(id);
    for (dir, name) in [
        (&root.manifests, manifest::manifest_name(id)),
        (&root.manifests, format!("{id}.json")),
        (&root.verify, format!("{id}.json")),
    ] {
        match dir.unlink(OsStr::new(&name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("removing {}", shown.display()));
            }
            _ => {}
        }
    }
    root.manifests.file().sync_all()?;
    root.snapshots
        .remove_tree(doomed)
        .with_context(|| format!("removing {}", layout.doomed_snapshot(id).display()))
}

/// The text `potion-backup prune` prints.
pub fn render(decisions: &[Decision], dry_run: bool) -> String {
    let mut out = String::new();
    let verb = if dry_run { "would delete" } else { "deleted" };
    for d in decisions {
        let what = if d.keep { "keep" } else { verb };
        out.push_str(&format!("{what} {}: {}\n", d.id, d.reasons.join(", ")));
    }
    let gone = decisions.iter().filter(|d| !d.keep).count();
    out.push_str(&format!("{gone} of {} snapshots {verb}\n", decisions.len()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn snap(y: i32, mo: u32, d: u32, h: u32) -> (String, DateTime<Utc>) {
        let t = Utc.with_ymd_and_hms(y, mo, d, h, 30, 0).unwrap();
        (manifest::format_id(t), t)
    }

    fn kept(ds: &[Decision]) -> Vec<String> {
        let mut k: Vec<String> = ds
            .iter()
            .filter(|d| d.keep)
            .map(|d| d.id[..11].to_string())
            .collect();
        k.sort();
        k
    }

    /// One snapshot a day at 02:30 from 2026-06-01 to 2026-11-25, plus a
    /// second one on the last day: the default 7/4/6 rules.
    #[test]
    fn default_rules_on_a_half_year_calendar() {
        let mut snaps = Vec::new();
        let mut t = Utc.with_ymd_and_hms(2026, 6, 1, 2, 30, 0).unwrap();
        while t <= Utc.with_ymd_and_hms(2026, 11, 25, 3, 0, 0).unwrap() {
            snaps.push((manifest::format_id(t), t));
            t += chrono::Duration::days(1);
        }
        snaps.push(snap(2026, 11, 25, 14));
        let ds = retention(
            &snaps,
            Keep {
                daily: 7,
                weekly: 4,
                monthly: 6,
            },
            None,
            &Utc,
        );
        assert_eq!(ds.len(), snaps.len());
        let k = kept(&ds);
        let expect = [
            // monthly: newest of Jun..Nov (Nov is the newest overall)
            "20260630T02",
            "20260731T02",
            "20260831T02",
            "20260930T02",
            "20261031T02",
            // weekly: newest of ISO weeks 45, 46, 47, 48 (Sundays 11-08, 11-15, 11-22; week 48 is today)
            "20261108T02",
            "20261115T02",
            // daily: Nov 19..25 (the 25th's newest is the 14:30 run)
            "20261119T02",
            "20261120T02",
            "20261121T02",
            "20261122T02",
            "20261123T02",
            "20261124T02",
            "20261125T14",
        ];
        assert_eq!(k, expect);
        let newest = &ds[0];
        assert!(
            newest.keep && newest.reasons.contains(&"daily 2026-11-25".to_string()),
            "{newest:?}"
        );
        let morning = ds.iter().find(|d| d.id == "20261125T023000Z").unwrap();
        assert!(
            !morning.keep && morning.reasons[0].starts_with("not kept"),
            "{morning:?}"
        );
    }

    #[test]
    fn newest_verified_and_newest_always_stay() {
        let snaps = vec![
            snap(2026, 1, 1, 1),
            snap(2026, 1, 2, 1),
            snap(2026, 1, 3, 1),
        ];
        let ds = retention(
            &snaps,
            Keep {
                daily: 0,
                weekly: 0,
                monthly: 0,
            },
            Some(&snaps[0].0),
            &Utc,
        );
        assert_eq!(kept(&ds), ["20260101T01", "20260103T01"]);
        let verified = ds.iter().find(|d| d.id == snaps[0].0).unwrap();
        assert_eq!(verified.reasons, ["newest verified"]);
    }

    #[test]
    fn gaps_in_the_calendar_do_not_shrink_what_is_kept() {
        // Daily keeps the last 3 days that HAVE snapshots, even weeks apart.
        let snaps = vec![
            snap(2026, 1, 1, 1),
            snap(2026, 2, 1, 1),
            snap(2026, 3, 1, 1),
            snap(2026, 3, 1, 5),
        ];
        let ds = retention(
            &snaps,
            Keep {
                daily: 3,
                weekly: 0,
                monthly: 0,
            },
            None,
            &Utc,
        );
        assert_eq!(kept(&ds), ["20260101T01", "20260201T01", "20260301T05"]);
    }

    #[test]
    fn days_are_the_owners_local_days() {
        // 21:30 and 22:30 UTC on the 1st are 23:30 on the 1st and 00:30 on
        // the 2nd two hours east; 10:30 UTC on the 2nd is the newest.
        let snaps = vec![
            snap(2026, 3, 1, 21),
            snap(2026, 3, 1, 22),
            snap(2026, 3, 2, 10),
        ];
        let keep = Keep {
            daily: 2,
            weekly: 0,
            monthly: 0,
        };
        let utc = retention(&snaps, keep, None, &Utc);
        assert_eq!(kept(&utc), ["20260301T22", "20260302T10"]);
        let east = chrono::FixedOffset::east_opt(2 * 3600).unwrap();
        let local = retention(&snaps, keep, None, &east);
        assert_eq!(kept(&local), ["20260301T21", "20260302T10"]);
        let first = local
            .iter()
            .find(|d| d.id.starts_with("20260301T21"))
            .unwrap();
        assert!(
            first.reasons.contains(&"daily 2026-03-01".to_string()),
            "{first:?}"
        );
    }
}
