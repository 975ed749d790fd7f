//! Why the helper refused: a stable reason code beside the English
//! message, so the bot can say it in the owner's language.

/// Why the helper refused, as a stable code printed beside the English
/// reason (`reason: <code>` on stderr), so the bot can say it in the
/// owner's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasonCode {
    /// An argument failed validation (unit name, time, id, path).
    BadRequest,
    /// The unit is in [`DENYLIST`] (by name or by an alias).
    ProtectedUnit,
    /// `stop` of the bot's own unit.
    SelfStop,
    /// Not in the owner's allowlist.
    NotAllowed,
    /// The allowlist exists but cannot be trusted or read.
    AllowlistBroken,
    /// systemd knows no such unit (or it is masked).
    NoSuchUnit,
    /// The unit puts a program on a terminal (`StandardInput=tty*`).
    TtyUnit,
    /// systemd could not be asked about the unit.
    UnitUnknown,
    /// `BACKUP_DIR` is not root's alone.
    BackupDirUntrusted,
    NoSuchSnapshot,
    /// `--env`/`--system-env` under sudo.
    FlagUnderSudo,
    /// `power off` while `POWER_ACTIONS=1` is not in `system.env`.
    PowerActionsOff,
    /// `power off` while the machine is not running on its battery.
    NotOnBattery,
}

impl ReasonCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::BadRequest => "bad-request",
            ReasonCode::ProtectedUnit => "protected-unit",
            ReasonCode::SelfStop => "self-stop",
            ReasonCode::NotAllowed => "not-allowed",
            ReasonCode::AllowlistBroken => "allowlist-broken",
            ReasonCode::NoSuchUnit => "no-such-unit",
            ReasonCode::TtyUnit => "tty-unit",
            ReasonCode::UnitUnknown => "unit-unknown",
            ReasonCode::BackupDirUntrusted => "backup-dir-untrusted",
            ReasonCode::NoSuchSnapshot => "no-such-snapshot",
            ReasonCode::FlagUnderSudo => "flag-under-sudo",
            ReasonCode::PowerActionsOff => "power-actions-off",
            ReasonCode::NotOnBattery => "not-on-battery",
        }
    }
}

/// A refusal: nothing was done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ReasonCode,
    pub message: String,
}

impl Refusal {
    pub fn new(code: ReasonCode, message: impl Into<String>) -> Refusal {
        Refusal {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A validator's complaint about an argument.
impl From<String> for Refusal {
    fn from(message: String) -> Refusal {
        Refusal::new(ReasonCode::BadRequest, message)
    }
}
