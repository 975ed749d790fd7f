//! Sending to Telegram: replies (split on line boundaries, or as a document
//! when very long), edits, documents and rate-limit retries. A leaf: it knows
//! no bot state. Every text passes `redact::redact` here, so a token quoted
//! anywhere never leaves.

use std::future::Future;
use std::time::Duration;

use teloxide::prelude::*;
use teloxide::types::{
    InlineKeyboardButton, InlineKeyboardMarkup, InputFile, MessageId, ParseMode, ReplyMarkup,
};
use teloxide::{ApiError, RequestError};

use crate::redact::redact;

use super::text::{MESSAGE_LIMIT, split_lines};

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
    edit_markup(bot, chat, id, html, None).await
}

/// Edits a message's text and puts these buttons under it (`None` keeps none).
pub async fn edit_markup(
    bot: &Bot,
    chat: ChatId,
    id: MessageId,
    html: &str,
    markup: Option<ReplyMarkup>,
) -> Result<(), RequestError> {
    let html = &*redact(html);
    let buttons = match markup {
        Some(ReplyMarkup::InlineKeyboard(k)) => Some(k),
        _ => None,
    };
    retrying(|| {
        let mut req = bot
            .edit_message_text(chat, id, html)
            .parse_mode(ParseMode::Html);
        if let Some(k) = buttons.clone() {
            req = req.reply_markup(k);
        }
        req.send()
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

/// Sends a file (program output, a log) with an HTML caption; a token quoted
/// anywhere in it is redacted first. A failure is logged, not returned: the
/// summary the file belongs to has already gone out.
pub async fn document(bot: &Bot, chat: ChatId, name: &str, bytes: Vec<u8>, caption: &str) {
    let bytes = match redact(&String::from_utf8_lossy(&bytes)) {
        std::borrow::Cow::Owned(clean) => clean.into_bytes(),
        std::borrow::Cow::Borrowed(_) => bytes,
    };
    let caption = redact(caption).into_owned();
    let r = retrying(|| {
        bot.send_document(
            chat,
            InputFile::memory(bytes.clone()).file_name(name.to_string()),
        )
        .caption(caption.clone())
        .parse_mode(ParseMode::Html)
        .send()
    })
    .await;
    if let Err(e) = r {
        log::warn!("sending {name}: {e}");
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
