//! On-disk file formats: the only types that derive `Serialize`.
//!
//! These files are a compatibility boundary between the jobs and the bot
//! (contract §4). Each carries `"schema": 1`; a reader refuses other
//! versions instead of guessing.

pub mod backup;
pub mod bot;
pub mod health;

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::de::DeserializeOwned;

/// The schema version every file here is written with.
pub const SCHEMA: u32 = 1;

/// Reads a JSON file and checks its schema version.
pub fn read_json<T: DeserializeOwned + HasSchema>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let v: T = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not valid", path.display()))?;
    if v.schema() != SCHEMA {
        bail!(
            "{} has schema {}, this version reads {}",
            path.display(),
            v.schema(),
            SCHEMA
        );
    }
    Ok(v)
}

/// Lets [`read_json`] check the version field of any file type.
pub trait HasSchema {
    fn schema(&self) -> u32;
}

/// Current UTC time as RFC 3339 with seconds (`2026-11-25T19:00:00Z`).
pub fn now_rfc3339() -> String {
    rfc3339(chrono::Utc::now())
}

/// Formats a UTC time the way every file here does.
pub fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Parses a time written by [`rfc3339`].
pub fn parse_rfc3339(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}
