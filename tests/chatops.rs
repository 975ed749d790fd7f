//! Chat operations against real programs (journalctl, ping, ip, git, a pip
//! venv) and stand-ins only for what cannot run here (tailscale,
//! speedtest-cli, the privileged helper), placed first on `PATH`.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use potion_runner::chatops::jobs::{JobKind, JobStatus, Jobs};
use potion_runner::chatops::logs::{self, Journal, JournalState};
use potion_runner::chatops::net::{
    self, EchoService, PingOutcome, PingTarget, SpeedOutcome, TailscaleOutcome,
};
use potion_runner::chatops::updates::{self, AptOutcome, GitOutcome, PipOutcome};
use potion_runner::chatops::{Exec, Refused};
use potion_runner::config::Config;
use potion_runner::process::Cmd;

const TS_FIXTURE: &str = "tests/fixtures/chatops/tailscale-status.json";
const SPEED_FIXTURE: &str = "tests/fixtures/chatops/speedtest.json";

fn config(pairs: &[(&str, &str)]) -> Config {
    let p: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_pairs(&p).unwrap()
}

/// A folder of stand-in executables, searched before the system's.
struct StandIns {
    dir: tempfile::TempDir,
}

impl StandIns {
    fn new() -> StandIns {
        StandIns {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Writes an executable script (run directly through its shebang).
    fn add(&self, name: &str, script: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, script).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    /// Stand-ins first, then the system (for the tools the scripts use).
    fn exec(&self) -> Exec {
        Exec::new().with_path(format!("{}:/usr/bin:/bin", self.dir.path().display()))
    }

    /// Only the stand-ins: anything else is "not installed".
    fn exec_alone(&self) -> Exec {
        Exec::new().with_path(self.dir.path())
    }

    fn marker(&self) -> PathBuf {
        self.dir.path().join("ran")
    }

    /// A stand-in that records that it ran.
    fn add_recorder(&self, name: &str) {
        let script = format!("#!/bin/sh\n/usr/bin/touch {}\n", self.marker().display());
        self.add(name, &script);
    }
}

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

// ---------------------------------------------------------------- refusals

// The bot's two steps for a request from chat: check the raw text (a typed
// refusal, nothing runs), then run the checked value (anyhow for failures).

fn ping(exec: &Exec, raw_host: &str) -> Result<PingOutcome, Refused> {
    let target = PingTarget::parse(raw_host)?;
    Ok(net::ping_target(exec, &target).unwrap())
}

fn log_journal(
    exec: &Exec,
    cfg: &Config,
    raw_unit: &str,
    raw_lines: Option<&str>,
) -> Result<Journal, Refused> {
    let unit = logs::allowed_unit(cfg, raw_unit)?;
    let lines = logs::line_count(raw_lines)?;
    Ok(logs::unit_journal(exec, &unit, lines).unwrap())
}

fn log_runtime(exec: &Exec, cfg: &Config, raw_lines: Option<&str>) -> Result<Journal, Refused> {
    let lines = logs::line_count(raw_lines)?;
    Ok(logs::unit_journal(exec, &logs::self_unit(cfg), lines).unwrap())
}

fn log_errors(exec: &Exec, cfg: &Config, raw_since: Option<&str>) -> Result<Journal, Refused> {
    let since = logs::parse_since(raw_since, chrono::Local::now().naive_local())?;
    Ok(logs::errors_since(exec, cfg, &since).unwrap())
}

#[test]
fn bad_input_is_refused_and_nothing_runs() {
    let stand = StandIns::new();
    stand.add_recorder("ping");
    stand.add_recorder("journalctl");
    let exec = stand.exec_alone();
    let cfg = config(&[("SERVICES", "ollama.service")]);
    let long = "a".repeat(300);
    for host in ["-f", "a;b", long.as_str(), "--flood", "$(reboot)"] {
        match ping(&exec, host) {
            Err(why @ Refused::Invalid(_)) => assert!(!why.to_string().is_empty()),
            other => panic!("ping {host:?} not refused: {other:?}"),
        }
    }
    for unit in ["../../etc/shadow", "sshd.service", "-f", "ollama;id"] {
        match log_journal(&exec, &cfg, unit, None) {
            Err(why) => assert!(!why.to_string().is_empty()),
            other => panic!("log_journal {unit:?} not refused: {other:?}"),
        }
    }
    let e = log_journal(&exec, &cfg, "sshd.service", None).unwrap_err();
    assert_eq!(
        e,
        Refused::UnitNotListed {
            unit: "sshd.service".into()
        }
    );
    assert_eq!(
        e.to_string(),
        "sshd.service is not in SERVICES; its journal is not shown from chat (add it with /svc_add first)"
    );
    for since in ["-1h", "1h; rm", "forever"] {
        assert!(matches!(
            log_errors(&exec, &cfg, Some(since)),
            Err(Refused::NotSpan { .. })
        ));
    }
    assert!(!stand.marker().exists(), "a refused request ran a program");
    // The recorder works, so its absence above means something.
    ping(&exec, "127.0.0.1").unwrap();
    assert!(stand.marker().exists());
}

// ---------------------------------------------------------------- logs

fn machine_has_journal() -> bool {
    ["/var/log/journal", "/run/log/journal"]
        .iter()
        .any(|d| std::fs::read_dir(d).is_ok_and(|mut e| e.next().is_some()))
}

#[test]
fn journal_reads_end_gracefully_without_a_journal() {
    let cfg = config(&[("SERVICES", "ollama.service")]);
    let exec = Exec::new();
    let reads = [
        log_runtime(&exec, &cfg, Some("20")).unwrap(),
        log_journal(&exec, &cfg, "ollama", None).unwrap(),
        log_errors(&exec, &cfg, Some("1h")).unwrap(),
    ];
    for j in &reads {
        let msg = j.message();
        assert!(!msg.as_document);
        if machine_has_journal() {
            // The real-systemd harness covers entries; here only "it answered".
            assert!(
                matches!(j.state, JournalState::Entries(_) | JournalState::NoEntries),
                "{j:?}"
            );
        } else {
            // This machine has journalctl but no journal files: say so, don't fail.
            assert!(
                matches!(&j.state, JournalState::Unavailable(w) if w.contains("no journal files")),
                "{j:?}"
            );
            assert!(
                msg.text
                    .contains(": journal unavailable: this machine has no journal files"),
                "{}",
                msg.text
            );
        }
    }
    assert!(reads[0].title.contains("potion-runner.service"));
    assert!(reads[2].title.starts_with("errors since "));
    // No journalctl at all is reported, not an error.
    let none = StandIns::new();
    let j = log_runtime(&none.exec_alone(), &cfg, None).unwrap();
    assert!(matches!(j.state, JournalState::Unavailable(ref w) if w.contains("not installed")));
}

#[test]
fn log_file_sends_only_known_logs_from_log_dir() {
    let sb = common::Sandbox::new();
    let logs_dir = sb.log_dir();
    std::fs::write(logs_dir.join("actions.log"), "{\"action\":\"ping\"}\n").unwrap();
    std::fs::write(sb.app_dir().join(".env"), "BOT_TOKEN=secret\n").unwrap();
    let f = logs::log_file(&logs_dir, None).unwrap();
    assert_eq!(f.path, logs_dir.join("actions.log"));
    for bad in [
        "../.env",
        "../../etc/shadow",
        "/etc/shadow",
        ".env",
        "actions.log/..",
    ] {
        assert!(logs::log_file(&logs_dir, Some(bad)).is_err(), "{bad:?}");
    }
    assert!(
        logs::log_file(&logs_dir, Some("actions.log.1"))
            .unwrap_err()
            .to_string()
            .contains("does not exist")
    );
}

// ---------------------------------------------------------------- network

#[test]
fn ping_localhost_for_real() {
    let out = ping(&Exec::new(), "127.0.0.1").unwrap();
    let PingOutcome::Summary(s) = &out else {
        panic!("{out:?}");
    };
    assert_eq!((s.transmitted, s.received, s.loss_percent), (3, 3, 0.0));
    let rtt = s.rtt.unwrap();
    assert!(rtt.min <= rtt.avg && rtt.avg <= rtt.max && rtt.max < 100.0);
}

#[test]
fn ip_overview_survives_an_unreachable_echo_service() {
    // A listener that never answers stands for "no internet" (tests target
    // only 127.0.0.0/8): the overview still comes back within the timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let echo = EchoService {
        addr: silent.local_addr().unwrap(),
        host: "test".into(),
        path: "/".into(),
    };
    let t = Instant::now();
    let ip = net::ip_overview(&Exec::new(), &echo, Duration::from_millis(500)).unwrap();
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert_eq!(ip.public, None, "{ip:?}");
    let ifaces = net::interfaces(&Exec::new()).unwrap();
    let lo = ifaces
        .iter()
        .find(|i| i.loopback)
        .expect("a loopback interface");
    assert!(lo.addrs.iter().any(|a| a.ip.to_string() == "127.0.0.1"));
}

#[test]
fn tailscale_through_a_stand_in() {
    let stand = StandIns::new();
    let exec = stand.exec();
    assert_eq!(
        net::tailscale(&stand.exec_alone()).unwrap(),
        TailscaleOutcome::NotInstalled
    );
    stand.add(
        "tailscale",
        &format!(
            "#!/bin/sh\n[ \"$1 $2\" = \"status --json\" ] || exit 64\n/bin/cat {}\n",
            fixture(TS_FIXTURE).display()
        ),
    );
    let TailscaleOutcome::Status(s) = net::tailscale(&exec).unwrap() else {
        panic!("no status");
    };
    assert_eq!(s.me.as_ref().unwrap().name, "x450l");
    assert_eq!((s.online.len(), s.offline.len()), (2, 1));
    stand.add(
        "tailscale",
        "#!/bin/sh\necho \"failed to connect to local tailscaled; it doesn't appear to be running (sudo systemctl start tailscaled ?)\" >&2\nexit 1\n",
    );
    let out = net::tailscale(&exec).unwrap();
    assert!(
        matches!(&out, TailscaleOutcome::Failed(w) if w.starts_with("exit code 1: failed to connect to local tailscaled")),
        "{out:?}"
    );
}

#[test]
fn speed_test_through_a_stand_in() {
    let stand = StandIns::new();
    let missing = net::speed(&stand.exec_alone()).unwrap();
    assert_eq!(
        missing,
        SpeedOutcome::NotInstalled {
            hint: "sudo apt install speedtest-cli"
        }
    );
    stand.add(
        "speedtest-cli",
        &format!(
            "#!/bin/sh\n[ \"$1\" = --json ] || exit 64\n/bin/cat {}\n",
            fixture(SPEED_FIXTURE).display()
        ),
    );
    let SpeedOutcome::Done(r) = net::speed(&stand.exec()).unwrap() else {
        panic!("no result");
    };
    assert!((r.download_mbit - 46.2).abs() < 0.1 && (r.ping_ms - 21.3).abs() < 0.1);
    stand.add(
        "speedtest-cli",
        "#!/bin/sh\necho 'Retrieving speedtest.net configuration...' >&2\necho 'Cannot retrieve speedtest configuration' >&2\nexit 1\n",
    );
    assert_eq!(
        net::speed(&stand.exec()).unwrap(),
        SpeedOutcome::Failed("exit code 1: Cannot retrieve speedtest configuration".into())
    );
}

#[tokio::test]
async fn a_hanging_command_is_killed_at_the_job_deadline() {
    let stand = StandIns::new();
    stand.add(
        "speedtest-cli",
        "#!/bin/sh\necho 'Testing download speed...'\nexec /bin/sleep 60\n",
    );
    let jobs = Jobs::new().with_tick(Duration::from_millis(100));
    let t = Instant::now();
    let job = jobs
        .start(JobKind::Speed, &stand.exec(), Duration::from_secs(1), |e| {
            net::speed(e)
        })
        .unwrap();
    // Meanwhile the runtime stays free: other work completes at once.
    let pong = tokio::time::timeout(Duration::from_millis(200), async { 42 }).await;
    assert_eq!(pong, Ok(42));
    let out = job.finish().await;
    assert_eq!(out.status, JobStatus::TimedOut, "{}", out.summary());
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert!(
        out.summary().starts_with("speed test: timed out after 1 s"),
        "{}",
        out.summary()
    );
    assert!(
        out.output.contains("Testing download speed..."),
        "{}",
        out.output
    );
}

// ---------------------------------------------------------------- updates

#[tokio::test]
async fn apt_update_through_a_stand_in_helper() {
    let stand = StandIns::new();
    let helper = stand.add(
        "potion-helper",
        "#!/bin/sh\n[ \"$1 $2\" = \"apt update\" ] || exit 2\necho 'Hit:1 http://deb.debian.org/debian bookworm InRelease'\necho 'Listing...'\necho 'openssl/stable-security 3.0.15-1~deb12u1 amd64 [upgradable from: 3.0.14-1~deb12u2]'\necho 'reboot-required: no'\n",
    );
    let exec = stand.exec().with_helper([helper.clone()]);
    let jobs = Jobs::new();
    let out = jobs
        .start(JobKind::Apt, &exec, JobKind::Apt.timeout(), |e| {
            updates::apt_update(e)
        })
        .unwrap()
        .finish()
        .await;
    assert_eq!(out.status, JobStatus::Ok);
    let done = out.value.unwrap();
    let AptOutcome::Checked(r) = &done.outcome else {
        panic!("{:?}", done.outcome);
    };
    assert_eq!(r.packages.len(), 1);
    assert!(!r.reboot_required);
    assert!(
        done.output
            .starts_with(&format!("$ {} apt update\nHit:1", helper.display()))
    );
    // A refusing helper is a failure with its reason.
    stand.add(
        "potion-helper",
        "#!/bin/sh\necho 'potion-helper: another apt run holds the lock' >&2\nexit 1\n",
    );
    let done = updates::apt_update(&exec).unwrap();
    assert_eq!(
        done.outcome,
        AptOutcome::Failed("exit code 1: potion-helper: another apt run holds the lock".into())
    );
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Cmd::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .run()
        .unwrap();
    assert!(out.success(), "git {args:?}: {}", out.stderr_lossy());
    out.stdout_lossy().trim().to_string()
}

fn commit(dir: &Path, file: &str, msg: &str) {
    std::fs::write(dir.join(file), msg).unwrap();
    git(dir, &["add", file]);
    git(dir, &["commit", "-q", "-m", msg]);
}

#[test]
fn git_pull_fast_forwards_and_refuses_divergence() {
    let tmp = tempfile::tempdir().unwrap();
    let origin = tmp.path().join("origin");
    let clone = tmp.path().join("clone");
    std::fs::create_dir(&origin).unwrap();
    git(&origin, &["init", "-q", "-b", "main"]);
    commit(&origin, "a", "first");
    git(
        tmp.path(),
        &[
            "clone",
            "-q",
            origin.to_str().unwrap(),
            clone.to_str().unwrap(),
        ],
    );
    let cfg = config(&[(
        "UPDATE_GIT_REPOS",
        &format!(
            "{},{}",
            clone.display(),
            tmp.path().join("not-a-repo").display()
        ),
    )]);
    let repos = updates::git_plan(&cfg).unwrap();
    let exec = Exec::new();

    let done = updates::git_pull(&exec, &repos[..1]).unwrap();
    assert!(matches!(
        done.outcome[0].outcome,
        GitOutcome::UpToDate { .. }
    ));

    let old = git(&clone, &["rev-parse", "HEAD"]);
    commit(&origin, "b", "second");
    commit(&origin, "c", "third");
    let new = git(&origin, &["rev-parse", "HEAD"]);
    let done = updates::git_pull(&exec, &repos).unwrap();
    let GitOutcome::Updated {
        old: o,
        new: n,
        commits,
    } = &done.outcome[0].outcome
    else {
        panic!("{:?}", done.outcome);
    };
    assert_eq!((o, n), (&old, &new));
    assert_eq!(commits.len(), 2);
    assert!(commits[0].ends_with(" third") && commits[1].ends_with(" second"));
    assert_eq!(git(&clone, &["rev-parse", "HEAD"]), new);
    assert!(
        matches!(done.outcome[1].outcome, GitOutcome::Failed(ref w) if w.contains("not a folder"))
    );
    assert!(done.output.contains("pull --ff-only"));

    commit(&clone, "local", "local change");
    commit(&origin, "d", "fourth");
    let before = git(&clone, &["rev-parse", "HEAD"]);
    let done = updates::git_pull(&exec, &repos[..1]).unwrap();
    assert!(
        matches!(done.outcome[0].outcome, GitOutcome::NotFastForward(_)),
        "{:?}\n{}",
        done.outcome,
        done.output
    );
    assert_eq!(
        git(&clone, &["rev-parse", "HEAD"]),
        before,
        "nothing changed"
    );
}

const WHEEL_SCRIPT: &str = r#"import base64, hashlib, sys, zipfile
files = {
    "potion_probe/__init__.py": "VALUE = 42\n",
    "potion_probe-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: potion-probe\nVersion: 1.0\n",
    "potion_probe-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: potion-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
record = []
with zipfile.ZipFile(sys.argv[1], "w") as z:
    for name, text in files.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        z.writestr(name, data)
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append("potion_probe-1.0.dist-info/RECORD,,")
    z.writestr("potion_probe-1.0.dist-info/RECORD", "\n".join(record) + "\n")
"#;

#[tokio::test]
async fn pip_sync_in_a_real_venv_without_network() {
    let tmp = tempfile::tempdir().unwrap();
    let venv = tmp.path().join("venv");
    let out = Cmd::new("/usr/bin/python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .timeout(Duration::from_secs(120))
        .run()
        .unwrap();
    if !out.success() && std::env::var_os("CI").is_none() {
        eprintln!(
            "SKIPPED: python3 -m venv failed (install python3-venv): {}",
            out.stderr_lossy()
        );
        return;
    }
    assert!(out.success(), "python3 -m venv: {}", out.stderr_lossy());
    let wheel = tmp.path().join("potion_probe-1.0-py3-none-any.whl");
    let script = tmp.path().join("make_wheel.py");
    std::fs::write(&script, WHEEL_SCRIPT).unwrap();
    assert!(
        Cmd::new("/usr/bin/python3")
            .arg(&script)
            .arg(&wheel)
            .run()
            .unwrap()
            .success()
    );
    let req = tmp.path().join("requirements.txt");
    let cfg = config(&[
        ("UPDATE_PIP_VENV", venv.to_str().unwrap()),
        ("UPDATE_PIP_REQUIREMENTS", req.to_str().unwrap()),
    ]);
    assert!(
        updates::pip_plan(&cfg)
            .unwrap_err()
            .to_string()
            .contains("does not exist")
    );

    std::fs::write(&req, "").unwrap();
    let plan = updates::pip_plan(&cfg).unwrap();
    let done = updates::pip_sync(&Exec::new(), &plan).unwrap();
    assert_eq!(
        done.outcome,
        PipOutcome::Synced { installed: vec![] },
        "{}",
        done.output
    );

    std::fs::write(&req, format!("--no-index\n{}\n", wheel.display())).unwrap();
    let jobs = Jobs::new();
    let p2 = plan.clone();
    let out = jobs
        .start(
            JobKind::Pip,
            &Exec::new(),
            JobKind::Pip.timeout(),
            move |e| updates::pip_sync(e, &p2),
        )
        .unwrap()
        .finish()
        .await;
    assert_eq!(out.status, JobStatus::Ok, "{}", out.output);
    let done = out.value.unwrap();
    assert_eq!(
        done.outcome,
        PipOutcome::Synced {
            installed: vec!["potion-probe-1.0".into()]
        }
    );
    assert!(
        out.output
            .contains("Successfully installed potion-probe-1.0")
    );
    let check = Cmd::new(venv.join("bin/python"))
        .args(["-c", "import potion_probe; print(potion_probe.VALUE)"])
        .run()
        .unwrap();
    assert_eq!(check.stdout_lossy().trim(), "42");

    std::fs::write(&req, "--no-index\nno-such-package-potion==9.9\n").unwrap();
    let done = updates::pip_sync(&Exec::new(), &plan).unwrap();
    assert!(
        matches!(&done.outcome, PipOutcome::Failed(w) if w.starts_with("exit code 1: ERROR:")),
        "{:?}",
        done.outcome
    );
}
