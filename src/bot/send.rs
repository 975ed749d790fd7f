//! Sending to Telegram: replies (split on line boundaries, or as a document
//! when very long), rate-limit retries, and the persisted outbox sender that
//! delivers alerts in order across 429s, outages and restarts. Every text
//! passes `redact::redact` here, so a token quoted anywhere never leaves.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use teloxide::prelude::*;
use teloxide::types::{
    InlineKeyboardButton, InlineKeyboardMarkup, InputFile, MessageId, ParseMode, ReplyMarkup,
};
use teloxide::{ApiError, RequestError};

use crate::redact::redact;

use super::text::{MESSAGE_LIMIT, split_lines};
use super::{Shared, lock};

/// More chunks than this and a reply goes out as a document instead.
const MAX_CHUNKS: usize = 4;
/// Attempts for an interactive reply before giving up.
const REPLY_ATTEMPTS: u32 = 4;

/// Retries a request on 429 (after `retry_after`) and on network errors.
pub async fn retrying<T, F, Fut>(mut f: F) -> Result<T, RequestError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, RequestError>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match f().await {
            Err(RequestError::RetryAfter(s)) if attempt < REPLY_ATTEMPTS => {
                tokio::time::sleep(s.duration()).await
            }
            Err(RequestError::Network(_)) if attempt < REPLY_ATTEMPTS => {
                tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await
            }
            r => return r,
        }
    }
}

/// One row of inline buttons.
pub fn inline_row(buttons: &[(String, String)]) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new([buttons
        .iter()
        .map(|(label, data)| InlineKeyboardButton::callback(label.clone(), data.clone()))
        .collect::<Vec<_>>()])
}

/// Sends one HTML message with optional markup. Should Telegram refuse the
/// markup (a split cut through a tag), the text goes again as plain text
/// rather than not at all.
pub async fn send(
    bot: &Bot,
    chat: ChatId,
    html: &str,
    markup: Option<ReplyMarkup>,
) -> Result<Message, RequestError> {
    let html = &*redact(html);
    let r = retrying(|| {
        let mut req = bot.send_message(chat, html).parse_mode(ParseMode::Html);
        if let Some(m) = markup.clone() {
            req = req.reply_markup(m);
        }
        req.send()
    })
    .await;
    match r {
        Err(RequestError::Api(ApiError::CantParseEntities(e))) => {
            log::warn!("Telegram refused our HTML ({e}); sending plain text");
            let plain = strip_html(html);
            retrying(|| {
                let mut req = bot.send_message(chat, &plain);
                if let Some(m) = markup.clone() {
                    req = req.reply_markup(m);
                }
                req.send()
            })
            .await
        }
        r => r,
    }
}

/// Replaces the text (and drops the buttons) of a message the bot sent.
pub async fn edit(bot: &Bot, chat: ChatId, id: MessageId, html: &str) -> Result<(), RequestError> {
    let html = &*redact(html);
    retrying(|| {
        bot.edit_message_text(chat, id, html)
            .parse_mode(ParseMode::Html)
            .send()
    })
    .await
    .map(|_| ())
}

/// Replies with `html`, split on line boundaries; a very long reply becomes a document.
pub async fn reply(bot: &Bot, chat: ChatId, html: &str) -> Result<(), RequestError> {
    let chunks = split_lines(html, MESSAGE_LIMIT);
    if chunks.len() > MAX_CHUNKS {
        let plain = redact(&strip_html(html)).into_owned().into_bytes();
        retrying(|| {
            bot.send_document(
                chat,
                InputFile::memory(plain.clone()).file_name("reply.txt"),
            )
            .send()
        })
        .await?;
        return Ok(());
    }
    for c in chunks {
        send(bot, chat, &c, None).await?;
    }
    Ok(())
}

/// Plain text from our own HTML (tags dropped, entities decoded), for documents.
pub fn strip_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

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
pub(super) fn tell_ignored(shared: &super::Shared) {
    let ignored = shared.config().ignored;
    if ignored.is_empty() {
        return;
    }
    let list: Vec<String> = ignored
        .iter()
        .map(|i| {
            let reason = i.reason(shared.lang());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_our_html() {
        assert_eq!(strip_html("<b>a &lt;b&gt;</b> &amp; c"), "a <b> & c");
    }

    #[test]
    fn buttons_form_one_row() {
        let m = inline_row(&[("A".into(), "a".into()), ("B".into(), "b".into())]);
        assert_eq!(m.inline_keyboard.len(), 1);
        assert_eq!(m.inline_keyboard[0].len(), 2);
    }
}
