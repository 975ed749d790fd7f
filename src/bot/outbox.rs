//! The persisted outbox: alerts, digests and notices queued in
//! `bot-state.json` are delivered here oldest first, across 429s, outages and
//! restarts; an item leaves only after Telegram accepted it. An item about an
//! alert code records the id of the message it became (`BotState::sent`), so a
//! later item marked `edit` (a flapping code) edits that message in place.

use std::sync::Arc;
use std::time::Duration;

use teloxide::RequestError;
use teloxide::prelude::*;
use teloxide::types::{MessageId, ParseMode};

use crate::files::bot::{OutboxItem, SentMessage};

use super::send::inline_row;
use super::{Shared, lock};

/// Delivers the outbox oldest first. An item leaves the outbox only after
/// Telegram accepted it; 429s wait `retry_after`, outages back off.
pub async fn run_outbox(bot: Bot, shared: Arc<Shared>) {
    let mut backoff = Duration::from_millis(250);
    let mut api_failures = 0u32;
    loop {
        let next = lock(&shared.state).outbox.first().cloned();
        let Some(item) = next else {
            shared.outbox_wake.notified().await;
            continue;
        };
        let sent = deliver(&bot, &shared, &item, api_failures > 0).await;
        let mut record = None;
        let done = match sent {
            Ok(m) => {
                record = m;
                true
            }
            Err(RequestError::RetryAfter(s)) => {
                log::warn!("outbox: rate limited, waiting {} s", s.seconds());
                tokio::time::sleep(s.duration()).await;
                false
            }
            Err(e @ (RequestError::Api(_) | RequestError::MigrateToChatId(_))) => {
                // Telegram refused this message itself; after a few tries it is
                // dropped so one bad message cannot block every later alert.
                api_failures += 1;
                log::warn!("outbox: message {} refused: {e}", item.seq);
                if api_failures >= 3 {
                    log::error!(
                        "outbox: dropping message {} after {api_failures} refusals",
                        item.seq
                    );
                    true
                } else {
                    tokio::time::sleep(backoff).await;
                    false
                }
            }
            Err(e) => {
                log::warn!("outbox: {e}; retrying in {} ms", backoff.as_millis());
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(super::MAX_BACKOFF);
                false
            }
        };
        if done {
            backoff = Duration::from_millis(250);
            api_failures = 0;
            // Removed from memory even if the file cannot be written, so a
            // full disk does not make the same message go out again and again.
            let r = shared.update_state(|st| {
                st.outbox.retain(|i| i.seq != item.seq);
                if let (Some(code), Some(m)) = (&item.code, record) {
                    let sent = st.sent.entry(code.clone()).or_default();
                    sent.retain(|s| s.chat_id != m.chat_id);
                    sent.push(m);
                }
            });
            if let Err(e) = r {
                log::error!("outbox: {e:#}");
            }
        }
    }
}

/// Sends one item, or edits the message it replaces; returns the message to
/// remember for its alert code. A refused edit (the message is gone, or too
/// old) becomes a new message.
async fn deliver(
    bot: &Bot,
    shared: &Arc<Shared>,
    item: &OutboxItem,
    text_only: bool,
) -> Result<Option<SentMessage>, RequestError> {
    let target = item
        .code
        .as_ref()
        .filter(|_| item.edit)
        .and_then(|c| lock(&shared.state).sent.get(c).cloned())
        .and_then(|v| v.into_iter().find(|s| s.chat_id == item.chat_id));
    if let Some(m) = target {
        let (chat, id) = (ChatId(m.chat_id), MessageId(m.message_id));
        let html = crate::redact::redact(&item.html);
        let edited = if m.photo {
            let req = bot.edit_message_caption(chat, id).caption(html);
            req.parse_mode(ParseMode::Html).send().await.map(|_| ())
        } else {
            let req = bot.edit_message_text(chat, id, html);
            req.parse_mode(ParseMode::Html).send().await.map(|_| ())
        };
        match edited {
            Ok(()) => return Ok(Some(m)),
            Err(RequestError::Api(e)) => log::info!("outbox: edit refused ({e}); sending anew"),
            Err(e) => return Err(e),
        }
    }
    let sent = match &item.chart {
        Some(c) => super::charts::send_outbox_chart(bot, shared, item, c, text_only).await?,
        None => {
            let mut req = bot
                .send_message(ChatId(item.chat_id), crate::redact::redact(&item.html))
                .parse_mode(ParseMode::Html);
            if !item.buttons.is_empty() {
                req = req.reply_markup(inline_row(&item.buttons));
            }
            Some(req.send().await?)
        }
    };
    Ok(sent.map(|m| SentMessage {
        chat_id: item.chat_id,
        message_id: m.id.0,
        photo: m.photo().is_some(),
    }))
}

/// Tells the admins, once per start, which preferences loading ignored and
/// why (the bot runs on their last good or default values).
pub(super) fn tell_ignored(shared: &Shared) {
    let ignored = shared.config().ignored;
    if ignored.is_empty() {
        return;
    }
    let list: Vec<String> = ignored
        .iter()
        .map(|i| {
            let reason = i.reason(shared.lang());
            let reason = crate::redact::redact(&reason);
            format!(
                "• <code>{}</code>: {}",
                super::text::esc(&i.key),
                super::text::esc(&reason)
            )
        })
        .collect();
    let html = super::text::fill(shared.texts().prefs_ignored, &[("list", &list.join("\n"))]);
    if let Err(e) = shared.update_state(|st| shared.enqueue(st, html, Vec::new())) {
        log::warn!("telling the admins about ignored settings: {e:#}");
    }
}
