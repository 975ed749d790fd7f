//! Shared harness for the binary-level tests: temp dirs, a scrubbed
//! environment, and helpers to run the real binaries.
#![allow(dead_code, clippy::disallowed_methods)] // tests spawn the binaries under test directly

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh temp folder with `state/`, `logs/` and an `.env` builder.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("temp dir");
        for d in ["app", "app/state", "app/logs"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        Sandbox { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn app_dir(&self) -> PathBuf {
        self.path().join("app")
    }

    pub fn state_dir(&self) -> PathBuf {
        self.app_dir().join("state")
    }

    pub fn log_dir(&self) -> PathBuf {
        self.app_dir().join("logs")
    }

    /// Writes `app/.env` with `APP_DIR` set to the sandbox plus `extra`
    /// lines; returns its path. System keys go to `system.env` instead (see
    /// [`Sandbox::system_env`]), as on an installed machine.
    pub fn write_env(&self, extra: &str) -> PathBuf {
        let text = format!(
            "APP_DIR={}\nDATA_MOUNT={}\n{extra}\n",
            self.app_dir().display(),
            self.path().join("no-data-disk").display()
        );
        let (system, prefs): (Vec<&str>, Vec<&str>) = text.lines().partition(|l| {
            l.split_once('=').is_some_and(|(k, _)| {
                potion_runner::config::class_of(k.trim())
                    == Some(potion_runner::config::Class::System)
            })
        });
        std::fs::write(self.system_env(), system.join("\n") + "\n").unwrap();
        let p = self.app_dir().join(".env");
        std::fs::write(&p, prefs.join("\n") + "\n").unwrap();
        p
    }

    /// The sandbox's `system.env`, which [`Sandbox::cmd`] names in `$POTION_SYSTEM_ENV`.
    pub fn system_env(&self) -> PathBuf {
        self.path().join("system.env")
    }

    /// A command for one of the crate's binaries with the user's environment scrubbed
    /// (only PATH and HOME survive), so a developer's own `.env` or `POTION_*` never leaks in.
    pub fn cmd(&self, bin_path: &str) -> Command {
        let mut c = Command::new(bin_path);
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.path())
            .env(potion_runner::config::SYSTEM_ENV_VAR, self.system_env())
            .current_dir(self.path());
        c
    }
}

/// Runs a command and returns its output, panicking with stderr when it could not start.
pub fn run(mut c: Command) -> Output {
    c.output().expect("binary runs")
}

/// True when the tests run as root (systemd and sudo suites need it).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}
