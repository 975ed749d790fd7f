//! `potion-backup`: snapshots, verify, prune, restore and list (`docs/contract.md` §2).

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::TimeDelta;
use clap::{Parser, Subcommand};
use potion_runner::backup;
use potion_runner::cli;
use potion_runner::config::Config;
use potion_runner::files::lease::{self, Job, LeaseGuard};
use potion_runner::health::deadman;
use potion_runner::helper::plan::RESTORE_TIMEOUT_S;

const PROGRAM: &str = "potion-backup";

/// Incremental, verified backups of BACKUP_SOURCES into BACKUP_DIR.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Read settings from this .env file.
    #[arg(long, value_name = "FILE", global = true)]
    env: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Take a snapshot now (the default).
    Run,
    /// List snapshots with size, file count, new bytes and verify status.
    List {
        /// Print backups.json-style JSON.
        #[arg(long)]
        json: bool,
    },
    /// Re-hash a snapshot and compare it with its manifest.
    Verify {
        /// Snapshot id or `latest`.
        id: Option<String>,
        /// Check only this share of the files, rotating so nightly runs cover everything.
        #[arg(long, value_name = "PERCENT")]
        sample: Option<f64>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete snapshots that BACKUP_KEEP_DAILY/WEEKLY/MONTHLY do not keep.
    Prune {
        /// Only print what would go and why.
        #[arg(long)]
        dry_run: bool,
    },
    /// Restore a file or folder from a snapshot into a staging folder.
    Restore {
        /// Snapshot id or `latest`.
        id: String,
        /// Path as backed up, e.g. /opt/potion-runner/.env.
        path: PathBuf,
        /// Restore under this folder instead of BACKUP_DIR/restored/<ID>.
        #[arg(long, value_name = "DIR")]
        to: Option<PathBuf>,
        /// Replace files that already exist there.
        #[arg(long)]
        overwrite: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    potion_runner::logging::init(PROGRAM);
    let cfg = match cli::load_config(args.env, PROGRAM) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let command = args.command.unwrap_or(Command::Run);
    let _lease = take_lease(&cfg, &command);
    let result = match command {
        Command::Run => deadman::around(
            cfg.backup_healthcheck_url.as_ref(),
            || backup::cmd_run(&cfg),
            |r| matches!(r, Ok(backup::Exit::Ok | backup::Exit::Warnings)),
        ),
        Command::List { json } => backup::cmd_list(&cfg, json),
        Command::Verify { id, sample, json } => {
            backup::cmd_verify(&cfg, id.as_deref(), sample, json)
        }
        Command::Prune { dry_run } => backup::cmd_prune(&cfg, dry_run),
        Command::Restore {
            id,
            path,
            to,
            overwrite,
            json,
        } => backup::cmd_restore(&cfg, &id, &path, to.as_deref(), overwrite, json),
    };
    match result {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            cli::report(PROGRAM, &e);
            ExitCode::from(backup::Exit::Failed as u8)
        }
    }
}

/// The maintenance lease a long run holds, so the bot holds the load alerts it
/// predictably causes (docs/alerts.md), until its unit's timeout at the latest.
/// A lease that cannot be written costs a warning, never the run.
fn take_lease(cfg: &Config, command: &Command) -> Option<LeaseGuard> {
    let (job, limit) = match command {
        // The units' TimeoutStartSec (ops/systemd) and the helper's limit.
        Command::Run => (Job::Backup, TimeDelta::hours(12)),
        Command::Verify { .. } => (Job::Verify, TimeDelta::hours(6)),
        Command::Restore { .. } => (Job::Restore, TimeDelta::seconds(RESTORE_TIMEOUT_S as i64)),
        Command::List { .. } | Command::Prune { .. } => return None,
    };
    lease::take(&cfg.state_dir, job, limit)
        .map_err(|e| log::warn!("{e:#}"))
        .ok()
}
