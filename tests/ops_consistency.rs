//! Holds `ops/` (units, sudoers, tmpfiles, logrotate, .env template, scripts,
//! Debian metadata) to the names in `src/paths.rs` and `src/config/`, and
//! lints the units with `systemd-analyze verify` and the sudo rule with `visudo -c`.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use potion_runner::config::{self, Config};
use potion_runner::paths;
use potion_runner::process::Cmd;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
}

/// Every unit name the code knows, each of which must ship in `ops/systemd/`.
const UNITS: [&str; 9] = [
    paths::BOT_UNIT,
    paths::HEALTH_UNIT,
    paths::HEALTH_TIMER,
    paths::BACKUP_UNIT,
    paths::BACKUP_TIMER,
    paths::VERIFY_UNIT,
    paths::VERIFY_TIMER,
    paths::SMART_UNIT,
    paths::SMART_TIMER,
];

/// The `[[bin]]` names from Cargo.toml.
fn cargo_bins() -> Vec<String> {
    let toml = read("Cargo.toml");
    let mut bins = Vec::new();
    let mut in_bin = false;
    for line in toml.lines() {
        let l = line.trim();
        if l.starts_with('[') {
            in_bin = l == "[[bin]]";
        } else if in_bin && let Some(v) = l.strip_prefix("name = ") {
            bins.push(v.trim_matches('"').to_string());
        }
    }
    assert_eq!(bins.len(), 4, "expected four [[bin]] entries: {bins:?}");
    bins
}

/// `Key=value` lines of a unit file (comments dropped), in order.
fn unit_entries(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn values<'a>(entries: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    entries
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// True when a root/systemd-only prerequisite is missing: skip loudly, or fail under CI.
fn missing(tool: &str) -> bool {
    if Path::new(tool).exists() {
        return false;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{tool} is needed by this test (install it; .ci/run does)");
    }
    eprintln!("SKIPPED: {tool} is not installed");
    true
}

#[test]
fn ops_ships_exactly_the_units_the_code_names() {
    let mut shipped: Vec<String> = fs::read_dir(repo().join("ops/systemd"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    shipped.sort();
    let mut expected: Vec<String> = UNITS.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(shipped, expected);
    assert_eq!(config::Config::defaults().self_service, paths::BOT_UNIT);
}

#[test]
fn units_run_the_crate_binaries_from_bin_dir_as_the_right_user() {
    let bins = cargo_bins();
    let expect = [
        (paths::BOT_UNIT, "potion-bot", Some(paths::SERVICE_USER)),
        (
            paths::HEALTH_UNIT,
            "potion-health",
            Some(paths::SERVICE_USER),
        ),
        (paths::BACKUP_UNIT, "potion-backup run", None),
        (paths::VERIFY_UNIT, "potion-backup verify latest", None),
        (paths::SMART_UNIT, "potion-health smart", None),
    ];
    for (unit, cmd, user) in expect {
        let e = unit_entries(&read(&format!("ops/systemd/{unit}")));
        let exec = values(&e, "ExecStart");
        assert_eq!(exec.len(), 1, "{unit}: one ExecStart");
        let want = format!("{}/{cmd}", paths::BIN_DIR);
        assert!(
            exec[0].starts_with(&want),
            "{unit}: {} is not {want}",
            exec[0]
        );
        let program = exec[0].split_whitespace().next().unwrap();
        let name = program.rsplit('/').next().unwrap();
        assert!(
            bins.iter().any(|b| b == name),
            "{unit}: {name} is no [[bin]]"
        );
        assert_eq!(values(&e, "User").first().copied(), user, "{unit}: User=");
    }
    let bot = unit_entries(&read(&format!("ops/systemd/{}", paths::BOT_UNIT)));
    assert_eq!(values(&bot, "Type"), ["notify"]);
    assert_eq!(values(&bot, "Restart"), ["on-failure"]);
    assert!(!values(&bot, "WatchdogSec").is_empty());
    assert!(
        values(&bot, "NoNewPrivileges").is_empty(),
        "sudo needs NoNewPrivileges unset"
    );
    // The bot rewrites .env atomically in its folder; the helper (inside the
    // bot's sandbox) writes the backup timer drop-in.
    let rw = values(&bot, "ReadWritePaths");
    let env_dir = Path::new(config::DEFAULT_ENV_PATH).parent().unwrap();
    assert!(rw.contains(&env_dir.to_str().unwrap()), "{rw:?}");
    let dropin_dir = Path::new(paths::BACKUP_TIMER_DROPIN).parent().unwrap();
    assert_eq!(dropin_dir, Path::new(paths::BACKUP_TIMER_DROPIN_DIR));
    assert!(
        rw.contains(&format!("-{}", paths::BACKUP_TIMER_DROPIN_DIR).as_str()),
        "{rw:?}"
    );
    for (timer, service) in [
        (paths::HEALTH_TIMER, paths::HEALTH_UNIT),
        (paths::BACKUP_TIMER, paths::BACKUP_UNIT),
        (paths::VERIFY_TIMER, paths::VERIFY_UNIT),
        (paths::SMART_TIMER, paths::SMART_UNIT),
    ] {
        let e = unit_entries(&read(&format!("ops/systemd/{timer}")));
        assert_eq!(values(&e, "Persistent"), ["true"], "{timer}");
        assert_eq!(
            timer.strip_suffix(".timer"),
            service.strip_suffix(".service")
        );
    }
    let backup_timer = unit_entries(&read(&format!("ops/systemd/{}", paths::BACKUP_TIMER)));
    let default_time = Config::defaults().backup_time;
    assert_eq!(
        values(&backup_timer, "OnCalendar"),
        [format!("*-*-* {default_time}:00").as_str()]
    );
}

#[test]
fn other_ops_files_use_the_code_paths() {
    let sudoers = read("ops/sudoers/potion-runner");
    let rules: Vec<&str> = sudoers
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with('#')
                && !l.starts_with("Defaults")
                && !l.starts_with("Cmnd_Alias")
        })
        .collect();
    assert_eq!(
        rules,
        [format!(
            "{} ALL=(root) NOPASSWD: POTION_HELPER",
            paths::SERVICE_USER
        )]
    );
    assert!(sudoers.contains(&format!(
        "Cmnd_Alias POTION_HELPER = {}\n",
        paths::HELPER_PATH
    )));

    let cfg = Config::defaults();
    let tmpfiles = read("ops/tmpfiles.d/potion-runner.conf");
    for dir in [&cfg.app_dir, &cfg.state_dir, &cfg.log_dir] {
        assert!(
            tmpfiles.contains(&format!("d {} ", dir.display())),
            "tmpfiles lacks {}",
            dir.display()
        );
    }
    assert!(tmpfiles.contains(&format!("d {} ", paths::BACKUP_TIMER_DROPIN_DIR)));
    let etc = std::path::Path::new(paths::SYSTEM_ENV_PATH)
        .parent()
        .unwrap();
    assert!(tmpfiles.contains(&format!("d {} 0755 root root -", etc.display())));
    assert_eq!(
        etc,
        std::path::Path::new(paths::ALLOWED_UNITS_FILE)
            .parent()
            .unwrap()
    );
    let logrotate = read("ops/logrotate/potion-runner");
    let log = cfg.log_dir.join(paths::ACTIONS_LOG);
    assert!(logrotate.starts_with(&format!(
        "# potion-runner: the audit log (one JSON object a line). Runtime logs go to the journal.\n{} {{",
        log.display()
    )));
    assert!(logrotate.contains(&format!("su {0} {0}", paths::SERVICE_USER)));

    let setup = read("ops/setup-system.sh");
    assert!(setup.contains(&format!("USER_NAME={}\n", paths::SERVICE_USER)));
    assert!(setup.contains(&format!("HELPER={}\n", paths::HELPER_PATH)));
    assert!(setup.contains(&format!("APP_DIR={}\n", cfg.app_dir.display())));
    assert!(setup.contains(&format!("BOT_UNIT={}\n", paths::BOT_UNIT)));
    // .env is reached only through the helper's handle, never by a path tool.
    for tool in ["grep ", "sed ", "chmod ", "chown ", "install ", "stat "] {
        assert!(
            !setup
                .lines()
                .any(|l| l.contains(tool) && l.contains("ENV_FILE")),
            "setup-system.sh runs {tool}on .env"
        );
    }
    for t in [
        paths::HEALTH_TIMER,
        paths::BACKUP_TIMER,
        paths::VERIFY_TIMER,
        paths::SMART_TIMER,
    ] {
        assert!(setup.contains(t), "setup-system.sh does not enable {t}");
    }
    let uninstall = read("ops/uninstall.sh");
    for u in UNITS {
        assert!(uninstall.contains(u), "uninstall.sh forgets {u}");
    }
    let install = read("ops/install.sh");
    for b in cargo_bins() {
        if b == "potion-helper" {
            assert!(install.contains(paths::HELPER_PATH));
            assert!(uninstall.contains(&format!("rm -rf {}\n", paths::LIBEXEC_DIR)));
        } else {
            assert!(install.contains(&format!("{}/$b", paths::BIN_DIR)), "{b}");
            assert!(
                uninstall.contains(&format!("{}/{b}", paths::BIN_DIR)),
                "{b}"
            );
        }
        // An install before 0.2 left them here: install.sh (through setup-system.sh
        // retire) and uninstall.sh remove them.
        assert!(
            uninstall.contains(&format!("{}/{b}", paths::OLD_BIN_DIR)),
            "{b}"
        );
        assert!(setup.contains(b.as_str()), "{b}");
    }
    assert!(setup.contains(&format!("OLD_BIN_DIR={}\n", paths::OLD_BIN_DIR)));
    assert!(install.contains("setup-system.sh\" retire\n"));
    assert!(read("ops/debian/postinst").contains("\"$SETUP\" retire --units\n"));
    assert!(uninstall.contains(paths::BACKUP_TIMER_DROPIN_DIR));
}

#[test]
fn debian_metadata_ships_every_binary_and_unit() {
    let toml = read("Cargo.toml");
    let deb = &toml[toml.find("[package.metadata.deb]").expect("deb metadata")..];
    for b in cargo_bins() {
        let installed = if b == "potion-helper" {
            paths::HELPER_PATH.to_string()
        } else {
            format!("{}/{b}", paths::BIN_DIR)
        };
        let dir = installed
            .rsplit_once('/')
            .unwrap()
            .0
            .trim_start_matches('/');
        assert!(
            deb.contains(&format!("[\"target/release/{b}\", \"{dir}/\", \"755\"]")),
            "{b} is not shipped as {installed}"
        );
    }
    for u in UNITS {
        assert!(
            deb.contains(&format!(
                "[\"ops/systemd/{u}\", \"usr/lib/systemd/system/\", \"644\"]"
            )),
            "{u}"
        );
    }
    assert!(deb.contains("maintainer-scripts = \"ops/debian/\""));
    assert!(deb.contains(
        "[\"ops/system.env.template\", \"usr/share/potion-runner/system.env.template\", \"644\"]"
    ));
    assert!(
        deb.contains(
            "[\"ops/sudoers/potion-runner\", \"usr/share/potion-runner/sudoers\", \"644\"]"
        )
    );
}

/// Each key documented in the template of its class (and only there), and
/// the templates as shipped, or with every default uncommented, load to the
/// code's defaults.
#[test]
fn templates_document_every_key_with_the_code_defaults() {
    let env = read("ops/env.template");
    let system = read("ops/system.env.template");
    let documents = |text: &str, key: &str| {
        text.lines()
            .any(|l| l.starts_with(&format!("{key}=")) || l.starts_with(&format!("#{key}=")))
    };
    for key in config::KEYS {
        let is_system = config::class_of(key) == Some(config::Class::System);
        let (home, other) = if is_system {
            (&system, &env)
        } else {
            (&env, &system)
        };
        assert!(documents(home, key), "{key} is not in its template");
        assert!(!documents(other, key), "{key} is in the other template");
    }
    let text = format!("{env}\n{system}");
    // As shipped it must load (the bot refuses to start without a token, the jobs do not care).
    let entries = potion_runner::envfile::parse(&text).unwrap();
    let pairs: BTreeMap<_, _> = entries.into_iter().map(|e| (e.key, e.value)).collect();
    let shipped = Config::from_pairs(&pairs).unwrap();
    // Uncommenting every documented default must change nothing.
    let uncommented: String = text
        .lines()
        .map(|l| match l.strip_prefix('#') {
            Some(rest)
                if rest
                    .split_once('=')
                    .is_some_and(|(k, _)| config::KEYS.contains(&k)) =>
            {
                rest
            }
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let entries = potion_runner::envfile::parse(&uncommented).unwrap();
    let pairs: BTreeMap<_, _> = entries.into_iter().map(|e| (e.key, e.value)).collect();
    let with_defaults = Config::from_pairs(&pairs).unwrap();
    assert_eq!(format!("{shipped:?}"), format!("{:?}", Config::defaults()));
    assert_eq!(format!("{with_defaults:?}"), format!("{shipped:?}"));
}

#[test]
fn sudoers_passes_visudo() {
    if missing("/usr/sbin/visudo") {
        return;
    }
    let out = Cmd::new("/usr/sbin/visudo")
        .args(["-c", "-f"])
        .arg(repo().join("ops/sudoers/potion-runner"))
        .run()
        .unwrap();
    assert!(
        out.success(),
        "visudo -c: {}{}",
        out.stdout_lossy(),
        out.stderr_lossy()
    );
}

#[test]
fn scripts_parse() {
    for s in [
        "ops/install.sh",
        "ops/uninstall.sh",
        "ops/setup-system.sh",
        "ops/debian/postinst",
        "ops/debian/postrm",
        "tests/systemd_support/real-systemd.sh",
    ] {
        let p = repo().join(s);
        let mode = fs::metadata(&p).unwrap().permissions().mode();
        assert!(mode & 0o111 != 0, "{s} is not executable");
        // Parse with the interpreter the script names in its #! line.
        let text = fs::read_to_string(&p).unwrap();
        let shebang = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("#!"))
            .expect("#! line");
        let mut words = shebang.split_whitespace();
        let out = Cmd::new(words.next().unwrap())
            .args(words)
            .arg("-n")
            .arg(&p)
            .run()
            .unwrap();
        assert!(out.success(), "{s}: {}", out.stderr_lossy());
    }
}

/// A throw-away root for `systemd-analyze verify --root`: the host's stock
/// units (for targets and dependencies), our units in /etc/systemd/system, and
/// an executable stub at `BIN_DIR/<name>` for every `[[bin]]` — so a unit that
/// names a binary the crate does not build fails the check.
fn verify_root(units: &[(String, String)]) -> (tempfile::TempDir, Vec<PathBuf>) {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    copy_tree(
        Path::new("/usr/lib/systemd/system"),
        &r.join("usr/lib/systemd/system"),
    );
    std::os::unix::fs::symlink("usr/lib", r.join("lib")).unwrap();
    let bin = r.join(paths::BIN_DIR.trim_start_matches('/'));
    fs::create_dir_all(&bin).unwrap();
    for b in cargo_bins() {
        let p = bin.join(b);
        fs::write(&p, "").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let etc = r.join("etc/systemd/system");
    fs::create_dir_all(&etc).unwrap();
    let files = units
        .iter()
        .map(|(name, text)| {
            let p = etc.join(name);
            fs::write(&p, text).unwrap();
            p
        })
        .collect();
    (root, files)
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let ft = e.file_type().unwrap();
        if ft.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&src).unwrap(), &dst).unwrap();
        } else if ft.is_dir() {
            copy_tree(&src, &dst);
        } else {
            fs::copy(&src, &dst).unwrap();
        }
    }
}

/// Runs `systemd-analyze verify`; any output at all is a failure (it reports
/// many problems only as warnings, with exit status 0).
fn analyze(units: &[(String, String)]) -> Result<(), String> {
    let (root, files) = verify_root(units);
    let out = Cmd::new("/usr/bin/systemd-analyze")
        .arg("verify")
        .arg(format!("--root={}", root.path().display()))
        .args(&files)
        .env("SYSTEMD_LOG_COLOR", "0")
        .run()
        .unwrap();
    let text = format!("{}{}", out.stdout_lossy(), out.stderr_lossy());
    if out.success() && text.trim().is_empty() {
        Ok(())
    } else {
        Err(format!("{}: {text}", out.describe_end()))
    }
}

#[test]
fn units_pass_systemd_analyze_verify_silently() {
    if missing("/usr/bin/systemd-analyze") {
        return;
    }
    let units: Vec<(String, String)> = UNITS
        .iter()
        .map(|u| (u.to_string(), read(&format!("ops/systemd/{u}"))))
        .collect();
    analyze(&units).unwrap_or_else(|e| panic!("systemd-analyze verify: {e}"));

    // The check has teeth: a misspelt binary or option is caught.
    let health = read(&format!("ops/systemd/{}", paths::HEALTH_UNIT));
    let typo = health.replace("bin/potion-health", "bin/potion-healht");
    assert!(analyze(&[(paths::HEALTH_UNIT.into(), typo)]).is_err());
    let bad_key = health.replace("Nice=5", "Nicety=5");
    assert!(analyze(&[(paths::HEALTH_UNIT.into(), bad_key)]).is_err());
}

/// `systemd-analyze security --offline=yes` exposure of one shipped unit.
fn exposure(unit: &str) -> f64 {
    let out = Cmd::new("/usr/bin/systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(repo().join("ops/systemd").join(unit))
        .env("SYSTEMD_LOG_COLOR", "0")
        .run()
        .unwrap();
    let text = out.stdout_lossy();
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("{unit}: no exposure level in {text}"));
    let figure = line
        .rsplit(':')
        .next()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    figure.parse().unwrap_or_else(|_| panic!("{unit}: {line}"))
}

#[test]
fn units_are_hardened_as_far_as_their_work_allows() {
    if missing("/usr/bin/systemd-analyze") {
        return;
    }
    let [backup, verify, health, bot] = [
        paths::BACKUP_UNIT,
        paths::VERIFY_UNIT,
        paths::HEALTH_UNIT,
        paths::BOT_UNIT,
    ]
    .map(exposure);
    println!(
        "systemd-analyze security exposure: backup {backup}, verify {verify}, health {health}, bot {bot}"
    );
    assert!(backup <= 5.0, "backup unit exposure {backup}");
    assert!(verify <= 5.0, "verify unit exposure {verify}");
    assert!(health <= 3.5, "health unit exposure {health}");
    // The bot cannot take seccomp options (they imply NoNewPrivileges, which
    // stops sudo); the unit must keep saying so.
    assert!(
        read(&format!("ops/systemd/{}", paths::BOT_UNIT))
            .contains("NoNewPrivileges= is deliberately not set")
    );
}

/// Every logger goes through `logging`'s redacting wrapper: no other module
/// installs one itself (a helper child's stderr once reached the journal raw).
#[test]
fn only_the_logging_module_installs_a_logger() {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&repo().join("src"), &mut files);
    walk(&repo().join("bin"), &mut files);
    for f in files {
        if f.ends_with("src/logging.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        for bad in ["set_boxed_logger", "set_logger(", ".install()"] {
            assert!(
                !text.contains(bad),
                "{} installs a logger ({bad})",
                f.display()
            );
        }
    }
}

/// The mode tmpfiles gives `dir`, as octal digits.
fn tmpfiles_mode(dir: &Path) -> u32 {
    let tmpfiles = read("ops/tmpfiles.d/potion-runner.conf");
    let line = tmpfiles
        .lines()
        .find(|l| l.starts_with(&format!("d {} ", dir.display())))
        .unwrap_or_else(|| panic!("tmpfiles lacks {}", dir.display()));
    let mode = line.split_whitespace().nth(2).unwrap();
    u32::from_str_radix(mode, 8).unwrap()
}

/// In state/ and logs/ as tmpfiles makes them, the service user may rename
/// over its own files but not over root's (a planted last_backup.json).
#[test]
fn the_service_user_cannot_replace_roots_files_in_shared_folders() {
    const SETPRIV: &str = "/usr/bin/setpriv";
    if missing(SETPRIV) {
        return;
    }
    let cfg = Config::defaults();
    for shared in [&cfg.state_dir, &cfg.log_dir] {
        let mode = tmpfiles_mode(shared);
        let top = tempfile::tempdir().unwrap();
        fs::set_permissions(top.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let dir = top.path().join("shared");
        fs::create_dir(&dir).unwrap();
        let nobody = 65534;
        std::os::unix::fs::chown(&dir, Some(0), Some(nobody)).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(mode)).unwrap();
        let file = |name: &str, uid: u32| {
            fs::write(dir.join(name), name).unwrap();
            std::os::unix::fs::chown(dir.join(name), Some(uid), Some(nobody)).unwrap();
        };
        file(paths::LAST_BACKUP, 0);
        file("mine.json", nobody);
        file(".mine.json.tmp", nobody);
        file(".evil.tmp", nobody);
        let mv = |from: &str, to: &str| {
            Cmd::new(SETPRIV)
                .args([
                    "--reuid=65534",
                    "--regid=65534",
                    "--clear-groups",
                    "--",
                    "mv",
                    "-f",
                ])
                .arg(dir.join(from))
                .arg(dir.join(to))
                .run()
                .unwrap()
                .success()
        };
        assert!(mv(".mine.json.tmp", "mine.json"), "{}", shared.display());
        assert!(!mv(".evil.tmp", paths::LAST_BACKUP), "{}", shared.display());
        assert_eq!(
            fs::read_to_string(dir.join(paths::LAST_BACKUP)).unwrap(),
            paths::LAST_BACKUP
        );
    }
}
