//! Logging setup: journald when `$JOURNAL_STREAM` says stderr is the journal,
//! else plain lines on stderr. `POTION_LOG` (error, warn, info, debug) sets the level.

use std::io::Write;

use log::{LevelFilter, Log, Metadata, Record};

struct StderrLogger {
    name: &'static str,
}

impl Log for StderrLogger {
    fn enabled(&self, m: &Metadata) -> bool {
        m.level() <= log::max_level()
    }

    fn log(&self, r: &Record) {
        if self.enabled(r.metadata()) {
            let _ = writeln!(
                std::io::stderr().lock(),
                "{}: {}: {}",
                self.name,
                r.level().as_str().to_ascii_lowercase(),
                r.args()
            );
        }
    }

    fn flush(&self) {}
}

fn level_from_env() -> LevelFilter {
    match std::env::var("POTION_LOG").as_deref() {
        Ok("error") => LevelFilter::Error,
        Ok("warn") => LevelFilter::Warn,
        Ok("debug") => LevelFilter::Debug,
        Ok("trace") => LevelFilter::Trace,
        _ => LevelFilter::Info,
    }
}

/// Installs the logger once per process. Falls back to stderr when journald
/// is not reachable (containers, CI), so logging never stops a job.
pub fn init(name: &'static str) {
    log::set_max_level(level_from_env());
    if std::env::var_os("JOURNAL_STREAM").is_some()
        && let Ok(j) = systemd_journal_logger::JournalLog::new()
        && j.with_syslog_identifier(name.to_string()).install().is_ok()
    {
        return;
    }
    let _ = log::set_boxed_logger(Box::new(StderrLogger { name }));
}
