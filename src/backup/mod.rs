//! Backups: incremental hard-linked snapshots with BLAKE3 manifests, verify,
//! retention, restore. See `ARCHITECTURE.md` (Backup) for the invariants.

pub mod at;
pub mod build;
pub mod copy;
pub mod index;
pub mod lock;
pub mod manifest;
pub mod prune;
pub mod record;
pub mod restore;
pub mod root;
pub mod run;
pub mod sample;
pub mod scan;
pub mod space;
pub mod state;
pub mod verify;
pub mod walk;
pub mod work;

pub use run::run;
pub use state::RunReport;

use std::path::Path;

use anyhow::Result;

use crate::config::Config;

/// Exit codes of `potion-backup` (`docs/contract.md` §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Failed = 1,
    Usage = 2,
    Warnings = 3,
}

/// Worker threads for scanning, copying and hashing: one per core, at most 4
/// (more only adds seeks on an HDD).
pub fn worker_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 4)
}

/// `potion-backup run`: prints a one-line summary and the warnings.
pub fn cmd_run(cfg: &Config) -> Result<Exit> {
    if let Err(e) = run::check_config(cfg) {
        eprintln!("potion-backup: {e:#}");
        return Ok(Exit::Usage);
    }
    let r = run(cfg)?;
    for w in &r.warnings {
        eprintln!("warning: {w}");
    }
    let t = &r.totals;
    println!(
        "snapshot {}: {} files, {} ({} new in {} files), {} warnings",
        r.id,
        t.files,
        crate::human::bytes(t.bytes),
        crate::human::bytes(t.new_bytes),
        t.new_files,
        r.warnings.len()
    );
    Ok(if r.warnings.is_empty() {
        Exit::Ok
    } else {
        Exit::Warnings
    })
}

/// `potion-backup list [--json]`.
pub fn cmd_list(cfg: &Config, json: bool) -> Result<Exit> {
    let index = index::build(&manifest::Layout::new(&cfg.backup_dir))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&index)?);
    } else {
        print!("{}", index::render(&index));
    }
    Ok(Exit::Ok)
}

/// `potion-backup verify [ID|latest] [--sample P] [--json]`.
pub fn cmd_verify(cfg: &Config, id: Option<&str>, sample: Option<f64>, json: bool) -> Result<Exit> {
    if let Some(p) = sample
        && !(p > 0.0 && p <= 100.0)
    {
        eprintln!("potion-backup: --sample must be a percentage above 0 and at most 100, not {p}");
        return Ok(Exit::Usage);
    }
    let record = verify::verify(cfg, id, sample)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&record)?);
    } else {
        print!("{}", verify::render(&record));
    }
    Ok(if record.last.status == "ok" {
        Exit::Ok
    } else {
        Exit::Failed
    })
}

/// `potion-backup prune [--dry-run]`.
pub fn cmd_prune(cfg: &Config, dry_run: bool) -> Result<Exit> {
    let decisions = prune::prune(cfg, dry_run)?;
    print!("{}", prune::render(&decisions, dry_run));
    Ok(Exit::Ok)
}

/// `potion-backup restore ID PATH [--to DIR] [--overwrite]`.
pub fn cmd_restore(
    cfg: &Config,
    id: &str,
    path: &Path,
    to: Option<&Path>,
    overwrite: bool,
    json: bool,
) -> Result<Exit> {
    let r = restore::restore(cfg, id, path, to, overwrite)?;
    if json {
        let out = crate::files::backup::RestoreResult {
            schema: 1,
            id: r.id.clone(),
            files: r.files,
            bytes: r.bytes,
            dest: r.dest.display().to_string(),
            verified: true,
        };
        println!("{}", serde_json::to_string(&out)?);
        return Ok(Exit::Ok);
    }
    println!(
        "restored {} files ({}) from {} into {}, all verified against the manifest",
        r.files,
        crate::human::bytes(r.bytes),
        r.id,
        r.dest.display()
    );
    Ok(Exit::Ok)
}
