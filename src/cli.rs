//! What every binary shares: the `--env` flag, config loading with exit code 2,
//! and turning an error into a readable message (never a panic or a backtrace).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::{self, Config, LoadOptions};

/// Exit code for bad configuration or usage (all binaries).
pub const EXIT_USAGE: u8 = 2;

/// Loads the configuration or prints why not and returns exit code 2.
pub fn load_config(env_file: Option<PathBuf>, program: &str) -> Result<Config, ExitCode> {
    let opts = LoadOptions {
        env_file,
        ignore_process_env: false,
    };
    config::load(&opts).map_err(|e| {
        eprintln!("{program}: {e}");
        ExitCode::from(EXIT_USAGE)
    })
}

/// Prints an error chain on one line: `program: what: why: root cause`.
pub fn report(program: &str, err: &anyhow::Error) {
    eprintln!("{program}: {err:#}");
}
