//! `potion-helper setup env|status`: what the installer (`ops/setup-system.sh`,
//! run by `install.sh` and the package's postinst) does to `.env` as root.
//!
//! `.env` belongs to the service user, who may swap it for a symlink, a FIFO
//! or a hard link to a file of root's at any moment. So it is reached only
//! through one handle: the app folder is opened from `/` without following
//! symlinks, `.env` is opened `O_NOFOLLOW | O_NONBLOCK` from it, and that
//! handle is checked (`fstat`: a regular file with one link), fixed
//! (`fchown`, `fchmod`) and read. A new `.env` is written to an `O_EXCL`
//! temporary in the same folder and renamed into place with `renameat`.
//! Never under sudo: the bot's user may run the helper that way.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use crate::config::{self, Class};
use crate::envfile::{self, EnvFile};
use crate::{atomic, paths};

/// Where setup works (the installed paths, or temp folders in tests).
#[derive(Debug, Clone)]
pub struct SetupPaths {
    pub app_dir: PathBuf,
    pub system_env: PathBuf,
    pub user: String,
}

impl SetupPaths {
    pub fn installed() -> SetupPaths {
        SetupPaths {
            app_dir: PathBuf::from("/opt/potion-runner"),
            system_env: PathBuf::from(paths::SYSTEM_ENV_PATH),
            user: paths::SERVICE_USER.to_string(),
        }
    }
}

fn user_ids(name: &str) -> Result<(u32, u32)> {
    let c = CString::new(name).context("user name")?;
    // SAFETY: `c` is NUL-terminated; the returned record is read at once,
    // before any other call could reuse it.
    let pw = unsafe { libc::getpwnam(c.as_ptr()) };
    if pw.is_null() {
        bail!("there is no user {name}");
    }
    // SAFETY: checked non-null above.
    Ok(unsafe { ((*pw).pw_uid, (*pw).pw_gid) })
}

fn check(rc: i32, what: &str) -> Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error()).context(what.to_string())
    }
}

/// Opens `.env` in `dir` as one handle; `None` when there is none.
fn open_env(dir: &OwnedFd) -> Result<Option<File>> {
    let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK;
    let f = match config::open_at(Some(dir), ".env".as_ref(), flags) {
        Ok(fd) => File::from(fd),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            bail!("{}", refusal("is a symlink"))
        }
        Err(e) => return Err(e).context("opening .env"),
    };
    let m = f.metadata().context("fstat .env")?;
    if !m.file_type().is_file() {
        bail!("{}", refusal("is not a regular file"));
    }
    if m.nlink() != 1 {
        bail!("{}", refusal("has more than one hard link"));
    }
    Ok(Some(f))
}

fn refusal(what: &str) -> String {
    format!(
        ".env {what}; refusing to touch it as root. Replace it with a plain file (or remove it to get the template) and run this again"
    )
}

fn read_all(f: &File) -> Result<String> {
    let mut text = String::new();
    f.take(config::MAX_ENV_BYTES + 1)
        .read_to_string(&mut text)
        .context("reading .env")?;
    if text.len() as u64 > config::MAX_ENV_BYTES {
        bail!(".env is larger than any settings file");
    }
    Ok(text)
}

/// Writes `.env` anew: an `O_EXCL` temporary in `dir` (random name, retried
/// on a clash: the service user may create names in this folder), owned by
/// the service user, mode 0600, synced, then renamed over `.env`.
fn replace_env(dir: &OwnedFd, text: &str, uid: u32, gid: u32) -> Result<()> {
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW;
    let mut tries = 0;
    let (c, fd) = loop {
        let c = CString::new(format!(".env.new-{}", atomic::random_suffix()?))?;
        // SAFETY: `c` is NUL-terminated and `dir` a valid folder handle.
        let fd =
            unsafe { libc::openat(dir.as_raw_fd(), c.as_ptr(), flags | libc::O_CLOEXEC, 0o600) };
        if fd >= 0 {
            break (c, fd);
        }
        let e = std::io::Error::last_os_error();
        tries += 1;
        if e.kind() != std::io::ErrorKind::AlreadyExists || tries >= 16 {
            return Err(e).context("creating the new .env");
        }
    };
    // SAFETY: a fresh handle nothing else owns.
    let mut f = File::from(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) });
    let done = (|| -> Result<()> {
        f.write_all(text.as_bytes())?;
        // SAFETY: valid handle; plain ids.
        check(
            unsafe { libc::fchown(f.as_raw_fd(), uid, gid) },
            "fchown .env",
        )?;
        // SAFETY: valid handle.
        check(unsafe { libc::fchmod(f.as_raw_fd(), 0o600) }, "fchmod .env")?;
        f.sync_all()?;
        let to = CString::new(".env")?;
        // SAFETY: both names are NUL-terminated, `dir` is valid.
        let rc =
            unsafe { libc::renameat(dir.as_raw_fd(), c.as_ptr(), dir.as_raw_fd(), to.as_ptr()) };
        check(rc, "renaming the new .env into place")
    })();
    if done.is_err() {
        // SAFETY: as above.
        unsafe { libc::unlinkat(dir.as_raw_fd(), c.as_ptr(), 0) };
    }
    done
}

/// The text of `.env` through one checked handle, its owner and mode fixed;
/// `Ok(None)` when there is none. A `.env` setup will not touch (swapped,
/// too large, not UTF-8) is an `Err` with the line to report.
fn env_text(dir: &OwnedFd, uid: u32, gid: u32) -> Result<Option<String>> {
    let Some(f) = open_env(dir)? else {
        return Ok(None);
    };
    // SAFETY: valid handle; plain ids.
    check(
        unsafe { libc::fchown(f.as_raw_fd(), uid, gid) },
        "fchown .env",
    )?;
    // SAFETY: valid handle.
    check(unsafe { libc::fchmod(f.as_raw_fd(), 0o600) }, "fchmod .env")?;
    read_all(&f).map(Some)
}

/// Creates `.env` from `env_template` when there is none and fixes its owner
/// and mode. `system.env` is created from `system_template` when missing,
/// and only in that run (the migration of an older install) do system keys
/// in `.env` move into it; later, a system key in `.env` is something the
/// service user planted: it is dropped from `.env` and reported, never
/// copied into the file root's jobs trust. Nothing in `.env` makes this
/// fail: what cannot be moved is dropped and reported, a `.env` that cannot
/// be read safely is left alone and reported. Idempotent. Returns what it
/// did, a line each.
pub fn prepare_env(p: &SetupPaths, env_template: &str, system_template: &str) -> Result<String> {
    let (uid, gid) = user_ids(&p.user)?;
    let dir = config::open_dir_nofollow(&p.app_dir)
        .with_context(|| format!("opening {} (no symlinks)", p.app_dir.display()))?;
    let mut report = String::new();
    let text = match env_text(&dir, uid, gid) {
        Ok(Some(t)) => Some(t),
        Ok(None) => {
            replace_env(&dir, env_template, uid, gid)?;
            report.push_str("wrote .env from the template: fill in BOT_TOKEN and ADMIN_IDS\n");
            None
        }
        Err(e) => {
            report.push_str(&format!("left .env alone: {e:#}\n"));
            None
        }
    };
    let (mut system, creating) = match config::read_root_only(&p.system_env) {
        Ok(t) => (EnvFile::from_text(&p.system_env, &t, 0o644), false),
        Err(e) if e.is_missing() => (
            EnvFile::from_text(&p.system_env, system_template, 0o644),
            true,
        ),
        Err(e) => return Err(e.into()),
    };
    let sys = p.system_env.display();
    let mut found = BTreeMap::new();
    if let Some(t) = &text {
        for e in envfile::parse_lenient(t).0 {
            if config::class_of(&e.key) == Some(Class::System) {
                found.insert(e.key, e.value);
            }
        }
    }
    let mut env = EnvFile::from_text(
        &p.app_dir.join(".env"),
        text.as_deref().unwrap_or(""),
        0o600,
    );
    for (k, v) in &found {
        let line = if !creating {
            format!("ignored {k} in .env and dropped it: set it in {sys} as root")
        } else if system.get(k).is_some() {
            format!("dropped {k} from .env: {sys} already sets it")
        } else if !config::MIGRATED_KEYS.contains(&k.as_str()) {
            // Newer than system.env itself: the bot's user wrote it, root never takes it.
            format!("dropped {k} from .env: only root sets it, in {sys}")
        } else {
            match system.set(k, v) {
                Ok(()) => format!("moved {k} from .env to {sys}"),
                Err(e) => format!("dropped {k} from .env ({e}): set it in {sys} as root"),
            }
        };
        report.push_str(&line);
        report.push('\n');
        env.remove(k);
    }
    if creating {
        if let Some(parent) = p.system_env.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        system.save()?;
        report.push_str(&format!("wrote {sys}\n"));
    }
    if !found.is_empty() {
        replace_env(&dir, &env.text(), uid, gid)?;
    }
    Ok(report)
}

/// What `activate` needs from `.env`, read through one handle: the backup
/// time (`backup-time: HH:MM`, when set and valid) and whether a token is
/// set (`token: set|unset`); a `.env` it will not read is a `note:` line
/// and an unset token, never an error that would fail the install.
pub fn status(p: &SetupPaths) -> Result<String> {
    let dir = config::open_dir_nofollow(&p.app_dir)
        .with_context(|| format!("opening {} (no symlinks)", p.app_dir.display()))?;
    let mut out = String::new();
    let text = match open_env(&dir).and_then(|f| f.map(|f| read_all(&f)).transpose()) {
        Ok(t) => t.unwrap_or_default(),
        Err(e) => {
            out.push_str(&format!("note: left .env alone: {e:#}\n"));
            String::new()
        }
    };
    let env = EnvFile::from_text(&p.app_dir.join(".env"), &text, 0o600);
    if let Some(t) = env
        .get("BACKUP_TIME")
        .and_then(|v| crate::validate::hhmm(&v).ok())
    {
        out.push_str(&format!("backup-time: {t}\n"));
    }
    let token = env.get("BOT_TOKEN").is_some_and(|v| !v.trim().is_empty());
    out.push_str(if token {
        "token: set\n"
    } else {
        "token: unset\n"
    });
    Ok(out)
}

#[cfg(test)]
mod tests;
