//! The validator on real-world-shaped definitions: every `tests/validator/<case>.asl.json` is
//! checked with the real binary (`stepwasm validate`), and what it prints must equal
//! `<case>.diag` line for line (every diagnostic in one pass, each at its field, never a Rust
//! type name); the exit code follows from it (2 with an error, else 0). Each definition says in
//! its `Comment` which public shape it follows. `STEPWASM_UPDATE_DIAG=1` rewrites the `.diag`
//! files (review the diff: each must be what AWS would say).

use std::path::{Path, PathBuf};
use std::process::Command;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/validator")
}

/// The diagnostic lines `stepwasm validate` prints, and its exit code.
fn validate(def: &Path) -> (Vec<String>, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_stepwasm"))
        .arg("validate")
        .arg(def)
        .output()
        .expect("stepwasm runs");
    let stderr = String::from_utf8(out.stderr).expect("utf-8");
    let lines = stderr
        .lines()
        .filter(|l| l.starts_with("error[") || l.starts_with("warning["))
        .map(str::to_owned)
        .collect();
    (lines, out.status.code().unwrap_or(-1))
}

#[test]
fn every_definition_validates_as_its_diag_file_says() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(corpus())
        .expect("tests/validator exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".asl.json"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 10, "the corpus is there: {cases:?}");
    let update = std::env::var_os("STEPWASM_UPDATE_DIAG").is_some();
    let mut failures = Vec::new();
    for def in &cases {
        let name = def
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace(".asl.json", "");
        let diag_path = corpus().join(format!("{name}.diag"));
        let (lines, code) = validate(def);
        let has_error = lines.iter().any(|l| l.starts_with("error["));
        assert_eq!(code, if has_error { 2 } else { 0 }, "{name}: exit code");
        for l in &lines {
            assert!(
                !l.contains("struct ") && !l.contains("Raw"),
                "{name}: a Rust type name in {l:?}"
            );
        }
        let got = lines.iter().map(|l| format!("{l}\n")).collect::<String>();
        if update {
            std::fs::write(&diag_path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&diag_path)
            .unwrap_or_else(|_| panic!("{} is missing", diag_path.display()));
        if got != want {
            failures.push(format!("--- {name}.diag\n{want}+++ got\n{got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
