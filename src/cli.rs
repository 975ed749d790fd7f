//! What every binary shares: config loading (exit code 2 on a bad system setting),
//! and turning an error into a readable message (never a panic or a backtrace).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::{self, Config, LoadOptions};

/// Exit code for bad configuration or usage (all binaries).
pub const EXIT_USAGE: u8 = 2;

/// Loads the configuration for this process (see `config::Privilege`), or
/// prints every problem (in `BOT_LANG`) and returns exit code 2 (a bad
/// system setting). Every ignored preference is logged as one warning; the
/// list stays in `Config::ignored` for the bot to tell the admins.
pub fn load_config(env_file: Option<PathBuf>, program: &str) -> Result<Config, ExitCode> {
    let cfg = config::load(&LoadOptions::for_process(env_file)).map_err(|e| {
        eprintln!("{program}: {e}");
        ExitCode::from(EXIT_USAGE)
    })?;
    for i in &cfg.ignored {
        log::warn!("ignoring {i}");
    }
    Ok(cfg)
}

/// Prints an error chain on one line: `program: what: why: root cause`.
pub fn report(program: &str, err: &anyhow::Error) {
    eprintln!("{program}: {err:#}");
}
