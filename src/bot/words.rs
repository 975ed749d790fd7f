//! Words a person types instead of a command: plain words such as "status",
//! "halo", "menu" or "bantuan" read as the command they mean, and a typo
//! close to a command name answered with "did you mean /status?".
//! Pure; `plan::parse_message` and `handle.rs` use it.

use super::command::{COMMANDS, Command};

/// Plain words (either language, any case, no slash) and the command each
/// means. Only greetings and read-only views: an action always needs its
/// `/command`.
const WORDS: &[(&str, Command)] = &[
    ("halo", Command::Start),
    ("hallo", Command::Start),
    ("hai", Command::Start),
    ("hi", Command::Start),
    ("hello", Command::Start),
    ("start", Command::Start),
    ("mulai", Command::Start),
    ("menu", Command::Start),
    ("help", Command::Help),
    ("bantuan", Command::Help),
    ("tolong", Command::Help),
    ("status", Command::Status),
    ("uptime", Command::Uptime),
    ("alerts", Command::Alerts),
    ("peringatan", Command::Alerts),
    ("layanan", Command::SvcList),
    ("services", Command::SvcList),
];

/// The command a plain word means: the whole message is one word of
/// [`WORDS`], in any case, with trailing punctuation ignored.
pub fn plain(text: &str) -> Option<Command> {
    let word = text
        .trim()
        .trim_end_matches(['!', '?', '.', ',', ' '])
        .to_lowercase();
    WORDS.iter().find(|(w, _)| *w == word).map(|(_, c)| *c)
}

/// Edit distance with adjacent swaps counted once ("stauts" is one step
/// from "status"), over characters.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

/// The command an unknown `/name` most likely meant: a plain word of
/// [`WORDS`] typed with a slash, a command within one edit (two for names
/// of five letters or more), or the one command the name starts.
pub fn did_you_mean(name: &str) -> Option<&'static str> {
    let name = name.split('@').next().unwrap_or(name).to_lowercase();
    if name.is_empty() || name.chars().count() > 32 {
        return None;
    }
    let name_of = |c: Command| COMMANDS.iter().find(|(_, k)| *k == c).map(|(n, _)| *n);
    if let Some(c) = plain(&name) {
        return name_of(c);
    }
    let limit = if name.chars().count() >= 5 { 2 } else { 1 };
    let best = COMMANDS
        .iter()
        .map(|(n, _)| (distance(&name, n), *n))
        .min_by_key(|(d, _)| *d)
        .filter(|(d, _)| *d <= limit)
        .map(|(_, n)| n);
    if best.is_some() {
        return best;
    }
    let mut starts = COMMANDS.iter().filter(|(n, _)| n.starts_with(&name));
    match (starts.next(), starts.next()) {
        (Some((n, _)), None) if name.len() >= 3 => Some(n),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_mean_their_command() {
        assert_eq!(plain("halo"), Some(Command::Start));
        assert_eq!(plain(" Halo! "), Some(Command::Start));
        assert_eq!(plain("STATUS"), Some(Command::Status));
        assert_eq!(plain("bantuan"), Some(Command::Help));
        assert_eq!(plain("help?"), Some(Command::Help));
        assert_eq!(plain("menu"), Some(Command::Start));
        assert_eq!(plain("status server"), None);
        assert_eq!(plain("backup_now"), None, "actions need their slash");
        assert_eq!(plain("apa kabar"), None);
    }

    #[test]
    fn typos_get_the_closest_command() {
        for (typo, want) in [
            ("stauts", "status"),
            ("statsu", "status"),
            ("staus@potion_bot", "status"),
            ("backup_nwo", "backup_now"),
            ("backupnow", "backup_now"),
            ("svc_lst", "svc_list"),
            ("hlep", "help"),
            ("bantuan", "help"),
            ("halo", "start"),
            ("chrat", "chart"),
        ] {
            assert_eq!(did_you_mean(typo), Some(want), "{typo}");
        }
        for far in ["xyz", "reboot", "rm_rf", "", "a", &"s".repeat(200)] {
            assert_eq!(did_you_mean(far), None, "{far}");
        }
    }

    #[test]
    fn distance_counts_swaps_once() {
        assert_eq!(distance("status", "status"), 0);
        assert_eq!(distance("stauts", "status"), 1);
        assert_eq!(distance("stat", "status"), 2);
        assert_eq!(distance("", "ip"), 2);
    }
}
