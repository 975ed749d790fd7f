//! Checks of command arguments the planner shares with the button parser:
//! `/set_threshold` values and the alert codes `/alert_disable` and the mute
//! buttons take. A refusal is an [`ArgError`]: a kind plus the value.

use crate::alert_code::{AlertCode, Subject};
use crate::metric::Metric;
use crate::validate;

/// Why a command's argument was refused: a kind plus the value, so the
/// reply can name what was wrong in the owner's language
/// (`i18n::errors`; the English `Display` is for logs and audit).
#[derive(Debug, Clone, PartialEq)]
pub enum ArgError {
    /// A validator's refusal (unit name, number, time, …).
    Invalid(validate::Invalid),
    UnknownMetric(crate::metric::UnknownMetric),
    /// A metric without a threshold (e.g. `load`).
    NoThreshold(Metric),
    UnknownCode(String),
    /// A `DISK_SMART:`/`PROBE_DOWN:` subject that is no disk or probe name.
    NotSubjectName(String),
    /// A subject on a code that takes none.
    TakesNoSubject(AlertCode),
    /// Not a whole number of minutes from 0 to `max`.
    NotMinutes {
        value: String,
        max: u64,
    },
}

impl std::fmt::Display for ArgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ArgError::Invalid(e) => e.fmt(f),
            ArgError::UnknownMetric(e) => e.fmt(f),
            ArgError::NoThreshold(m) => write!(f, "{} has no threshold", m.name()),
            ArgError::UnknownCode(raw) => {
                let names: Vec<_> = AlertCode::ALL.iter().map(|c| c.as_str()).collect();
                write!(
                    f,
                    "unknown alert code {raw:?}; use one of {}",
                    names.join(", ")
                )
            }
            ArgError::NotSubjectName(s) => write!(f, "{s:?} is not a disk or probe name"),
            ArgError::TakesNoSubject(c) => write!(f, "{c} takes no unit"),
            ArgError::NotMinutes { value, max } => {
                write!(
                    f,
                    "{value:?} must be a whole number of minutes from 0 to {max}"
                )
            }
        }
    }
}

/// `/set_threshold <metric> <value>`, validated: the `.env` key, the
/// metric and the value.
pub(super) fn threshold(
    metric: &str,
    value: &str,
) -> Result<(&'static str, Metric, f64), ArgError> {
    let metric = Metric::parse_thresholded(metric).map_err(ArgError::UnknownMetric)?;
    let key = metric.env_key().ok_or(ArgError::NoThreshold(metric))?;
    let value = validate::threshold(metric, value).map_err(ArgError::Invalid)?;
    Ok((key, metric, value))
}

/// Normalises an alert code typed by a user; `SERVICE_DOWN:unit` is accepted too.
pub fn alert_code(raw: &str) -> Result<String, ArgError> {
    let up = raw.trim();
    let (base, subject) = match up.split_once(':') {
        Some((b, u)) => (b.to_ascii_uppercase(), Some(u)),
        None => (up.to_ascii_uppercase(), None),
    };
    let Some(code) = AlertCode::parse(&base) else {
        return Err(ArgError::UnknownCode(raw.to_string()));
    };
    match (subject, code.subject()) {
        (None, _) => Ok(base),
        (Some(u), Some(Subject::Unit)) => {
            Ok(code.with(&validate::unit_name(u).map_err(ArgError::Invalid)?))
        }
        (Some(s), Some(Subject::Disk | Subject::Probe)) => {
            let word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
            if s.is_empty() || s.len() > 32 || !s.chars().all(word) {
                return Err(ArgError::NotSubjectName(s.to_string()));
            }
            Ok(code.with(s))
        }
        (Some(_), None) => Err(ArgError::TakesNoSubject(code)),
    }
}
