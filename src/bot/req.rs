//! One request: who asked, in which chat, through which bot, with the bot's
//! shared state. Every feature (core commands, ops, restore, charts) gets a
//! `&Req` and answers through it, so replies, edits, documents and audit lines
//! all go the same way.

use std::sync::Arc;

use teloxide::RequestError;
use teloxide::prelude::*;
use teloxide::types::{MessageId, ReplyMarkup, User};

use super::i18n::Texts;
use super::send;
use super::{AuditResult, Shared};
use crate::config::Lang;

/// Who asked, and where to answer.
#[derive(Clone)]
pub struct Req {
    pub bot: Bot,
    pub shared: Arc<Shared>,
    pub chat: ChatId,
    pub user: User,
}

impl Req {
    pub fn lang(&self) -> Lang {
        self.shared.lang()
    }

    pub fn texts(&self) -> &'static Texts {
        self.shared.texts()
    }

    pub fn user_id(&self) -> u64 {
        self.user.id.0
    }

    /// A reply (split or sent as a document when very long).
    pub async fn reply(&self, html: &str) -> Result<(), RequestError> {
        send::reply(&self.bot, self.chat, html).await
    }

    /// One message with optional markup; its id for later edits.
    pub async fn send(
        &self,
        html: &str,
        markup: Option<ReplyMarkup>,
    ) -> Result<Message, RequestError> {
        send::send(&self.bot, self.chat, html, markup).await
    }

    pub async fn edit(&self, id: MessageId, html: &str) -> Result<(), RequestError> {
        send::edit(&self.bot, self.chat, id, html).await
    }

    pub async fn edit_markup(
        &self,
        id: MessageId,
        html: &str,
        markup: Option<ReplyMarkup>,
    ) -> Result<(), RequestError> {
        send::edit_markup(&self.bot, self.chat, id, html, markup).await
    }

    pub async fn document(&self, name: &str, bytes: Vec<u8>, caption: &str) {
        send::document(&self.bot, self.chat, name, bytes, caption).await
    }

    /// The one audit line of this request.
    pub fn audit(&self, action: &str, args: &str, result: &AuditResult) {
        self.shared.audit(&self.user, action, args, result);
    }
}

/// The audit result, or why the reply did not go out.
pub fn replied(r: Result<(), RequestError>, result: AuditResult) -> AuditResult {
    match r {
        Ok(()) => result,
        Err(e) => AuditResult::Failed(format!("reply not delivered: {e}")),
    }
}
