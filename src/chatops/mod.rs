//! Operations from chat (logs, network, updates; the chat commands are listed
//! in docs/contract.md) as a Telegram-free core.
//!
//! Each submodule builds the argument vectors for one concern, runs them
//! through [`Exec`] (which wraps [`process::Cmd`]), and turns the output into
//! plain values plus a text rendering. Every argument that came from chat is
//! checked here, before a process sees it, so the bot need not repeat it;
//! nothing here knows about Telegram.

pub mod fit;
pub mod jobs;
pub mod logs;
pub mod net;
pub mod refused;
pub mod settle;
pub mod updates;

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

pub use refused::Refused;

use crate::paths;
use crate::process::{Cmd, OutputTap};

/// How the programs of one request are run: which `PATH` they see, how the
/// privileged helper is reached, and (inside a job) the deadline, cancel flag
/// and live-output tap every command inherits.
#[derive(Debug, Clone)]
pub struct Exec {
    path: Option<OsString>,
    helper: Vec<OsString>,
    cancel: Option<Arc<AtomicBool>>,
    deadline: Option<Instant>,
    tap: Option<OutputTap>,
}

impl Default for Exec {
    fn default() -> Self {
        Exec::new()
    }
}

impl Exec {
    /// The bot's own `PATH`, and the helper through `sudo -n` at its installed path.
    pub fn new() -> Exec {
        Exec {
            path: None,
            helper: vec!["sudo".into(), "-n".into(), paths::HELPER_PATH.into()],
            cancel: None,
            deadline: None,
            tap: None,
        }
    }

    /// Runs programs with this `PATH` (tests put stand-ins first).
    pub fn with_path(mut self, path: impl Into<OsString>) -> Exec {
        self.path = Some(path.into());
        self
    }

    /// Reaches the privileged helper with this argument vector instead of `sudo -n /usr/libexec/potion-runner/potion-helper`.
    pub fn with_helper<I, S>(mut self, argv: I) -> Exec
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.helper = argv.into_iter().map(Into::into).collect();
        self
    }

    pub(crate) fn with_job(
        mut self,
        cancel: Arc<AtomicBool>,
        deadline: Instant,
        tap: OutputTap,
    ) -> Exec {
        self.cancel = Some(cancel);
        self.deadline = Some(deadline);
        self.tap = Some(tap);
        self
    }

    /// The directories searched for programs.
    fn search_path(&self) -> OsString {
        self.path
            .clone()
            .or_else(|| std::env::var_os("PATH"))
            .unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into())
    }

    /// Finds `program` on the `PATH` the way `execvp` would; `None` means "not installed".
    pub fn find(&self, program: &str) -> Option<PathBuf> {
        if program.contains('/') {
            let p = Path::new(program);
            return is_executable(p).then(|| p.to_path_buf());
        }
        std::env::split_paths(&self.search_path())
            .map(|d| d.join(program))
            .find(|p| is_executable(p))
    }

    /// A command for `program` with this context applied: `PATH`, cancel flag,
    /// live tap, and a timeout no later than the job's deadline.
    pub fn cmd(&self, program: impl AsRef<OsStr>, timeout: Duration) -> Cmd {
        let mut c = Cmd::new(program).timeout(self.clamp(timeout));
        if let Some(p) = &self.path {
            c = c.env("PATH", p);
        }
        if let Some(flag) = &self.cancel {
            c = c.cancel_flag(flag.clone());
        }
        if let Some(tap) = &self.tap {
            c = c.on_output(tap.clone());
        }
        c
    }

    /// A command for the privileged helper with `args` after its fixed prefix.
    pub fn helper(&self, args: &[&str], timeout: Duration) -> Cmd {
        let (program, rest) = self.helper.split_first().expect("helper argv is not empty");
        self.cmd(program, timeout).args(rest).args(args)
    }

    /// True once the job this runs in was cancelled (shutdown): stop starting programs.
    pub fn is_cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(std::sync::atomic::Ordering::SeqCst))
    }

    /// Writes a line into the live transcript (e.g. which command starts next).
    pub fn note(&self, line: &str) {
        if let Some(tap) = &self.tap {
            tap.call(format!("{line}\n").as_bytes());
        }
    }

    fn clamp(&self, timeout: Duration) -> Duration {
        match self.deadline {
            Some(d) => timeout.min(d.saturating_duration_since(Instant::now())),
            None => timeout,
        }
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_respects_the_given_path() {
        let dir = tempfile::tempdir().unwrap();
        let exec = Exec::new().with_path(dir.path());
        assert!(exec.find("ls").is_none(), "only the given PATH is searched");
        let stub = dir.path().join("ls");
        std::fs::write(&stub, "#!/bin/true\n").unwrap();
        assert!(exec.find("ls").is_none(), "not executable yet");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(exec.find("ls").unwrap(), stub);
        assert!(Exec::new().find("ls").is_some());
    }

    #[test]
    fn helper_prefix_comes_first() {
        let c = Exec::new().helper(&["apt", "update"], Duration::from_secs(1));
        assert_eq!(
            c.display(),
            "sudo -n /usr/libexec/potion-runner/potion-helper apt update"
        );
    }

    #[test]
    fn deadline_caps_the_timeout() {
        let exec = Exec::new().with_job(
            Arc::new(AtomicBool::new(false)),
            Instant::now(),
            OutputTap::new(|_| {}),
        );
        let out = exec
            .cmd("sleep", Duration::from_secs(30))
            .arg("5")
            .run()
            .unwrap();
        assert!(out.timed_out);
    }
}
