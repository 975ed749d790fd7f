//! `potion-backup run`: one crash-safe snapshot.
//!
//! Order of events: check the disk, lock, clean up what a killed run left,
//! scan and plan, check room, build `snapshots/.tmp-<ID>`, sync, write the
//! manifest, rename to `snapshots/<ID>`. Only a folder under its final name
//! with a manifest is a snapshot, so a crash at any point leaves nothing that
//! looks complete.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use chrono::Utc;

use super::at::{self, Dir};
use super::copy::{self, Counters, Ctx};
use super::manifest::{self, DEL_PREFIX, Layout, TMP_PREFIX};
use super::root::{self, Root};
use super::scan::{self, Action, Excludes};
use super::space;
use super::{index, lock};
use crate::atomic;
use crate::config::Config;
use crate::files::backup::{
    BackupOutcome, BackupProgress, EntryKind, Manifest, ManifestEntry, ManifestTotals,
};
use crate::files::{SCHEMA, now_rfc3339, read_json_if_exists, rfc3339};
use crate::paths;

/// How often the progress file is rewritten and free space re-checked.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);
/// At most this many warnings go into `last_backup.json`.
const MAX_WARNINGS_KEPT: usize = 20;

/// A finished run.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub id: String,
    pub totals: ManifestTotals,
    pub warnings: Vec<String>,
}

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

/// The `last_backup.json` for a result. After a failure, `last_ok_*` name the
/// newest complete snapshot, or, when `BACKUP_DIR` cannot be read (data disk
/// missing), whatever the previous outcome said.
pub fn outcome(
    layout: &Layout,
    started_at: &str,
    result: &Result<RunReport>,
    previous: Option<BackupOutcome>,
) -> BackupOutcome {
    let mut o = BackupOutcome {
        schema: SCHEMA,
        id: None,
        status: "failed".into(),
        started_at: started_at.into(),
        finished_at: now_rfc3339(),
        error: None,
        warnings: Vec::new(),
        files: 0,
        bytes: 0,
        new_bytes: 0,
        last_ok_at: None,
        last_ok_id: None,
    };
    match result {
        Ok(r) => {
            o.id = Some(r.id.clone());
            o.status = if r.warnings.is_empty() {
                "ok"
            } else {
                "warnings"
            }
            .into();
            o.warnings = r.warnings.iter().take(MAX_WARNINGS_KEPT).cloned().collect();
            o.files = r.totals.files;
            o.bytes = r.totals.bytes;
            o.new_bytes = r.totals.new_bytes;
            o.last_ok_at = Some(o.finished_at.clone());
            o.last_ok_id = Some(r.id.clone());
        }
        Err(e) => {
            o.error = Some(format!("{e:#}"));
            // The newest earlier snapshot still counts for BACKUP_STALE.
            if let Ok(ids) = manifest::complete_ids_newest_first(layout)
                && let Some(id) = ids.first()
                && let Ok(h) = manifest::read_header(layout, id)
            {
                o.last_ok_at = Some(h.finished_at);
                o.last_ok_id = Some(h.id);
            } else if let Some(p) = previous {
                o.last_ok_at = p.last_ok_at;
                o.last_ok_id = p.last_ok_id;
            }
        }
    }
    o
}

fn run_inner(cfg: &Config, layout: &Layout, started_at: &str) -> Result<RunReport> {
    space::require_mount_point(&cfg.data_mount)?;
    // Manifests list every file name, so they are as private as the snapshots.
    let root = root::open(layout)?;
    let _run = lock::try_run(&root.dir)?;
    let _lock = lock::wait(&root.dir, lock::Mode::Shared, lock::WAIT, "backup")?;
    clean_leftovers(layout, &root)?;
    let space0 = space::disk_space(&layout.root)?;
    space::check_room(space0, 0, &layout.root)?;

    let id = next_id(layout)?;
    let progress = Progress::new(cfg, &id, started_at);

    let prev_id = layout.complete_ids()?.pop();
    let mut warnings = Vec::new();
    let mut clock = Instant::now();
    let prev_manifest = prev_id.as_deref().and_then(|p| {
        manifest::read_manifest(layout, p)
            .map_err(|e| {
                warnings.push(format!(
                    "previous snapshot {p} unreadable, copying everything: {e:#}"
                ))
            })
            .ok()
    });
    let mut prev_map: HashMap<&str, &ManifestEntry> = prev_manifest
        .iter()
        .flat_map(|m| m.files.iter().map(|e| (e.path.as_str(), e)))
        .collect();
    // Files the last verify found damaged in the previous snapshot are copied
    // afresh from the source instead of linking the damage forward.
    let damaged = prev_id
        .as_deref()
        .and_then(|p| index::read_verify(layout, p))
        .map(|r| r.problems)
        .unwrap_or_default();
    for p in &damaged {
        prev_map.remove(p.path.as_str());
    }

    lap(&mut clock, "reading the previous manifest");
    // The progress file is rewritten throughout this run; a copy of it says nothing.
    let excludes = Excludes::new(&cfg.backup_excludes)?
        .skipping(&layout.root)
        .skipping(&cfg.state_dir.join(paths::BACKUP_PROGRESS))
        .skipping_temp_files_in(&cfg.state_dir);
    let scanned = scan::scan(&cfg.backup_sources, &excludes)?;
    warnings.extend(scanned.warnings.iter().cloned());
    lap(&mut clock, "scanning");
    let actions = scan::plan(&scanned, &prev_map);
    drop(prev_map);

    let copy_sizes = || {
        scanned
            .entries
            .iter()
            .zip(&actions)
            .filter(|(_, a)| matches!(a, Some(Action::Copy)))
            .map(|(e, _)| e.meta.size)
    };
    let files_total = actions.iter().filter(|a| a.is_some()).count() as u64;
    let bytes_total: u64 = scanned
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::File)
        .map(|e| e.meta.size)
        .sum();
    let need = space::estimate_need(copy_sizes(), scanned.entries.len() as u64, space0.block);
    space::check_room(space0, need, &layout.root)?;

    let tmp_name = format!("{TMP_PREFIX}{id}");
    root.snapshots
        .mkdir(OsStr::new(&tmp_name), 0o700)
        .map_err(|err| disk_error(&layout.tmp_snapshot(&id), err))?;
    let tmp = root
        .snapshots
        .open_child(OsStr::new(&tmp_name))
        .map_err(|err| disk_error(&layout.tmp_snapshot(&id), err))?;
    let prev_root = prev_id
        .as_ref()
        .and_then(|p| root.snapshots.open_child(OsStr::new(p)).ok());
    lap(&mut clock, "planning");
    let built = build(
        layout,
        &tmp,
        &layout.tmp_snapshot(&id),
        prev_root.as_ref(),
        &scanned,
        &actions,
        &progress,
        files_total,
        bytes_total,
    );
    let built = match built {
        Ok(v) => v,
        Err(e) => {
            progress.write_phase("failed");
            if let Err(rm) = root.snapshots.remove_tree(OsStr::new(&tmp_name)) {
                log::warn!("could not remove {tmp_name}: {rm}");
            }
            return Err(e);
        }
    };
    warnings.extend(built.warnings);

    let mut totals = totals_of(&built.files, warnings.len() as u64);
    totals.new_files = built.new_files;
    totals.new_bytes = built.new_bytes;
    let files = built.files;
    let m = Manifest {
        schema: SCHEMA,
        id: id.clone(),
        started_at: started_at.into(),
        finished_at: now_rfc3339(),
        sources: cfg
            .backup_sources
            .iter()
            .map(|s| manifest::escape_path(s.as_os_str()))
            .collect(),
        totals: totals.clone(),
        files,
    };
    lap(&mut clock, "building the snapshot");
    if let Err(e) = commit(layout, &root, &tmp, &m) {
        progress.write_phase("failed");
        return Err(e);
    }
    lap(&mut clock, "writing the manifest and renaming");
    progress.write_phase("done");
    if let Err(e) = index::refresh(layout, &root, &cfg.state_dir) {
        log::warn!("could not update {}: {e:#}", paths::BACKUP_INDEX);
    }
    lap(&mut clock, "writing the index");
    Ok(RunReport {
        id,
        totals,
        warnings,
    })
}

/// Makes a built snapshot complete: manifest (atomic, fsynced), then the
/// rename to the final name, then the folder fsync. Until the rename succeeds
/// a failure removes both; after it the snapshot is complete and stays. The
/// name `.tmp-<ID>` must still be the folder that was built (same device and
/// inode as the handle): a folder swapped in under that name, or a symlink,
/// is never made a snapshot.
fn commit(layout: &Layout, root: &Root, tmp: &Dir, m: &Manifest) -> Result<()> {
    let tmp_name = format!("{TMP_PREFIX}{}", m.id);
    let tmp_name = OsStr::new(&tmp_name);
    let mname = format!("{}.json", m.id);
    let placed = manifest::write_manifest(root, m).and_then(|()| {
        let built = tmp.stat()?;
        let named = root.snapshots.stat_name(tmp_name)?;
        if (named.st_dev, named.st_ino) != (built.st_dev, built.st_ino) {
            bail!(
                "{} was replaced while the snapshot was built; the run is abandoned",
                layout.tmp_snapshot(&m.id).display()
            );
        }
        root.snapshots
            .rename(tmp_name, &root.snapshots, OsStr::new(&m.id))
            .with_context(|| {
                format!(
                    "renaming {} to {}",
                    layout.tmp_snapshot(&m.id).display(),
                    m.id
                )
            })
    });
    if let Err(e) = placed {
        let _ = root.manifests.unlink(OsStr::new(&mname));
        let _ = root.snapshots.remove_tree(tmp_name);
        return Err(match io_errno(&e) {
            Some(libc::ENOSPC) | Some(libc::EDQUOT) => disk_error(
                &layout.manifest(&m.id),
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
        let orphan = name.strip_suffix(".json").is_some_and(|id| {
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

#[allow(clippy::too_many_arguments)]
fn build(
    layout: &Layout,
    tmp: &Dir,
    tmp_shown: &Path,
    prev_root: Option<&Dir>,
    scanned: &scan::Scan,
    actions: &[Option<Action>],
    progress: &Progress,
    files_total: u64,
    bytes_total: u64,
) -> Result<Built> {
    let set_owner = copy::can_chown();
    let mut parent = Parent::default();
    for e in &scanned.entries {
        let shown = tmp_shown.join(&e.rel);
        let name = e.rel.file_name().unwrap_or_default();
        match e.kind {
            EntryKind::Dir => parent
                .enter(tmp, &e.rel)
                .and_then(|d| d.mkdir(name, 0o700))
                .map_err(|err| disk_error(&shown, err))?,
            EntryKind::Symlink => {
                let target = e
                    .target
                    .as_ref()
                    .expect("scan reads every symlink's target");
                let d = parent
                    .enter(tmp, &e.rel)
                    .map_err(|err| disk_error(&shown, err))?;
                d.symlink(target.as_os_str(), name)
                    .and_then(|()| d.set_symlink_meta(name, &e.meta, set_owner))
                    .map_err(|err| disk_error(&shown, err))?;
            }
            EntryKind::File => {}
        }
    }
    let counters = Counters::default();
    let stop = AtomicBool::new(false);
    let ctx = Ctx {
        entries: &scanned.entries,
        actions,
        dest_root: tmp,
        dest_shown: tmp_shown,
        prev_root,
        counters: &counters,
        stop: &stop,
        set_owner,
    };
    let mut clock = Instant::now();
    let results = copy_watched(&ctx, layout, progress, files_total, bytes_total)?;
    lap(&mut clock, "copying and linking files");
    progress.write("finishing", &counters, files_total, bytes_total);

    // Folder modes and times last: adding entries changes a folder's mtime,
    // and a read-only folder could not take its contents.
    for e in scanned
        .entries
        .iter()
        .rev()
        .filter(|e| e.kind == EntryKind::Dir)
    {
        let shown = tmp_shown.join(&e.rel);
        tmp.open_dir(&e.rel)
            .and_then(|d| at::set_meta_fd(d.fd(), &e.meta, set_owner))
            .map_err(|err| disk_error(&shown, err))?;
    }
    copy::sync_filesystem(tmp).map_err(|err| disk_error(tmp_shown, err))?;
    lap(
        &mut clock,
        "setting folder times and syncing the backup disk",
    );
    manifest_entries(scanned, &results)
}

/// The open parent folder of the entries being created (they come in path
/// order, so most share the one opened last).
#[derive(Default)]
struct Parent {
    rel: Option<PathBuf>,
    dir: Option<Dir>,
}

impl Parent {
    fn enter(&mut self, root: &Dir, rel: &Path) -> std::io::Result<&Dir> {
        let parent = rel.parent().unwrap_or(Path::new(""));
        if self.rel.as_deref() != Some(parent) || self.dir.is_none() {
            self.dir = Some(root.open_dir(parent)?);
            self.rel = Some(parent.to_path_buf());
        }
        Ok(self.dir.as_ref().expect("opened"))
    }
}

/// Runs the copy workers while this thread rewrites the progress file and
/// stops them when the disk gets down to its safety margin.
fn copy_watched(
    ctx: &Ctx,
    layout: &Layout,
    progress: &Progress,
    files_total: u64,
    bytes_total: u64,
) -> Result<copy::Results> {
    let done = AtomicBool::new(false);
    let space_problem = std::sync::Mutex::new(None::<anyhow::Error>);
    let results = std::thread::scope(|s| {
        let watcher = s.spawn(|| {
            let mut last = Instant::now();
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
                if last.elapsed() < PROGRESS_EVERY {
                    continue;
                }
                last = Instant::now();
                progress.write("copying", ctx.counters, files_total, bytes_total);
                if let Ok(sp) = space::disk_space(&layout.root)
                    && sp.avail < space::safety_margin(sp.total)
                {
                    *space_problem.lock().unwrap() = Some(anyhow!(
                        "stopped: the backup disk {} is down to its safety margin ({} free); \
                         earlier snapshots are intact; free some space or prune old snapshots",
                        layout.root.display(),
                        crate::human::bytes(sp.avail)
                    ));
                    ctx.stop.store(true, Ordering::Relaxed);
                }
            }
        });
        let r = copy::copy_all(ctx, super::worker_threads());
        done.store(true, Ordering::Relaxed);
        let _ = watcher.join();
        r
    });
    if let Some(e) = space_problem.into_inner().unwrap() {
        return Err(e);
    }
    results.map_err(|e| match e {
        copy::CopyError::Dest { path, err } => disk_error(&path, err),
        copy::CopyError::Source(w) => anyhow!(w),
    })
}

/// The manifest's entries in scan order, with hashes from the copy results;
/// files that could not be read become warnings and are left out.
fn manifest_entries(scanned: &scan::Scan, results: &copy::Results) -> Result<Built> {
    let mut built = Built {
        files: Vec::with_capacity(scanned.entries.len()),
        warnings: Vec::new(),
        new_files: 0,
        new_bytes: 0,
    };
    for (e, result) in scanned.entries.iter().zip(results) {
        let mut m = e.meta.entry(e.key.clone(), e.kind);
        match e.kind {
            EntryKind::Dir => {}
            EntryKind::Symlink => {
                m.target = e
                    .target
                    .as_ref()
                    .map(|t| manifest::escape_path(t.as_os_str()));
            }
            EntryKind::File => match result {
                Some(Ok(c)) => {
                    m = c.meta.entry(e.key.clone(), EntryKind::File);
                    m.blake3 = Some(c.blake3.clone());
                    if c.copied {
                        built.new_files += 1;
                        built.new_bytes += c.meta.size;
                    }
                    built.warnings.extend(c.warning.clone());
                }
                Some(Err(w)) => {
                    built.warnings.push(w.clone());
                    continue;
                }
                None => bail!("internal error: {} was not copied", e.src.display()),
            },
        }
        built.files.push(m);
    }
    Ok(built)
}

/// What [`build`] made.
struct Built {
    files: Vec<ManifestEntry>,
    warnings: Vec<String>,
    new_files: u64,
    new_bytes: u64,
}

fn totals_of(files: &[ManifestEntry], warnings: u64) -> ManifestTotals {
    let mut t = ManifestTotals {
        warnings,
        ..Default::default()
    };
    for f in files {
        match f.kind {
            EntryKind::File => {
                t.files += 1;
                t.bytes += f.size;
            }
            EntryKind::Dir => t.dirs += 1,
            EntryKind::Symlink => t.symlinks += 1,
        }
    }
    t
}

/// The OS error number at the root of an error chain, if any.
fn io_errno(e: &anyhow::Error) -> Option<i32> {
    e.chain()
        .find_map(|c| c.downcast_ref::<std::io::Error>())
        .and_then(|io| io.raw_os_error())
}

fn disk_error(path: &Path, err: std::io::Error) -> anyhow::Error {
    match err.raw_os_error() {
        Some(libc::ENOSPC) | Some(libc::EDQUOT) => anyhow!(
            "the backup disk is full (writing {}): {err}; earlier snapshots are intact; free some space or prune old snapshots",
            path.display()
        ),
        _ => anyhow!("writing the snapshot failed at {}: {err}", path.display()),
    }
}

/// Logs how long a phase took (debug level: `POTION_LOG=debug`).
fn lap(clock: &mut Instant, what: &str) {
    log::debug!("{what}: {} ms", clock.elapsed().as_millis());
    *clock = Instant::now();
}

/// Writes `backup-progress.json` (errors are logged, never fatal).
struct Progress {
    path: PathBuf,
    /// The state last reported and when it was last written.
    last: std::sync::Mutex<(BackupProgress, Option<Instant>)>,
}

impl Progress {
    fn new(cfg: &Config, id: &str, started_at: &str) -> Progress {
        let _ = atomic::ensure_dir(&cfg.state_dir);
        let state = BackupProgress {
            schema: SCHEMA,
            id: id.into(),
            phase: "scanning".into(),
            files_done: 0,
            files_total: 0,
            bytes_done: 0,
            bytes_total: 0,
            started_at: started_at.into(),
            updated_at: now_rfc3339(),
        };
        let p = Progress {
            path: cfg.state_dir.join(paths::BACKUP_PROGRESS),
            last: std::sync::Mutex::new((state, None)),
        };
        p.flush(true);
        p
    }

    /// Records the current counts; writes the file only if the last write
    /// is at least `PROGRESS_EVERY` old (a short run writes start and end only).
    fn write(&self, phase: &str, c: &Counters, files_total: u64, bytes_total: u64) {
        {
            let mut last = self.last.lock().unwrap();
            let st = &mut last.0;
            st.phase = phase.into();
            st.files_done = c.files_done.load(Ordering::Relaxed);
            st.files_total = files_total;
            st.bytes_done = c.bytes_done.load(Ordering::Relaxed);
            st.bytes_total = bytes_total;
        }
        self.flush(false);
    }

    /// Writes the final phase (`done` or `failed`).
    fn write_phase(&self, phase: &str) {
        {
            let mut last = self.last.lock().unwrap();
            let st = &mut last.0;
            st.phase = phase.into();
            if phase == "done" {
                st.files_done = st.files_total;
                st.bytes_done = st.bytes_total;
            }
        }
        self.flush(true);
    }

    fn flush(&self, force: bool) {
        let mut last = self.last.lock().unwrap();
        if !force && last.1.is_some_and(|t| t.elapsed() < PROGRESS_EVERY) {
            return;
        }
        last.0.updated_at = rfc3339(Utc::now());
        last.1 = Some(Instant::now());
        if let Err(e) = atomic::write_json(&self.path, &last.0) {
            log::warn!("could not write progress: {e:#}");
        }
    }
}

/// Refuses obviously wrong settings before anything is touched.
pub fn check_config(cfg: &Config) -> Result<()> {
    if cfg.backup_sources.is_empty() {
        bail!("BACKUP_SOURCES is empty; list the folders to back up");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(warnings: Vec<String>) -> RunReport {
        RunReport {
            id: "20261125T023000Z".into(),
            totals: ManifestTotals {
                files: 3,
                bytes: 30,
                new_bytes: 10,
                ..Default::default()
            },
            warnings,
        }
    }

    #[test]
    fn outcome_status_follows_warnings_and_failures() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        let ok = outcome(&layout, "t0", &Ok(report(vec![])), None);
        assert_eq!(
            (ok.status.as_str(), ok.last_ok_id.as_deref()),
            ("ok", Some("20261125T023000Z"))
        );
        assert_eq!((ok.files, ok.bytes, ok.new_bytes), (3, 30, 10));
        let many: Vec<String> = (0..50).map(|i| format!("w{i}")).collect();
        let warn = outcome(&layout, "t0", &Ok(report(many)), None);
        assert_eq!(warn.status, "warnings");
        assert_eq!(warn.warnings.len(), MAX_WARNINGS_KEPT);

        // A failure with no readable BACKUP_DIR keeps the previous last good run.
        let failed = outcome(&layout, "t1", &Err(anyhow!("disk gone")), Some(ok.clone()));
        assert_eq!(failed.status, "failed");
        assert_eq!(failed.error.as_deref(), Some("disk gone"));
        assert_eq!(failed.id, None);
        assert_eq!(
            (failed.last_ok_id, failed.last_ok_at),
            (ok.last_ok_id, ok.last_ok_at)
        );
    }
}
