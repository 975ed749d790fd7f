//! Operations commands (issue 6: logs, network, updates). A stub until that
//! issue lands: it answers that the command is not available yet.
//!
//! Interface for the replacement: [`handle`] gets the bot, the message, the
//! shared state, the command and its argument text; it replies itself and
//! returns what goes into the audit log.

use std::sync::Arc;

use teloxide::Bot;
use teloxide::types::Message;

use super::command::Command;
use super::{AuditResult, Shared};

/// Runs one operations command.
pub async fn handle(
    bot: &Bot,
    msg: &Message,
    shared: &Arc<Shared>,
    cmd: Command,
    _args: &str,
) -> AuditResult {
    super::not_available(bot, msg.chat.id, shared, cmd).await
}
