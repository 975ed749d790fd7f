//! The one place that spawns processes: no shell, a timeout, capped output.
//!
//! Every later module (systemctl, journalctl, sudo, apt, ping, git …) runs
//! programs through [`Cmd`]. Arguments are passed as a vector, never joined
//! into a shell line, so chat text can never become shell syntax. Output is
//! read as bytes (non-UTF-8 safe) and capped so a chatty program cannot eat
//! the laptop's memory. A program that outlives its timeout is killed
//! together with its process group.

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// Default cap on captured bytes per stream.
pub const DEFAULT_MAX_OUTPUT: usize = 1 << 20;
/// Default timeout for a child process.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// A command to run: program, arguments and limits.
#[derive(Debug, Clone)]
pub struct Cmd {
    program: OsString,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
    clear_env: bool,
    cwd: Option<PathBuf>,
    timeout: Duration,
    max_output: usize,
    cancel: Option<Arc<AtomicBool>>,
    tap: Option<OutputTap>,
}

/// A callback that sees every chunk of stdout and stderr as it arrives, for
/// live progress of long runs. It gets the bytes before the cap is applied,
/// so it must do its own bounding; it runs on the reader threads and should
/// return quickly.
#[derive(Clone)]
pub struct OutputTap(Arc<TapFn>);

type TapFn = dyn Fn(&[u8]) + Send + Sync;

impl OutputTap {
    pub fn new(f: impl Fn(&[u8]) + Send + Sync + 'static) -> OutputTap {
        OutputTap(Arc::new(f))
    }

    /// Hands `bytes` to the callback.
    pub fn call(&self, bytes: &[u8]) {
        (self.0)(bytes)
    }
}

impl std::fmt::Debug for OutputTap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OutputTap")
    }
}

/// What a finished (or killed) command left behind.
#[derive(Debug, Clone)]
pub struct Output {
    /// Exit status; `None` when the process was killed for its timeout or a cancel.
    pub status: Option<ExitStatus>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub timed_out: bool,
    pub cancelled: bool,
    /// True when stdout or stderr was longer than the cap and was cut.
    pub truncated: bool,
    pub elapsed: Duration,
}

impl Output {
    /// True when the program ran to the end and exited 0.
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// Exit code, or `None` when killed or signalled.
    pub fn code(&self) -> Option<i32> {
        self.status.and_then(|s| s.code())
    }

    pub fn stdout_lossy(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_lossy(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// A one-line description of how the program ended, for errors and audit lines.
    pub fn describe_end(&self) -> String {
        if self.timed_out {
            return format!(
                "timed out after {:.0} s and was killed",
                self.elapsed.as_secs_f64()
            );
        }
        if self.cancelled {
            return "cancelled".to_string();
        }
        match self.status {
            Some(s) if s.success() => "ok".to_string(),
            Some(s) => match (s.code(), s.signal()) {
                (Some(c), _) => format!("exit code {c}"),
                (None, Some(sig)) => format!("killed by signal {sig}"),
                _ => "failed".to_string(),
            },
            None => "did not finish".to_string(),
        }
    }
}

impl Cmd {
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        Cmd {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            envs: Vec::new(),
            clear_env: false,
            cwd: None,
            timeout: DEFAULT_TIMEOUT,
            max_output: DEFAULT_MAX_OUTPUT,
            cancel: None,
            tap: None,
        }
    }

    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Self {
        self.args.push(a.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub fn env(mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> Self {
        self.envs
            .push((k.as_ref().to_owned(), v.as_ref().to_owned()));
        self
    }

    /// Starts the child with an empty environment (plus what `env` adds).
    pub fn env_clear(mut self) -> Self {
        self.clear_env = true;
        self
    }

    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    pub fn max_output(mut self, bytes: usize) -> Self {
        self.max_output = bytes;
        self
    }

    /// A flag that, once set, kills the child (used on shutdown).
    pub fn cancel_flag(mut self, flag: Arc<AtomicBool>) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// Also hands every output chunk to `tap` while the program runs (the
    /// captured [`Output`] is unchanged).
    pub fn on_output(mut self, tap: OutputTap) -> Self {
        self.tap = Some(tap);
        self
    }

    /// The command as one readable line, for logs (arguments are quoted when needed).
    pub fn display(&self) -> String {
        std::iter::once(&self.program)
            .chain(self.args.iter())
            .map(|a| {
                let s = a.to_string_lossy();
                if s.is_empty() || s.contains(|c: char| c.is_whitespace() || c == '\'' || c == '"')
                {
                    format!("{s:?}")
                } else {
                    s.into_owned()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Runs the command to the end (or its timeout) and returns what it printed.
    ///
    /// An error means the program could not be started (not found, not
    /// executable); a non-zero exit is an `Ok` with that status.
    #[allow(clippy::disallowed_methods)] // the one sanctioned spawn site
    pub fn run(&self) -> Result<Output> {
        let start = Instant::now();
        let mut command = std::process::Command::new(&self.program);
        command
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        if self.clear_env {
            command.env_clear();
        }
        command.envs(self.envs.iter().map(|(k, v)| (k, v)));
        if let Some(dir) = &self.cwd {
            command.current_dir(dir);
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {}", self.program.to_string_lossy()))?;
        let out_reader = spawn_reader(child.stdout.take(), self.max_output, self.tap.clone());
        let err_reader = spawn_reader(child.stderr.take(), self.max_output, self.tap.clone());
        let (status, mut timed_out, mut cancelled) = self.wait(&mut child, start)?;
        if status.is_some() && self.wait_readers(&mut child, &[&out_reader.0, &err_reader.0], start)
        {
            timed_out = start.elapsed() >= self.timeout;
            cancelled = !timed_out;
        }
        let (stdout, t1) = take_captured(&out_reader.1);
        let (stderr, t2) = take_captured(&err_reader.1);
        Ok(Output {
            status,
            stdout,
            stderr,
            timed_out,
            cancelled,
            truncated: t1 || t2,
            elapsed: start.elapsed(),
        })
    }

    fn wait(&self, child: &mut Child, start: Instant) -> Result<(Option<ExitStatus>, bool, bool)> {
        let mut pause = Duration::from_millis(1);
        loop {
            if let Some(status) = child.try_wait().context("waiting for child")? {
                return Ok((Some(status), false, false));
            }
            let timed_out = start.elapsed() >= self.timeout;
            let cancelled = self
                .cancel
                .as_ref()
                .is_some_and(|c| c.load(Ordering::Relaxed));
            if timed_out || cancelled {
                kill_group(child);
                let _ = child.wait();
                return Ok((None, timed_out, cancelled && !timed_out));
            }
            thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// After the program exited, waits for its output pipes to close. A
    /// program may leave something running that still holds them (a daemon it
    /// started): the timeout and the cancel flag cover that wait too, then the
    /// process group is killed and, after a short grace, whatever still holds
    /// the pipes is left behind with the output read so far. True when the
    /// wait was cut short.
    fn wait_readers(
        &self,
        child: &mut Child,
        readers: &[&thread::JoinHandle<()>],
        start: Instant,
    ) -> bool {
        let done = || readers.iter().all(|r| r.is_finished());
        let mut pause = Duration::from_millis(1);
        while !done() {
            let cancelled = self
                .cancel
                .as_ref()
                .is_some_and(|c| c.load(Ordering::Relaxed));
            if start.elapsed() >= self.timeout || cancelled {
                // Someone still holds the pipes, so a process of the group
                // most likely lives and its id cannot have been reused.
                kill_group(child);
                let grace = Instant::now();
                while !done() && grace.elapsed() < READER_GRACE {
                    thread::sleep(Duration::from_millis(5));
                }
                return true;
            }
            thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
        false
    }

    /// Runs the command on tokio's blocking pool, so the bot's event loop stays free.
    pub async fn run_async(self) -> Result<Output> {
        tokio::task::spawn_blocking(move || self.run())
            .await
            .context("process task panicked")?
    }
}

fn kill_group(child: &mut Child) {
    let pid = child.id() as libc::pid_t;
    // SAFETY: kill(2) with a negative pid signals the process group we created
    // with process_group(0); it has no memory-safety preconditions.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
    let _ = child.kill();
}

/// How long readers get after the group was killed before they are left behind.
const READER_GRACE: Duration = Duration::from_millis(200);

/// Output captured so far and whether it hit the cap; shared with its reader
/// so a reader left behind (see [`Cmd::wait_readers`]) does not lose it.
type Captured = Arc<Mutex<(Vec<u8>, bool)>>;

fn take_captured(c: &Captured) -> (Vec<u8>, bool) {
    std::mem::take(&mut *crate::sync::lock(c))
}

fn spawn_reader<R: Read + Send + 'static>(
    src: Option<R>,
    cap: usize,
    tap: Option<OutputTap>,
) -> (thread::JoinHandle<()>, Captured) {
    let captured: Captured = Arc::default();
    let shared = captured.clone();
    let handle = thread::spawn(move || {
        let Some(mut src) = src else {
            return;
        };
        let mut chunk = [0u8; 8192];
        loop {
            match src.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if let Some(tap) = &tap {
                        tap.call(&chunk[..n]);
                    }
                    let mut c = crate::sync::lock(&shared);
                    let (buf, truncated) = &mut *c;
                    let room = cap.saturating_sub(buf.len());
                    if n > room {
                        *truncated = true;
                    }
                    // Keep draining past the cap so the child never blocks on a full pipe.
                    buf.extend_from_slice(&chunk[..n.min(room)]);
                }
            }
        }
    });
    (handle, captured)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_stdout_stderr_and_status() {
        let out = Cmd::new("printf").args(["a\\nb"]).run().unwrap();
        assert!(out.success());
        assert_eq!(out.stdout, b"a\nb");
        let out = Cmd::new("ls").arg("/nonexistent-potion").run().unwrap();
        assert!(!out.success());
        assert!(!out.stderr.is_empty());
        assert!(out.describe_end().starts_with("exit code"));
    }

    #[test]
    fn arguments_are_not_shell_syntax() {
        let out = Cmd::new("echo").arg("a;id $(whoami)").run().unwrap();
        assert_eq!(out.stdout_lossy(), "a;id $(whoami)\n");
    }

    #[test]
    fn timeout_kills_the_child() {
        let t = Instant::now();
        let out = Cmd::new("sleep")
            .arg("30")
            .timeout(Duration::from_millis(200))
            .run()
            .unwrap();
        assert!(out.timed_out);
        assert!(!out.success());
        assert!(t.elapsed() < Duration::from_secs(5));
        assert!(out.describe_end().contains("timed out"));
    }

    #[test]
    fn a_daemon_holding_the_output_open_does_not_outlast_the_timeout() {
        // `setsid -f` starts `sleep` in its own session holding our stdout,
        // then exits at once: the pipes stay open after the program ended.
        let t = Instant::now();
        let out = Cmd::new("setsid")
            .args(["-f", "sleep", "30"])
            .timeout(Duration::from_millis(300))
            .run()
            .unwrap();
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        assert!(out.timed_out);
        assert!(out.describe_end().contains("timed out"));
    }

    #[test]
    fn output_is_capped_and_non_utf8_safe() {
        let out = Cmd::new("head")
            .args(["-c", "100000", "/dev/urandom"])
            .max_output(1000)
            .run()
            .unwrap();
        assert!(out.success(), "child must not block on a full pipe");
        assert_eq!(out.stdout.len(), 1000);
        assert!(out.truncated);
        let _ = out.stdout_lossy();
    }

    #[test]
    fn missing_program_is_an_error() {
        let err = Cmd::new("/nonexistent/prog").run().unwrap_err();
        assert!(format!("{err:#}").contains("/nonexistent/prog"));
    }

    #[test]
    fn tap_sees_output_while_it_runs() {
        use std::sync::Mutex;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        let first_at = Arc::new(Mutex::new(None));
        let f2 = first_at.clone();
        let start = Instant::now();
        let tap = OutputTap::new(move |b| {
            f2.lock().unwrap().get_or_insert(start.elapsed());
            s2.lock().unwrap().extend_from_slice(b);
        });
        // The first line arrives long before the program ends: the tap is live.
        let out = Cmd::new("ping")
            .args(["-c", "2", "-i", "0.5", "127.0.0.1"])
            .max_output(10)
            .on_output(tap)
            .run()
            .unwrap();
        assert!(out.success());
        assert!(out.truncated, "the cap still applies to the captured copy");
        let seen = String::from_utf8(seen.lock().unwrap().clone()).unwrap();
        assert!(seen.contains("ping statistics"), "{seen}");
        let first = first_at.lock().unwrap().unwrap();
        assert!(
            first < out.elapsed / 2,
            "first chunk at {first:?} of {:?}",
            out.elapsed
        );
    }

    #[test]
    fn cancel_flag_kills_the_child() {
        let flag = Arc::new(AtomicBool::new(false));
        let f2 = flag.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(100));
            f2.store(true, Ordering::Relaxed);
        });
        let out = Cmd::new("sleep").arg("30").cancel_flag(flag).run().unwrap();
        assert!(out.cancelled);
    }
}
