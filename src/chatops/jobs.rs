//! Long-running chat jobs (apt, pip, git, speed test): one at a time per kind,
//! a deadline, cancellation on shutdown, live progress (elapsed time and the
//! last output line) and an outcome with the full output. Telegram-free: the
//! bot watches [`Job::progress`] to edit its message and awaits [`Job::finish`].

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

use super::Exec;
use crate::process::OutputTap;
use crate::sync::lock;

/// Most output kept per job; beyond it the oldest bytes are dropped.
pub const TRANSCRIPT_MAX: usize = 4 << 20;
/// How often progress is published (Telegram limits message edits).
pub const DEFAULT_TICK: Duration = Duration::from_secs(3);

/// The kinds of job; each runs at most once at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    Apt,
    Pip,
    Git,
    Speed,
}

impl JobKind {
    pub const ALL: [JobKind; 4] = [JobKind::Apt, JobKind::Pip, JobKind::Git, JobKind::Speed];

    pub fn name(self) -> &'static str {
        match self {
            JobKind::Apt => "apt",
            JobKind::Pip => "pip sync",
            JobKind::Git => "git pull",
            JobKind::Speed => "speed test",
        }
    }

    /// The whole job's deadline.
    pub fn timeout(self) -> Duration {
        match self {
            JobKind::Apt => Duration::from_secs(60 * 60),
            JobKind::Pip => Duration::from_secs(20 * 60),
            JobKind::Git => Duration::from_secs(10 * 60),
            JobKind::Speed => Duration::from_secs(3 * 60),
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Lets the runner tell a finished job that went wrong from one that went well.
pub trait JobResult {
    /// `Some(reason)` when the job ran to the end but did not do its work.
    fn failure(&self) -> Option<String>;
}

/// Why a job was not started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartError {
    Busy(JobKind),
    ShuttingDown,
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Busy(k) => {
                write!(f, "{} is already running; wait for it to finish", k.name())
            }
            StartError::ShuttingDown => {
                write!(f, "the bot is shutting down; try again after it restarts")
            }
        }
    }
}

impl std::error::Error for StartError {}

/// What a running job has done so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub elapsed: Duration,
    /// The newest non-empty output line (empty before any output).
    pub last_line: String,
    pub done: bool,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobStatus {
    Ok,
    Failed(String),
    TimedOut,
    Cancelled,
}

/// A finished job: status, the body's value (when it returned one), and all output.
#[derive(Debug)]
pub struct JobOutcome<T> {
    pub kind: JobKind,
    pub status: JobStatus,
    pub value: Option<T>,
    /// Everything the job's programs printed (the newest [`TRANSCRIPT_MAX`] bytes).
    pub output: String,
    /// True when the oldest output was dropped to stay within the cap.
    pub output_truncated: bool,
    pub elapsed: Duration,
}

impl<T> JobOutcome<T> {
    /// One line for the chat and the audit log, e.g. `apt: timed out after 3600 s`.
    pub fn summary(&self) -> String {
        let secs = self.elapsed.as_secs();
        match &self.status {
            JobStatus::Ok => format!("{}: ok in {secs} s", self.kind.name()),
            JobStatus::Failed(why) => format!("{}: failed after {secs} s: {why}", self.kind.name()),
            JobStatus::TimedOut => format!(
                "{}: timed out after {secs} s and was stopped",
                self.kind.name()
            ),
            JobStatus::Cancelled => {
                format!("{}: cancelled after {secs} s (shutdown)", self.kind.name())
            }
        }
    }
}

/// A started job.
pub struct Job<T> {
    pub kind: JobKind,
    /// Updated every tick and once at the end; `borrow()` any time.
    pub progress: watch::Receiver<Progress>,
    handle: JoinHandle<JobOutcome<T>>,
}

impl<T> Job<T> {
    /// Waits for the end.
    pub async fn finish(self) -> JobOutcome<T> {
        match self.handle.await {
            Ok(o) => o,
            Err(e) => JobOutcome {
                kind: self.kind,
                status: JobStatus::Failed(format!("the job task ended abnormally: {e}")),
                value: None,
                output: String::new(),
                output_truncated: false,
                elapsed: Duration::ZERO,
            },
        }
    }
}

/// Output of one job as it arrives: the newest bytes up to a cap.
#[derive(Default)]
struct Transcript {
    bytes: VecDeque<u8>,
    dropped: bool,
}

impl Transcript {
    fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend(chunk);
        if self.bytes.len() > TRANSCRIPT_MAX {
            let extra = self.bytes.len() - TRANSCRIPT_MAX;
            self.bytes.drain(..extra);
            self.dropped = true;
        }
    }

    fn last_line(&self) -> String {
        let n = self.bytes.len();
        let tail: Vec<u8> = self
            .bytes
            .range(n.saturating_sub(4096)..)
            .copied()
            .collect();
        last_line(&String::from_utf8_lossy(&tail))
    }

    fn text(&self) -> String {
        let (a, b) = self.bytes.as_slices();
        String::from_utf8_lossy(&[a, b].concat()).into_owned()
    }
}

/// The newest non-empty line, splitting on `\r` too (progress bars redraw with it).
pub fn last_line(text: &str) -> String {
    text.rsplit(['\n', '\r'])
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .chars()
        .take(300)
        .collect()
}

/// Starts jobs with per-kind limits; one per bot, shared by the handlers.
pub struct Jobs {
    slots: Vec<Arc<Semaphore>>,
    shutdown: Arc<AtomicBool>,
    tick: Duration,
}

impl Default for Jobs {
    fn default() -> Self {
        Jobs::new()
    }
}

impl Jobs {
    pub fn new() -> Jobs {
        Jobs {
            slots: JobKind::ALL
                .iter()
                .map(|_| Arc::new(Semaphore::new(1)))
                .collect(),
            shutdown: Arc::new(AtomicBool::new(false)),
            tick: DEFAULT_TICK,
        }
    }

    /// Publishes progress this often instead of every [`DEFAULT_TICK`].
    pub fn with_tick(mut self, tick: Duration) -> Jobs {
        self.tick = tick;
        self
    }

    /// Kills every running job's programs and refuses new jobs.
    pub fn shutdown(&self) {
        self.shutdown.store(true, Ordering::SeqCst);
    }

    /// True once [`Jobs::shutdown`] was called.
    pub fn is_shutting_down(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }

    /// An [`Exec`] for a short run outside any slot (a journal read, a ping):
    /// its programs end at `timeout` from now and are killed by [`Jobs::shutdown`]
    /// like a job's. Output is only what the caller reads from [`crate::process::Output`].
    pub fn quick_exec(&self, base: &Exec, timeout: Duration) -> Exec {
        base.clone().with_job(
            self.shutdown.clone(),
            Instant::now() + timeout,
            OutputTap::new(|_| {}),
        )
    }

    /// True while a job of `kind` runs.
    pub fn is_busy(&self, kind: JobKind) -> bool {
        self.slots[kind.index()].available_permits() == 0
    }

    /// Starts `body` on the blocking pool with an [`Exec`] that carries the
    /// job's deadline (`timeout` from now), the shutdown flag and the live
    /// transcript. Must be called inside a tokio runtime.
    pub fn start<T, F>(
        &self,
        kind: JobKind,
        base: &Exec,
        timeout: Duration,
        body: F,
    ) -> Result<Job<T>, StartError>
    where
        T: JobResult + Send + 'static,
        F: FnOnce(&Exec) -> anyhow::Result<T> + Send + 'static,
    {
        if self.shutdown.load(Ordering::SeqCst) {
            return Err(StartError::ShuttingDown);
        }
        let permit = self.slots[kind.index()]
            .clone()
            .try_acquire_owned()
            .map_err(|_| StartError::Busy(kind))?;
        let start = Instant::now();
        let deadline = start + timeout;
        let transcript = Arc::new(Mutex::new(Transcript::default()));
        let t2 = transcript.clone();
        let t3 = transcript.clone();
        let tap = OutputTap::new(move |chunk| lock(&t2).push(chunk));
        let exec = base.clone().with_job(self.shutdown.clone(), deadline, tap);
        let shutdown = self.shutdown.clone();
        let tick = self.tick;
        let (tx, rx) = watch::channel(Progress {
            elapsed: Duration::ZERO,
            last_line: String::new(),
            done: false,
        });
        let progress = move |done: bool| Progress {
            elapsed: start.elapsed(),
            last_line: lock(&transcript).last_line(),
            done,
        };
        let handle = tokio::spawn(async move {
            let _permit = permit;
            let work = tokio::task::spawn_blocking(move || body(&exec));
            tokio::pin!(work);
            let first = tokio::time::Instant::now() + tick;
            let mut ticker = tokio::time::interval_at(first, tick);
            let joined = loop {
                tokio::select! {
                    r = &mut work => break r,
                    _ = ticker.tick() => { tx.send_replace(progress(false)); }
                }
            };
            let (status, value) = classify(joined, &shutdown, deadline);
            let (output, output_truncated) = {
                let t = lock(&t3);
                (t.text(), t.dropped)
            };
            tx.send_replace(progress(true));
            JobOutcome {
                kind,
                status,
                value,
                output,
                output_truncated,
                elapsed: start.elapsed(),
            }
        });
        Ok(Job {
            kind,
            progress: rx,
            handle,
        })
    }
}

fn classify<T: JobResult>(
    joined: Result<anyhow::Result<T>, tokio::task::JoinError>,
    shutdown: &AtomicBool,
    deadline: Instant,
) -> (JobStatus, Option<T>) {
    let status_of = |failure: Option<String>| {
        if shutdown.load(Ordering::SeqCst) {
            JobStatus::Cancelled
        } else if Instant::now() >= deadline {
            JobStatus::TimedOut
        } else {
            failure.map_or(JobStatus::Ok, JobStatus::Failed)
        }
    };
    match joined {
        Ok(Ok(v)) => (status_of(v.failure()), Some(v)),
        Ok(Err(e)) => (status_of(Some(format!("{e:#}"))), None),
        Err(e) => (JobStatus::Failed(format!("the job panicked: {e}")), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::Output;

    struct Ran(Output);

    impl JobResult for Ran {
        fn failure(&self) -> Option<String> {
            (!self.0.success()).then(|| self.0.describe_end())
        }
    }

    fn sleeper(secs: &'static str) -> impl FnOnce(&Exec) -> anyhow::Result<Ran> {
        move |exec| {
            Ok(Ran(exec
                .cmd("sleep", Duration::from_secs(60))
                .arg(secs)
                .run()?))
        }
    }

    #[tokio::test]
    async fn one_job_per_kind() {
        let jobs = Jobs::new();
        let exec = Exec::new();
        let apt = jobs
            .start(JobKind::Apt, &exec, Duration::from_secs(30), sleeper("0.5"))
            .unwrap();
        assert!(jobs.is_busy(JobKind::Apt));
        let again = jobs.start(JobKind::Apt, &exec, Duration::from_secs(30), sleeper("0"));
        assert_eq!(again.err(), Some(StartError::Busy(JobKind::Apt)));
        assert_eq!(
            StartError::Busy(JobKind::Apt).to_string(),
            "apt is already running; wait for it to finish"
        );
        let git = jobs
            .start(JobKind::Git, &exec, Duration::from_secs(30), sleeper("0"))
            .unwrap();
        assert_eq!(git.finish().await.status, JobStatus::Ok);
        let done = apt.finish().await;
        assert_eq!(done.status, JobStatus::Ok, "{}", done.summary());
        assert!(
            !jobs.is_busy(JobKind::Apt),
            "the slot frees when the job ends"
        );
        jobs.start(JobKind::Apt, &exec, Duration::from_secs(30), sleeper("0"))
            .unwrap()
            .finish()
            .await;
    }

    #[tokio::test]
    async fn deadline_kills_a_hanging_program() {
        let jobs = Jobs::new();
        let t = Instant::now();
        let out = jobs
            .start(
                JobKind::Pip,
                &Exec::new(),
                Duration::from_millis(300),
                sleeper("30"),
            )
            .unwrap()
            .finish()
            .await;
        assert_eq!(out.status, JobStatus::TimedOut);
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        assert!(out.value.as_ref().unwrap().0.timed_out);
        assert!(
            out.summary().starts_with("pip sync: timed out after"),
            "{}",
            out.summary()
        );
    }

    #[tokio::test]
    async fn shutdown_cancels_and_refuses() {
        let jobs = Jobs::new();
        let job = jobs
            .start(
                JobKind::Speed,
                &Exec::new(),
                Duration::from_secs(30),
                sleeper("30"),
            )
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        jobs.shutdown();
        let out = job.finish().await;
        assert_eq!(out.status, JobStatus::Cancelled);
        assert!(out.elapsed < Duration::from_secs(5));
        let again = jobs.start(
            JobKind::Git,
            &Exec::new(),
            Duration::from_secs(30),
            sleeper("0"),
        );
        assert_eq!(again.err(), Some(StartError::ShuttingDown));
    }

    #[tokio::test]
    async fn progress_shows_the_last_line_while_running() {
        let jobs = Jobs::new().with_tick(Duration::from_millis(100));
        let mut job = jobs
            .start(
                JobKind::Git,
                &Exec::new(),
                Duration::from_secs(30),
                |exec| {
                    exec.note("$ ping 127.0.0.1");
                    let out = exec
                        .cmd("ping", Duration::from_secs(20))
                        .args(["-c", "4", "-i", "0.4", "127.0.0.1"])
                        .run()?;
                    Ok(Ran(out))
                },
            )
            .unwrap();
        let mut mid_run = None;
        while job.progress.changed().await.is_ok() {
            let p = job.progress.borrow().clone();
            if p.done {
                break;
            }
            if p.last_line.contains("icmp_seq") {
                mid_run = Some(p);
                break;
            }
        }
        let mid = mid_run.expect("a progress update showed a ping line before the end");
        assert!(mid.elapsed < Duration::from_secs(2), "{mid:?}");
        let out = job.finish().await;
        assert_eq!(out.status, JobStatus::Ok);
        assert!(
            out.output.starts_with("$ ping 127.0.0.1\nPING 127.0.0.1"),
            "{}",
            out.output
        );
        assert!(out.output.contains("4 packets transmitted"));
    }

    #[tokio::test]
    async fn failures_are_reported() {
        let jobs = Jobs::new();
        let out = jobs
            .start(
                JobKind::Apt,
                &Exec::new(),
                Duration::from_secs(10),
                |exec| {
                    Ok(Ran(exec
                        .cmd("ls", Duration::from_secs(5))
                        .arg("/nonexistent-potion")
                        .run()?))
                },
            )
            .unwrap()
            .finish()
            .await;
        assert_eq!(out.status, JobStatus::Failed("exit code 2".into()));
        assert!(
            out.output.contains("nonexistent-potion"),
            "stderr is in the transcript"
        );
        let out = jobs
            .start(
                JobKind::Apt,
                &Exec::new(),
                Duration::from_secs(10),
                |exec| {
                    Ok(Ran(exec
                        .cmd("/nonexistent/prog", Duration::from_secs(5))
                        .run()?))
                },
            )
            .unwrap()
            .finish()
            .await;
        assert!(matches!(out.status, JobStatus::Failed(ref w) if w.contains("/nonexistent/prog")));
        assert!(out.value.is_none());
    }

    #[test]
    fn quick_exec_is_cancelled_by_shutdown() {
        let jobs = Arc::new(Jobs::new());
        let exec = jobs.quick_exec(&Exec::new(), Duration::from_secs(30));
        let j2 = jobs.clone();
        let stopper = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            j2.shutdown();
        });
        let t = Instant::now();
        let out = exec
            .cmd("sleep", Duration::from_secs(30))
            .arg("20")
            .run()
            .unwrap();
        stopper.join().unwrap();
        assert!(out.cancelled, "{}", out.describe_end());
        assert!(t.elapsed() < Duration::from_secs(5));
        assert!(jobs.is_shutting_down());
    }

    #[test]
    fn transcript_keeps_the_newest_bytes() {
        let mut t = Transcript::default();
        t.push(b"first\n");
        t.push(&vec![b'x'; TRANSCRIPT_MAX]);
        t.push(b"\nDownloading 10%\rDownloading 55%\r");
        assert!(t.dropped);
        assert_eq!(t.bytes.len(), TRANSCRIPT_MAX);
        assert_eq!(t.last_line(), "Downloading 55%");
        assert!(!t.text().contains("first"));
        assert_eq!(last_line("a\n\n  b  \n\n"), "b");
        assert_eq!(last_line(""), "");
    }
}
