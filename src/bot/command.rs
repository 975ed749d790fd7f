//! The bot's commands: the [`Command`] enum, their names in menu order and
//! [`parse`] for `/name[@bot] args`. A leaf: it knows no catalogue, no plan
//! and no Telegram, so both the catalogues and the planner can name commands.

/// Longest argument text accepted; anything longer is refused before parsing.
pub const MAX_ARGS: usize = 512;
/// How long a Yes/No confirmation stays valid.
pub const CONFIRM_TTL_S: u64 = 60;
/// Longest mute accepted by `/alert_disable` (one week).
pub const MAX_MUTE_MIN: u64 = 7 * 24 * 60;
/// Telegram's limit on callback data.
pub const CALLBACK_MAX: usize = 64;

/// Every command the bot knows (`docs/contract.md` §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    Start,
    Help,
    Status,
    Uptime,
    Alerts,
    AlertDisable,
    Quiet,
    Svc,
    SvcList,
    SvcAdd,
    SvcRemove,
    BackupNow,
    BackupList,
    BackupVerify,
    SetBackup,
    SetThreshold,
    Audit,
    Lang,
    LogRuntime,
    LogJournal,
    LogErrors,
    LogFile,
    Ip,
    Ping,
    Tailscale,
    Speed,
    AptUpdate,
    PipSync,
    GitPull,
    Chart,
    Restore,
    Smart,
    SmartAck,
}

/// Command names as typed after `/`, in menu order.
pub const COMMANDS: &[(&str, Command)] = &[
    ("start", Command::Start),
    ("status", Command::Status),
    ("alerts", Command::Alerts),
    ("uptime", Command::Uptime),
    ("svc_list", Command::SvcList),
    ("svc", Command::Svc),
    ("svc_add", Command::SvcAdd),
    ("svc_remove", Command::SvcRemove),
    ("backup_now", Command::BackupNow),
    ("backup_list", Command::BackupList),
    ("backup_verify", Command::BackupVerify),
    ("set_backup", Command::SetBackup),
    ("set_threshold", Command::SetThreshold),
    ("alert_disable", Command::AlertDisable),
    ("quiet", Command::Quiet),
    ("chart", Command::Chart),
    ("restore", Command::Restore),
    ("smart", Command::Smart),
    ("smart_ack", Command::SmartAck),
    ("log_runtime", Command::LogRuntime),
    ("log_journal", Command::LogJournal),
    ("log_errors", Command::LogErrors),
    ("log_file", Command::LogFile),
    ("ip", Command::Ip),
    ("ping", Command::Ping),
    ("tailscale", Command::Tailscale),
    ("speed", Command::Speed),
    ("apt_update", Command::AptUpdate),
    ("pip_sync", Command::PipSync),
    ("git_pull", Command::GitPull),
    ("audit", Command::Audit),
    ("lang", Command::Lang),
    ("help", Command::Help),
];

impl Command {
    pub fn name(self) -> &'static str {
        COMMANDS
            .iter()
            .find(|(_, c)| *c == self)
            .map(|(n, _)| *n)
            .expect("every command is in COMMANDS")
    }

    /// Commands served by `bot/ops/` (logs, network, updates).
    pub fn is_ops(self) -> bool {
        use Command::*;
        matches!(
            self,
            LogRuntime
                | LogJournal
                | LogErrors
                | LogFile
                | Ip
                | Ping
                | Tailscale
                | Speed
                | AptUpdate
                | PipSync
                | GitPull
        )
    }
}

/// What a chat message asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed<'a> {
    Command(Command, &'a str),
    /// Starts with `/` but names no command.
    Unknown(&'a str),
    /// Plain text that is not a menu button.
    Text,
}

/// Parses `/name[@bot] args` (main-menu labels are the catalogue's: see
/// `plan::parse_message`).
pub fn parse(text: &str) -> Parsed<'_> {
    let text = text.trim();
    let Some(rest) = text.strip_prefix('/') else {
        return Parsed::Text;
    };
    let (head, args) = match rest.find(char::is_whitespace) {
        Some(i) => (&rest[..i], rest[i..].trim()),
        None => (rest, ""),
    };
    let name = head.split('@').next().unwrap_or(head);
    match COMMANDS.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
        Some((_, c)) => Parsed::Command(*c, args),
        None => Parsed::Unknown(head),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SvcVerb {
    Start,
    Stop,
    Restart,
}

impl SvcVerb {
    pub fn parse(s: &str) -> Option<SvcVerb> {
        match s.to_ascii_lowercase().as_str() {
            "start" => Some(SvcVerb::Start),
            "stop" => Some(SvcVerb::Stop),
            "restart" => Some(SvcVerb::Restart),
            _ => None,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            SvcVerb::Start => "start",
            SvcVerb::Stop => "stop",
            SvcVerb::Restart => "restart",
        }
    }
}
