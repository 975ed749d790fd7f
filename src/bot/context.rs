//! Where a command may come from: a private chat, or the one group named by
//! `ADMIN_CHAT_ID`; never a forwarded message; never a command addressed to
//! another bot (`/status@OtherBot`). Pure, so every rule is tested with values.

/// The facts about one incoming update that decide whether it is ours to act on.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// The chat is a one-to-one chat with the bot.
    pub private: bool,
    /// The chat's id.
    pub chat_id: i64,
    /// The message was forwarded (it carries someone else's words, maybe an old command).
    pub forwarded: bool,
    /// The message text (empty for a button press).
    pub text: &'a str,
}

/// What to do with the update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Ours: go on to the admin check and the router.
    Take,
    /// A group or channel that is not `ADMIN_CHAT_ID`: ignored, nothing said there.
    WrongChat,
    /// A forwarded message: never executed; the sender is told why.
    Forwarded,
    /// `/cmd@someone_else`: meant for another bot in the same group; ignored.
    OtherBot,
}

/// The bot a `/command@name` line is addressed to, if it names one.
pub fn addressee(text: &str) -> Option<&str> {
    let rest = text.trim_start().strip_prefix('/')?;
    let head = rest.split(char::is_whitespace).next().unwrap_or("");
    head.split_once('@').map(|(_, bot)| bot)
}

/// Decides whether an update is taken. `me` is the bot's own username once
/// `getMe` has answered; until then a command addressed to any bot by name is
/// ignored (failing closed costs a retry, acting on another bot's command could
/// stop a service).
pub fn judge(o: Origin<'_>, admin_chat: Option<i64>, me: Option<&str>) -> Verdict {
    if !o.private && admin_chat != Some(o.chat_id) {
        return Verdict::WrongChat;
    }
    if o.forwarded {
        return Verdict::Forwarded;
    }
    match addressee(o.text) {
        Some(name) if me.is_none_or(|me| !me.eq_ignore_ascii_case(name)) => Verdict::OtherBot,
        _ => Verdict::Take,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn private(text: &str) -> Origin<'_> {
        Origin {
            private: true,
            chat_id: 42,
            forwarded: false,
            text,
        }
    }

    #[test]
    fn a_private_command_is_taken() {
        assert_eq!(
            judge(private("/status"), None, Some("potion_bot")),
            Verdict::Take
        );
        assert_eq!(judge(private("halo"), None, None), Verdict::Take);
        assert_eq!(judge(private(""), None, None), Verdict::Take);
    }

    #[test]
    fn a_group_is_taken_only_when_it_is_the_admin_chat() {
        let group = Origin {
            private: false,
            chat_id: -100,
            ..private("/status")
        };
        assert_eq!(judge(group, None, None), Verdict::WrongChat);
        assert_eq!(judge(group, Some(-5), None), Verdict::WrongChat);
        assert_eq!(judge(group, Some(-100), None), Verdict::Take);
    }

    #[test]
    fn a_forwarded_command_is_never_taken() {
        let fwd = Origin {
            forwarded: true,
            ..private("/svc_add x")
        };
        assert_eq!(judge(fwd, None, Some("potion_bot")), Verdict::Forwarded);
    }

    #[test]
    fn a_command_for_another_bot_is_ignored() {
        let me = Some("Potion_Bot");
        assert_eq!(
            judge(private("/svc_list@SomeOtherBot"), None, me),
            Verdict::OtherBot
        );
        assert_eq!(
            judge(private("/svc_list@potion_bot"), None, me),
            Verdict::Take
        );
        assert_eq!(
            judge(private("/svc_list@potion_bot x"), None, me),
            Verdict::Take
        );
        // Our name is not known yet: an addressed command waits for it.
        assert_eq!(
            judge(private("/status@potion_bot"), None, None),
            Verdict::OtherBot
        );
    }

    #[test]
    fn addressee_reads_only_the_command_word() {
        assert_eq!(addressee("/a@b c@d"), Some("b"));
        assert_eq!(addressee("/a c@d"), None);
        assert_eq!(addressee("mail me@x"), None);
    }
}
