//! The staged response to a battery running down, off by default: at
//! `BATTERY_SHED` percent the units in `POWER_SHED_UNITS` are stopped, at
//! `BATTERY_SHUTDOWN` percent the machine is powered off. Each step is
//! announced first and carried out only [`GRACE`] later, so the owner reads
//! the message (and can plug the adapter back in) before anything happens.
//!
//! The health job cannot act (no sudo under `NoNewPrivileges`), so the bot
//! drives this: it calls [`stage`] with the latest report, announces or asks
//! the helper (`svc stop` for each unit, `power off`), then [`Memory::record`]s
//! what it did. Pure: no I/O, and time comes in as a value.

use chrono::{DateTime, TimeDelta, Utc};

use crate::config::Config;
use crate::files::bot::PowerStage;
use crate::files::health::PowerInfo;
use crate::files::{parse_rfc3339, rfc3339};

/// How long an announced step waits before it is carried out.
pub const GRACE: TimeDelta = TimeDelta::minutes(2);

/// The settings of the staged response.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `BATTERY_SHED`: percent at or below which units are stopped; 0 = off.
    pub shed_percent: f64,
    /// `POWER_SHED_UNITS`: what is stopped (each through the helper's allowlist).
    pub shed_units: Vec<String>,
    /// `BATTERY_SHUTDOWN`: percent at or below which the machine is powered off; 0 = off.
    pub shutdown_percent: f64,
    /// `POWER_ACTIONS` (system): the helper powers off only when root allows it.
    pub power_actions: bool,
}

impl Settings {
    pub fn from_config(cfg: &Config) -> Settings {
        Settings {
            shed_percent: cfg.battery_shed,
            shed_units: cfg.power_shed_units.clone(),
            shutdown_percent: cfg.battery_shutdown,
            power_actions: cfg.power_actions,
        }
    }
}

/// What to do now.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Tell the owner the units will be stopped in [`GRACE`].
    AnnounceShed { percent: f64, units: Vec<String> },
    /// Stop the units (`potion-helper svc stop UNIT` each).
    Shed { units: Vec<String> },
    /// Tell the owner the machine will power off in [`GRACE`].
    AnnouncePowerOff { percent: f64 },
    /// `potion-helper power off`.
    PowerOff,
}

/// What was done during one stretch on battery (kept by the bot).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Memory {
    /// The stretch this is about: `power.on_battery_since`.
    pub episode: Option<String>,
    pub shed_announced_at: Option<DateTime<Utc>>,
    pub shed_done: bool,
    pub off_announced_at: Option<DateTime<Utc>>,
    pub off_requested: bool,
}

impl Memory {
    /// Notes that `step` was carried out at `now`, during `power`'s stretch.
    pub fn record(&mut self, power: &PowerInfo, step: &Step, now: DateTime<Utc>) {
        if self.episode != power.on_battery_since {
            *self = Memory {
                episode: power.on_battery_since.clone(),
                ..Memory::default()
            };
        }
        match step {
            Step::AnnounceShed { .. } => self.shed_announced_at = Some(now),
            Step::Shed { .. } => self.shed_done = true,
            Step::AnnouncePowerOff { .. } => self.off_announced_at = Some(now),
            Step::PowerOff => self.off_requested = true,
        }
    }
}

impl From<&PowerStage> for Memory {
    /// The kept memory; a time that does not parse counts as not done.
    fn from(p: &PowerStage) -> Memory {
        let at = |s: &Option<String>| s.as_deref().and_then(parse_rfc3339);
        Memory {
            episode: p.episode.clone(),
            shed_announced_at: at(&p.shed_announced_at),
            shed_done: p.shed_done,
            off_announced_at: at(&p.off_announced_at),
            off_requested: p.off_requested,
        }
    }
}

impl From<&Memory> for PowerStage {
    fn from(m: &Memory) -> PowerStage {
        PowerStage {
            episode: m.episode.clone(),
            shed_announced_at: m.shed_announced_at.map(rfc3339),
            shed_done: m.shed_done,
            off_announced_at: m.off_announced_at.map(rfc3339),
            off_requested: m.off_requested,
        }
    }
}

/// The next step for this report's `power`, if any. Nothing happens on
/// mains, without a system battery reading, or with the stage switched
/// off; a new stretch on battery starts from the beginning. Powering off
/// comes before shedding when the battery is already that low.
pub fn stage(
    power: &PowerInfo,
    settings: &Settings,
    memory: &Memory,
    now: DateTime<Utc>,
) -> Option<Step> {
    if power.ac_online != Some(false) {
        return None;
    }
    let percent = power
        .batteries
        .iter()
        .filter_map(|b| b.percent)
        .reduce(f64::min)?;
    let fresh = Memory::default();
    let memory = if memory.episode == power.on_battery_since {
        memory
    } else {
        &fresh
    };
    let waited = |at: Option<DateTime<Utc>>| at.is_some_and(|t| now - t >= GRACE);
    let off_on = settings.power_actions && settings.shutdown_percent > 0.0;
    if off_on && percent <= settings.shutdown_percent && !memory.off_requested {
        return match memory.off_announced_at {
            None => Some(Step::AnnouncePowerOff { percent }),
            at if waited(at) => Some(Step::PowerOff),
            _ => None,
        };
    }
    let shed_on = settings.shed_percent > 0.0 && !settings.shed_units.is_empty();
    if shed_on && percent <= settings.shed_percent && !memory.shed_done {
        return match memory.shed_announced_at {
            None => Some(Step::AnnounceShed {
                percent,
                units: settings.shed_units.clone(),
            }),
            at if waited(at) => Some(Step::Shed {
                units: settings.shed_units.clone(),
            }),
            _ => None,
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::health::BatteryInfo;

    fn t(min: i64) -> DateTime<Utc> {
        crate::files::parse_rfc3339("2026-11-25T19:00:00Z").unwrap() + TimeDelta::minutes(min)
    }

    fn on_battery(percents: &[f64]) -> PowerInfo {
        PowerInfo {
            ac_online: Some(false),
            batteries: percents
                .iter()
                .enumerate()
                .map(|(i, p)| BatteryInfo {
                    name: format!("BAT{i}"),
                    percent: Some(*p),
                    status: "Discharging".into(),
                    wear_percent: None,
                })
                .collect(),
            on_battery_since: Some("2026-11-25T18:30:00Z".into()),
            on_battery_for_s: None,
        }
    }

    fn settings() -> Settings {
        Settings {
            shed_percent: 30.0,
            shed_units: vec!["ollama.service".into()],
            shutdown_percent: 10.0,
            power_actions: true,
        }
    }

    /// Runs the stage as the bot would: every step it returns is carried out.
    fn drive(power: &PowerInfo, s: &Settings, m: &mut Memory, now: DateTime<Utc>) -> Option<Step> {
        let step = stage(power, s, m, now);
        if let Some(step) = &step {
            m.record(power, step, now);
        }
        step
    }

    #[test]
    fn each_step_is_announced_first_and_done_after_the_grace() {
        let s = settings();
        let mut m = Memory::default();
        assert_eq!(drive(&on_battery(&[50.0]), &s, &mut m, t(0)), None);
        let units = vec!["ollama.service".to_string()];
        assert_eq!(
            drive(&on_battery(&[30.0]), &s, &mut m, t(1)),
            Some(Step::AnnounceShed {
                percent: 30.0,
                units: units.clone()
            })
        );
        assert_eq!(
            drive(&on_battery(&[29.0]), &s, &mut m, t(2)),
            None,
            "within the grace"
        );
        assert_eq!(
            drive(&on_battery(&[28.0]), &s, &mut m, t(3)),
            Some(Step::Shed { units })
        );
        assert_eq!(
            drive(&on_battery(&[20.0]), &s, &mut m, t(10)),
            None,
            "shed once"
        );
        assert_eq!(
            drive(&on_battery(&[9.5]), &s, &mut m, t(20)),
            Some(Step::AnnouncePowerOff { percent: 9.5 })
        );
        assert_eq!(drive(&on_battery(&[9.0]), &s, &mut m, t(21)), None);
        assert_eq!(
            drive(&on_battery(&[8.0]), &s, &mut m, t(22)),
            Some(Step::PowerOff)
        );
        assert_eq!(
            drive(&on_battery(&[7.0]), &s, &mut m, t(23)),
            None,
            "asked once"
        );
    }

    #[test]
    fn mains_off_settings_and_a_new_stretch() {
        let s = settings();
        let mut mains = on_battery(&[5.0]);
        mains.ac_online = Some(true);
        assert_eq!(stage(&mains, &s, &Memory::default(), t(0)), None);
        mains.ac_online = None;
        assert_eq!(
            stage(&mains, &s, &Memory::default(), t(0)),
            None,
            "no mains supply known"
        );
        assert_eq!(
            stage(&on_battery(&[]), &s, &Memory::default(), t(0)),
            None,
            "no battery"
        );

        // The lowest system battery decides; very low at once: power off first.
        assert_eq!(
            stage(&on_battery(&[80.0, 8.0]), &s, &Memory::default(), t(0)),
            Some(Step::AnnouncePowerOff { percent: 8.0 })
        );
        // Root has not allowed power actions: only the shed step remains.
        let no_off = Settings {
            power_actions: false,
            ..settings()
        };
        assert!(matches!(
            stage(&on_battery(&[8.0]), &no_off, &Memory::default(), t(0)),
            Some(Step::AnnounceShed { .. })
        ));
        // Both stages off (the defaults): nothing ever.
        let off = Settings {
            shed_percent: 0.0,
            shed_units: Vec::new(),
            shutdown_percent: 0.0,
            power_actions: false,
        };
        assert_eq!(
            stage(&on_battery(&[1.0]), &off, &Memory::default(), t(0)),
            None
        );

        // What was done in an earlier stretch on battery does not count now.
        let mut m = Memory::default();
        drive(&on_battery(&[25.0]), &s, &mut m, t(0));
        drive(&on_battery(&[25.0]), &s, &mut m, t(5));
        assert!(m.shed_done);
        let mut next = on_battery(&[25.0]);
        next.on_battery_since = Some("2026-11-25T21:00:00Z".into());
        assert!(matches!(
            drive(&next, &s, &mut m, t(150)),
            Some(Step::AnnounceShed { .. })
        ));
        assert!(!m.shed_done && m.episode == next.on_battery_since);
    }

    #[test]
    fn memory_survives_the_bot_state_file() {
        let s = settings();
        let mut m = Memory::default();
        drive(&on_battery(&[25.0]), &s, &mut m, t(0));
        let kept: PowerStage = (&m).into();
        let json = serde_json::to_string(&kept).unwrap();
        let back: PowerStage = serde_json::from_str(&json).unwrap();
        let restored = Memory::from(&back);
        assert_eq!(restored, m);
        // After a restart within the grace: nothing is announced twice.
        assert_eq!(stage(&on_battery(&[24.0]), &s, &restored, t(1)), None);
        assert!(matches!(
            stage(&on_battery(&[24.0]), &s, &restored, t(2)),
            Some(Step::Shed { .. })
        ));
    }
}
