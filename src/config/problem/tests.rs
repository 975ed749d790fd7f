//! Every problem renders in both languages, with a fix, and one language at a time.

use super::*;

fn every_kind() -> Vec<ProblemKind> {
    use ProblemKind as K;
    let mut kinds = vec![
        K::TokenShape,
        K::Required,
        K::AdminId,
        K::ChatId,
        K::HttpUrl,
        K::Lang,
        K::NotAbsolute,
        K::DotDot,
        K::Glob,
        K::Time,
        K::WholeNumber { min: 1, max: 10 },
        K::Number {
            min: 0.5,
            max: 50.0,
        },
        K::Threshold { max: 100.0 },
        K::BelowHysteresis { hysteresis: 5.0 },
        K::UnitName,
        K::Host,
        K::Switch,
        K::ProbeUrls,
        K::PingUrl,
        K::SystemKeyInEnv,
    ];
    for l in [
        ParseErrorKind::NotKeyValue,
        ParseErrorKind::BadKeyName,
        ParseErrorKind::UnterminatedQuote,
        ParseErrorKind::TextAfterQuote,
    ] {
        kinds.push(K::Line(l));
    }
    for f in [
        FileProblem::Symlink,
        FileProblem::NotPlain,
        FileProblem::TooLarge { kib: 1024 },
        FileProblem::BadPath,
        FileProblem::Untrusted {
            at: "/etc".into(),
            uid: 1000,
            mode: 0o775,
        },
        FileProblem::Missing,
        FileProblem::Denied,
    ] {
        kinds.push(K::File(f));
    }
    kinds
}

/// Words that give English away inside an Indonesian line (and the reverse).
const ENGLISH: &[&str] = &[
    " is ", " not ", " must ", "Fix:", " the ", " e.g. ", " empty",
];
const INDONESIAN: &[&str] = &[
    "bukan",
    "Cara betulkan",
    "misalnya",
    "harus",
    " dan ",
    "kosong",
];

#[test]
fn every_kind_says_what_and_how_in_one_language() {
    for kind in every_kind() {
        for key in [
            "THRESHOLD_CPU",
            "ADMIN_IDS",
            "BOT_TOKEN",
            "/etc/potion-runner/system.env",
        ] {
            let p = Problem::new(key, "x", kind.clone());
            let id = p.render(Lang::Id);
            let en = p.render(Lang::En);
            assert!(id.starts_with(&format!("{key}=\"x\": ")), "{id}");
            for w in ENGLISH {
                assert!(!id.contains(w), "{w:?} in Indonesian: {id}");
            }
            for w in INDONESIAN {
                assert!(!en.contains(w), "{w:?} in English: {en}");
            }
            if kind != ProblemKind::Unsettled {
                assert!(id.contains("Cara betulkan: "), "{id}");
                assert!(en.contains("Fix: "), "{en}");
            }
            if key == "THRESHOLD_CPU" {
                assert!(id.ends_with("misalnya THRESHOLD_CPU=90"), "{id}");
                assert!(en.ends_with("e.g. THRESHOLD_CPU=90"), "{en}");
            }
        }
    }
}

#[test]
fn a_hidden_value_is_not_shown_at_all() {
    let p = Problem::new("HEALTHCHECK_URL", "", ProblemKind::PingUrl);
    assert!(
        p.render(Lang::En).starts_with("HEALTHCHECK_URL: is not"),
        "{p}"
    );
}

#[test]
fn the_heading_counts_and_every_problem_gets_a_line() {
    let e = ConfigError {
        lang: Lang::Id,
        problems: vec![
            Problem::new("BACKUP_TIME", "25:99", ProblemKind::Time),
            Problem::new("BOT_LANG", "fr", ProblemKind::Lang),
        ],
    };
    let text = e.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("Ada 2 masalah"), "{text}");
    assert!(
        lines[1].starts_with("  - BACKUP_TIME=\"25:99\": bukan jam"),
        "{text}"
    );
    assert!(e.names("BOT_LANG") && !e.names("BOT_TOKEN"));
}
