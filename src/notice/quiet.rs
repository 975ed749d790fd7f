//! Quiet hours: a local-time window (`QUIET_HOURS=22:00-06:00`, may wrap past
//! midnight) in which non-critical alert changes are held, not dropped, and
//! one summary when it ends. `ALERT_CRITICAL` names the codes that always go
//! out at once.

use std::fmt;

use chrono::{DateTime, NaiveTime, TimeDelta, TimeZone, Timelike, Utc};

use super::{ParseError, at};
use crate::alert_code::AlertCode;
use crate::files::notice::{HeldChange, Transition};
use crate::validate::{self, HhMm};

/// A daily window from `start` (included) to `end` (excluded), local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: HhMm,
    pub end: HhMm,
}

impl QuietHours {
    /// Parses `HH:MM-HH:MM` (`.` and `,` work as `:` too, as in `validate::hhmm`,
    /// and a phone's en or em dash as `-`); empty or `off` is no window.
    pub fn parse(raw: &str) -> Result<Option<QuietHours>, ParseError> {
        let s = raw.trim();
        if s.is_empty() || s.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let (a, b) = s
            .split_once(['-', '\u{2013}', '\u{2014}'])
            .ok_or_else(|| ParseError::NotAWindow(s.to_string()))?;
        let time = |p: &str| {
            validate::hhmm(p).map_err(|reason| ParseError::BadTime {
                raw: s.to_string(),
                reason,
            })
        };
        let (start, end) = (time(a)?, time(b)?);
        if start == end {
            return Err(ParseError::EmptyWindow(s.to_string()));
        }
        Ok(Some(QuietHours { start, end }))
    }

    /// True when the local time of day `t` is inside the window.
    pub fn contains(&self, t: NaiveTime) -> bool {
        let m = minute_of_day(t.hour(), t.minute());
        let (s, e) = (self.start_minute(), self.end_minute());
        if s < e {
            s <= m && m < e
        } else {
            m >= s || m < e
        }
    }

    /// When the window that `now` (local) is in ends; none outside the window.
    /// A wall-clock end that does not exist that day (a DST gap) falls back to
    /// the same distance from `now`.
    pub fn window_end<Tz: TimeZone>(&self, now: &DateTime<Tz>) -> Option<DateTime<Tz>> {
        let local = now.naive_local();
        if !self.contains(local.time()) {
            return None;
        }
        let end_time = NaiveTime::from_hms_opt(self.end.hour.into(), self.end.minute.into(), 0)?;
        let mut end = local.date().and_time(end_time);
        if end <= local {
            end += TimeDelta::days(1);
        }
        Some(
            now.timezone()
                .from_local_datetime(&end)
                .earliest()
                .unwrap_or_else(|| now.clone() + (end - local)),
        )
    }

    fn start_minute(&self) -> u32 {
        minute_of_day(self.start.hour.into(), self.start.minute.into())
    }

    fn end_minute(&self) -> u32 {
        minute_of_day(self.end.hour.into(), self.end.minute.into())
    }
}

fn minute_of_day(hour: u32, minute: u32) -> u32 {
    hour * 60 + minute
}

impl fmt::Display for QuietHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start, self.end)
    }
}

/// The codes that pass quiet hours and are never held by a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Critical(Vec<Pattern>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    /// Exactly this code.
    Code(String),
    /// `FAMILY:*`: every code of the family.
    Family(AlertCode),
}

/// `ALERT_CRITICAL` when it is not set.
pub const DEFAULT_CRITICAL: &[AlertCode] = &[
    AlertCode::DiskRootHigh,
    AlertCode::DataDiskMissing,
    AlertCode::BackupFailed,
    AlertCode::TempHigh,
];

impl Default for Critical {
    fn default() -> Self {
        Critical(
            DEFAULT_CRITICAL
                .iter()
                .map(|c| Pattern::Code(c.as_str().to_string()))
                .collect(),
        )
    }
}

impl Critical {
    /// Parses a comma list of codes (`DISK_ROOT_HIGH`), unit codes
    /// (`SERVICE_DOWN:nginx.service`) and families (`SERVICE_DOWN:*`); empty
    /// means nothing is critical. Codes are matched without regard to case.
    pub fn parse(raw: &str) -> Result<Critical, ParseError> {
        let mut out = Vec::new();
        for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let p = pattern(entry)?;
            if !out.contains(&p) {
                out.push(p);
            }
        }
        Ok(Critical(out))
    }

    /// True when `code` always goes out at once.
    pub fn is_critical(&self, code: &str) -> bool {
        self.0.iter().any(|p| match p {
            Pattern::Code(c) => c == code,
            Pattern::Family(f) => AlertCode::family_of(code) == Some(*f),
        })
    }
}

fn pattern(entry: &str) -> Result<Pattern, ParseError> {
    let (fam, unit) = match entry.split_once(':') {
        Some((f, u)) => (f, Some(u.trim())),
        None => (entry, None),
    };
    let fam = AlertCode::ALL
        .into_iter()
        .find(|c| c.as_str().eq_ignore_ascii_case(fam.trim()))
        .ok_or_else(|| ParseError::UnknownCode(entry.to_string()))?;
    let per_unit = fam.subject().is_some();
    match unit {
        None if per_unit => Err(ParseError::NeedsUnit(fam.as_str().to_string())),
        None => Ok(Pattern::Code(fam.as_str().to_string())),
        Some("*") => Ok(Pattern::Family(fam)),
        Some(u) if per_unit => validate::service_name(u)
            .map(|unit| Pattern::Code(fam.with(&unit)))
            .map_err(|reason| ParseError::BadUnit {
                raw: entry.to_string(),
                reason,
            }),
        Some(_) => Err(ParseError::UnknownCode(entry.to_string())),
    }
}

impl fmt::Display for Critical {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match p {
                Pattern::Code(c) => f.write_str(c)?,
                Pattern::Family(fam) => write!(f, "{fam}:*")?,
            }
        }
        Ok(())
    }
}

/// Holds a change of `code` in `held` when quiet hours cover `now` and the code
/// is not critical; true when held (send nothing now), false when it goes out.
pub fn hold<Tz: TimeZone>(
    held: &mut Vec<HeldChange>,
    code: &str,
    change: Transition,
    when: DateTime<Utc>,
    critical: &Critical,
    quiet: Option<&QuietHours>,
    now: &DateTime<Tz>,
) -> bool {
    let inside = quiet.is_some_and(|q| q.contains(now.naive_local().time()));
    if !inside || critical.is_critical(code) {
        return false;
    }
    held.push(HeldChange {
        code: code.to_string(),
        change,
        at: when.timestamp(),
    });
    true
}

/// What happened to one code during the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryItem {
    pub code: String,
    /// The first firing inside the window; none when it was already on before.
    pub first_fired: Option<DateTime<Utc>>,
    /// How often it fired inside the window.
    pub times_fired: u32,
    /// When it cleared, if its last change in the window was clearing.
    pub cleared_at: Option<DateTime<Utc>>,
    /// Whether it is active now.
    pub active: bool,
}

/// The catch-up message for the end of quiet hours, as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// One item per code that changed, in the order of their first change.
    pub items: Vec<SummaryItem>,
    /// Every code active now (whether or not it changed in the window), sorted.
    pub still_active: Vec<String>,
}

/// Folds held changes into one summary; `active_now` is the bot's current set.
pub fn summary(held: &[HeldChange], active_now: &[&str]) -> Summary {
    let mut items: Vec<SummaryItem> = Vec::new();
    for h in held {
        let i = match items.iter().position(|i| i.code == h.code) {
            Some(i) => i,
            None => {
                items.push(SummaryItem {
                    code: h.code.clone(),
                    first_fired: None,
                    times_fired: 0,
                    cleared_at: None,
                    active: active_now.contains(&h.code.as_str()),
                });
                items.len() - 1
            }
        };
        let item = &mut items[i];
        match h.change {
            Transition::Fired => {
                item.first_fired.get_or_insert(at(h.at));
                item.times_fired += 1;
                item.cleared_at = None;
            }
            Transition::Cleared => item.cleared_at = Some(at(h.at)),
        }
    }
    let mut still_active: Vec<String> = active_now.iter().map(|c| c.to_string()).collect();
    still_active.sort();
    still_active.dedup();
    Summary {
        items,
        still_active,
    }
}

/// The summary to send now: once quiet hours no longer cover `now` (or were
/// turned off) and something was held. Empties `held`.
pub fn take_summary<Tz: TimeZone>(
    held: &mut Vec<HeldChange>,
    quiet: Option<&QuietHours>,
    now: &DateTime<Tz>,
    active_now: &[&str],
) -> Option<Summary> {
    let inside = quiet.is_some_and(|q| q.contains(now.naive_local().time()));
    if held.is_empty() || inside {
        return None;
    }
    let s = summary(held, active_now);
    held.clear();
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BACKUP_STALE: &str = AlertCode::BackupStale.as_str();
    const CPU_HIGH: &str = AlertCode::CpuHigh.as_str();
    const DISK_DATA_HIGH: &str = AlertCode::DiskDataHigh.as_str();
    const DISK_ROOT_HIGH: &str = AlertCode::DiskRootHigh.as_str();
    const RAM_HIGH: &str = AlertCode::RamHigh.as_str();
    const TEMP_HIGH: &str = AlertCode::TempHigh.as_str();
    use chrono::FixedOffset;

    fn wib(d: u32, h: u32, m: u32) -> DateTime<FixedOffset> {
        FixedOffset::east_opt(7 * 3600)
            .unwrap()
            .with_ymd_and_hms(2026, 11, d, h, m, 0)
            .unwrap()
    }

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn window(s: &str) -> QuietHours {
        QuietHours::parse(s).unwrap().unwrap()
    }

    #[test]
    fn windows_parse_with_indonesian_separators_and_off() {
        assert_eq!(QuietHours::parse("").unwrap(), None);
        assert_eq!(QuietHours::parse(" OFF ").unwrap(), None);
        assert_eq!(window("22:00\u{2013}06:00"), window("22:00-06:00"));
        assert_eq!(window("22:00\u{2014}06:00"), window("22:00-06:00"));
        let w = window("22.00 - 6,30");
        assert_eq!(w.to_string(), "22:00-06:30");
        assert_eq!(window(&w.to_string()), w);
        assert!(matches!(
            QuietHours::parse("22:00"),
            Err(ParseError::NotAWindow(_))
        ));
        let e = QuietHours::parse("22:00-24:00").unwrap_err();
        assert!(matches!(e, ParseError::BadTime { .. }), "{e:?}");
        assert!(e.to_string().contains("hours go to 23"), "{e}");
        assert!(matches!(
            QuietHours::parse("7:00-07:00"),
            Err(ParseError::EmptyWindow(_))
        ));
        assert!(QuietHours::parse("-1:00-02:00").is_err());
        assert!(QuietHours::parse("01:00-02:00-03:00").is_err());
    }

    #[test]
    fn a_window_may_wrap_past_midnight() {
        let night = window("22:00-06:00");
        for (h, m, inside) in [
            (21, 59, false),
            (22, 0, true),
            (23, 59, true),
            (0, 0, true),
            (5, 59, true),
            (6, 0, false),
            (12, 0, false),
        ] {
            assert_eq!(night.contains(t(h, m)), inside, "{h}:{m}");
        }
        let lunch = window("12:00-13:30");
        assert!(!lunch.contains(t(11, 59)));
        assert!(lunch.contains(t(12, 0)));
        assert!(lunch.contains(t(13, 29)));
        assert!(!lunch.contains(t(13, 30)));
        assert!(!lunch.contains(t(0, 0)));
    }

    #[test]
    fn the_window_end_is_the_next_end_in_local_time() {
        let night = window("22:00-06:00");
        assert_eq!(night.window_end(&wib(3, 23, 10)), Some(wib(4, 6, 0)));
        assert_eq!(night.window_end(&wib(4, 1, 0)), Some(wib(4, 6, 0)));
        assert_eq!(night.window_end(&wib(4, 6, 0)), None);
        assert_eq!(night.window_end(&wib(4, 15, 0)), None);
        let lunch = window("12:00-13:30");
        assert_eq!(lunch.window_end(&wib(4, 12, 0)), Some(wib(4, 13, 30)));
        // The same instant seen from UTC has its own local clock.
        let utc = wib(4, 1, 0).with_timezone(&Utc);
        assert_eq!(night.window_end(&utc), None, "18:00 UTC is not night");
    }

    #[test]
    fn critical_codes_parse_from_codes_units_and_families() {
        let d = Critical::default();
        assert_eq!(
            d.to_string(),
            "DISK_ROOT_HIGH,DATA_DISK_MISSING,BACKUP_FAILED,TEMP_HIGH"
        );
        assert_eq!(Critical::parse(&d.to_string()).unwrap(), d);
        assert!(d.is_critical(TEMP_HIGH));
        assert!(!d.is_critical(CPU_HIGH));
        assert!(!d.is_critical("SERVICE_DOWN:nginx.service"));

        let none = Critical::parse(" , ").unwrap();
        assert!(!none.is_critical(DISK_ROOT_HIGH));

        let c = Critical::parse("cpu_high, SERVICE_DOWN:nginx, CPU_HIGH").unwrap();
        assert_eq!(c.to_string(), "CPU_HIGH,SERVICE_DOWN:nginx.service");
        assert!(c.is_critical(CPU_HIGH));
        assert!(c.is_critical("SERVICE_DOWN:nginx.service"));
        assert!(!c.is_critical("SERVICE_DOWN:ollama.service"));

        let fam = Critical::parse("SERVICE_DOWN:*").unwrap();
        assert!(fam.is_critical("SERVICE_DOWN:ollama.service"));
        assert!(!fam.is_critical(RAM_HIGH));
        assert!(Critical::parse("DISK_*:*").is_err());
    }

    #[test]
    fn bad_critical_entries_say_what_is_wrong() {
        let cases = [
            ("CPU", "UnknownCode"),
            ("CPU_HIGH:x", "UnknownCode"),
            ("SERVICE_DOWN", "NeedsUnit"),
            ("SERVICE_DOWN:-rf", "BadUnit"),
            ("SERVICE_DOWN:a.socket", "BadUnit"),
        ];
        for (raw, kind) in cases {
            let e = Critical::parse(&format!("TEMP_HIGH,{raw}")).unwrap_err();
            assert!(format!("{e:?}").starts_with(kind), "{raw}: {e:?}");
        }
        let e = Critical::parse("SERVICE_DOWN").unwrap_err();
        assert!(e.to_string().contains("SERVICE_DOWN:*"), "{e}");
    }

    fn fired(code: &str, at: i64) -> HeldChange {
        change(code, Transition::Fired, at)
    }

    fn change(code: &str, change: Transition, at: i64) -> HeldChange {
        HeldChange {
            code: code.into(),
            change,
            at,
        }
    }

    #[test]
    fn inside_the_window_only_non_critical_changes_are_held() {
        let night = window("22:00-06:00");
        let crit = Critical::parse("DISK_ROOT_HIGH").unwrap();
        let mut held = Vec::new();
        let when = wib(3, 23, 0).with_timezone(&Utc);
        let mut go = |code, now| {
            hold(
                &mut held,
                code,
                Transition::Fired,
                when,
                &crit,
                Some(&night),
                &now,
            )
        };
        assert!(go(CPU_HIGH, wib(3, 23, 0)));
        assert!(!go(DISK_ROOT_HIGH, wib(3, 23, 0)), "critical goes out");
        assert!(!go(RAM_HIGH, wib(4, 7, 0)), "outside the window");
        assert_eq!(held, vec![fired(CPU_HIGH, when.timestamp())]);
        assert!(!hold(
            &mut held,
            CPU_HIGH,
            Transition::Cleared,
            when,
            &crit,
            None,
            &wib(3, 23, 0)
        ));
        assert_eq!(held.len(), 1, "no window, nothing held");
    }

    #[test]
    fn the_summary_tells_what_fired_when_whether_it_cleared_and_what_is_on() {
        use Transition::Cleared;
        let held = vec![
            fired(CPU_HIGH, 100),
            change(BACKUP_STALE, Cleared, 150),
            change(CPU_HIGH, Cleared, 200),
            fired(RAM_HIGH, 300),
            fired(CPU_HIGH, 400),
            change(CPU_HIGH, Cleared, 500),
        ];
        let s = summary(&held, &[RAM_HIGH, DISK_DATA_HIGH]);
        let item = |code: &str, first: Option<i64>, n, cleared: Option<i64>, active| SummaryItem {
            code: code.into(),
            first_fired: first.map(at),
            times_fired: n,
            cleared_at: cleared.map(at),
            active,
        };
        assert_eq!(
            s.items,
            vec![
                item(CPU_HIGH, Some(100), 2, Some(500), false),
                item(BACKUP_STALE, None, 0, Some(150), false),
                item(RAM_HIGH, Some(300), 1, None, true),
            ]
        );
        assert_eq!(s.still_active, vec![DISK_DATA_HIGH, RAM_HIGH]);
        let again = summary(
            &[
                fired(CPU_HIGH, 1),
                change(CPU_HIGH, Cleared, 2),
                fired(CPU_HIGH, 3),
            ],
            &[CPU_HIGH],
        );
        assert_eq!(again.items, vec![item(CPU_HIGH, Some(1), 2, None, true)]);
    }

    #[test]
    fn the_summary_comes_once_when_the_window_is_over_and_something_was_held() {
        let night = window("22:00-06:00");
        let mut held = vec![fired(CPU_HIGH, 1)];
        assert_eq!(
            take_summary(&mut held, Some(&night), &wib(4, 5, 59), &[]),
            None
        );
        assert_eq!(held.len(), 1);
        let s = take_summary(&mut held, Some(&night), &wib(4, 6, 0), &[]).unwrap();
        assert_eq!(s.items[0].code, CPU_HIGH);
        assert!(held.is_empty());
        assert_eq!(
            take_summary(&mut held, Some(&night), &wib(4, 6, 1), &[]),
            None
        );
        // Turning quiet hours off mid-window ends the window too.
        held.push(fired(RAM_HIGH, 2));
        assert!(take_summary(&mut held, None, &wib(4, 1, 0), &[]).is_some());
    }
}
