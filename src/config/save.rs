//! Saving one preference from chat: the edit is applied to the `.env` text
//! in memory, the edited text goes through the same code that loads it
//! (`load::resolve`), and only a change the loader would take is written
//! (atomically, keeping every other line).

use std::fmt;

use super::keys::{self, Class};
use super::load::{preferences, read_last_good, resolve};
use super::{Config, Lang, Problem};
use crate::envfile::EnvFile;

/// Why a preference was not saved. Nothing was written in any case.
#[derive(Debug)]
pub enum SaveError {
    /// The key is a system setting (or no setting at all): chat cannot change it.
    NotAPreference(String),
    /// The running config came from no `.env`.
    NoEnvFile,
    /// The edited `.env` would not load as it is: the key and why (for
    /// example "must be above ALERT_HYSTERESIS (5)").
    Invalid(Problem),
    /// `.env` could not be read or written.
    Io(anyhow::Error),
}

impl fmt::Display for SaveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SaveError::NotAPreference(k) => {
                write!(f, "{k} is not a preference the bot may change")
            }
            SaveError::NoEnvFile => f.write_str("there is no .env file to save to"),
            SaveError::Invalid(p) => f.write_str(&p.reason(Lang::En)),
            SaveError::Io(e) => write!(f, "{e:#}"),
        }
    }
}

impl std::error::Error for SaveError {}

impl SaveError {
    /// A refused value in `lang` (what is wrong and the fix); the other
    /// cases as [`fmt::Display`] words them.
    pub fn render(&self, lang: Lang) -> String {
        match self {
            SaveError::Invalid(p) => p.reason(lang),
            other => other.to_string(),
        }
    }
}

/// Checks `key=value` against `current`'s system side and the rest of
/// `.env` exactly as loading would, then writes it. Returns the config as
/// it now loads (the running one should be replaced by it). A value that
/// loading would ignore, or that would make another preference be ignored,
/// is refused with the loader's reason and `.env` is left as it was.
pub fn save_preference(current: &Config, key: &str, value: &str) -> Result<Config, SaveError> {
    if keys::class_of(key) != Some(Class::Preference) {
        return Err(SaveError::NotAPreference(key.to_string()));
    }
    let path = current.env_file.as_ref().ok_or(SaveError::NoEnvFile)?;
    if path.symlink_metadata().is_err() {
        return Err(SaveError::NoEnvFile);
    }
    let last_good = read_last_good(&current.state_dir);
    let mut file = EnvFile::load(path).map_err(SaveError::Io)?;
    let text = file.text();
    file.set(key, value).map_err(SaveError::Io)?;
    let mut was_ignored = Vec::new();
    let before = preferences(&text, &mut was_ignored);
    let mut now_ignored = Vec::new();
    let after = preferences(&file.text(), &mut now_ignored);
    resolve(&current.system_pairs, before, &last_good, &mut was_ignored)
        .map_err(|e| SaveError::Io(e.into()))?;
    let mut cfg = resolve(&current.system_pairs, after, &last_good, &mut now_ignored)
        .map_err(|e| SaveError::Io(e.into()))?;
    if let Some(i) = now_ignored
        .iter()
        .find(|i| i.key == key || !was_ignored.iter().any(|w| w.key == i.key))
    {
        return Err(SaveError::Invalid(i.clone()));
    }
    file.save().map_err(SaveError::Io)?;
    cfg.env_file = current.env_file.clone();
    cfg.ignored = now_ignored;
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn setup(text: &str) -> (tempfile::TempDir, Config) {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join(".env");
        crate::atomic::write_with_mode(&env, text.as_bytes(), 0o600).unwrap();
        let mut cfg = Config::defaults();
        cfg.env_file = Some(env);
        (dir, cfg)
    }

    fn env_text(dir: &Path) -> String {
        std::fs::read_to_string(dir.join(".env")).unwrap()
    }

    #[test]
    fn values_the_loader_would_refuse_are_not_saved() {
        let original = "# mine\nBOT_TOKEN=123:abc\nTHRESHOLD_CPU=80\n";
        let (dir, cfg) = setup(original);
        for (key, value, why) in [
            ("THRESHOLD_CPU", "3", "must be above ALERT_HYSTERESIS (5)"),
            (
                "THRESHOLD_RAM",
                "0.01",
                "must be above ALERT_HYSTERESIS (5)",
            ),
            (
                "THRESHOLD_TEMP",
                "4.97",
                "must be above ALERT_HYSTERESIS (5)",
            ),
            ("THRESHOLD_DISK", "abc", "is not a number"),
            ("SERVICES", "a b", "SERVICES"),
        ] {
            let e = save_preference(&cfg, key, value).unwrap_err();
            assert!(matches!(&e, SaveError::Invalid(i) if i.key == key), "{e:?}");
            assert!(e.render(Lang::Id).contains("Cara betulkan"), "{e:?}");
            assert!(e.to_string().contains(why), "{key}={value}: {e}");
            assert_eq!(env_text(dir.path()), original, "{key}={value}");
        }
    }

    #[test]
    fn a_good_value_is_saved_exactly_and_returned() {
        let (dir, cfg) = setup("# mine\nTHRESHOLD_CPU=80\nWHATEVER=x\n");
        let new = save_preference(&cfg, "THRESHOLD_RAM", "85.25").unwrap();
        assert_eq!(new.thresholds.ram, 85.25);
        assert_eq!(new.thresholds.cpu, 80.0);
        assert_eq!(new.env_file, cfg.env_file);
        assert_eq!(
            env_text(dir.path()),
            "# mine\nTHRESHOLD_CPU=80\nWHATEVER=x\nTHRESHOLD_RAM=85.25\n"
        );
    }

    #[test]
    fn system_keys_and_unknown_keys_are_not_preferences() {
        let (dir, cfg) = setup("THRESHOLD_CPU=80\n");
        for key in ["BACKUP_DIR", "SELF_SERVICE", "STATE_DIR", "NOT_A_KEY"] {
            let e = save_preference(&cfg, key, "/tmp/x").unwrap_err();
            assert!(matches!(e, SaveError::NotAPreference(_)), "{key}: {e:?}");
        }
        assert_eq!(env_text(dir.path()), "THRESHOLD_CPU=80\n");
    }

    #[test]
    fn an_unrelated_bad_line_does_not_block_a_save() {
        // A hand-edited mistake elsewhere was already ignored at load; the
        // chat change is judged on its own.
        let (dir, cfg) =
            setup("BOT_TOKEN: 12345:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\nTHRESHOLD_CPU=nope\n");
        let new = save_preference(&cfg, "THRESHOLD_RAM", "70").unwrap();
        assert_eq!(new.thresholds.ram, 70.0);
        assert_eq!(new.ignored.len(), 2, "{:?}", new.ignored);
        assert!(env_text(dir.path()).ends_with("THRESHOLD_RAM=70\n"));
        for i in &new.ignored {
            assert!(!i.to_string().contains("AAAA"), "{i}");
        }
    }
}
