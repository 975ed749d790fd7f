//! A real systemd booted by `real-systemd.sh` for one test: up on creation,
//! always powered off on drop (even when the test panics), with helpers to
//! run commands inside, read unit properties, put files into its root and
//! listen on its private loopback.

use std::fs;
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use potion_runner::process::{Cmd, Output};

pub struct Machine {
    name: String,
    script: PathBuf,
    root: PathBuf,
}

impl Machine {
    /// Boots an instance named `potion-<tag>-<pid>` with `binds` (host paths,
    /// same path inside) mounted in.
    pub fn up(tag: &str, binds: &[&Path]) -> Machine {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/systemd_support/real-systemd.sh");
        let name = format!("potion-{tag}-{}", std::process::id());
        let bind = binds
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" ");
        assert!(!bind.contains("  "), "bind paths may not contain spaces");
        let out = Cmd::new(&script)
            .arg("up")
            .env("RS_NAME", &name)
            .env("RS_BIND", bind)
            .timeout(Duration::from_secs(120))
            .run()
            .unwrap();
        // From here on the machine exists; Drop powers it off whatever happens next.
        let mut m = Machine {
            name,
            script,
            root: PathBuf::new(),
        };
        assert!(
            out.success(),
            "real-systemd up failed: {}{}",
            out.stdout_lossy(),
            out.stderr_lossy()
        );
        let root = m.tool(&["root"], 30);
        assert!(root.success(), "real-systemd root: {}", root.stderr_lossy());
        m.root = PathBuf::from(root.stdout_lossy().trim());
        m
    }

    fn tool(&self, args: &[&str], timeout_s: u64) -> Output {
        Cmd::new(&self.script)
            .args(args)
            .env("RS_NAME", &self.name)
            .timeout(Duration::from_secs(timeout_s))
            .run()
            .unwrap()
    }

    /// Runs a command inside and returns how it ended.
    pub fn run(&self, argv: &[&str]) -> Output {
        self.run_for(argv, 120)
    }

    pub fn run_for(&self, argv: &[&str], timeout_s: u64) -> Output {
        let mut args = vec!["exec"];
        args.extend_from_slice(argv);
        self.tool(&args, timeout_s)
    }

    /// Runs a command inside, insists on exit 0, returns its stdout.
    pub fn ok(&self, argv: &[&str]) -> String {
        let out = self.run(argv);
        assert!(
            out.success(),
            "{argv:?} {}:\nstdout: {}\nstderr: {}",
            out.describe_end(),
            out.stdout_lossy(),
            out.stderr_lossy()
        );
        out.stdout_lossy()
    }

    /// One property of a unit (`systemctl show -p PROP --value`).
    pub fn prop(&self, unit: &str, prop: &str) -> String {
        self.ok(&["systemctl", "show", "-p", prop, "--value", unit])
            .trim()
            .to_string()
    }

    /// Waits until `check` holds, up to `timeout`; panics with `what` otherwise.
    pub fn wait_for(&self, what: &str, timeout: Duration, mut check: impl FnMut(&Machine) -> bool) {
        let start = Instant::now();
        while !check(self) {
            assert!(start.elapsed() < timeout, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits until `journalctl ARGS --no-pager` output satisfies `check`
    /// (journald stores lines asynchronously) and returns that output.
    pub fn journal_until(&self, args: &[&str], what: &str, check: impl Fn(&str) -> bool) -> String {
        let mut argv = vec!["journalctl", "--no-pager"];
        argv.extend_from_slice(args);
        let start = Instant::now();
        loop {
            let text = self.ok(&argv);
            if check(&text) {
                return text;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "journal never showed {what}:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Host path of `path` inside the machine.
    pub fn host_path(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    /// Writes a file inside the machine (owned by root) with `mode`.
    pub fn write(&self, path: &str, text: &str, mode: u32) {
        let p = self.host_path(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, text).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
    }

    pub fn read(&self, path: &str) -> Option<String> {
        fs::read_to_string(self.host_path(path)).ok()
    }

    /// A listener on 127.0.0.1 (any port) of the machine's own network
    /// namespace, which has only `lo`: a short-lived thread joins that
    /// namespace, binds, and ends; the socket stays there, while the test
    /// serves it from its own threads.
    pub fn listen_local(&self) -> TcpListener {
        // root is /proc/<pid of the inner systemd>/root.
        let ns = self.root.parent().unwrap().join("ns/net");
        std::thread::scope(|s| {
            s.spawn(|| {
                let f = fs::File::open(&ns).unwrap();
                // SAFETY: setns on an open namespace file; it changes only this thread.
                let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
                TcpListener::bind("127.0.0.1:0").unwrap()
            })
            .join()
            .unwrap()
        })
    }

    /// `sudo -u potion sudo -n ARGS…`: what the bot does.
    pub fn as_bot(&self, args: &[&str]) -> Output {
        let mut argv = vec!["sudo", "-u", "potion", "sudo", "-n"];
        argv.extend_from_slice(args);
        self.run(&argv)
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        let out = self.tool(&["down"], 120);
        if out.success() && !std::thread::panicking() {
            // The console log is only worth keeping when something went wrong.
            let _ = fs::remove_dir_all(format!("/tmp/real-systemd-{}", self.name));
        } else {
            eprintln!(
                "real-systemd down {}: {}{}",
                self.name,
                out.stdout_lossy(),
                out.stderr_lossy()
            );
        }
    }
}
