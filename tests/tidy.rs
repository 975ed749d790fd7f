//! Tidy checks over the source tree: every Rust file opens with a `//!` line
//! saying what it owns, and nothing spawns a shell.

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn all_rust_files() -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for d in ["src", "bin", "tests", "benches"] {
        if root.join(d).is_dir() {
            rust_files(&root.join(d), &mut files);
        }
    }
    files
}

#[test]
fn every_file_opens_with_a_doc_line() {
    let files = all_rust_files();
    assert!(files.len() > 5, "found only {} files", files.len());
    let missing: Vec<_> = files
        .iter()
        .filter(|p| !std::fs::read_to_string(p).unwrap().starts_with("//!"))
        .collect();
    assert!(
        missing.is_empty(),
        "files without a leading //! line: {missing:?}"
    );
}

#[test]
fn no_shell_anywhere() {
    let needle = ["\"sh\"", "\"-c\""];
    for p in all_rust_files() {
        if p.ends_with("tidy.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        for line in text.lines() {
            let hits = needle.iter().filter(|n| line.contains(*n)).count();
            assert!(hits < 2, "{}: looks like a shell call: {line}", p.display());
            assert!(
                !line.contains("\"/bin/sh\"") && !line.contains("\"bash\""),
                "{}: shell: {line}",
                p.display()
            );
        }
    }
}
