//! The persisted outbox: alerts, digests and notices queued in
//! `bot-state.json` are delivered here oldest first, across 429s, outages and
//! restarts; an item leaves only after Telegram accepted it.

use std::sync::Arc;
use std::time::Duration;

use teloxide::RequestError;
use teloxide::prelude::*;
use teloxide::types::ParseMode;

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
        let sent = match &item.chart {
            // After a refusal the words go without the picture.
            Some(c) => {
                super::charts::send_outbox_chart(&bot, &shared, &item, c, api_failures > 0).await
            }
            None => {
                let mut req = bot
                    .send_message(ChatId(item.chat_id), &item.html)
                    .parse_mode(ParseMode::Html);
                if !item.buttons.is_empty() {
                    req = req.reply_markup(inline_row(&item.buttons));
                }
                req.send().await.map(|_| ())
            }
        };
        let done = match sent {
            Ok(()) => true,
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
            if let Err(e) = shared.update_state(|st| st.outbox.retain(|i| i.seq != item.seq)) {
                log::error!("outbox: {e:#}");
            }
        }
    }
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
