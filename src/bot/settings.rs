//! Saving one preference from chat (`/set_threshold`, `/set_backup`,
//! `/svc_add`, …): the edited `.env` must load as it is, and the bot runs on
//! the config that load returns.

use super::plan::Setting;
use super::text::{esc, fill};
use super::{AuditResult, Shared, lock};

/// Saves one preference through `config::save_preference` (the edited
/// `.env` must load as it is) and runs on the config it returns.
pub fn save_setting(shared: &Shared, s: &Setting) -> (String, AuditResult) {
    let t = shared.texts();
    match crate::config::save_preference(&shared.config(), s.env_key(), &s.env_value()) {
        Ok(new) => {
            *lock(&shared.cfg) = new;
            (s.done_text(t), AuditResult::Ok)
        }
        Err(crate::config::SaveError::NoEnvFile) => (
            t.env_missing.to_string(),
            AuditResult::Failed("no .env file".into()),
        ),
        Err(e @ crate::config::SaveError::Invalid(_)) => (
            fill(t.env_failed, &[("err", &esc(&e.render(shared.lang())))]),
            AuditResult::Failed(e.to_string()),
        ),
        Err(e) => {
            log::error!("saving {}: {e:#}", s.env_key());
            (
                t.errors.internal.to_string(),
                AuditResult::Failed(e.to_string()),
            )
        }
    }
}
