//! `potion-bot`: the Telegram daemon (`docs/contract.md` §2). Exit 0 clean stop, 1 fatal, 2 bad config.

use std::process::ExitCode;

use clap::Parser;

/// Answers the owner on Telegram: status, alerts, settings, services, backups.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Read settings from this .env file.
    #[arg(long, value_name = "FILE")]
    env: Option<std::path::PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    potion_runner::logging::init("potion-bot");
    let cfg = match potion_runner::cli::load_config(args.env, "potion-bot") {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Err(e) = cfg.require_bot() {
        eprintln!("potion-bot: {e}");
        return ExitCode::from(2);
    }
    match potion_runner::bot::run(cfg) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            potion_runner::cli::report("potion-bot", &e);
            ExitCode::from(1)
        }
    }
}
