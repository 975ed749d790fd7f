//! One `name=url` entry of `PROBE_URLS`, parsed and checked: a setting the
//! config reads and the health job's probes use. A leaf beside `http.rs`.

use anyhow::{Result, bail};
use url::Url;

use super::http;

/// One `name=url` of `PROBE_URLS`.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub name: String,
    pub url: Url,
}

/// Parses `name=url,name=url`. Names are short words (letters, digits,
/// `-`, `_`, `.`) because they become part of an alert code; each name once.
pub fn parse_targets(raw: &str) -> Result<Vec<Target>> {
    let mut out: Vec<Target> = Vec::new();
    for item in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((name, url)) = item.split_once('=') else {
            bail!("{item:?} is not name=url");
        };
        let name = name.trim();
        let good = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if name.is_empty() || name.len() > 32 || !name.chars().all(good) {
            bail!("probe name {name:?} must be 1-32 letters, digits, '-', '_' or '.'");
        }
        if out.iter().any(|t| t.name == name) {
            bail!("probe name {name:?} is given twice");
        }
        out.push(Target {
            name: name.to_string(),
            url: http::parse_url(url.trim())?,
        });
    }
    Ok(out)
}
