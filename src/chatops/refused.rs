//! Why a chat operation was refused before anything ran: a kind plus the
//! values it was about, so the bot can say it in the owner's language.
//!
//! Every checker the bot calls while planning (`PingTarget::parse`,
//! `logs::allowed_unit`, `logs::log_file`, `updates::pip_plan`, …) returns a
//! [`Refused`]; running an already checked request fails only with
//! `anyhow::Error`. So refusal and failure are told apart by which step
//! returned them. The `Display` here is English, for logs and the audit
//! line; the bot says each kind from its catalogue (`bot/i18n/errors.rs`).

use std::fmt;
use std::path::PathBuf;

use crate::validate::Invalid;

use super::logs::MAX_SINCE_DAYS;

/// A request from chat that was refused; nothing ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// A host or unit name that fails validation.
    Invalid(Invalid),
    /// A valid unit that is neither in `SERVICES` nor the bot's own.
    UnitNotListed {
        unit: String,
    },
    /// A line count that is not a number.
    NotLines {
        value: String,
    },
    /// Not a span like `30m`, `2d`, `today`.
    NotSpan {
        value: String,
    },
    /// A span of zero.
    EmptySpan {
        value: String,
    },
    /// Further back than [`MAX_SINCE_DAYS`].
    SpanTooLong {
        value: String,
    },
    /// A log name with a path in it.
    LogIsPath {
        name: String,
    },
    /// A log name that is not `actions.log` or one of its rotations.
    LogNotSendable {
        name: String,
    },
    /// The log does not exist (yet).
    LogMissing {
        name: String,
        dir: PathBuf,
    },
    /// The log's metadata cannot be read; `cause` is the system's reason.
    LogUnreadable {
        path: PathBuf,
        cause: String,
    },
    /// The log is a symlink, folder or other non-plain file.
    LogNotFile {
        path: PathBuf,
    },
    /// The log is over Telegram's document limit.
    LogTooBig {
        name: String,
        megabytes: u64,
    },
    /// `UPDATE_PIP_VENV` or `UPDATE_PIP_REQUIREMENTS` is not set.
    PipNotConfigured,
    PipVenvNotFolder {
        venv: PathBuf,
    },
    PipVenvWithoutPip {
        venv: PathBuf,
    },
    PipRequirementsMissing {
        requirements: PathBuf,
    },
    /// `UPDATE_GIT_REPOS` is empty.
    GitNotConfigured,
}

impl From<Invalid> for Refused {
    fn from(e: Invalid) -> Refused {
        Refused::Invalid(e)
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Refused::*;
        match self {
            Invalid(e) => e.fmt(f),
            UnitNotListed { unit } => write!(
                f,
                "{unit} is not in SERVICES; its journal is not shown from chat (add it with /svc_add first)"
            ),
            NotLines { value } => {
                write!(f, "{value:?} is not a number of lines; use e.g. 100")
            }
            NotSpan { value } => write!(
                f,
                "{value:?} is not a time span; use e.g. 30m, 1h, 2d, 1w, today or yesterday"
            ),
            EmptySpan { value } => write!(f, "{value:?} is an empty span; use at least 1"),
            SpanTooLong { value } => write!(
                f,
                "{value:?} goes back too far; use at most {MAX_SINCE_DAYS}d"
            ),
            LogIsPath { name } => write!(
                f,
                "{name:?} is a path; name a log file in LOG_DIR, e.g. actions.log"
            ),
            LogNotSendable { name } => write!(
                f,
                "{name:?} is not a log that can be sent; use actions.log or a rotated actions.log.N"
            ),
            LogMissing { name, dir } => {
                write!(f, "{name} does not exist in {} yet", dir.display())
            }
            LogUnreadable { path, cause } => {
                write!(f, "cannot read {}: {cause}", path.display())
            }
            LogNotFile { path } => {
                write!(f, "{} is not a plain file; it is not sent", path.display())
            }
            LogTooBig { name, megabytes } => write!(
                f,
                "{name} is {megabytes} MB, more than Telegram's 50 MB document limit"
            ),
            PipNotConfigured => f.write_str(
                "pip sync is not configured: set UPDATE_PIP_VENV and UPDATE_PIP_REQUIREMENTS in .env",
            ),
            PipVenvNotFolder { venv } => write!(
                f,
                "UPDATE_PIP_VENV {} is not a folder; create the venv with python3 -m venv",
                venv.display()
            ),
            PipVenvWithoutPip { venv } => write!(
                f,
                "{} has no bin/pip; is UPDATE_PIP_VENV a virtual environment?",
                venv.display()
            ),
            PipRequirementsMissing { requirements } => write!(
                f,
                "UPDATE_PIP_REQUIREMENTS {} does not exist",
                requirements.display()
            ),
            GitNotConfigured => {
                f.write_str("no repositories to pull: set UPDATE_GIT_REPOS in .env")
            }
        }
    }
}

impl std::error::Error for Refused {}
