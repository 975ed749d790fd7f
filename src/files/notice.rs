//! What the bot remembers for the alert rules of `docs/alerts.md`, as one section of
//! `bot-state.json` (schema 1): alert changes held for quiet hours or a
//! maintenance lease, the boot it last announced and how the previous one
//! ended, reminders sent, and each code's flapping record.
//!
//! Only the shape lives here; the rules that read and change it are
//! `crate::notice`. Every field has a default, so a state file written before
//! this section existed loads as "nothing held, nothing announced".

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::lease::Job;

/// The notice section of `bot-state.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NoticeState {
    /// Changes held during quiet hours, oldest first; they become one summary.
    #[serde(default)]
    pub quiet_held: Vec<HeldChange>,
    /// Firings held while a maintenance lease covers them.
    #[serde(default)]
    pub lease_held: Vec<LeaseHold>,
    /// The `boot_id` whose start was last announced (or first seen).
    #[serde(default)]
    pub announced_boot: Option<String>,
    /// `taken_at` (unix seconds) of the newest report of `announced_boot`: the
    /// last report before the server went away, once it comes back.
    #[serde(default)]
    pub last_report: Option<i64>,
    /// Set when the bot was stopped by SIGTERM; cleared once the next start has read it.
    #[serde(default)]
    pub clean_stop: Option<CleanStop>,
    /// Reminders sent per active code.
    #[serde(default)]
    pub reminded: BTreeMap<String, u32>,
    /// Recent changes per code, for the flapping detector.
    #[serde(default)]
    pub flaps: BTreeMap<String, Flap>,
}

/// Which way an alert changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    Fired,
    Cleared,
}

/// One alert change held back instead of sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldChange {
    pub code: String,
    pub change: Transition,
    /// When it happened (unix seconds).
    pub at: i64,
}

/// A firing held because a maintenance job predictably causes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseHold {
    pub code: String,
    /// When it fired (unix seconds).
    pub fired_at: i64,
    pub job: Job,
    /// When the bot saw the job's lease end (unix seconds); none while it runs.
    #[serde(default)]
    pub ended_at: Option<i64>,
}

/// The bot got SIGTERM in this boot: the stop was orderly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanStop {
    pub boot_id: String,
    /// Unix seconds.
    pub at: i64,
}

/// One code's recent changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flap {
    /// Times of the changes in the last 15 minutes (unix seconds), oldest first.
    #[serde(default)]
    pub changes: Vec<i64>,
    /// The state after the latest change.
    #[serde(default)]
    pub active: bool,
    /// Changes counted since flapping began; none while the code is not flapping.
    #[serde(default)]
    pub flapping: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_section_loads_and_a_full_one_round_trips() {
        assert_eq!(
            serde_json::from_str::<NoticeState>("{}").unwrap(),
            NoticeState::default()
        );
        let st = NoticeState {
            quiet_held: vec![HeldChange {
                code: "CPU_HIGH".into(),
                change: Transition::Cleared,
                at: 5,
            }],
            lease_held: vec![LeaseHold {
                code: "SERVICE_DOWN:a.service".into(),
                fired_at: 6,
                job: Job::SvcRestart {
                    unit: "a.service".into(),
                },
                ended_at: Some(7),
            }],
            announced_boot: Some("b".into()),
            last_report: Some(4),
            clean_stop: Some(CleanStop {
                boot_id: "b".into(),
                at: 8,
            }),
            reminded: [("RAM_HIGH".to_string(), 2)].into(),
            flaps: [(
                "CPU_HIGH".to_string(),
                Flap {
                    changes: vec![1, 2],
                    active: true,
                    flapping: Some(5),
                },
            )]
            .into(),
        };
        let json = serde_json::to_string(&st).unwrap();
        assert!(json.contains(r#""change":"cleared""#), "{json}");
        assert!(
            json.contains(r#""job":"svc_restart","unit":"a.service""#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<NoticeState>(&json).unwrap(), st);
    }
}
