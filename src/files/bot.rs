//! The bot's own files: the audit line in `actions.log` (`docs/contract.md` §4) and
//! `bot-state.json` (announced alerts, mutes, language and the unsent-message outbox).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::HasSchema;

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
