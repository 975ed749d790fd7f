//! Logging setup: journald when `$JOURNAL_STREAM` says stderr is the journal,
//! else plain lines on stderr. `POTION_LOG` (error, warn, info, debug) sets the level.
//! Every line goes through `redact::redact` first, so a token quoted in an
//! error never reaches the journal.

use std::io::Write;

use log::{LevelFilter, Log, Metadata, Record};

use crate::redact::redact;

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
                redact(&r.args().to_string())
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

/// Forwards to the journal logger with the message redacted.
struct Redacting<L>(L);

impl<L: Log> Log for Redacting<L> {
    fn enabled(&self, m: &Metadata) -> bool {
        self.0.enabled(m)
    }

    fn log(&self, r: &Record) {
        let text = r.args().to_string();
        let clean = redact(&text);
        self.0.log(
            &Record::builder()
                .metadata(r.metadata().clone())
                .args(format_args!("{clean}"))
                .module_path(r.module_path())
                .file(r.file())
                .line(r.line())
                .build(),
        );
    }

    fn flush(&self) {
        self.0.flush()
    }
}

/// Installs `inner` as the process's logger behind the redacting wrapper.
/// Every logger a binary installs goes through here or [`init`].
pub fn install_redacted<L: Log + 'static>(inner: L) -> Result<(), log::SetLoggerError> {
    log::set_boxed_logger(Box::new(Redacting(inner)))
}

/// Installs the logger once per process. Falls back to stderr when journald
/// is not reachable (containers, CI), so logging never stops a job.
pub fn init(name: &'static str) {
    log::set_max_level(level_from_env());
    if std::env::var_os("JOURNAL_STREAM").is_some()
        && let Ok(j) = systemd_journal_logger::JournalLog::new()
        && install_redacted(j.with_syslog_identifier(name.to_string())).is_ok()
    {
        return;
    }
    let _ = log::set_boxed_logger(Box::new(StderrLogger { name }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<String>>>);

    impl Log for Capture {
        fn enabled(&self, _: &Metadata) -> bool {
            true
        }
        fn log(&self, r: &Record) {
            self.0.lock().unwrap().push(r.args().to_string());
        }
        fn flush(&self) {}
    }

    #[test]
    fn the_wrapper_redacts_before_the_inner_logger_sees_a_line() {
        let cap = Capture::default();
        let token = "123456789:AAEhBOweik9ai2o4dqf3k9df0sdkfjskdfj";
        Redacting(cap.clone()).log(
            &Record::builder()
                .args(format_args!("child said {token}"))
                .level(log::Level::Warn)
                .build(),
        );
        let lines = cap.0.lock().unwrap();
        assert_eq!(
            lines.as_slice(),
            [format!("child said {}", crate::redact::MARK)]
        );
    }
}
