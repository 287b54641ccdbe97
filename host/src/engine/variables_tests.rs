//! Variables and JSONata states through whole executions: visibility from the next state,
//! Choice and Catcher Assign, Parallel/Map scopes, and variables surviving a crash (they live
//! in the persisted frames).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::json;

use super::ports::{ExecutionStatus, TaskRunner};
use super::testkit::{MemoryJournal, ScriptedTasks, VirtualClock, outcome, run, run_with};
use super::tests::{START, journaled, resumed};

#[test]
fn assign_reads_old_values_and_new_ones_show_from_the_next_state() {
    let def = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"x": 1, "y": 10}, "Next": "B"},
        "B": {"Type": "Pass", "Assign": {"x.$": "States.MathAdd($x, 1)", "y.$": "$x"},
              "Parameters": {"seen.$": "$x"}, "Next": "C"},
        "C": {"Type": "Pass", "QueryLanguage": "JSONata",
              "Output": {"seen": "{% $states.input.seen %}", "x": "{% $x %}", "y": "{% $y %}"}, "End": true}}});
    assert_eq!(run(&def, json!({})), Ok(json!({"seen": 1, "x": 2, "y": 1})));
}

#[test]
fn inner_scopes_read_outer_variables_and_cannot_leak_theirs() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "Set", "States": {
        "Set": {"Type": "Pass", "Assign": {"unit": "kg"}, "Next": "Each"},
        "Each": {"Type": "Map", "Items": "{% [1, 2] %}", "Next": "After",
            "ItemProcessor": {"StartAt": "In", "States": {
                "In": {"Type": "Pass", "Assign": {"inner": "{% $states.input %}"}, "Next": "Use"},
                "Use": {"Type": "Pass", "Output": "{% $string($inner) & $unit %}", "End": true}}}},
        "After": {"Type": "Pass", "Output": {"r": "{% $states.input %}", "leaked": "{% $exists($inner) %}"}, "End": true}}});
    assert_eq!(
        run(&def, json!({})),
        Ok(json!({"r": ["1kg", "2kg"], "leaked": false}))
    );
}

#[test]
fn choice_state_assign_always_applies_and_the_rule_wins() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "C", "States": {
        "C": {"Type": "Choice", "Assign": {"a": "state", "b": "state"},
              "Choices": [{"Condition": "{% $states.input.v > 1 %}", "Assign": {"a": "rule"},
                           "Output": {"via": "rule"}, "Next": "D"}],
              "Default": "D"},
        "D": {"Type": "Pass", "Output": {"a": "{% $a %}", "b": "{% $b %}", "in": "{% $states.input %}"}, "End": true}}});
    assert_eq!(
        run(&def, json!({"v": 2})),
        Ok(json!({"a": "rule", "b": "state", "in": {"via": "rule"}}))
    );
    assert_eq!(
        run(&def, json!({"v": 0})),
        Ok(json!({"a": "state", "b": "state", "in": {"v": 0}}))
    );
    let bad = json!({"QueryLanguage": "JSONata", "StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Condition": "{% 'yes' %}", "Next": "D"}]},
        "D": {"Type": "Succeed"}}});
    let (error, _) = run(&bad, json!({})).unwrap_err();
    assert_eq!(error, "States.QueryEvaluationError");
}

#[test]
fn a_catcher_assign_replaces_the_state_assign() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "wasm:t", "Assign": {"who": "task"},
              "Arguments": {"n": "{% $states.input.n %}"},
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H",
                         "Assign": {"who": "catcher", "err": "{% $states.errorOutput.Error %}"},
                         "Output": {"cause": "{% $states.errorOutput.Cause %}", "n": "{% $states.input.n %}"}}],
              "End": true},
        "H": {"Type": "Pass", "Output": {"who": "{% $who %}", "err": "{% $err %}", "in": "{% $states.input %}"}, "End": true}}});
    let tasks = Arc::new(ScriptedTasks::default().on("wasm:t", vec![Err(("Boom", "bad"))]));
    let (f, _) = run_with(
        &def,
        json!({"n": 5}),
        Some(tasks.clone() as Arc<dyn TaskRunner>),
    );
    assert_eq!(
        outcome(&f),
        Ok(json!({"who": "catcher", "err": "Boom", "in": {"cause": "bad", "n": 5}}))
    );
    assert_eq!(tasks.calls()[0].input, json!({"n": 5}));
    let ok = Arc::new(ScriptedTasks::default().on("wasm:t", vec![Ok(json!({"r": 1}))]));
    let (f, _) = run_with(&def, json!({"n": 5}), Some(ok as Arc<dyn TaskRunner>));
    assert_eq!(outcome(&f), Ok(json!({"r": 1})));
}

#[test]
fn jsonpath_catcher_assign_reads_the_error_output() {
    let def = json!({"StartAt": "F", "States": {
        "F": {"Type": "Parallel", "Branches": [{"StartAt": "X", "States": {"X": {"Type": "Fail", "Error": "E1", "Cause": "c"}}}],
              "Catch": [{"ErrorEquals": ["E1"], "ResultPath": "$.caught", "Assign": {"e.$": "$.Error"}, "Next": "U"}],
              "End": true},
        "U": {"Type": "Pass", "Parameters": {"e.$": "$e", "c.$": "$.caught.Cause"}, "End": true}}});
    assert_eq!(run(&def, json!({})), Ok(json!({"e": "E1", "c": "c"})));
}

#[test]
fn query_evaluation_errors_fail_and_can_be_caught() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "S", "States": {
        "S": {"Type": "Pass", "Output": "{% $states.input.a * 2 %}", "End": true}}});
    let (error, cause) = run(&def, json!({"a": "x"})).unwrap_err();
    assert_eq!(error, "States.QueryEvaluationError");
    assert!(cause.contains("$states.input.a * 2"), "{cause}");
    let (error, _) = run(&def, json!({})).unwrap_err();
    assert_eq!(
        error, "States.QueryEvaluationError",
        "undefined is an error"
    );
}

#[test]
fn variables_survive_a_crash_at_every_step() {
    let def = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"k": "v", "n.$": "$.n"}, "Next": "M"},
        "M": {"Type": "Map", "ItemsPath": "$.items", "Next": "Z", "MaxConcurrency": 2,
              "ItemProcessor": {"StartAt": "P", "States": {
                  "P": {"Type": "Pass", "Assign": {"mine.$": "$"}, "Next": "Q"},
                  "Q": {"Type": "Wait", "Seconds": 1, "Next": "R"},
                  "R": {"Type": "Pass", "Parameters": {"k.$": "$k", "mine.$": "$mine"}, "End": true}}}},
        "Z": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": {"r": "{% $states.input %}", "n": "{% $n %}"}, "End": true}}});
    let input = json!({"n": 3, "items": [1, 2]});
    let expected = json!({"r": [{"k": "v", "mine": 1}, {"k": "v", "mine": 2}], "n": 3});
    let full = Arc::new(MemoryJournal::default());
    let f = journaled(
        &def,
        input.clone(),
        full.clone(),
        Arc::new(VirtualClock::at(START)),
    )
    .unwrap();
    assert_eq!(outcome(&f), Ok(expected.clone()));
    let commits = full.commits.load(Ordering::SeqCst);
    assert!(commits > 5);
    for crash_after in 1..commits {
        let journal = Arc::new(MemoryJournal {
            crash_after: Some(crash_after),
            ..MemoryJournal::default()
        });
        let clock = Arc::new(VirtualClock::at(START));
        assert!(journaled(&def, input.clone(), journal.clone(), clock.clone()).is_err());
        let journal = Arc::new(MemoryJournal {
            events: std::sync::Mutex::new(journal.events.lock().unwrap().clone()),
            frames: std::sync::Mutex::new(journal.frames.lock().unwrap().clone()),
            ..MemoryJournal::default()
        });
        let f = resumed(&def, input.clone(), journal.clone(), clock);
        assert_eq!(
            f.end.status,
            ExecutionStatus::Succeeded,
            "crash after {crash_after}: {:?}",
            f.end
        );
        assert_eq!(
            journal.end.lock().unwrap().clone().unwrap().output,
            Some(expected.clone()),
            "crash after {crash_after}"
        );
    }
}

#[test]
fn an_output_merging_into_the_input_is_applied_in_place_with_merge_semantics() {
    // `$merge([$states.input, {...}])` updates the input in place; Assign still sees the
    // input as it was, a rebound `$merge` and non-object inputs take the general evaluator.
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B",
              "Output": "{% $merge([$states.input, {'n': $states.input.n + 1, 'gone': $states.input.nope, 'k': 'v'}]) %}",
              "Assign": {"before": "{% $states.input %}"}},
        "B": {"Type": "Pass", "End": true,
              "Output": "{% $merge([$states.input, {'before': $before}]) %}"}}});
    assert_eq!(
        run(&def, json!({"z": 0, "n": 1, "9": true})),
        Ok(json!({"9": true, "z": 0, "n": 2, "k": "v", "before": {"z": 0, "n": 1, "9": true}}))
    );
    let out = run(&def, json!({"z": 0, "n": 1, "9": true})).unwrap();
    assert_eq!(
        out.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["9", "z", "n", "k", "before"]
    );
    let arrays = json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
        "A": {"Type": "Pass", "End": true,
              "Output": "{% $merge([$states.input, {'b': 2}]) %}"}}});
    assert_eq!(
        run(&arrays, json!([{"a": 1}, {"c": 3}])),
        Ok(json!({"a": 1, "c": 3, "b": 2}))
    );
    let (error, _) = run(&arrays, json!(5)).unwrap_err();
    assert_eq!(error, "States.QueryEvaluationError");
    let rebound = json!({"QueryLanguage": "JSONata", "StartAt": "S", "States": {
        "S": {"Type": "Pass", "Assign": {"merge": 1}, "Next": "A"},
        "A": {"Type": "Pass", "End": true,
              "Output": "{% $merge([$states.input, {'b': 2}]) %}"}}});
    let (error, _) = run(&rebound, json!({})).unwrap_err();
    assert_eq!(error, "States.QueryEvaluationError");
    let failing = json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
        "A": {"Type": "Pass", "End": true,
              "Output": "{% $merge([$states.input, {'b': $states.input.s * 2}]) %}"}}});
    let (error, cause) = run(&failing, json!({"s": "x"})).unwrap_err();
    assert_eq!(error, "States.QueryEvaluationError");
    assert!(cause.contains("'Output'"), "{cause}");
}
