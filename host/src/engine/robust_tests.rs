//! Regression tests for issue 16 (engine robustness): durations and timestamps from data never
//! overflow a clock, endings are typed, a failing Map cancels its children in linear time.

use std::sync::Arc;

use serde_json::json;

use super::ports::TaskRunner;
use super::testkit::{ScriptedTasks, outcome, run_with};

fn wait_def(state: serde_json::Value) -> serde_json::Value {
    let mut state = state;
    state["Type"] = json!("Wait");
    state["End"] = json!(true);
    json!({"StartAt": "W", "States": {"W": state}})
}

#[test]
fn a_huge_seconds_path_fails_the_execution_instead_of_panicking() {
    let (f, clock) = run_with(
        &wait_def(json!({"SecondsPath": "$.s"})),
        json!({"s": u64::MAX}),
        None,
    );
    let (error, cause) = outcome(&f).unwrap_err();
    assert_eq!(error, "States.Runtime");
    assert!(cause.contains("99999999"), "{cause}");
    assert!(clock.sleeps().is_empty());
}

#[test]
fn the_largest_allowed_seconds_path_still_waits() {
    let (f, clock) = run_with(
        &wait_def(json!({"SecondsPath": "$.s"})),
        json!({"s": 99_999_999}),
        None,
    );
    assert!(outcome(&f).is_ok());
    assert_eq!(clock.sleeps().len(), 1);
}

#[test]
fn a_huge_jsonata_seconds_fails_the_execution_instead_of_panicking() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": "{% $states.input.s %}", "End": true}}});
    for s in [json!(u64::MAX), json!(1e19)] {
        let (f, _) = run_with(&def, json!({ "s": s }), None);
        assert_eq!(outcome(&f).unwrap_err().0, "States.Runtime", "{s}");
    }
}

#[test]
fn a_retry_backoff_that_overflows_is_capped_not_a_panic() {
    let def = json!({"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "wasm:flaky", "End": true,
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1,
                   "BackoffRate": 1e308, "MaxAttempts": 3, "JitterStrategy": "FULL"}]}}});
    let tasks: Arc<dyn TaskRunner> =
        Arc::new(ScriptedTasks::default().on("wasm:flaky", vec![Err(("Boom", "no"))]));
    let (f, clock) = run_with(&def, json!({}), Some(tasks));
    assert_eq!(outcome(&f).unwrap_err().0, "Boom");
    assert_eq!(clock.sleeps().len(), 3);
}

#[test]
fn a_huge_timeout_seconds_path_fails_the_task_before_it_runs() {
    for field in ["TimeoutSecondsPath", "HeartbeatSecondsPath"] {
        let mut task = json!({"Type": "Task", "Resource": "wasm:echo", "End": true});
        task[field] = json!("$.t");
        let def = json!({"StartAt": "T", "States": {"T": task}});
        let runner = Arc::new(ScriptedTasks::default());
        let tasks: Arc<dyn TaskRunner> = runner.clone();
        let (f, _) = run_with(&def, json!({"t": u64::MAX}), Some(tasks));
        assert_eq!(outcome(&f).unwrap_err().0, "States.Runtime", "{field}");
        assert!(runner.calls().is_empty(), "{field}");
    }
}

#[test]
fn a_timeout_seconds_path_that_is_not_a_positive_integer_fails_the_task() {
    for bad in [json!("5"), json!(0), json!(-1), json!(2.5)] {
        let def = json!({"StartAt": "T", "States": {"T": {
            "Type": "Task", "Resource": "wasm:echo", "End": true, "TimeoutSecondsPath": "$.t"}}});
        let runner = Arc::new(ScriptedTasks::default());
        let tasks: Arc<dyn TaskRunner> = runner.clone();
        let (f, _) = run_with(&def, json!({ "t": bad }), Some(tasks));
        assert_eq!(outcome(&f).unwrap_err().0, "States.Runtime", "{bad}");
    }
}

#[test]
fn a_valid_timeout_seconds_path_reaches_the_task() {
    let def = json!({"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "wasm:echo", "End": true,
        "TimeoutSecondsPath": "$.t", "HeartbeatSecondsPath": "$.h"}}});
    let runner = Arc::new(ScriptedTasks::default());
    let tasks: Arc<dyn TaskRunner> = runner.clone();
    let (f, _) = run_with(&def, json!({"t": 30, "h": 10}), Some(tasks));
    assert!(outcome(&f).is_ok());
    let call = &runner.calls()[0];
    assert_eq!(call.timeout, Some(std::time::Duration::from_secs(30)));
    assert_eq!(call.heartbeat, Some(std::time::Duration::from_secs(10)));
}

#[test]
fn a_fail_state_that_mimics_the_timeout_is_failed_not_timed_out() {
    let def = json!({"TimeoutSeconds": 100, "StartAt": "F", "States": {"F": {
        "Type": "Fail", "Error": "States.Timeout",
        "Cause": "The execution ran longer than the state machine's TimeoutSeconds"}}});
    let (f, _) = run_with(&def, json!({}), None);
    assert_eq!(f.end.status, super::ports::ExecutionStatus::Failed);
    assert_eq!(
        super::testkit::event_types(&f).last().map(String::as_str),
        Some("ExecutionFailed")
    );
}

#[test]
fn the_execution_timeout_is_timed_out() {
    let def = json!({"TimeoutSeconds": 5, "StartAt": "W", "States": {"W": {
        "Type": "Wait", "Seconds": 10, "End": true}}});
    let (f, _) = run_with(&def, json!({}), None);
    assert_eq!(f.end.status, super::ports::ExecutionStatus::TimedOut);
    assert_eq!(f.end.error.as_deref(), Some("States.Timeout"));
    assert_eq!(
        super::testkit::event_types(&f).last().map(String::as_str),
        Some("ExecutionTimedOut")
    );
}

/// AWS: "If you specify both values, the workflow fails when it exceeds either value."
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/maprun-fail-threshold.html>)
#[test]
fn a_map_with_both_thresholds_fails_when_either_is_exceeded() {
    let map = |count: u64, percentage: u64| {
        json!({"StartAt": "M", "States": {"M": {
            "Type": "Map", "End": true,
            "ToleratedFailureCount": count, "ToleratedFailurePercentage": percentage,
            "ItemProcessor": {"StartAt": "C", "States": {
                "C": {"Type": "Choice", "Choices": [
                    {"Variable": "$", "NumericLessThan": 2, "Next": "Bad"}], "Default": "Ok"},
                "Bad": {"Type": "Fail", "Error": "E"},
                "Ok": {"Type": "Succeed"}}}}}})
    };
    // 2 of 10 items fail: 20 %.
    let items = json!([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    let exceeded = "States.ExceedToleratedFailureThreshold";
    // Count exceeded (2 > 1), percentage not (20 <= 50).
    let (f, _) = run_with(&map(1, 50), items.clone(), None);
    assert_eq!(outcome(&f).unwrap_err().0, exceeded);
    // Percentage exceeded (20 > 10), count not (2 <= 5).
    let (f, _) = run_with(&map(5, 10), items.clone(), None);
    assert_eq!(outcome(&f).unwrap_err().0, exceeded);
    // Neither exceeded.
    let (f, _) = run_with(&map(2, 20), items, None);
    assert!(outcome(&f).is_ok());
}

/// A Map of many items whose first item fails cancels the rest: linear in the number of
/// children (it was a scan of every frame per cancelled frame).
#[test]
fn a_failing_large_map_cancels_its_children_in_linear_time() {
    const ITEMS: usize = 30_000;
    let def = json!({"StartAt": "M", "States": {"M": {
        "Type": "Map", "End": true,
        "ItemProcessor": {"StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [
                {"Variable": "$", "NumericEquals": 0, "Next": "Bad"}], "Default": "W"},
            "Bad": {"Type": "Fail", "Error": "E"},
            "W": {"Type": "Wait", "Seconds": 10, "End": true}}}}}});
    let input: Vec<usize> = (0..ITEMS).collect();
    let clock = Arc::new(super::testkit::VirtualClock::at(1_700_000_000));
    let runtime = super::driver::Runtime {
        activities: None,
        clock: clock.clone(),
        tasks: None,
        journal: None,
        limits: super::limits::Limits::default(),
        record_history: false,
    };
    let now = super::ports::Clock::now(clock.as_ref());
    let info = super::context::ExecutionInfo::local("t", "sm", Arc::new(json!(input)), now);
    let mut exec = super::execution::Execution::new(
        super::testkit::model(&def),
        Arc::new(info),
        runtime.limits.clone(),
        false,
        now,
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let f = rt
        .block_on(super::driver::run(&mut exec, &runtime))
        .unwrap();
    let took = started.elapsed();
    assert_eq!(outcome(&f).unwrap_err().0, "E");
    // Linear: tens of milliseconds; quadratic: 9e8 frame visits, minutes under load (461 s for 60,000 items).
    assert!(took < std::time::Duration::from_secs(3), "took {took:?}");
}
