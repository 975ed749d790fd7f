//! `potion-health`: one health run (collect, evaluate alerts, write files,
//! exit), or `potion-health smart`, root's SMART check for its own unit.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use potion_runner::{cli, health, logging};

/// Measures the server once, evaluates alerts and writes last_health.json,
/// the history and potion.prom into STATE_DIR.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Read settings from this .env file.
    #[arg(long, value_name = "FILE")]
    env: Option<std::path::PathBuf>,
    /// Also print a human summary.
    #[arg(long, conflicts_with = "json")]
    print: bool,
    /// Also print the report as JSON.
    #[arg(long)]
    json: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// As root (potion-runner-smart.service): ask smartctl about the disks
    /// behind / and DATA_MOUNT when SMART_INTERVAL has passed, and write
    /// smart-readings.json into STATE_DIR. Reads system settings only.
    Smart,
}

fn main() -> ExitCode {
    let args = Args::parse();
    logging::init("potion-health");
    if let Some(Command::Smart) = args.command {
        return smart(args.env);
    }
    let cfg = match cli::load_config(args.env, "potion-health") {
        Ok(c) => c,
        Err(code) => return code,
    };
    let out = health::run(&cfg, &health::Roots::system());
    if args.print {
        print!("{}", health::report::summary(&out.report));
    }
    if args.json {
        match serde_json::to_string_pretty(&out.report) {
            Ok(j) => println!("{j}"),
            Err(e) => eprintln!("potion-health: printing the report: {e}"),
        }
    }
    // One line per run in `journalctl -u potion-runner-health`; a terminal
    // gets it only with POTION_LOG=debug (--print shows more anyway).
    let level = if std::env::var_os("JOURNAL_STREAM").is_some() {
        log::Level::Info
    } else {
        log::Level::Debug
    };
    log::log!(level, "{}", health::report::line(&out.report));
    for e in &out.report.errors {
        log::debug!("probe failed: {e}");
    }
    if out.write_errors.is_empty() {
        return ExitCode::SUCCESS;
    }
    for e in &out.write_errors {
        cli::report("potion-health", e);
    }
    ExitCode::from(1)
}

/// `potion-health smart`: exit 0 when checked or not yet due, 1 when the
/// answers could not be written, 2 on a bad system setting. Preferences are
/// not read (`.env` is the service user's file) unless `--env` names one,
/// and nothing the check uses is a preference.
fn smart(env: Option<std::path::PathBuf>) -> ExitCode {
    let env = env.unwrap_or_else(|| "/dev/null".into());
    let cfg = match cli::load_config(Some(env), "potion-health") {
        Ok(c) => c,
        Err(code) => return code,
    };
    let devices = health::smartctl::devices(&cfg, &health::Roots::system());
    let smartctl = health::smartctl::find_smartctl();
    match health::smartctl::check(
        smartctl.as_deref(),
        &devices,
        u64::from(cfg.smart_interval_min),
        &cfg.state_dir,
        chrono::Utc::now(),
    ) {
        Ok(health::smartctl::Checked::NotDue) => {
            log::debug!("SMART: the last check is younger than SMART_INTERVAL");
            ExitCode::SUCCESS
        }
        Ok(health::smartctl::Checked::Wrote(r)) => {
            log::info!(
                "SMART: checked {} ({} answered, {} notes, {} errors)",
                r.devices.join(" "),
                r.disks.len(),
                r.notes.len(),
                r.errors.len()
            );
            for line in r.notes.iter().chain(&r.errors) {
                log::info!("SMART: {line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            cli::report("potion-health smart", &e);
            ExitCode::from(1)
        }
    }
}
