//! Pure validators for every value that may come from a user: unit names,
//! times of day, host names, metrics, numbers. Shared by config, bot and helper
//! so that one rule holds everywhere.

use std::fmt;

use crate::metric::Metric;

/// Longest unit name systemd accepts (systemd.unit(5)).
pub const UNIT_NAME_MAX: usize = 255;

/// Validates a systemd unit name and returns it normalised: a bare name gets
/// `.service` appended. Refuses anything that could be read as an option or a
/// path, or that systemd itself would reject.
pub fn unit_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("unit name is empty".into());
    }
    if name.starts_with('-') || name.starts_with('.') {
        return Err(format!("unit name {name:?} may not start with '-' or '.'"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '_' | '.' | '@' | '\\')))
    {
        return Err(format!(
            "unit name {name:?} has the character {c:?}; only letters, digits and : - _ . @ \\ are allowed"
        ));
    }
    let full = if has_unit_suffix(name) {
        name.to_string()
    } else {
        format!("{name}.service")
    };
    if full.len() > UNIT_NAME_MAX {
        return Err(format!(
            "unit name is longer than {UNIT_NAME_MAX} characters"
        ));
    }
    let (stem, _) = full.rsplit_once('.').expect("suffix present");
    if stem.is_empty() || stem.starts_with('@') || stem.matches('@').count() > 1 {
        return Err(format!("unit name {full:?} is not valid"));
    }
    Ok(full)
}

/// Like [`unit_name`] but insists on a `.service` unit (what the bot may control).
pub fn service_name(raw: &str) -> Result<String, String> {
    let full = unit_name(raw)?;
    if !full.ends_with(".service") {
        return Err(format!("{full:?} is not a .service unit"));
    }
    if full.ends_with("@.service") {
        return Err(format!(
            "{full:?} is a template; name an instance like foo@bar.service"
        ));
    }
    Ok(full)
}

const UNIT_SUFFIXES: &[&str] = &[
    "service",
    "socket",
    "device",
    "mount",
    "automount",
    "swap",
    "target",
    "path",
    "timer",
    "slice",
    "scope",
];

fn has_unit_suffix(name: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(_, s)| UNIT_SUFFIXES.contains(&s))
}

/// A time of day, minutes precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct HhMm {
    pub hour: u8,
    pub minute: u8,
}

impl fmt::Display for HhMm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

/// Parses `HH:MM`, accepting `HH.MM` and `HH,MM` too (the original tool did).
pub fn hhmm(raw: &str) -> Result<HhMm, String> {
    let s = raw.trim();
    let bad = || format!("{s:?} is not a time of day; use HH:MM, e.g. 02:30");
    let (h, m) = s.split_once([':', '.', ',']).ok_or_else(bad)?;
    let digits = |p: &str| !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || m.len() != 2 || !digits(m) {
        return Err(bad());
    }
    let (hour, minute): (u8, u8) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if hour > 23 || minute > 59 {
        return Err(format!(
            "{s:?} is not a time of day: hours go to 23, minutes to 59"
        ));
    }
    Ok(HhMm { hour, minute })
}

/// Validates a host name or IP address for ping and friends. Never lets
/// something that looks like an option through.
pub fn host(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err("host is empty".into());
    }
    if s.len() > 253 {
        return Err("host name is longer than 253 characters".into());
    }
    if s.starts_with('-') {
        return Err(format!("{s:?} looks like an option, not a host"));
    }
    if s.parse::<std::net::IpAddr>().is_ok() {
        return Ok(s.to_string());
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    let trimmed = s.strip_suffix('.').unwrap_or(s);
    if trimmed.split('.').all(label_ok) {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(format!("{s:?} is not a host name or IP address"))
    }
}

/// Parses a threshold for `metric`: a finite number above 0 and at most the metric's maximum.
pub fn threshold(metric: Metric, raw: &str) -> Result<f64, String> {
    let s = raw.trim();
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if !v.is_finite() {
        return Err(format!("{s:?} is not a finite number"));
    }
    let max = metric.max_threshold();
    if v <= 0.0 || v > max {
        return Err(format!(
            "{s} is out of range for {}: use a value above 0 and at most {max}",
            metric.name()
        ));
    }
    Ok(v)
}

/// Longest PATH `/restore` accepts, in bytes (Linux's `PATH_MAX`).
pub const RESTORE_PATH_MAX: usize = 4096;

/// Validates a snapshot id: exactly `YYYYMMDDTHHMMSSZ` (UTC) and a real
/// date and time. `latest` and anything else are refused: the helper is
/// handed only concrete ids (whether the snapshot exists is checked there).
pub fn snapshot_id(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    let shown: String = s.chars().take(40).collect();
    let shape = s.len() == 16
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 => b == b'T',
            15 => b == b'Z',
            _ => b.is_ascii_digit(),
        });
    if !shape || chrono::NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%SZ").is_err() {
        return Err(format!(
            "{shown:?} is not a snapshot id; ids look like 20260314T031500Z (see /backup_list)"
        ));
    }
    Ok(s.to_string())
}

/// Validates the PATH of a restore: a file or folder as it was backed up,
/// absolute (`/opt/potion-runner/.env`) or relative to the snapshot
/// (`opt/potion-runner/.env`, the manifest's form, `%XX` escapes included).
/// Refuses what could escape the snapshot or be read as something else: a
/// `..` component, NUL and other control characters, a leading `-`, the
/// snapshot root itself, and more than [`RESTORE_PATH_MAX`] bytes.
pub fn restore_path(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    if s.len() > RESTORE_PATH_MAX {
        return Err(format!(
            "the path is longer than {RESTORE_PATH_MAX} bytes; give the file or folder as it was backed up"
        ));
    }
    let shown: String = s.chars().take(80).collect();
    if s.chars().any(char::is_control) {
        return Err(format!(
            "{shown:?} has a control character; give the path as it was backed up"
        ));
    }
    if s.starts_with('-') {
        return Err(format!("{shown:?} looks like an option, not a path"));
    }
    if s.split('/').any(|c| c == "..") {
        return Err(format!(
            "{shown:?} must not contain `..`; give the path as it was backed up, e.g. /opt/potion-runner/.env"
        ));
    }
    if s.split('/').all(|c| c.is_empty() || c == ".") {
        return Err("give the file or folder to restore, e.g. /opt/potion-runner/.env".to_string());
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_names() {
        assert_eq!(unit_name("ollama").unwrap(), "ollama.service");
        assert_eq!(
            unit_name("getty@tty1.service").unwrap(),
            "getty@tty1.service"
        );
        assert_eq!(unit_name("x.timer").unwrap(), "x.timer");
        for bad in [
            "",
            "foo;id",
            "a b",
            "../../etc/shadow",
            "a/b",
            "-f",
            "--help",
            "a$(id)",
            "é.service",
            "@x.service",
            "a@b@c.service",
        ] {
            assert!(unit_name(bad).is_err(), "{bad:?} accepted");
        }
        assert!(unit_name(&"a".repeat(300)).is_err());
        assert!(service_name("x.timer").is_err());
        assert!(service_name("foo@.service").is_err());
    }

    #[test]
    fn times() {
        assert_eq!(hhmm("02:30").unwrap().to_string(), "02:30");
        assert_eq!(hhmm("2.30").unwrap().to_string(), "02:30");
        assert_eq!(hhmm("02,30").unwrap().to_string(), "02:30");
        for bad in [
            "25:99", "24:00", "12:60", "1230", "", "ab:cd", "1:2", "-1:30", "02:30:00", "+2:30",
        ] {
            assert!(hhmm(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn hosts() {
        assert_eq!(host("1.1.1.1").unwrap(), "1.1.1.1");
        assert_eq!(host("::1").unwrap(), "::1");
        assert_eq!(host("Example.COM").unwrap(), "example.com");
        for bad in [
            "-f",
            "a;b",
            "a b",
            "",
            "a..b",
            "-x.com",
            &"a".repeat(300),
            "$(id)",
        ] {
            assert!(host(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn thresholds() {
        assert_eq!(threshold(Metric::Cpu, "80").unwrap(), 80.0);
        assert_eq!(threshold(Metric::Temp, "120").unwrap(), 120.0);
        for bad in ["NaN", "inf", "-3", "0", "101", "abc", ""] {
            assert!(threshold(Metric::Cpu, bad).is_err(), "{bad:?} accepted");
        }
        assert!(Metric::parse("gpu").is_err());
    }
    #[test]
    fn snapshot_ids_are_exactly_the_backup_format() {
        assert_eq!(snapshot_id("20260314T031500Z").unwrap(), "20260314T031500Z");
        for bad in [
            "",
            "latest",
            "20260314T031500",
            "20260314T031500Z0",
            "20261314T031500Z",
            "20260230T031500Z",
            "20260314T256000Z",
            "2026031aT031500Z",
            "20260314 031500Z",
            "../20260314T0315",
            "20260314T031500Z;id",
            "٢٠٢٦0314T031500Z",
        ] {
            assert!(snapshot_id(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn restore_paths_stay_inside_the_snapshot() {
        for ok in [
            "/opt/potion-runner/.env",
            "opt/potion-runner/.env",
            "/opt/my app/a%25b",
            "/opt/x/",
            "./opt/x",
            "/opt/..hidden",
            ";id",
        ] {
            assert_eq!(restore_path(ok).unwrap(), ok.trim(), "{ok:?}");
        }
        let long = "a/".repeat(2500);
        for bad in [
            "",
            "/",
            "./",
            "../../etc/shadow",
            "/opt/../etc/shadow",
            "opt/..",
            "a\0b",
            "a\nb",
            "--overwrite",
            "-x",
            long.as_str(),
        ] {
            assert!(restore_path(bad).is_err(), "{bad:?} accepted");
        }
    }
}
