//! The validator as a whole: one definition with a problem for every rule module gets all of
//! them reported in one pass, each once; every shared conformance case that expects `INVALID`
//! is rejected by validation alone (not only by the compiler); and no conformance case or
//! bench workload that must run gets a validation error.

use std::path::Path;

use serde_json::Value;

use super::{Code, Diagnostic, validate};
use crate::asl::raw::RawStateMachine;

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
    let Some(dir) = crate::asl::shared_or_skip("conformance/cases", "conformance cases") else {
        return;
    };
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
    let Some(dir) = crate::asl::shared_or_skip("bench/workloads", "bench workloads") else {
        return;
    };
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

#[test]
fn every_rule_module_reports_in_one_pass() {
    let def = r#"{
      "StartAt": "Check",
      "States": {
        "Check": {"Type": "Choice", "Choices": [
            {"Variable": "$.x", "NumericEquals": 1, "NumericGreaterThan": 0, "Next": "Chekc"}],
          "Default": "Work"},
        "Work": {"Type": "Task", "Resource": "wasm:r", "Next": "Hold", "TimeoutSeconds": 5, "HeartbeatSeconds": 9,
          "Parameters": {"a.$": "States.Bogus($.a)"},
          "Retry": [{"ErrorEquals": ["States.ALL"], "BackoffRate": 0.5}, {"ErrorEquals": ["X"]}],
          "Catch": [{"ErrorEquals": ["X"]}]},
        "Hold": {"Type": "Wait", "Seconds": -1, "Next": "Each"},
        "Each": {"Type": "Map", "ItemsPath": "$.xs[*]", "MaxConcurrency": 1, "MaxConcurrencyPath": "$.n",
          "Assign": {"9lives": 1},
          "ItemProcessor": {"StartAt": "E", "States": {"E": {"Type": "Pass", "Next": "Outside"}}},
          "Next": "Stop"},
        "Stop": {"Type": "Fail", "Error": "E", "ErrorPath": "$.e"},
        "Orphan": {"Type": "Succeed"}
      }
    }"#;
    let got = super::common::testing::diagnostics(def);
    let expected = [
        (Code::InvalidChoiceRule, "/States/Check/Choices/0"),
        (
            Code::MissingTransitionTarget,
            "/States/Check/Choices/0/Next",
        ),
        (Code::InvalidValue, "/States/Work/HeartbeatSeconds"),
        (Code::InvalidJsonPath, "/States/Work/Parameters/a.$"),
        (
            Code::InvalidErrorHandler,
            "/States/Work/Retry/0/ErrorEquals",
        ),
        (
            Code::InvalidErrorHandler,
            "/States/Work/Retry/0/BackoffRate",
        ),
        (Code::InvalidErrorHandler, "/States/Work/Catch/0/Next"),
        (Code::InvalidValue, "/States/Hold/Seconds"),
        (Code::InvalidJsonPath, "/States/Each/ItemsPath"),
        (Code::FieldConflict, "/States/Each/MaxConcurrencyPath"),
        (Code::SchemaValidationFailed, "/States/Each/Assign/9lives"),
        (
            Code::MissingTransitionTarget,
            "/States/Each/ItemProcessor/States/E/Next",
        ),
        (Code::FieldConflict, "/States/Stop/ErrorPath"),
        (Code::UnreachableState, "/States/Orphan"),
        (Code::NoTerminalState, "/States/Each/ItemProcessor/States"),
    ];
    for (code, location) in expected {
        let n = got
            .iter()
            .filter(|d| d.code == code && d.location == location)
            .count();
        assert_eq!(n, 1, "{code} at {location} reported {n} times in {got:#?}");
    }
    let unexpected: Vec<&Diagnostic> = got
        .iter()
        .filter(|d| !expected.contains(&(d.code, d.location.as_str())))
        .collect();
    assert!(unexpected.is_empty(), "unexpected: {unexpected:#?}");
}

#[test]
fn nested_states_default_to_the_machine_query_language() {
    // A JSONata Parallel in a JSONPath machine: its branch states are still JSONPath.
    let def = r#"{"StartAt":"P","States":{"P":{"Type":"Parallel","QueryLanguage":"JSONata","End":true,
        "Output":"{% $states.result %}","Branches":[{"StartAt":"A","States":{
          "A":{"Type":"Pass","InputPath":"$.x","Next":"B"},
          "B":{"Type":"Pass","Output":{"y":1},"End":true}}}]}}}"#;
    let got: Vec<(Code, String)> = super::common::testing::errors(def);
    assert_eq!(
        got,
        vec![(
            Code::SchemaValidationFailed,
            "/States/P/Branches/0/States/B/Output".to_owned()
        )]
    );
}

#[test]
fn diagnostics_come_in_document_order() {
    let def = r#"{"StartAt":"Nope","States":{
        "B":{"Type":"Wait","Seconds":-1,"Next":"Gone"},
        "A":{"Type":"Fail","Error":"E","ErrorPath":"$.e"}}}"#;
    let got: Vec<String> = super::common::testing::diagnostics(def)
        .into_iter()
        .map(|d| d.location)
        .collect();
    let first = |prefix: &str| {
        got.iter()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("{prefix} in {got:?}"))
    };
    assert_eq!(first("/StartAt"), 0, "{got:?}");
    assert!(first("/States/B") < first("/States/A"), "{got:?}");
    let b: Vec<usize> = (0..got.len())
        .filter(|i| got[*i].starts_with("/States/B"))
        .collect();
    assert_eq!(
        b,
        (b[0]..b[0] + b.len()).collect::<Vec<_>>(),
        "B's problems together: {got:?}"
    );
}
