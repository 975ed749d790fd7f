//! Temperature: the hottest sensible reading of `/sys/class/hwmon/*/temp*_input`
//! and `/sys/class/thermal/thermal_zone*/temp`, or none on a machine without sensors.

use std::path::Path;

use super::collect::{Roots, round1};

/// Readings outside this range (°C) are broken or disconnected sensors
/// (0, −273, 255 and the like), not the machine's temperature.
const SENSIBLE_C: std::ops::RangeInclusive<f64> = 1.0..=150.0;

/// Turns a sysfs millidegree value into °C when it is sensible.
pub fn parse_millidegrees(text: &str) -> Option<f64> {
    let milli: i64 = text.trim().parse().ok()?;
    let c = milli as f64 / 1000.0;
    SENSIBLE_C.contains(&c).then_some(round1(c))
}

/// The hottest sensible sensor, or `None` when there is none. A sensor that
/// cannot be read (a sleeping device answers `ENODATA`) is skipped: one dead
/// sensor must not hide the others.
pub fn max_temperature(roots: &Roots) -> Option<f64> {
    let mut best: Option<f64> = None;
    let mut consider = |p: &Path| {
        if let Some(c) = std::fs::read_to_string(p)
            .ok()
            .and_then(|t| parse_millidegrees(&t))
        {
            best = Some(best.map_or(c, |b| b.max(c)));
        }
    };
    // Older drivers keep their files in `hwmonN/device/` instead of `hwmonN/`.
    let hwmon = entries(&roots.sys.join("class/hwmon"), "hwmon");
    for dir in hwmon.iter().flat_map(|d| [d.clone(), d.join("device")]) {
        for f in entries(&dir, "temp") {
            if f.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with("_input"))
            {
                consider(&f);
            }
        }
    }
    for zone in entries(&roots.sys.join("class/thermal"), "thermal_zone") {
        consider(&zone.join("temp"));
    }
    best
}

/// Entries of `dir` whose names start with `prefix`; a missing folder has none.
fn entries(dir: &Path, prefix: &str) -> Vec<std::path::PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(prefix))
        })
        .map(|e| e.path())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millidegrees() {
        assert_eq!(parse_millidegrees("55000\n"), Some(55.0));
        assert_eq!(parse_millidegrees("48125"), Some(48.1));
        assert_eq!(parse_millidegrees("0"), None);
        assert_eq!(parse_millidegrees("-273000"), None);
        assert_eq!(parse_millidegrees("255000"), None);
        assert_eq!(parse_millidegrees("garbage"), None);
    }
}
