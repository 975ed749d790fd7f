//! One message edited in place while something runs (a backup, an update
//! job, a restore): shown once, edited only when its text changes, and ended
//! with the outcome, which goes out as a new message should the edit fail,
//! so the result is never lost.

use teloxide::types::MessageId;

use super::req::Req;

/// A progress message.
pub struct Progress<'a> {
    req: &'a Req,
    msg: Option<MessageId>,
    shown: String,
}

impl<'a> Progress<'a> {
    /// Progress in a message already sent (the Yes/No question becomes it).
    pub fn on(req: &'a Req, msg: MessageId) -> Progress<'a> {
        Progress {
            req,
            msg: Some(msg),
            shown: String::new(),
        }
    }

    /// Progress in a new message with `html` as its first text.
    pub async fn start(req: &'a Req, html: &str) -> Progress<'a> {
        let msg = req.send(html, None).await.ok().map(|m| m.id);
        Progress {
            req,
            msg,
            shown: html.to_string(),
        }
    }

    /// Shows `html` unless it is what the message already says.
    pub async fn show(&mut self, html: &str) {
        if html == self.shown {
            return;
        }
        if let Some(id) = self.msg
            && self.req.edit(id, html).await.is_ok()
        {
            self.shown = html.to_string();
        }
    }

    /// Ends with the outcome: an edit, or a new message when there is no
    /// message to edit or the edit fails.
    pub async fn finish(self, html: &str) {
        if html == self.shown {
            return;
        }
        let edited = match self.msg {
            Some(id) => self.req.edit(id, html).await.is_ok(),
            None => false,
        };
        if !edited {
            let _ = self.req.reply(html).await;
        }
    }
}
