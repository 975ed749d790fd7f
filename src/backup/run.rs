//! `potion-backup run`: one crash-safe snapshot.
//!
//! Order of events: check the disk, lock, clean up what a killed run left,
//! scan and plan, check room, build `snapshots/.tmp-<ID>`, sync, write the
//! manifest, rename to `snapshots/<ID>`. Only a folder under its final name
//! with a manifest is a snapshot, so a crash at any point leaves nothing that
//! looks complete.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use chrono::Utc;

use super::at::Dir;
use super::build::Builder;
use super::copy::{self, Counters};
use super::manifest::{self, DEL_PREFIX, Layout, TMP_PREFIX, Writer};
use super::root::{self, Root};
use super::scan::Excludes;
use super::state::{PROGRESS_EVERY, Progress, outcome};
use super::state::{RunReport, disk_error};
use super::work::{self, Budget, Job};
use super::{index, lock, record, space, walk};
use crate::atomic;
use crate::config::Config;
use crate::files::backup::{BackupOutcome, ManifestHeader, ManifestTotals};
use crate::files::{now_rfc3339, read_json_if_exists};
use crate::paths;

/// Runs one backup and records the outcome in `last_backup.json`, whether it
/// worked or not.
pub fn run(cfg: &Config) -> Result<RunReport> {
    let started_at = now_rfc3339();
    let layout = Layout::new(&cfg.backup_dir);
    let result = run_inner(cfg, &layout, &started_at);
    let last_path = cfg.state_dir.join(paths::LAST_BACKUP);
    // STATE_DIR is writable by the `potion` user: read only a small regular file.
    let previous: Option<BackupOutcome> = read_json_if_exists(&last_path).ok().flatten();
    let outcome = outcome(&layout, &started_at, &result, previous);
    if let Err(e) =
        atomic::ensure_dir(&cfg.state_dir).and_then(|()| atomic::write_json(&last_path, &outcome))
    {
        log::error!("could not record the outcome: {e:#}");
    }
    result
}

fn run_inner(cfg: &Config, layout: &Layout, started_at: &str) -> Result<RunReport> {
    space::require_mount_point(&cfg.data_mount, cfg.backup_allow_same_disk)?;
    // Manifests list every file name, so they are as private as the snapshots.
    let root = root::open(&layout.root)?;
    let _run = lock::try_run(&root.dir)?;
    let _lock = lock::wait(&root.dir, lock::Mode::Shared, lock::WAIT, "backup")?;
    clean_leftovers(layout, &root)?;
    let space0 = space::disk_space(&layout.root)?;
    space::check_room(space0, 0, &layout.root)?;

    let id = next_id(layout)?;
    let prev_id = layout.complete_ids()?.pop();
    let mut warnings = Vec::new();
    let mut clock = Instant::now();
    let prev = prev_id.as_deref().and_then(|p| {
        manifest::open(layout, p)
            .map_err(|e| {
                warnings.push(format!(
                    "previous snapshot {p} unreadable, copying everything: {e:#}"
                ))
            })
            .ok()
    });
    let (estimate, prev) = match prev {
        Some((h, r)) => (Some(h.totals), Some(r)),
        None => (None, None),
    };
    let progress = Progress::new(cfg, &id, started_at);
    // Files the last verify found damaged in the previous snapshot are copied
    // afresh from the source instead of linking the damage forward.
    let damaged: HashSet<Vec<u8>> = prev_id
        .as_deref()
        .and_then(|p| index::read_verify(layout, p))
        .map(|r| r.problems.iter().map(|p| record::raw(&p.path)).collect())
        .unwrap_or_default();
    // The progress file is rewritten throughout this run; a copy of it says nothing.
    let excludes = Excludes::new(&cfg.backup_excludes)?
        .skipping(&layout.root)
        .skipping(&cfg.state_dir.join(paths::BACKUP_PROGRESS))
        .skipping_temp_files_in(&cfg.state_dir);

    let tmp_name = format!("{TMP_PREFIX}{id}");
    let tmp_shown = layout.tmp_snapshot(&id);
    root.snapshots
        .mkdir(OsStr::new(&tmp_name), 0o700)
        .map_err(|err| disk_error(&tmp_shown, err))?;
    let tmp = root
        .snapshots
        .open_child(OsStr::new(&tmp_name))
        .map_err(|err| disk_error(&tmp_shown, err))?;
    let tmp = Arc::new(tmp);
    let prev_root = prev_id
        .as_ref()
        .and_then(|p| root.snapshots.open_child(OsStr::new(p)).ok())
        .map(Arc::new);
    lap(&mut clock, "opening the previous manifest");
    let job = Stream {
        cfg,
        layout,
        root: &root,
        tmp: tmp.clone(),
        tmp_shown: tmp_shown.clone(),
        prev_root,
        prev,
        damaged,
        excludes: &excludes,
        progress: &progress,
        estimate,
        budget: space0
            .avail
            .saturating_sub(space::safety_margin(space0.total)),
    };
    let built = build(job).and_then(|b| {
        copy::sync_filesystem(&tmp).map_err(|err| disk_error(&tmp_shown, err))?;
        Ok(b)
    });
    lap(
        &mut clock,
        "building the snapshot and syncing the backup disk",
    );
    let (mut totals, built_warnings, writer) = match built {
        Ok(v) => v,
        Err(e) => {
            progress.write_phase("failed");
            if let Err(rm) = root.snapshots.remove_tree(OsStr::new(&tmp_name)) {
                log::warn!("could not remove {tmp_name}: {rm}");
            }
            return Err(e);
        }
    };
    warnings.extend(built_warnings);
    totals.warnings = warnings.len() as u64;
    let header = ManifestHeader {
        schema: manifest::SCHEMA,
        id: id.clone(),
        started_at: started_at.into(),
        finished_at: now_rfc3339(),
        sources: cfg
            .backup_sources
            .iter()
            .map(|s| manifest::escape_path(s.as_os_str()))
            .collect(),
        totals: totals.clone(),
    };
    if let Err(e) = commit(layout, &root, &tmp, writer, &header) {
        progress.write_phase("failed");
        return Err(e);
    }
    lap(&mut clock, "writing the manifest and renaming");
    progress.write_phase("done");
    if let Err(e) = index::refresh(layout, &root, &cfg.state_dir) {
        log::warn!("could not update {}: {e:#}", paths::BACKUP_INDEX);
    }
    Ok(RunReport {
        id,
        totals,
        warnings,
    })
}

/// What [`build`] needs.
struct Stream<'a> {
    cfg: &'a Config,
    layout: &'a Layout,
    root: &'a Root,
    tmp: Arc<Dir>,
    tmp_shown: PathBuf,
    prev_root: Option<Arc<Dir>>,
    prev: Option<manifest::Reader>,
    damaged: HashSet<Vec<u8>>,
    excludes: &'a Excludes,
    progress: &'a Progress,
    /// The previous snapshot's totals, as the progress file's estimate.
    estimate: Option<ManifestTotals>,
    budget: u64,
}

/// Walks the sources into the snapshot: copy workers, a thread that writes
/// progress and watches free space, and the walk on this thread.
fn build(s: Stream) -> Result<(ManifestTotals, Vec<String>, Writer)> {
    let writer = Writer::new(s.root).map_err(|e| disk_error(&s.layout.manifests(), e))?;
    let counters = Counters::default();
    let stop = AtomicBool::new(false);
    let done_walking = AtomicBool::new(false);
    let space_problem = Mutex::new(None::<anyhow::Error>);
    let (files_total, bytes_total) = s.estimate.map_or((0, 0), |t| (t.files, t.bytes));
    let budget = Budget::new(s.budget);
    let (job_tx, job_rx) = mpsc::sync_channel::<Job>(256);
    let (done_tx, done_rx) = mpsc::channel();
    let job_rx = Mutex::new(job_rx);
    let set_owner = copy::can_chown();
    let result = std::thread::scope(|sc| {
        for _ in 0..super::worker_threads() {
            let done_tx = done_tx.clone();
            let (job_rx, stop, budget) = (&job_rx, &stop, &budget);
            sc.spawn(move || work::worker(job_rx, done_tx, stop, budget, set_owner));
        }
        drop(done_tx);
        sc.spawn(|| {
            let mut last = Instant::now();
            while !done_walking.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
                if last.elapsed() < PROGRESS_EVERY {
                    continue;
                }
                last = Instant::now();
                s.progress
                    .write("copying", &counters, files_total, bytes_total);
                if let Ok(sp) = space::disk_space(&s.layout.root)
                    && sp.avail < space::safety_margin(sp.total)
                {
                    *crate::sync::lock(&space_problem) = Some(anyhow!(
                        "stopped: the backup disk {} is down to its safety margin ({} free); \
                         earlier snapshots are intact; free some space or prune old snapshots",
                        s.layout.root.display(),
                        crate::human::bytes(sp.avail)
                    ));
                    stop.store(true, Ordering::Relaxed);
                }
            }
        });
        let mut b = Builder::new(
            s.tmp.clone(),
            s.tmp_shown.clone(),
            s.prev_root,
            s.prev,
            s.damaged,
            job_tx,
            done_rx,
            writer,
            &counters,
            &stop,
            &budget,
        );
        let r =
            walk::walk_sources(&s.cfg.backup_sources, s.excludes, &mut b).and_then(|()| b.close());
        if r.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        drop(b.jobs.take());
        done_walking.store(true, Ordering::Relaxed);
        r.map(|()| (b.totals, b.warnings, b.writer))
    });
    if let Some(e) = crate::sync::into_inner(space_problem) {
        return Err(e);
    }
    s.progress
        .write("finishing", &counters, files_total, bytes_total);
    result
}

/// Makes a built snapshot complete: manifest (atomic, fsynced), then the
/// rename to the final name, then the folder fsync. Until the rename succeeds
/// a failure removes both; after it the snapshot is complete and stays. The
/// name `.tmp-<ID>` must still be the folder that was built (same device and
/// inode as the handle): a folder swapped in under that name, or a symlink,
/// is never made a snapshot.
fn commit(
    layout: &Layout,
    root: &Root,
    tmp: &Dir,
    writer: Writer,
    header: &ManifestHeader,
) -> Result<()> {
    let id = &header.id;
    let tmp_name = format!("{TMP_PREFIX}{id}");
    let tmp_name = OsStr::new(&tmp_name);
    let placed = writer.finish(root, header).and_then(|()| {
        let built = tmp.stat()?;
        let named = root.snapshots.stat_name(tmp_name)?;
        if (named.st_dev, named.st_ino) != (built.st_dev, built.st_ino) {
            bail!(
                "{} was replaced while the snapshot was built; the run is abandoned",
                layout.tmp_snapshot(id).display()
            );
        }
        root.snapshots
            .rename(tmp_name, &root.snapshots, OsStr::new(id))
            .with_context(|| format!("renaming {} to {id}", layout.tmp_snapshot(id).display()))
    });
    if let Err(e) = placed {
        let _ = root
            .manifests
            .unlink(OsStr::new(&manifest::manifest_name(id)));
        let _ = root.snapshots.remove_tree(tmp_name);
        return Err(match io_errno(&e) {
            Some(libc::ENOSPC) | Some(libc::EDQUOT) => disk_error(
                &layout.manifest(id),
                std::io::Error::from_raw_os_error(libc::ENOSPC),
            ),
            _ => e,
        });
    }
    root.snapshots
        .file()
        .sync_all()
        .with_context(|| format!("syncing {}", layout.snapshots().display()))
}

/// Removes what an interrupted run or prune left: temp and half-deleted
/// snapshot folders, manifests without a snapshot, stray temp files.
pub fn clean_leftovers(layout: &Layout, root: &Root) -> Result<()> {
    let mut removed = false;
    let snaps = layout.snapshots();
    for name in root
        .snapshots
        .names()
        .with_context(|| format!("reading {}", snaps.display()))?
    {
        let name = OsStr::from_bytes(name.to_bytes());
        let s = name.to_string_lossy();
        if s.starts_with(TMP_PREFIX) || s.starts_with(DEL_PREFIX) {
            log::info!("removing leftover {}", snaps.join(name).display());
            root.snapshots
                .remove_tree(name)
                .with_context(|| format!("removing leftover {}", snaps.join(name).display()))?;
            removed = true;
        }
    }
    let mans = layout.manifests();
    for name in root
        .manifests
        .names()
        .with_context(|| format!("reading {}", mans.display()))?
    {
        let name = String::from_utf8_lossy(name.to_bytes()).into_owned();
        let stem = name
            .strip_suffix(".json")
            .or_else(|| name.strip_suffix(&format!(".{}", manifest::MANIFEST_EXT)));
        let orphan = stem.is_some_and(|id| {
            manifest::parse_id(id).is_some() && root.snapshots.stat_name(OsStr::new(id)).is_err()
        });
        if orphan || (name.starts_with('.') && name.contains(".tmp.")) {
            log::info!("removing leftover {}", mans.join(&name).display());
            root.manifests
                .unlink(OsStr::new(&name))
                .with_context(|| format!("removing {}", mans.join(&name).display()))?;
            removed = true;
        }
    }
    if removed {
        root.snapshots.file().sync_all()?;
        root.manifests.file().sync_all()?;
    }
    Ok(())
}

/// A fresh id: now, or one second after the newest existing one if the clock
/// is behind it (ids must grow so "newest" is always the last one).
fn next_id(layout: &Layout) -> Result<String> {
    let now = Utc::now();
    let mut t = manifest::parse_id(&manifest::format_id(now)).unwrap_or(now);
    if let Some(last) = layout
        .complete_ids()?
        .last()
        .and_then(|i| manifest::parse_id(i))
        && t <= last
    {
        t = last + chrono::Duration::seconds(1);
    }
    // Never reuse a name that exists in any form (a stray folder or manifest).
    while layout.snapshot(&manifest::format_id(t)).exists()
        || layout.manifest(&manifest::format_id(t)).exists()
    {
        t += chrono::Duration::seconds(1);
    }
    Ok(manifest::format_id(t))
}

/// The OS error number at the root of an error chain, if any.
fn io_errno(e: &anyhow::Error) -> Option<i32> {
    e.chain()
        .find_map(|c| c.downcast_ref::<std::io::Error>())
        .and_then(|io| io.raw_os_error())
}

/// Logs how long a phase took (debug level: `POTION_LOG=debug`).
fn lap(clock: &mut Instant, what: &str) {
    log::debug!("{what}: {} ms", clock.elapsed().as_millis());
    *clock = Instant::now();
}

/// Refuses obviously wrong settings before anything is touched.
pub fn check_config(cfg: &Config) -> Result<()> {
    if cfg.backup_sources.is_empty() {
        bail!("BACKUP_SOURCES is empty; list the folders to back up");
    }
    Ok(())
}
