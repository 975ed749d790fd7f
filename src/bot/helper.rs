//! Privileged actions through `sudo -n /usr/libexec/potion-runner/potion-helper …`
//! (`docs/contract.md` §2). The bot never runs systemctl or touches timers itself; this
//! is its only door.

use std::time::Duration;

use crate::helper::ReasonCode;
use crate::paths;
use crate::process::{Cmd, Output};

use super::plan::HelperAction;

/// The helper exactly as the sudoers rule names it (no lookup on sudo's
/// `secure_path`); chat operations reach it the same way (`chatops::Exec`).
pub const HELPER: &str = paths::HELPER_PATH;
/// How long one helper call may take (a restart of a slow unit included).
pub const HELPER_TIMEOUT: Duration = Duration::from_secs(90);

/// Why a helper call did not succeed.
#[derive(Debug, Clone, PartialEq)]
pub enum HelperError {
    /// sudo or the helper is not installed, or sudo wants a password.
    Missing(String),
    /// The helper refused with a reason code (`reason: <code>` on stderr);
    /// the English line beside it is kept for the audit log.
    Refused(ReasonCode, String),
    /// The helper gave no answer within [`HELPER_TIMEOUT`].
    TimedOut,
    /// The helper ran and failed (or refused without a code this build knows):
    /// its last stderr line, verbatim.
    Failed(String),
}

impl HelperError {
    /// English, for the audit log and the journal.
    pub fn reason(&self) -> String {
        match self {
            HelperError::Missing(e) => format!("helper unavailable: {e}"),
            HelperError::Refused(code, line) => format!("refused ({}): {line}", code.as_str()),
            HelperError::TimedOut => format!("no answer within {} s", HELPER_TIMEOUT.as_secs()),
            HelperError::Failed(e) => e.clone(),
        }
    }
}

/// The code of the helper's `reason: <code>` line, if it printed one this build knows.
pub fn reason_code(stderr: &str) -> Option<ReasonCode> {
    stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("reason:"))
        .and_then(|c| ReasonCode::parse(c.split_whitespace().next().unwrap_or("")))
}

/// The full argument vector after `sudo`.
pub fn sudo_args(action: &HelperAction) -> Vec<String> {
    let mut v = vec!["-n".to_string(), HELPER.to_string()];
    v.extend(action.helper_args());
    v
}

/// Classifies a finished `sudo` run (pure).
pub fn classify(out: &Output) -> Result<(), HelperError> {
    if out.success() {
        return Ok(());
    }
    // The relayed line reaches chat and actions.log: a token quoted in it
    // (a malformed .env line echoed somewhere) is cut out here at the door.
    let stderr = crate::redact::redact(&out.stderr_lossy()).into_owned();
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string();
    if out.timed_out {
        return Err(HelperError::TimedOut);
    }
    // sudo's own complaints start with "sudo:"; so does "command not found".
    if last.starts_with("sudo:") {
        return Err(HelperError::Missing(last));
    }
    if let Some(code) = reason_code(&stderr) {
        return Err(HelperError::Refused(code, last));
    }
    let detail = if last.is_empty() {
        out.describe_end()
    } else {
        last
    };
    Err(HelperError::Failed(detail))
}

/// Runs one helper action off the event loop.
pub async fn run(action: &HelperAction) -> Result<(), HelperError> {
    let cmd = Cmd::new("sudo")
        .args(sudo_args(action))
        .timeout(HELPER_TIMEOUT)
        .max_output(64 * 1024);
    match cmd.run_async().await {
        Ok(out) => classify(&out),
        Err(e) => Err(HelperError::Missing(format!("{e:#}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bot::command::SvcVerb;
    use crate::validate::HhMm;

    #[test]
    fn argument_vectors_follow_the_contract() {
        let a = HelperAction::Svc {
            verb: SvcVerb::Restart,
            unit: "ollama.service".into(),
        };
        assert_eq!(
            sudo_args(&a),
            [
                "-n",
                "/usr/libexec/potion-runner/potion-helper",
                "svc",
                "restart",
                "ollama.service"
            ]
        );
        assert_eq!(
            sudo_args(&HelperAction::BackupStart)[2..],
            ["backup", "start"]
        );
        assert_eq!(
            sudo_args(&HelperAction::VerifyStart)[2..],
            ["verify", "start"]
        );
        let t = HelperAction::TimerSet(HhMm { hour: 2, minute: 5 });
        assert_eq!(sudo_args(&t)[2..], ["timer", "set", "backup", "02:05"]);
    }

    fn out(code: i32, stderr: &str) -> Output {
        use std::os::unix::process::ExitStatusExt;
        Output {
            status: Some(std::process::ExitStatus::from_raw(code << 8)),
            stdout: Vec::new(),
            stderr: stderr.as_bytes().to_vec(),
            timed_out: false,
            cancelled: false,
            truncated: false,
            elapsed: Duration::ZERO,
        }
    }

    #[test]
    fn a_token_in_the_helper_error_is_redacted() {
        let token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ";
        let e = classify(&out(1, &format!("error: line BOT_TOKEN: {token}\n"))).unwrap_err();
        assert!(!e.reason().contains("AAHdqTcv"), "{e:?}");
        assert!(e.reason().contains(crate::redact::MARK), "{e:?}");
    }

    #[test]
    fn classifies_outcomes() {
        assert_eq!(classify(&out(0, "")), Ok(()));
        assert!(matches!(
            classify(&out(1, "sudo: potion-helper: command not found\n")),
            Err(HelperError::Missing(_))
        ));
        assert!(matches!(
            classify(&out(1, "sudo: a password is required\n")),
            Err(HelperError::Missing(_))
        ));
        assert_eq!(
            classify(&out(
                1,
                "reason: protected-unit\npotion-helper: refused: sshd.service is protected\n"
            )),
            Err(HelperError::Refused(
                ReasonCode::ProtectedUnit,
                "potion-helper: refused: sshd.service is protected".into()
            ))
        );
        assert_eq!(
            classify(&out(1, "reason: from-a-newer-helper\nit said no\n")),
            Err(HelperError::Failed("it said no".into()))
        );
        assert_eq!(
            classify(&out(1, "unit foo.service is not allowed\n")),
            Err(HelperError::Failed(
                "unit foo.service is not allowed".into()
            ))
        );
    }

    #[tokio::test]
    async fn a_missing_sudo_is_reported_not_raised() {
        // Runs with an empty PATH so no sudo can be found.
        let cmd = Cmd::new("/nonexistent/sudo").arg("-n");
        let r = match cmd.run_async().await {
            Ok(o) => classify(&o),
            Err(e) => Err(HelperError::Missing(format!("{e:#}"))),
        };
        assert!(matches!(r, Err(HelperError::Missing(_))));
    }
}
