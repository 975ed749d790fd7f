//! The owner's allowlist of controllable units (`ALLOWED_UNITS_FILE`): its
//! patterns, and whether root may trust the file at all.
//!
//! Both fail closed: a file that is untrusted, unreadable or has a bad line
//! becomes [`Source::Broken`], which refuses every unit rather than falling
//! back to something looser.

use std::fmt;
use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use globset::{Glob, GlobMatcher};

use crate::validate;

/// The owner's allowlist: glob patterns over full unit names.
#[derive(Debug, Clone)]
pub struct Allowlist {
    patterns: Vec<(String, GlobMatcher)>,
}

impl Allowlist {
    /// Parses the allowlist text: one pattern a line, `#` comments, blank
    /// lines ignored. A bare name like `ollama` means `ollama.service`.
    /// A line that is not a valid pattern is an error naming it.
    pub fn parse(text: &str) -> Result<Allowlist, BadLine> {
        let mut patterns = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let bad = |why| BadLine {
                line: i + 1,
                text: line.to_string(),
                why,
            };
            let pattern = if line.contains(['*', '?', '[']) {
                check_pattern_chars(line).map_err(bad)?;
                line.to_string()
            } else {
                validate::service_name(line).map_err(|e| bad(BadPattern::Name(e)))?
            };
            let glob = Glob::new(&pattern).map_err(|e| bad(BadPattern::Glob(e)))?;
            patterns.push((pattern, glob.compile_matcher()));
        }
        Ok(Allowlist { patterns })
    }

    pub fn allows(&self, unit: &str) -> bool {
        self.patterns.iter().any(|(_, m)| m.is_match(unit))
    }

    pub fn patterns(&self) -> impl Iterator<Item = &str> {
        self.patterns.iter().map(|(p, _)| p.as_str())
    }
}

/// A line of the allowlist that is not a usable pattern: the whole list is
/// then refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// 1-based line number.
    pub line: usize,
    pub text: String,
    pub why: BadPattern,
}

/// What is wrong with an allowlist line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadPattern {
    /// A character that no unit name or glob needs.
    Char(char),
    /// A plain name that is not a valid service name.
    Name(validate::Invalid),
    /// A glob that does not compile.
    Glob(globset::Error),
}

impl fmt::Display for BadLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {:?}: ", self.line, self.text)?;
        match &self.why {
            BadPattern::Char(c) => write!(f, "the character {c:?} has no place in a unit pattern"),
            BadPattern::Name(e) => write!(f, "{e}"),
            BadPattern::Glob(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for BadLine {}

fn check_pattern_chars(p: &str) -> Result<(), BadPattern> {
    match p.chars().find(|c| {
        !(c.is_ascii_alphanumeric()
            || matches!(
                c,
                ':' | '-' | '_' | '.' | '@' | '\\' | '*' | '?' | '[' | ']' | '!'
            ))
    }) {
        Some(c) => Err(BadPattern::Char(c)),
        None => Ok(()),
    }
}

/// Where the list of controllable units comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// No allowlist file: every unit but the denylist.
    DenylistOnly,
    /// The owner's allowlist (the denylist still holds).
    Allowlist(Allowlist),
    /// The allowlist exists but cannot be used: every unit is refused.
    Broken(String),
}

/// Ownership and mode facts about a file or folder, for [`trust`].
#[derive(Debug, Clone, Copy)]
pub struct Owner {
    pub uid: u32,
    pub mode: u32,
    pub is_symlink: bool,
}

/// Why a file or folder cannot be trusted as root's word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Untrusted {
    Symlink {
        what: String,
    },
    NotRoot {
        what: String,
        uid: u32,
    },
    /// `mode` holds the permission bits only.
    Writable {
        what: String,
        mode: u32,
    },
}

impl fmt::Display for Untrusted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Untrusted::Symlink { what } => write!(f, "{what} is a symlink"),
            Untrusted::NotRoot { what, uid } => {
                write!(f, "{what} is not owned by root (uid {uid})")
            }
            Untrusted::Writable { what, mode } => {
                write!(f, "{what} is writable by group or others (mode {mode:o})")
            }
        }
    }
}

impl std::error::Error for Untrusted {}

/// Decides whether a path with these facts may be trusted as root's word:
/// owned by root, not a symlink, and writable by nobody else.
pub fn trust(what: &str, o: Owner) -> Result<(), Untrusted> {
    let what = what.to_string();
    if o.is_symlink {
        return Err(Untrusted::Symlink { what });
    }
    if o.uid != 0 {
        return Err(Untrusted::NotRoot { what, uid: o.uid });
    }
    if o.mode & 0o022 != 0 {
        return Err(Untrusted::Writable {
            what,
            mode: o.mode & 0o7777,
        });
    }
    Ok(())
}

fn owner_of(path: &Path) -> std::io::Result<Owner> {
    let m = fs::symlink_metadata(path)?;
    Ok(Owner {
        uid: m.uid(),
        mode: m.mode(),
        is_symlink: m.file_type().is_symlink(),
    })
}

/// Reads the allowlist at `path`. Missing file: denylist mode. A file (or
/// its folder) that root does not solely control, or that does not parse:
/// [`Source::Broken`], which refuses everything.
pub fn load(path: &Path) -> Source {
    let file = match owner_of(path) {
        Ok(o) => o,
        Err(e) if e.kind() == ErrorKind::NotFound => return Source::DenylistOnly,
        Err(e) => return Source::Broken(format!("cannot read it: {e}")),
    };
    if let Err(why) = trust(&path.display().to_string(), file) {
        return Source::Broken(why.to_string());
    }
    let dir = path.parent().unwrap_or(Path::new("/"));
    match owner_of(dir) {
        Ok(d) => {
            if let Err(why) = trust(&dir.display().to_string(), d) {
                return Source::Broken(why.to_string());
            }
        }
        Err(e) => return Source::Broken(format!("cannot inspect {}: {e}", dir.display())),
    }
    match fs::read_to_string(path) {
        Ok(text) => match Allowlist::parse(&text) {
            Ok(list) => Source::Allowlist(list),
            Err(why) => Source::Broken(why.to_string()),
        },
        Err(e) => Source::Broken(format!("cannot read it: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_needs_root_owner_and_no_foreign_write() {
        let o = |uid, mode, is_symlink| Owner {
            uid,
            mode,
            is_symlink,
        };
        assert!(trust("f", o(0, 0o100644, false)).is_ok());
        assert!(trust("f", o(0, 0o100600, false)).is_ok());
        assert!(trust("f", o(1000, 0o100644, false)).is_err());
        assert!(trust("f", o(0, 0o100664, false)).is_err());
        assert!(trust("f", o(0, 0o100646, false)).is_err());
        assert!(trust("f", o(0, 0o120777, true)).is_err());
    }

    #[test]
    fn load_missing_file_is_denylist_mode() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            load(&dir.path().join("allowed-units")),
            Source::DenylistOnly
        ));
    }

    #[test]
    fn load_refuses_a_writable_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("allowed-units");
        fs::write(&f, "ollama\n").unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o666)).unwrap();
        assert!(matches!(load(&f), Source::Broken(_)));
    }
}
