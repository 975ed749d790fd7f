//! The long runs a chat command starts (apt update and upgrade, pip sync,
//! git pull, the speed test): what each is called, which job slot it takes and
//! where its full output goes. The pending-question store holds them too.

use std::path::PathBuf;

use crate::chatops::jobs::JobKind;
use crate::chatops::updates::PipPlan;
use crate::config::Lang;

use super::i18n;

/// A long run, started after a Yes (or at once for the speed test).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpsJob {
    AptUpdate,
    AptUpgrade,
    Pip(PipPlan),
    Git(Vec<PathBuf>),
    Speed,
}

impl OpsJob {
    pub fn kind(&self) -> JobKind {
        match self {
            OpsJob::AptUpdate | OpsJob::AptUpgrade => JobKind::Apt,
            OpsJob::Pip(_) => JobKind::Pip,
            OpsJob::Git(_) => JobKind::Git,
            OpsJob::Speed => JobKind::Speed,
        }
    }

    /// What it does, in the reply language (HTML).
    pub fn what(&self, lang: Lang) -> String {
        let (t, o) = (i18n::texts(lang), &i18n::texts(lang).ops);
        match self {
            OpsJob::AptUpdate => t.action_apt_update.into(),
            OpsJob::AptUpgrade => t.action_apt_upgrade.into(),
            OpsJob::Pip(_) => o.what_pip.into(),
            OpsJob::Git(_) => o.what_git.into(),
            OpsJob::Speed => o.what_speed.into(),
        }
    }

    /// Name of the full-output document.
    pub fn file_name(&self) -> &'static str {
        match self {
            OpsJob::AptUpdate => "apt-update.txt",
            OpsJob::AptUpgrade => "apt-upgrade.txt",
            OpsJob::Pip(_) => "pip-sync.txt",
            OpsJob::Git(_) => "git-pull.txt",
            OpsJob::Speed => "speedtest.txt",
        }
    }

    pub fn audit_name(&self) -> &'static str {
        match self {
            OpsJob::AptUpdate => "apt update",
            OpsJob::AptUpgrade => "apt upgrade",
            OpsJob::Pip(_) => "pip sync",
            OpsJob::Git(_) => "git pull",
            OpsJob::Speed => "speed",
        }
    }
}
