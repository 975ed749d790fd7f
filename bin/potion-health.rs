//! `potion-health`: one health run (collect, evaluate alerts, write files, exit).

use std::process::ExitCode;

use clap::Parser;
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
}

fn main() -> ExitCode {
    let args = Args::parse();
    logging::init("potion-health");
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
