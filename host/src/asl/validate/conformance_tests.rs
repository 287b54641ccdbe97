//! The validator against the shared conformance cases and bench workloads: every case that
//! expects `INVALID` is rejected by validation alone (not only by the compiler), and no
//! definition that must run gets a validation error.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Diagnostic, validate};
use crate::asl::raw::RawStateMachine;

fn shared(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared")
        .join(relative)
}

fn errors_of(path: &Path) -> Vec<Diagnostic> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let raw =
        RawStateMachine::from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    validate(&raw)
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect()
}

#[test]
fn conformance_cases_are_judged_like_aws() {
    let dir = shared("conformance/cases");
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("conformance cases not found at {}: {e}", dir.display()));
    let (mut invalid, mut valid) = (0, 0);
    let mut wrong = Vec::new();
    for entry in entries {
        let case = entry.expect("directory entry").path();
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(case.join("expected.json")).expect("expected.json"),
        )
        .expect("expected.json is JSON");
        let errors = errors_of(&case.join("definition.json"));
        if expected["status"] == "INVALID" {
            invalid += 1;
            if errors.is_empty() {
                wrong.push(format!(
                    "{name}: expected INVALID, validation found nothing"
                ));
            }
        } else {
            valid += 1;
            for e in errors {
                wrong.push(format!("{name}: valid definition rejected: {e}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(
        invalid >= 30 && valid >= 100,
        "{invalid} invalid, {valid} valid cases"
    );
}

#[test]
fn bench_workloads_are_valid() {
    let dir = shared("bench/workloads");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("bench workloads") {
        let path = entry.expect("directory entry").path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        // Definitions only: not `x.input.json`, `x.expected.json` or the manifest.
        if !file.ends_with(".json") || file.matches('.').count() > 1 || file == "manifest.json" {
            continue;
        }
        let errors = errors_of(&path);
        assert!(errors.is_empty(), "{file}: {errors:?}");
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} workloads");
}
