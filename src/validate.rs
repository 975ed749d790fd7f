//! Pure validators for every value that may come from a user: unit names,
//! times of day, host names, metrics, numbers. Shared by config, bot and helper
//! so that one rule holds everywhere.
//!
//! A refusal is an [`Invalid`]: a kind plus the value it was about, so that a
//! reader in chat can be told in their language; its `Display` is English, for
//! logs and configuration errors.

use std::fmt;

use crate::metric::Metric;

/// A value refused by one of the validators here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub kind: InvalidKind,
    /// The value as given (trimmed, and shortened where it may be long).
    pub value: String,
}

/// What is wrong with an [`Invalid`] value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidKind {
    UnitEmpty,
    /// Starts with `-` or `.`.
    UnitLeadingMark,
    /// Has a character no unit name may have.
    UnitChar(char),
    /// Longer than [`UNIT_NAME_MAX`].
    UnitTooLong,
    /// An empty stem, a leading `@` or more than one `@`.
    UnitShape,
    NotService,
    /// A template (`foo@.service`) where an instance is needed.
    Template,
    NotTime,
    /// Hours above 23 or minutes above 59.
    TimeOutOfRange,
    HostEmpty,
    HostTooLong,
    HostLikeOption,
    NotHost,
    NotNumber,
    NotFinite,
    /// Not above 0 and at most the metric's maximum.
    OutOfRange(Metric),
    NotSnapshotId,
    /// Longer than [`RESTORE_PATH_MAX`].
    PathTooLong,
    PathControlChar,
    PathLikeOption,
    /// Has a `..` component.
    PathParent,
    /// Names the snapshot root, not a file or folder in it.
    PathEmpty,
}

impl Invalid {
    fn new(kind: InvalidKind, value: &str) -> Invalid {
        Invalid {
            kind,
            value: value.to_string(),
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use InvalidKind::*;
        let v = &self.value;
        match self.kind {
            UnitEmpty => write!(f, "unit name is empty"),
            UnitLeadingMark => write!(f, "unit name {v:?} may not start with '-' or '.'"),
            UnitChar(c) => write!(
                f,
                "unit name {v:?} has the character {c:?}; only letters, digits and : - _ . @ \\ are allowed"
            ),
            UnitTooLong => write!(f, "unit name is longer than {UNIT_NAME_MAX} characters"),
            UnitShape => write!(f, "unit name {v:?} is not valid"),
            NotService => write!(f, "{v:?} is not a .service unit"),
            Template => write!(
                f,
                "{v:?} is a template; name an instance like foo@bar.service"
            ),
            NotTime => write!(f, "{v:?} is not a time of day; use HH:MM, e.g. 02:30"),
            TimeOutOfRange => write!(
                f,
                "{v:?} is not a time of day: hours go to 23, minutes to 59"
            ),
            HostEmpty => write!(f, "host is empty"),
            HostTooLong => write!(f, "host name is longer than 253 characters"),
            HostLikeOption => write!(f, "{v:?} looks like an option, not a host"),
            NotHost => write!(f, "{v:?} is not a host name or IP address"),
            NotNumber => write!(f, "{v:?} is not a number"),
            NotFinite => write!(f, "{v:?} is not a finite number"),
            OutOfRange(m) => write!(
                f,
                "{v} is out of range for {}: use a value above 0 and at most {}",
                m.name(),
                m.max_threshold()
            ),
            NotSnapshotId => write!(
                f,
                "{v:?} is not a snapshot id; ids look like 20260314T031500Z (see /backup_list)"
            ),
            PathTooLong => write!(
                f,
                "the path is longer than {RESTORE_PATH_MAX} bytes; give the file or folder as it was backed up"
            ),
            PathControlChar => write!(
                f,
                "{v:?} has a control character; give the path as it was backed up"
            ),
            PathLikeOption => write!(f, "{v:?} looks like an option, not a path"),
            PathParent => write!(
                f,
                "{v:?} must not contain `..`; give the path as it was backed up, e.g. /opt/potion-runner/.env"
            ),
            PathEmpty => write!(
                f,
                "give the file or folder to restore, e.g. /opt/potion-runner/.env"
            ),
        }
    }
}

impl std::error::Error for Invalid {}

/// Longest unit name systemd accepts (systemd.unit(5)).
pub const UNIT_NAME_MAX: usize = 255;

/// Validates a systemd unit name and returns it normalised: a bare name gets
/// `.service` appended. Refuses anything that could be read as an option or a
/// path, or that systemd itself would reject.
pub fn unit_name(raw: &str) -> Result<String, Invalid> {
    let name = raw.trim();
    let bad = |kind| Err(Invalid::new(kind, name));
    if name.is_empty() {
        return bad(InvalidKind::UnitEmpty);
    }
    if name.starts_with('-') || name.starts_with('.') {
        return bad(InvalidKind::UnitLeadingMark);
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '_' | '.' | '@' | '\\')))
    {
        return bad(InvalidKind::UnitChar(c));
    }
    let full = if has_unit_suffix(name) {
        name.to_string()
    } else {
        format!("{name}.service")
    };
    if full.len() > UNIT_NAME_MAX {
        return bad(InvalidKind::UnitTooLong);
    }
    let (stem, _) = full.rsplit_once('.').expect("suffix present");
    if stem.is_empty() || stem.starts_with('@') || stem.matches('@').count() > 1 {
        return Err(Invalid::new(InvalidKind::UnitShape, &full));
    }
    Ok(full)
}

/// Like [`unit_name`] but insists on a `.service` unit (what the bot may control).
pub fn service_name(raw: &str) -> Result<String, Invalid> {
    let full = unit_name(raw)?;
    if !full.ends_with(".service") {
        return Err(Invalid::new(InvalidKind::NotService, &full));
    }
    if full.ends_with("@.service") {
        return Err(Invalid::new(InvalidKind::Template, &full));
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
pub fn hhmm(raw: &str) -> Result<HhMm, Invalid> {
    let s = raw.trim();
    let bad = || Invalid::new(InvalidKind::NotTime, s);
    let (h, m) = s.split_once([':', '.', ',']).ok_or_else(bad)?;
    let digits = |p: &str| !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || m.len() != 2 || !digits(m) {
        return Err(bad());
    }
    let (hour, minute): (u8, u8) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if hour > 23 || minute > 59 {
        return Err(Invalid::new(InvalidKind::TimeOutOfRange, s));
    }
    Ok(HhMm { hour, minute })
}

/// Validates a host name or IP address for ping and friends. Never lets
/// something that looks like an option through.
pub fn host(raw: &str) -> Result<String, Invalid> {
    let s = raw.trim();
    let bad = |kind| Err(Invalid::new(kind, s));
    if s.is_empty() {
        return bad(InvalidKind::HostEmpty);
    }
    if s.len() > 253 {
        return bad(InvalidKind::HostTooLong);
    }
    if s.starts_with('-') {
        return bad(InvalidKind::HostLikeOption);
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
        bad(InvalidKind::NotHost)
    }
}

/// Parses a threshold for `metric`: a finite number above 0 and at most the
/// metric's maximum. A decimal comma (`80,5`) and the metric's unit (`85%`,
/// `70°C`, `70 °C`) are accepted, as people write them.
pub fn threshold(metric: Metric, raw: &str) -> Result<f64, Invalid> {
    let s = raw.trim();
    let units: &[&str] = if metric == Metric::Temp {
        &["°C", "°c", "°", "C", "c"]
    } else {
        &["%"]
    };
    let bare = units
        .iter()
        .find_map(|u| s.strip_suffix(u))
        .unwrap_or(s)
        .trim_end();
    let number = if bare.matches(',').count() == 1 && !bare.contains('.') {
        bare.replace(',', ".")
    } else {
        bare.to_string()
    };
    let v: f64 = number
        .parse()
        .map_err(|_| Invalid::new(InvalidKind::NotNumber, s))?;
    if !v.is_finite() {
        return Err(Invalid::new(InvalidKind::NotFinite, s));
    }
    if v <= 0.0 || v > metric.max_threshold() {
        return Err(Invalid::new(InvalidKind::OutOfRange(metric), s));
    }
    Ok(v)
}

/// Longest PATH `/restore` accepts, in bytes (Linux's `PATH_MAX`).
pub const RESTORE_PATH_MAX: usize = 4096;

/// Validates a snapshot id: exactly `YYYYMMDDTHHMMSSZ` (UTC) and a real
/// date and time. `latest` and anything else are refused: the helper is
/// handed only concrete ids (whether the snapshot exists is checked there).
pub fn snapshot_id(raw: &str) -> Result<String, Invalid> {
    let s = raw.trim();
    let shown: String = s.chars().take(40).collect();
    let shape = s.len() == 16
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 => b == b'T',
            15 => b == b'Z',
            _ => b.is_ascii_digit(),
        });
    if !shape || chrono::NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%SZ").is_err() {
        return Err(Invalid::new(InvalidKind::NotSnapshotId, &shown));
    }
    Ok(s.to_string())
}

/// Validates the PATH of a restore: a file or folder as it was backed up,
/// absolute (`/opt/potion-runner/.env`) or relative to the snapshot
/// (`opt/potion-runner/.env`, the manifest's form, `%XX` escapes included).
/// Refuses what could escape the snapshot or be read as something else: a
/// `..` component, NUL and other control characters, a leading `-`, the
/// snapshot root itself, and more than [`RESTORE_PATH_MAX`] bytes.
pub fn restore_path(raw: &str) -> Result<String, Invalid> {
    let s = raw.trim();
    let shown: String = s.chars().take(80).collect();
    let bad = |kind| Err(Invalid::new(kind, &shown));
    if s.len() > RESTORE_PATH_MAX {
        return bad(InvalidKind::PathTooLong);
    }
    if s.chars().any(char::is_control) {
        return bad(InvalidKind::PathControlChar);
    }
    if s.starts_with('-') {
        return bad(InvalidKind::PathLikeOption);
    }
    if s.split('/').any(|c| c == "..") {
        return bad(InvalidKind::PathParent);
    }
    if s.split('/').all(|c| c.is_empty() || c == ".") {
        return bad(InvalidKind::PathEmpty);
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
    fn refusals_name_their_kind_and_value() {
        let e = unit_name(" a;b ").unwrap_err();
        assert_eq!(e.kind, InvalidKind::UnitChar(';'));
        assert_eq!(e.value, "a;b");
        assert_eq!(
            e.to_string(),
            "unit name \"a;b\" has the character ';'; only letters, digits and : - _ . @ \\ are allowed"
        );
        assert_eq!(
            service_name("foo@.service").unwrap_err().kind,
            InvalidKind::Template
        );
        assert_eq!(hhmm("24:00").unwrap_err().kind, InvalidKind::TimeOutOfRange);
        assert_eq!(
            threshold(Metric::Cpu, "101").unwrap_err().to_string(),
            "101 is out of range for cpu: use a value above 0 and at most 100"
        );
        let e = restore_path(&format!("../{}", "x".repeat(200))).unwrap_err();
        assert_eq!(e.kind, InvalidKind::PathParent);
        assert_eq!(e.value.chars().count(), 80, "long values are shortened");
        assert_eq!(host("-f").unwrap_err().kind, InvalidKind::HostLikeOption);
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
        for bad in [
            "NaN", "inf", "-3", "0", "101", "abc", "", "1,2,3", "8,0.5", "80°C", "%",
        ] {
            assert!(threshold(Metric::Cpu, bad).is_err(), "{bad:?} accepted");
        }
        assert!(Metric::parse("gpu").is_err());
    }

    #[test]
    fn thresholds_as_people_write_them() {
        assert_eq!(threshold(Metric::Cpu, "80,5").unwrap(), 80.5);
        assert_eq!(threshold(Metric::Ram, "85%").unwrap(), 85.0);
        assert_eq!(threshold(Metric::Disk, "90,5 %").unwrap(), 90.5);
        assert_eq!(threshold(Metric::Temp, "70°C").unwrap(), 70.0);
        assert_eq!(threshold(Metric::Temp, "72,5 °C").unwrap(), 72.5);
        assert!(
            threshold(Metric::Temp, "70%").is_err(),
            "a temperature is no percentage"
        );
        assert_eq!(Metric::parse("Suhu").unwrap(), Metric::Temp);
        assert_eq!(Metric::parse("beban").unwrap(), Metric::Load);
        assert_eq!(Metric::parse_thresholded("suhu").unwrap(), Metric::Temp);
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
