//! potion-runner: keeps one Linux home server healthy and lets its owner run it from Telegram.
//!
//! The library holds everything; the binaries in `bin/` only parse arguments,
//! load [`config::Config`] and call one function here. See `ARCHITECTURE.md`.

pub mod alert_code;
pub mod alerts;
pub mod atomic;
pub mod audit;
pub mod backup;
pub mod bot;
pub mod chart;
pub mod chatops;
pub mod cli;
pub mod config;
pub mod digest;
pub mod envfile;
pub mod files;
pub mod health;
pub mod helper;
pub mod history;
pub mod human;
pub mod logging;
pub mod metric;
pub mod mounts;
pub mod notice;
pub mod paths;
pub mod process;
pub mod redact;
pub mod sync;
pub mod validate;
