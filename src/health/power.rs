//! Mains and batteries from `/sys/class/power_supply`, and the power alerts
//! (`ON_BATTERY`, `BATTERY_LOW`, `BATTERY_WORN`).
//!
//! Each supply is one `uevent` read (all its `POWER_SUPPLY_*` values at once).
//! Only *system* batteries count: a supply whose scope is `Device` (a
//! wireless mouse, a phone on USB) is left out, so it neither raises
//! `BATTERY_LOW` nor drags an average down.

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};

use super::Roots;
use crate::alert_code::AlertCode;
use crate::alerts::{Check, Reading};
use crate::files::health::{BatteryInfo, PowerInfo};

/// `BATTERY_WORN` is raised at most this often, even if the wear estimate
/// (which moves as the battery recalibrates) crosses the line back and forth.
const WORN_REPEAT_S: i64 = 7 * 24 * 3600;

/// One supply's `uevent`, as far as the health job cares.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Supply {
    pub name: String,
    pub kind: String,
    pub scope: Option<String>,
    pub online: Option<bool>,
    pub status: Option<String>,
    pub capacity: Option<f64>,
    /// `ENERGY_*` (µWh) or else `CHARGE_*` (µAh): now, full, full design.
    pub now: Option<f64>,
    pub full: Option<f64>,
    pub design: Option<f64>,
}

/// Parses a `uevent` file (`POWER_SUPPLY_KEY=value` lines).
pub fn parse_uevent(name: &str, text: &str) -> Supply {
    let mut s = Supply {
        name: name.to_string(),
        ..Supply::default()
    };
    let (mut energy, mut charge) = ([None; 3], [None; 3]);
    for line in text.lines() {
        let Some((k, v)) = line
            .strip_prefix("POWER_SUPPLY_")
            .and_then(|l| l.split_once('='))
        else {
            continue;
        };
        let num = || v.trim().parse::<f64>().ok();
        match k {
            "TYPE" => s.kind = v.to_string(),
            "SCOPE" => s.scope = Some(v.to_string()),
            "ONLINE" => s.online = Some(v.trim() != "0"),
            "STATUS" => s.status = Some(v.to_string()),
            "CAPACITY" => s.capacity = num(),
            "ENERGY_NOW" => energy[0] = num(),
            "ENERGY_FULL" => energy[1] = num(),
            "ENERGY_FULL_DESIGN" => energy[2] = num(),
            "CHARGE_NOW" => charge[0] = num(),
            "CHARGE_FULL" => charge[1] = num(),
            "CHARGE_FULL_DESIGN" => charge[2] = num(),
            _ => {}
        }
    }
    // One unit for all three, so the ratios are meaningful.
    let [now, full, design] = if energy[1].is_some() { energy } else { charge };
    (s.now, s.full, s.design) = (now, full, design);
    s
}

/// Reads every supply under `sys/class/power_supply`. A machine without
/// the folder has no power information (`None`), which is not an error.
pub fn read(roots: &Roots) -> Result<Option<Vec<Supply>>> {
    let dir = roots.sys.join("class/power_supply");
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path().join("uevent");
        // A supply that vanished (a mouse switched off) between listing and reading is skipped.
        if let Ok(text) = std::fs::read_to_string(&path) {
            out.push(parse_uevent(&name, &text));
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Some(out))
}

/// Mains state and system batteries, plus when the machine went on battery
/// (`prev_since` carried from the previous run) and, on the run mains came
/// back, how long it lasted.
pub fn info(supplies: &[Supply], prev_since: Option<&str>, now: DateTime<Utc>) -> PowerInfo {
    let system = |s: &&Supply| s.scope.as_deref().is_none_or(|sc| sc == "System");
    let mains: Vec<&Supply> = supplies
        .iter()
        .filter(|s| matches!(s.kind.as_str(), "Mains" | "USB") && system(s))
        .collect();
    let ac_online = (!mains.is_empty()).then(|| mains.iter().any(|s| s.online == Some(true)));
    let batteries: Vec<BatteryInfo> = supplies
        .iter()
        .filter(|s| s.kind == "Battery" && system(s))
        .map(battery)
        .collect();
    let on_battery = ac_online == Some(false);
    let stamp = crate::files::rfc3339(now);
    let on_battery_since = on_battery.then(|| prev_since.map_or(stamp, str::to_string));
    let on_battery_for_s = match (on_battery, prev_since) {
        (false, Some(since)) => {
            crate::files::parse_rfc3339(since).map(|t| (now - t).num_seconds().max(0) as u64)
        }
        _ => None,
    };
    PowerInfo {
        ac_online,
        batteries,
        on_battery_since,
        on_battery_for_s,
    }
}

fn battery(s: &Supply) -> BatteryInfo {
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b * 100.0),
        _ => None,
    };
    let round = |v: f64| (v * 10.0).round() / 10.0;
    BatteryInfo {
        name: s.name.clone(),
        percent: s
            .capacity
            .or(ratio(s.now, s.full))
            .map(|p| round(p.clamp(0.0, 100.0))),
        status: s.status.clone().unwrap_or_else(|| "Unknown".into()),
        wear_percent: ratio(s.full, s.design).map(|r| round((100.0 - r).max(0.0))),
    }
}

/// The limits the power alerts use (`BATTERY_LOW`, `BATTERY_WEAR`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub low_percent: f64,
    pub wear_percent: f64,
}

/// Readings for the power alerts. `worn_active` and `worn_at` (when
/// `BATTERY_WORN` last fired) hold that alert to at most once a week: while
/// inside the week, it keeps its state whatever the estimate does.
pub fn readings(
    power: Option<&PowerInfo>,
    limits: Limits,
    worn_active: bool,
    worn_at: Option<&str>,
    now: DateTime<Utc>,
) -> Vec<Reading> {
    let flag =
        |code: AlertCode, bad: Option<bool>, value: Option<f64>, threshold: Option<f64>| Reading {
            code: code.to_string(),
            check: Check::Flag {
                bad,
                confirm: 1,
                value,
                threshold,
            },
        };
    let Some(p) = power else {
        return Vec::new();
    };
    let lowest = p
        .batteries
        .iter()
        .filter_map(|b| b.percent)
        .min_by(f64::total_cmp);
    let worst_wear = p
        .batteries
        .iter()
        .filter_map(|b| b.wear_percent)
        .max_by(f64::total_cmp);
    let within_week = worn_at
        .and_then(crate::files::parse_rfc3339)
        .is_some_and(|t| (now - t).num_seconds() < WORN_REPEAT_S);
    let worn = worst_wear.map(|w| {
        let over = w >= limits.wear_percent;
        if within_week { worn_active } else { over }
    });
    vec![
        flag(AlertCode::OnBattery, p.ac_online.map(|on| !on), None, None),
        flag(
            AlertCode::BatteryLow,
            lowest.map(|l| l < limits.low_percent),
            lowest,
            Some(limits.low_percent),
        ),
        flag(
            AlertCode::BatteryWorn,
            worn,
            worst_wear,
            Some(limits.wear_percent),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        crate::files::parse_rfc3339(s).unwrap()
    }

    const LIMITS: Limits = Limits {
        low_percent: 25.0,
        wear_percent: 40.0,
    };

    fn laptop() -> Vec<Supply> {
        let roots = Roots::under(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/health/laptop"),
        );
        read(&roots).unwrap().unwrap()
    }

    #[test]
    fn mains_off_system_battery_and_a_mouse_ignored() {
        let p = info(&laptop(), None, t("2026-11-25T19:00:00Z"));
        assert_eq!(p.ac_online, Some(false));
        assert_eq!(
            p.batteries.len(),
            1,
            "the mouse (scope Device) is left out: {p:?}"
        );
        let b = &p.batteries[0];
        assert_eq!(
            (b.name.as_str(), b.status.as_str()),
            ("BAT0", "Discharging")
        );
        assert_eq!(b.percent, Some(20.0));
        // charge_full 1682000 of design 2900000 = 58 %: 42 % worn.
        assert_eq!(b.wear_percent, Some(42.0));
        assert_eq!(p.on_battery_since.as_deref(), Some("2026-11-25T19:00:00Z"));
        let codes: Vec<(String, Option<bool>)> =
            readings(Some(&p), LIMITS, false, None, t("2026-11-25T19:00:00Z"))
                .into_iter()
                .map(|r| match r.check {
                    Check::Flag { bad, .. } => (r.code, bad),
                    Check::Level { .. } => unreachable!(),
                })
                .collect();
        assert_eq!(
            codes,
            [
                ("ON_BATTERY".to_string(), Some(true)),
                ("BATTERY_LOW".to_string(), Some(true)),
                ("BATTERY_WORN".to_string(), Some(true)),
            ]
        );
    }

    #[test]
    fn energy_pair_and_percent_without_capacity() {
        let s = parse_uevent(
            "BAT1",
            "POWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_STATUS=Charging\nPOWER_SUPPLY_ENERGY_NOW=30000000\n\
             POWER_SUPPLY_ENERGY_FULL=40000000\nPOWER_SUPPLY_ENERGY_FULL_DESIGN=50000000\nPOWER_SUPPLY_CHARGE_FULL=1\n",
        );
        let b = battery(&s);
        assert_eq!(b.percent, Some(75.0));
        assert_eq!(
            b.wear_percent,
            Some(20.0),
            "energy pair wins over a stray charge value"
        );
        let unknown = battery(&parse_uevent("BAT2", "POWER_SUPPLY_TYPE=Battery\n"));
        assert_eq!((unknown.percent, unknown.wear_percent), (None, None));
        assert_eq!(unknown.status, "Unknown");
    }

    #[test]
    fn mains_back_tells_how_long_and_no_supply_is_no_reading() {
        let ac = |online: &str| {
            parse_uevent(
                "AC",
                &format!("POWER_SUPPLY_TYPE=Mains\nPOWER_SUPPLY_ONLINE={online}\n"),
            )
        };
        let since = "2026-11-25T18:00:00Z";
        let still = info(&[ac("0")], Some(since), t("2026-11-25T19:00:00Z"));
        assert_eq!(
            still.on_battery_since.as_deref(),
            Some(since),
            "the start is kept"
        );
        assert_eq!(still.on_battery_for_s, None);
        let back = info(&[ac("1")], Some(since), t("2026-11-25T19:30:00Z"));
        assert_eq!(back.ac_online, Some(true));
        assert_eq!(
            (back.on_battery_since, back.on_battery_for_s),
            (None, Some(5400))
        );
        let none = info(&[], None, t("2026-11-25T19:00:00Z"));
        assert_eq!(none.ac_online, None);
        let r = readings(Some(&none), LIMITS, false, None, t("2026-11-25T19:00:00Z"));
        assert!(
            r.iter()
                .all(|r| matches!(r.check, Check::Flag { bad: None, .. })),
            "{r:?}"
        );
        assert!(readings(None, LIMITS, false, None, t("2026-11-25T19:00:00Z")).is_empty());
        let nothing = Roots::under("/nonexistent-fixture");
        assert_eq!(read(&nothing).unwrap(), None);
    }

    #[test]
    fn worn_at_most_once_a_week() {
        let worn = |wear: f64| PowerInfo {
            ac_online: Some(true),
            batteries: vec![BatteryInfo {
                name: "BAT0".into(),
                percent: Some(90.0),
                status: "Full".into(),
                wear_percent: Some(wear),
            }],
            ..PowerInfo::default()
        };
        let bad = |p: &PowerInfo, active: bool, at: Option<&str>, now: &str| {
            readings(Some(p), LIMITS, active, at, t(now))
                .into_iter()
                .find(|r| r.code == "BATTERY_WORN")
                .map(|r| match r.check {
                    Check::Flag { bad, .. } => bad,
                    Check::Level { .. } => unreachable!(),
                })
                .unwrap()
        };
        let fired = Some("2026-11-20T10:00:00Z");
        // Dipping under the line within the week keeps it raised; crossing
        // again within the week after it cleared does not raise it again.
        assert_eq!(
            bad(&worn(39.0), true, fired, "2026-11-25T10:00:00Z"),
            Some(true)
        );
        assert_eq!(
            bad(&worn(41.0), false, fired, "2026-11-25T10:00:00Z"),
            Some(false)
        );
        assert_eq!(
            bad(&worn(39.0), true, fired, "2026-11-28T10:00:00Z"),
            Some(false)
        );
        assert_eq!(
            bad(&worn(41.0), false, fired, "2026-11-28T10:00:00Z"),
            Some(true)
        );
        assert_eq!(
            bad(&worn(41.0), false, None, "2026-11-25T10:00:00Z"),
            Some(true)
        );
    }
}
