//! The `.deb`: built once per test run from this checkout's binaries with
//! `cargo deb --no-build` (no release build just for the tests), shared by
//! the install test in `systemd.rs` and the `lintian` check here.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use potion_runner::process::Cmd;

use super::{bin_dir, repo};

const BINARIES: [&str; 4] = [
    "potion-health",
    "potion-backup",
    "potion-bot",
    "potion-helper",
];

/// The package, built on first use (`None` when cargo-deb is missing outside CI).
pub fn shared() -> Option<&'static Path> {
    static DEB: OnceLock<Option<PathBuf>> = OnceLock::new();
    DEB.get_or_init(|| {
        // Under the target folder, so the test machines see it through their binds.
        let dir = bin_dir().parent().unwrap().join("deb-test");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        build(&dir)
    })
    .as_deref()
}

fn build(out_dir: &Path) -> Option<PathBuf> {
    let cargo_deb = std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cargo/bin/cargo-deb"))
        .filter(|p| p.exists());
    let on_path = Cmd::new("cargo")
        .args(["deb", "--version"])
        .run()
        .is_ok_and(|o| o.success());
    if cargo_deb.is_none() && !on_path {
        assert!(
            std::env::var_os("CI").is_none(),
            "cargo-deb is needed (.ci/run installs it)"
        );
        eprintln!("SKIPPED: cargo-deb is not installed (cargo install cargo-deb --locked)");
        return None;
    }
    // cargo-deb packages target/release/*: stripped copies of the test build
    // stand in for a release build (which the release profile strips too).
    let target = out_dir.join("target");
    let release = target.join("release");
    std::fs::create_dir_all(&release).unwrap();
    for b in BINARIES {
        let out = Cmd::new("strip")
            .arg("-o")
            .arg(release.join(b))
            .arg(bin_dir().join(b))
            .timeout(Duration::from_secs(300))
            .run()
            .unwrap();
        assert!(out.success(), "strip {b}: {}", out.stderr_lossy());
    }
    let deb = out_dir.join("potion-runner.deb");
    let out = Cmd::new("cargo")
        .args(["deb", "--no-build", "--no-strip", "--fast", "--output"])
        .arg(&deb)
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(repo())
        .timeout(Duration::from_secs(600))
        .run()
        .unwrap();
    assert!(
        out.success(),
        "cargo deb: {}{}",
        out.stdout_lossy(),
        out.stderr_lossy()
    );
    Some(deb)
}

/// `lintian` finds no error in the package, and every warning it still
/// reports is one `docs/packaging.md` explains (those kept on purpose are in
/// the override file, which lintian honours).
#[test]
fn deb_package_is_lintian_clean() {
    if !Path::new("/usr/bin/lintian").exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "lintian is needed (.ci/run installs it)"
        );
        eprintln!("SKIPPED: lintian is not installed (apt-get install lintian)");
        return;
    }
    let Some(deb) = shared() else {
        return;
    };
    let out = Cmd::new("lintian")
        .args(["--fail-on", "none", "--no-tag-display-limit"])
        .arg(deb)
        .timeout(Duration::from_secs(900))
        .run()
        .unwrap();
    let report = out.stdout_lossy();
    assert!(out.success(), "lintian: {report}{}", out.stderr_lossy());
    let errors: Vec<&str> = report.lines().filter(|l| l.starts_with("E: ")).collect();
    assert!(errors.is_empty(), "lintian errors:\n{report}");
    let explained = std::fs::read_to_string(repo().join("docs/packaging.md")).unwrap();
    for w in report.lines().filter(|l| l.starts_with("W: ")) {
        let tag = w.split_whitespace().nth(2).unwrap();
        assert!(
            explained.contains(&format!("`{tag}`")),
            "docs/packaging.md does not explain lintian's {w}"
        );
    }
}
