//! The bot's own files: the audit line in `actions.log` (`docs/contract.md` §4) and
//! `bot-state.json` (announced alerts, mutes, language, the unsent-message outbox and
//! the alert rules' section `files::notice::NoticeState`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::HasSchema;
use super::notice::NoticeState;

/// One line of `$LOG_DIR/actions.log`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub time: String,
    pub user_id: u64,
    pub username: Option<String>,
    pub action: String,
    pub arguments: String,
    /// `ok`, `denied` or `failed: …`.
    pub result: String,
}

/// `$STATE_DIR/bot-state.json`: everything the bot must remember across restarts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BotState {
    pub schema: u32,
    /// Alert codes already announced as firing, with the time they were announced.
    #[serde(default)]
    pub announced: BTreeMap<String, String>,
    /// Muted alert codes and when the mute ends (RFC 3339).
    #[serde(default)]
    pub mutes: BTreeMap<String, String>,
    /// Language chosen with `/lang`, overriding `BOT_LANG`.
    #[serde(default)]
    pub lang: Option<String>,
    /// Messages decided but not yet delivered, oldest first.
    #[serde(default)]
    pub outbox: Vec<OutboxItem>,
    #[serde(default)]
    pub next_seq: u64,
    /// When the last daily digest was queued (unix seconds); none yet when absent.
    #[serde(default)]
    pub digest_sent: Option<i64>,
    /// Packages waiting for `apt upgrade` as of the last successful
    /// `/apt_update` (0 after a successful upgrade); none until one ran.
    #[serde(default)]
    pub pending_updates: Option<PendingUpdates>,
    /// What the alert rules of `docs/alerts.md` remember (quiet hours, leases,
    /// reminders, flapping, the announced boot), written in the same atomic
    /// write as the outbox and the announced set.
    #[serde(default)]
    pub notice: NoticeState,
    /// The latest message sent about each alert code, per chat, so a flapping
    /// code's message can be edited in place.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sent: BTreeMap<String, Vec<SentMessage>>,
    /// What the staged power response did in the current stretch on battery
    /// (`health::stage::Memory`), so a restart repeats no step.
    #[serde(default)]
    pub power_stage: PowerStage,
}

/// `health::stage::Memory` as kept in `bot-state.json` (times in RFC 3339).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PowerStage {
    pub episode: Option<String>,
    pub shed_announced_at: Option<String>,
    pub shed_done: bool,
    pub off_announced_at: Option<String>,
    pub off_requested: bool,
}

/// A message Telegram accepted, as far as editing it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentMessage {
    pub chat_id: i64,
    pub message_id: i32,
    /// A photo with a caption (edited as a caption), not a text message.
    #[serde(default)]
    pub photo: bool,
}

/// How many packages `apt` could upgrade, and when that was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingUpdates {
    pub count: u32,
    /// Unix seconds.
    pub checked_at: i64,
}

impl Default for BotState {
    fn default() -> Self {
        BotState {
            schema: super::SCHEMA,
            announced: BTreeMap::new(),
            mutes: BTreeMap::new(),
            lang: None,
            outbox: Vec::new(),
            next_seq: 1,
            digest_sent: None,
            pending_updates: None,
            notice: NoticeState::default(),
            sent: BTreeMap::new(),
            power_stage: PowerStage::default(),
        }
    }
}

impl HasSchema for BotState {
    fn schema(&self) -> u32 {
        self.schema
    }
}

/// One unsent message (HTML text) for one chat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxItem {
    pub seq: u64,
    pub chat_id: i64,
    pub html: String,
    /// Inline buttons, one row: (label, callback data).
    #[serde(default)]
    pub buttons: Vec<(String, String)>,
    /// A chart to render at send time and send as a photo with `html` as its
    /// caption (the chart's own min/avg/max line when `html` is empty). Kept
    /// as a reference rather than PNG bytes so the state file stays small.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<OutboxChart>,
    /// The alert code the message is about; once sent, its message id is kept in `BotState::sent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Edit the code's latest message in this chat rather than send a new one
    /// (a new message when none is known or the edit is refused).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub edit: bool,
}

/// Which chart an outbox item carries: `metric` (a `chart::Metric` name) over
/// the `hours` ending at `to` (unix seconds, when the message was decided).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxChart {
    pub metric: String,
    pub hours: u32,
    pub to: i64,
    /// The small alert size rather than the full one.
    #[serde(default)]
    pub small: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_file_from_before_pending_updates_loads_and_the_count_round_trips() {
        let old = r#"{"schema":1,"lang":"en","next_seq":4,"digest_sent":5}"#;
        let st: BotState = serde_json::from_str(old).unwrap();
        assert_eq!((st.pending_updates, st.next_seq), (None, 4));
        let mut st = st;
        st.pending_updates = Some(PendingUpdates {
            count: 2,
            checked_at: 7,
        });
        let json = serde_json::to_string(&st).unwrap();
        assert!(
            json.contains(r#""pending_updates":{"count":2,"checked_at":7}"#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<BotState>(&json).unwrap(), st);
    }
}
