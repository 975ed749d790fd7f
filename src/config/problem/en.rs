//! Settings problems in English: what is wrong, then how to fix it.

use super::{FileProblem, Problem, ProblemKind, example};
use crate::envfile::ParseErrorKind;
use crate::paths;

pub(super) fn heading(n: usize) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("{n} problem{s} in the settings (all of them below; fix them, then start again):")
}

pub(super) fn reason(p: &Problem) -> String {
    let (what, fix) = parts(p);
    match (fix.is_empty(), example(&p.key)) {
        (true, _) => what,
        (false, Some(e)) => format!("{what}. Fix: {fix}, e.g. {}={e}", p.key),
        (false, None) => format!("{what}. Fix: {fix}"),
    }
}

fn parts(p: &Problem) -> (String, &'static str) {
    use ProblemKind as K;
    let (what, fix) = match &p.kind {
        K::TokenShape => (
            "does not look like a bot token".into(),
            "copy it again from @BotFather (digits, a colon, then letters)",
        ),
        K::Required if p.key == "BOT_TOKEN" => (
            "is empty, and the bot needs it".into(),
            "ask @BotFather for a token (/newbot) and put it in .env",
        ),
        K::Required => ("is empty, and it is needed".into(), "fill it in"),
        K::AdminId => (
            "is not a Telegram user id (a positive number)".into(),
            "write numeric ids, separated by commas",
        ),
        K::ChatId => (
            "is not a Telegram chat id".into(),
            "write the group's id (it is negative)",
        ),
        K::HttpUrl => (
            "is not an http:// or https:// address".into(),
            "write the whole address",
        ),
        K::Lang => ("is not a language the bot speaks".into(), "use id or en"),
        K::NotAbsolute => ("is not an absolute path".into(), "start it with /"),
        K::DotDot => ("contains '..'".into(), "write the path without '..'"),
        K::Glob => (
            "is not a glob pattern".into(),
            "check that every [ and { is closed",
        ),
        K::Time => (
            "is not a time of day".into(),
            "write HH:MM on the 24-hour clock",
        ),
        K::WholeNumber { min, max } => (
            format!("is not a whole number from {min} to {max}"),
            "write a whole number in that range",
        ),
        K::Number { min, max } => (
            format!("is not a number from {min} to {max}"),
            "write a number in that range",
        ),
        K::Threshold { max } => (
            format!("is not a number above 0 and at most {max}"),
            "write a number in that range",
        ),
        K::BelowHysteresis { hysteresis } => (
            format!(
                "must be above ALERT_HYSTERESIS ({hysteresis}), or the alert would never clear"
            ),
            "raise it, or lower ALERT_HYSTERESIS",
        ),
        K::UnitName => (
            "is not a systemd unit name".into(),
            "use letters, digits and - _ . @ only",
        ),
        K::Host => (
            "is not a host name or IP address".into(),
            "write a name such as example.com or an address such as 1.1.1.1",
        ),
        K::Switch => (
            "is neither 0 nor 1".into(),
            "1 turns it on; 0, or leaving it out, turns it off",
        ),
        K::QuietHours => (
            "is not a time window".into(),
            "write HH:MM-HH:MM in local time (it may pass midnight), or off",
        ),
        K::AlertCodes => (
            "is not a list of alert codes".into(),
            "write codes such as DISK_ROOT_HIGH or SERVICE_DOWN:*, separated by commas",
        ),
        K::Minutes => (
            "is not a number of minutes".into(),
            "write whole minutes; 0 turns it off",
        ),
        K::ProbeUrls => (
            "is not a list of name=http://address pairs".into(),
            "separate the pairs with commas",
        ),
        K::PingUrl => (
            "is not an http:// or https:// address (the value is not shown: its path is private)"
                .into(),
            "copy the ping URL again from your monitor",
        ),
        K::SystemKeyInEnv => (
            format!(
                "is a system setting, which .env cannot change: only {} can",
                paths::SYSTEM_ENV_PATH
            ),
            "move the line there, as root",
        ),
        K::Line(kind) => (
            match kind {
                ParseErrorKind::NotKeyValue => "this line is not KEY=VALUE",
                ParseErrorKind::BadKeyName => {
                    "the key name is not valid (letters, digits and _, not starting with a digit)"
                }
                ParseErrorKind::UnterminatedQuote => "a quote is not closed",
                ParseErrorKind::TextAfterQuote => "there is text after the closing quote",
            }
            .into(),
            "correct the line, or delete it",
        ),
        K::File(f) => file(f),
        K::Unsettled => (
            "the fall-back to the last good settings did not settle".into(),
            "",
        ),
    };
    (what, fix)
}

fn file(f: &FileProblem) -> (String, &'static str) {
    match f {
        FileProblem::Symlink => (
            "is a symlink, which is not followed".into(),
            "give the file itself",
        ),
        FileProblem::NotPlain => (
            "is not a plain file with a single link".into(),
            "make it an ordinary file",
        ),
        FileProblem::TooLarge { kib } => (
            format!("is larger than {kib} KiB, which no settings file is"),
            "check that it is the right file",
        ),
        FileProblem::BadPath => (
            "is not an absolute path to a file".into(),
            "give the whole path",
        ),
        FileProblem::Untrusted { at, uid, mode } => (
            format!(
                "is not trusted: {} is owned by uid {uid} with mode {mode:o}",
                at.display()
            ),
            "it and every folder above it must be root's and writable only by root (chown root:root, chmod 644 or 755)",
        ),
        FileProblem::Missing => ("does not exist".into(), "create it, or give the right path"),
        FileProblem::Denied => (
            "cannot be read: permission denied".into(),
            "check its owner and mode",
        ),
        FileProblem::Io(e) => (
            format!("cannot be read: {e}"),
            "check the disk and the file",
        ),
    }
}
