//! A job file as the bot reads it: missing, corrupt (with why) or its
//! value. Never an error, so every view can say what it found.

use std::path::Path;

use crate::files::{HasSchema, read_json_if_exists};

/// A job file as the bot found it.
#[derive(Debug, Clone)]
pub enum Loaded<T> {
    Missing,
    Corrupt(String),
    Ok(T),
}

/// Reads a job file (size-capped, not through a symlink); never fails, the
/// problem is part of the value.
pub fn load<T: serde::de::DeserializeOwned + HasSchema>(path: &Path) -> Loaded<T> {
    match read_json_if_exists(path) {
        Ok(Some(v)) => Loaded::Ok(v),
        Ok(None) => Loaded::Missing,
        Err(e) => Loaded::Corrupt(format!("{e:#}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::health::HealthReport;

    #[test]
    fn load_reports_corrupt_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("last_health.json");
        assert!(matches!(load::<HealthReport>(&p), Loaded::Missing));
        std::fs::write(&p, "{half").unwrap();
        assert!(matches!(load::<HealthReport>(&p), Loaded::Corrupt(_)));
        // Oversized: refused without reading it whole.
        std::fs::File::create(&p)
            .unwrap()
            .set_len(crate::files::MAX_STATE_FILE + 1)
            .unwrap();
        match load::<HealthReport>(&p) {
            Loaded::Corrupt(e) => assert!(e.contains("larger than"), "{e}"),
            other => panic!("{other:?}"),
        }
    }
}
