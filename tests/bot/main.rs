//! End-to-end tests of `potion-bot` in one test binary: the real binary
//! against a stand-in Bot API on 127.0.0.1 (`standin`), started and read
//! back by the shared `rig`, with stand-in executables (`sudo`, `tailscale`,
//! …) first on `PATH`. One module per area: `core` (status, alerts,
//! settings, confirmations, signals), `notice` (quiet hours, restart
//! notices, reminders, flapping, leases), `ops` (logs, network, updates),
//! `restore`, `charts` (charts and the digest), `senses` (`/smart`, the
//! staged power response), `trust` (where commands are taken from and
//! what never leaks) and `watch` (the watch list, alerts' next steps,
//! `/audit` lines, typos).
#![allow(clippy::disallowed_methods)] // spawns the binary under test as a long-running child

#[path = "../common/mod.rs"]
mod common;
mod rig;
mod standin;

mod charts;
mod core;
mod lang;
mod notice;
mod ops;
mod restore;
mod senses;
mod trust;
mod watch;
