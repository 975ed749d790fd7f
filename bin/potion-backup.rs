//! `potion-backup`: placeholder entry point until its issue lands.

use clap::Parser;

/// potion-backup (not built yet).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Read settings from this .env file.
    #[arg(long, value_name = "FILE")]
    env: Option<std::path::PathBuf>,
}

fn main() -> std::process::ExitCode {
    let _args = Args::parse();
    eprintln!("potion-backup: not implemented yet");
    std::process::ExitCode::from(1)
}
