//! Finding and reading the two settings files, and falling back on a bad
//! preference.
//!
//! Which sources a process may use depends on who it runs for
//! ([`Privilege`]): a process started on someone else's behalf (sudo) takes
//! nothing from its environment and reads only the installed files; a
//! process running as root takes system settings only from a file that
//! root alone could have written (`read::read_root_only`). A user's own
//! process (tests, the no-root demo) may point at other files with
//! `$POTION_SYSTEM_ENV`/`$POTION_ENV` and override any key with an
//! environment variable of its name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::Config;
use super::keys::{self, Class};
use super::problem::{ConfigError, Problem, ProblemKind};
use super::read;
use crate::{envfile, paths};

/// Where `.env` lives on an installed system.
pub const DEFAULT_ENV_PATH: &str = "/opt/potion-runner/.env";
/// Environment variable naming another `.env`.
pub const ENV_PATH_VAR: &str = "POTION_ENV";
/// Environment variable naming another `system.env` (never honoured under sudo).
pub const SYSTEM_ENV_VAR: &str = "POTION_SYSTEM_ENV";

/// Who the process runs for, which decides what it may trust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privilege {
    /// A user's own process: environment overrides and other files allowed.
    User,
    /// Root on root's behalf (systemd units, root's shell): environment
    /// overrides allowed (only root sets them), `system.env` must be root's.
    Root,
    /// Privileged on someone else's behalf (sudo, setuid): only the
    /// installed files, never the environment; `system.env` must be root's.
    Delegated,
}

impl Privilege {
    /// Reads this process's ids and `SUDO_USER` (set by sudo itself).
    pub fn current() -> Privilege {
        // SAFETY: these id getters have no preconditions and cannot fail.
        let (uid, euid, gid, egid) = unsafe {
            (
                libc::getuid(),
                libc::geteuid(),
                libc::getgid(),
                libc::getegid(),
            )
        };
        let sudo = std::env::var_os("SUDO_USER").is_some_and(|u| !u.is_empty());
        if sudo || uid != euid || gid != egid {
            Privilege::Delegated
        } else if euid == 0 {
            Privilege::Root
        } else {
            Privilege::User
        }
    }

    fn is_root(self) -> bool {
        // A delegated process may also run with a non-root euid; it is held
        // to root's rules all the same.
        !matches!(self, Privilege::User)
    }
}

/// Where to look for the settings, and what may override them.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// `--env FILE` from the command line (preferences).
    pub env_file: Option<PathBuf>,
    /// `--system-env FILE` (the helper's flag; refused under sudo there).
    pub system_file: Option<PathBuf>,
    /// True for the privileged helper: it trusts nothing from the caller's environment.
    pub ignore_process_env: bool,
    pub privilege: Privilege,
    /// Keep the preferences as last-known-good in `STATE_DIR` when they
    /// load clean (only the service user's processes do).
    pub write_last_good: bool,
}

impl LoadOptions {
    /// Options for this process: its own privilege, environment allowed
    /// unless delegated, last-known-good written unless running as root.
    pub fn for_process(env_file: Option<PathBuf>) -> LoadOptions {
        let privilege = Privilege::current();
        LoadOptions {
            env_file,
            system_file: None,
            ignore_process_env: false,
            privilege,
            write_last_good: privilege == Privilege::User,
        }
    }

    fn use_env(&self) -> bool {
        !self.ignore_process_env && self.privilege != Privilege::Delegated
    }
}

/// Finds `.env` by the contract's order: `--env FILE`, else `$POTION_ENV`,
/// else `/opt/potion-runner/.env` when it exists, else none (defaults).
pub fn find_env_file(opts: &LoadOptions) -> Option<PathBuf> {
    if let Some(p) = &opts.env_file {
        return Some(p.clone());
    }
    if opts.use_env()
        && let Some(p) = std::env::var_os(ENV_PATH_VAR).filter(|p| !p.is_empty())
    {
        return Some(PathBuf::from(p));
    }
    let default = Path::new(DEFAULT_ENV_PATH);
    default
        .symlink_metadata()
        .is_ok()
        .then(|| default.to_path_buf())
}

fn system_file(opts: &LoadOptions) -> PathBuf {
    if opts.privilege != Privilege::Delegated {
        if let Some(p) = &opts.system_file {
            return p.clone();
        }
        if opts.use_env()
            && let Some(p) = std::env::var_os(SYSTEM_ENV_VAR).filter(|p| !p.is_empty())
        {
            return PathBuf::from(p);
        }
    }
    PathBuf::from(paths::SYSTEM_ENV_PATH)
}

fn pairs_of(entries: Vec<envfile::Entry>) -> BTreeMap<String, String> {
    entries.into_iter().map(|e| (e.key, e.value)).collect()
}

/// The lines of `text` that are settings, and a problem for each that is
/// not (keyed `NAME:LINE`; the line's text is never kept).
fn lines(name: &str, text: &str, problems: &mut Vec<Problem>) -> Vec<envfile::Entry> {
    let (entries, bad_lines) = envfile::parse_lenient(text);
    problems.extend(
        bad_lines
            .iter()
            .map(|e| Problem::new(&format!("{name}:{}", e.line), "", ProblemKind::Line(e.kind))),
    );
    entries
}

/// Loads the configuration: system settings from `system.env`, preferences
/// from `.env` (a bad one is ignored and falls back), then environment
/// overrides where allowed, then validation. The error lists every problem
/// found in both files, in the language of `BOT_LANG`: anything wrong on the
/// system side is fatal, and a bad preference is reported beside it.
pub fn load(opts: &LoadOptions) -> Result<Config, ConfigError> {
    let sys_path = system_file(opts);
    let sys_text = if opts.privilege.is_root() {
        read::read_root_only(&sys_path)
    } else {
        read::read_env_text(&sys_path)
    };
    let mut fatal = Vec::new();
    let sys_text = match sys_text {
        Ok(t) => t,
        Err(e) if e.is_missing() => String::new(),
        Err(e) => {
            fatal.push(e.problem());
            String::new()
        }
    };
    let mut system = pairs_of(lines(
        &sys_path.display().to_string(),
        &sys_text,
        &mut fatal,
    ));
    if let Some(k) = system
        .keys()
        .find(|k| keys::class_of(k) == Some(Class::Preference))
    {
        log::warn!(
            "{}: {k} is a preference; it belongs in .env and is ignored here",
            sys_path.display()
        );
    }
    system.retain(|k, _| keys::class_of(k) == Some(Class::System));
    for k in keys::SECRET_KEYS {
        if system.remove(*k).is_some() {
            log::warn!(
                "{}: {k} is a secret and every user can read this file, so it is ignored here; put it in {} (mode 0600)",
                sys_path.display(),
                paths::BACKUP_PING_ENV_PATH
            );
        }
    }

    let mut ignored = Vec::new();
    let env_path = find_env_file(opts);
    let mut prefs = BTreeMap::new();
    if let Some(p) = &env_path {
        match read::read_env_text(p) {
            Ok(text) => prefs = preferences(&text, &mut ignored),
            Err(e) if e.is_missing() && opts.env_file.is_none() => {}
            Err(e) => ignored.push(e.problem()),
        }
    }
    let file_prefs = prefs.clone();
    if opts.use_env() {
        for key in keys::KEYS {
            if let Ok(v) = std::env::var(key) {
                let map = match keys::class_of(key) {
                    Some(Class::System) => &mut system,
                    _ => &mut prefs,
                };
                map.insert((*key).to_string(), v);
            }
        }
    }
    if !fatal.is_empty() {
        // The file itself is bad: report that, with what .env says and the language it asks for.
        let mut all = prefs.clone();
        all.extend(system.clone());
        let lang = match Config::from_pairs(&all) {
            Ok(c) => c.bot_lang,
            Err(e) => {
                fatal.extend(e.problems);
                e.lang
            }
        };
        fatal.extend(ignored);
        return Err(ConfigError {
            lang,
            problems: fatal,
        });
    }
    // STATE_DIR is a system setting, so the last-known-good file is found
    // before any preference is looked at (a bad system side has none).
    let last_good_path = Config::from_pairs(&system)
        .ok()
        .map(|c| c.state_dir.join(paths::LAST_GOOD_PREFS));
    let last_good = last_good_path
        .as_deref()
        .and_then(Path::parent)
        .map(read_last_good)
        .unwrap_or_default();
    let mut cfg = resolve(&system, prefs, &last_good, &mut ignored)?;
    if let Some(path) = last_good_path
        && opts.write_last_good
        && ignored.is_empty()
        && env_path.is_some()
    {
        keep_last_good(&path, &file_prefs, &last_good);
    }
    cfg.env_file = env_path;
    cfg.ignored = ignored;
    Ok(cfg)
}

/// The preferences in `.env` text; lines that are not settings and system
/// keys (which `.env` cannot change) go to `ignored`. Pure.
pub fn preferences(text: &str, ignored: &mut Vec<Problem>) -> BTreeMap<String, String> {
    let mut prefs = BTreeMap::new();
    for e in lines(".env", text, ignored) {
        match keys::class_of(&e.key) {
            Some(Class::System) => {
                if !ignored.iter().any(|i| i.key == e.key) {
                    ignored.push(Problem::new(&e.key, "", ProblemKind::SystemKeyInEnv));
                }
            }
            _ => {
                prefs.insert(e.key, e.value);
            }
        }
    }
    prefs
}

/// The last preferences that loaded clean (none when the file is missing or
/// does not parse).
pub fn read_last_good(state_dir: &Path) -> BTreeMap<String, String> {
    read::read_env_text(&state_dir.join(paths::LAST_GOOD_PREFS))
        .ok()
        .and_then(|t| envfile::parse(&t).ok())
        .map(pairs_of)
        .unwrap_or_default()
}

/// Builds the config from `system` and `prefs`. Each preference the config
/// refuses is replaced by its `last_good` value, or dropped for the default
/// when that fails too, and listed in `ignored`. Any other problem is the
/// error, which lists every problem found, the ignored preferences included.
/// Pure.
pub fn resolve(
    system: &BTreeMap<String, String>,
    mut prefs: BTreeMap<String, String>,
    last_good: &BTreeMap<String, String>,
    ignored: &mut Vec<Problem>,
) -> Result<Config, ConfigError> {
    let mut fell_back: Vec<String> = Vec::new();
    let mut lang = super::Lang::Id;
    // Each round settles at least one key for good, so this ends.
    for _ in 0..=prefs.len() * 2 + 1 {
        let mut all = prefs.clone();
        all.extend(system.iter().map(|(k, v)| (k.clone(), v.clone())));
        let e = match Config::from_pairs(&all) {
            Ok(mut cfg) => {
                cfg.system_pairs = system.clone();
                return Ok(cfg);
            }
            Err(e) => e,
        };
        lang = e.lang;
        let (pref, fatal): (Vec<Problem>, Vec<Problem>) = e.problems.into_iter().partition(|p| {
            keys::class_of(&p.key) == Some(Class::Preference) && prefs.contains_key(&p.key)
        });
        if !fatal.is_empty() {
            let mut problems = fatal;
            problems.extend(pref.into_iter().filter(|p| !fell_back.contains(&p.key)));
            problems.extend(ignored.iter().cloned());
            return Err(ConfigError { lang, problems });
        }
        for p in pref {
            if fell_back.contains(&p.key) {
                prefs.remove(&p.key);
                continue;
            }
            match last_good.get(&p.key) {
                Some(v) if prefs.get(&p.key) != Some(v) => {
                    prefs.insert(p.key.clone(), v.clone());
                }
                _ => {
                    prefs.remove(&p.key);
                }
            }
            fell_back.push(p.key.clone());
            ignored.push(p);
        }
    }
    Err(ConfigError {
        lang,
        problems: vec![Problem::new("", "", ProblemKind::Unsettled)],
    })
}

/// Writes the preferences as last-known-good (0600: the token is among
/// them) when they differ from what is kept; a failure only costs the
/// fallback, so it is logged and the run goes on.
fn keep_last_good(path: &Path, prefs: &BTreeMap<String, String>, kept: &BTreeMap<String, String>) {
    if prefs == kept {
        return;
    }
    let mut text = String::from(
        "# potion-runner: the last preferences that loaded clean (written by the service; do not edit)\n",
    );
    for (k, v) in prefs {
        match envfile::quote(v) {
            Ok(q) => text.push_str(&format!("{k}={q}\n")),
            Err(_) => return,
        }
    }
    if let Err(e) = crate::atomic::write_with_mode(path, text.as_bytes(), 0o600) {
        log::debug!("keeping the last good preferences: {e:#}");
    }
}

#[cfg(test)]
mod tests;
