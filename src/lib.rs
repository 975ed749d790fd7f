//! potion-runner: keeps one Linux home server healthy and lets its owner run it from Telegram.
//!
//! The library holds everything; the binaries in `bin/` only parse arguments,
//! load [`config::Config`] and call one function here. See `ARCHITECTURE.md`.

pub mod atomic;
pub mod backup;
pub mod cli;
pub mod config;
pub mod envfile;
pub mod files;
pub mod history;
pub mod logging;
pub mod paths;
pub mod process;
pub mod validate;
