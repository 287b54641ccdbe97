//! Engine tests that cross state types: Retry/Catch with exact timings on a virtual clock,
//! task runners, the execution timeout, history events, and journaling with resume.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::context::ExecutionInfo;
use super::driver::{self, Runtime};
use super::execution::Execution;
use super::limits::Limits;
use super::ports::{Clock, ExecutionStatus, TaskRunner};
use super::testkit::{
    MemoryJournal, ScriptedTasks, VirtualClock, event_types, model, outcome, run, run_with,
};

pub(super) const START: u64 = 1_700_000_000;

fn at(secs: f64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs_f64(START as f64 + secs)
}

fn task_machine(retry: Value, catch: Value) -> Value {
    let mut def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "wasm:t", "Retry": retry, "Catch": catch, "End": true},
        "Caught": {"Type": "Pass", "End": true}
    }});
    // Without a Catcher going there, `Caught` would be unreachable (an error in AWS).
    if !def["States"]["T"]["Catch"].to_string().contains("Caught") {
        def["States"].as_object_mut().unwrap().remove("Caught");
    }
    def
}

fn with_tasks(tasks: ScriptedTasks) -> Arc<ScriptedTasks> {
    Arc::new(tasks)
}

#[test]
fn retry_waits_interval_times_backoff_capped_by_max_delay() {
    let tasks = with_tasks(ScriptedTasks::default().on(
        "wasm:t",
        vec![
            Err(("Boom", "1")),
            Err(("Boom", "2")),
            Err(("Boom", "3")),
            Ok(json!({"ok": true})),
        ],
    ));
    let def = task_machine(
        json!([{"ErrorEquals": ["Boom"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 3, "MaxDelaySeconds": 10}]),
        json!([]),
    );
    let (f, clock) = run_with(&def, json!({}), Some(tasks.clone() as Arc<dyn TaskRunner>));
    assert_eq!(outcome(&f).unwrap(), json!({"ok": true}));
    // 2, 2*3 = 6, 2*9 = 18 capped at 10; each relative to the failure before it.
    assert_eq!(clock.sleeps(), vec![at(2.0), at(8.0), at(18.0)]);
    let retries: Vec<u32> = tasks
        .calls()
        .iter()
        .map(|c| c.context.retry_count)
        .collect();
    assert_eq!(retries, vec![0, 1, 2, 3]);
}

#[test]
fn retries_run_out_then_catch_applies_with_result_path() {
    let tasks = with_tasks(ScriptedTasks::default().on("wasm:t", vec![Err(("Boom", "kaput"))]));
    let def = task_machine(
        json!([{"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 1.5}]),
        json!([{"ErrorEquals": ["States.ALL"], "Next": "Caught", "ResultPath": "$.err"}]),
    );
    let (f, clock) = run_with(
        &def,
        json!({"in": 1}),
        Some(tasks.clone() as Arc<dyn TaskRunner>),
    );
    assert_eq!(
        outcome(&f).unwrap(),
        json!({"in": 1, "err": {"Error": "Boom", "Cause": "kaput"}})
    );
    assert_eq!(clock.sleeps(), vec![at(1.0), at(2.5)]);
    assert_eq!(tasks.calls().len(), 3);
}

#[test]
fn max_attempts_zero_never_retries() {
    let tasks = with_tasks(ScriptedTasks::default().on("wasm:t", vec![Err(("Boom", ""))]));
    let def = task_machine(
        json!([{"ErrorEquals": ["Boom"], "MaxAttempts": 0}]),
        json!([]),
    );
    let (f, clock) = run_with(&def, json!({}), Some(tasks.clone() as Arc<dyn TaskRunner>));
    assert_eq!(outcome(&f).unwrap_err().0, "Boom");
    assert!(clock.sleeps().is_empty());
    assert_eq!(tasks.calls().len(), 1);
}

#[test]
fn full_jitter_stays_within_the_backoff() {
    let tasks =
        with_tasks(ScriptedTasks::default().on("wasm:t", vec![Err(("Boom", "")), Ok(json!(1))]));
    let def = task_machine(
        json!([{"ErrorEquals": ["Boom"], "IntervalSeconds": 4, "JitterStrategy": "FULL"}]),
        json!([]),
    );
    let (f, clock) = run_with(&def, json!({}), Some(tasks as Arc<dyn TaskRunner>));
    assert_eq!(outcome(&f).unwrap(), json!(1));
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 1);
    assert!(sleeps[0] >= at(0.0) && sleeps[0] <= at(4.0));
}

#[test]
fn task_failed_matches_task_errors_but_not_timeouts() {
    for (error, caught) in [("Custom.Err", true), ("States.Timeout", false)] {
        let tasks = with_tasks(ScriptedTasks::default().on("wasm:t", vec![Err((error, "c"))]));
        let def = task_machine(
            json!([]),
            json!([{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}]),
        );
        let (f, _) = run_with(&def, json!({}), Some(tasks as Arc<dyn TaskRunner>));
        assert_eq!(outcome(&f).is_ok(), caught, "{error}");
    }
}

#[test]
fn states_all_does_not_catch_states_runtime() {
    let def = json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "End": true,
              "Branches": [{"StartAt": "X", "States": {"X": {"Type": "Pass", "InputPath": "$.missing", "End": true}}}],
              "Retry": [{"ErrorEquals": ["States.ALL"]}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}]},
        "C": {"Type": "Pass", "End": true}}});
    let (f, clock) = run_with(&def, json!({}), None);
    assert_eq!(outcome(&f).unwrap_err().0, "States.Runtime");
    assert!(clock.sleeps().is_empty());
}

#[test]
fn error_names_match_case_sensitively() {
    let tasks = with_tasks(ScriptedTasks::default().on("wasm:t", vec![Err(("boom", ""))]));
    let def = task_machine(
        json!([]),
        json!([{"ErrorEquals": ["Boom"], "Next": "Caught"}]),
    );
    let (f, _) = run_with(&def, json!({}), Some(tasks as Arc<dyn TaskRunner>));
    assert_eq!(outcome(&f).unwrap_err().0, "boom");
}

#[test]
fn task_pipeline_and_events() {
    let tasks = with_tasks(
        ScriptedTasks::default().on("wasm:t", vec![Ok(json!({"r": {"v": 9}, "noise": 1}))]),
    );
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "wasm:t",
        "InputPath": "$.in", "Parameters": {"x.$": "$.x"}, "ResultSelector": {"v.$": "$.r.v"},
        "ResultPath": "$.out", "TimeoutSeconds": 30, "End": true}}});
    let (f, _) = run_with(
        &def,
        json!({"in": {"x": 1}}),
        Some(tasks.clone() as Arc<dyn TaskRunner>),
    );
    assert_eq!(
        outcome(&f).unwrap(),
        json!({"in": {"x": 1}, "out": {"v": 9}})
    );
    let call = &tasks.calls()[0];
    assert_eq!(call.input, json!({"x": 1}));
    assert_eq!(call.timeout, Some(Duration::from_secs(30)));
    assert_eq!(call.context.state_name, "T");
    assert_eq!(
        event_types(&f),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
}

#[test]
fn without_a_task_runner_a_task_fails_clearly() {
    let def = task_machine(
        json!([]),
        json!([{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]),
    );
    let (error, cause) = run(&def, json!({})).unwrap_err();
    assert_eq!(error, "States.Runtime");
    assert!(cause.contains("no task runner is configured"), "{cause}");
}

#[test]
fn the_execution_timeout_ends_a_wait() {
    let def = json!({"TimeoutSeconds": 3, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 100, "End": true}}});
    let (f, clock) = run_with(&def, json!({}), None);
    assert_eq!(f.end.status, ExecutionStatus::TimedOut);
    assert_eq!(f.end.error.as_deref(), Some("States.Timeout"));
    assert_eq!(clock.sleeps(), vec![at(3.0)]);
    assert_eq!(event_types(&f).last().unwrap(), "ExecutionTimedOut");
}

#[test]
fn parallel_results_come_in_branch_order_and_a_branch_error_escapes() {
    let branch = |name: &str, wait: u64, result: Value| {
        json!({"StartAt": format!("{name}W"), "States": {
            format!("{name}W"): {"Type": "Wait", "Seconds": wait, "Next": name},
            name: {"Type": "Pass", "Result": result, "End": true}}})
    };
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
        "Branches": [branch("A", 5, json!("a")), branch("B", 1, json!("b"))]}}});
    let (f, _) = run_with(&def, json!({}), None);
    assert_eq!(outcome(&f).unwrap(), json!(["a", "b"]));
    let types = event_types(&f);
    assert_eq!(types.iter().filter(|t| *t == "PassStateEntered").count(), 2);
    assert!(types.contains(&"ParallelStateStarted".to_owned()));
    assert!(types.contains(&"ParallelStateSucceeded".to_owned()));

    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
        "Branches": [branch("A", 5, json!("a")),
                     {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Branch.Err", "Cause": "x"}}}]}}});
    assert_eq!(
        run(&def, json!({})).unwrap_err(),
        ("Branch.Err".into(), "x".into())
    );
}

#[test]
fn map_respects_max_concurrency_and_keeps_item_order() {
    let tasks = with_tasks(ScriptedTasks::default());
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.xs", "MaxConcurrency": 2,
        "ItemSelector": {"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"},
        "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "wasm:echo", "End": true}}},
        "End": true}}});
    let (f, _) = run_with(
        &def,
        json!({"xs": ["a", "b", "c", "d", "e"]}),
        Some(tasks.clone() as Arc<dyn TaskRunner>),
    );
    let out = outcome(&f).unwrap();
    assert_eq!(out[0], json!({"v": "a", "i": 0}));
    assert_eq!(out[4], json!({"v": "e", "i": 4}));
    assert_eq!(tasks.peak.load(Ordering::SeqCst), 2);
    let types = event_types(&f);
    assert_eq!(
        types.iter().filter(|t| *t == "MapIterationStarted").count(),
        5
    );
    assert_eq!(
        f.history
            .iter()
            .find(|e| e.event_type == "MapStateStarted")
            .unwrap()
            .details["mapStateStartedEventDetails"]["length"],
        5
    );

    let unlimited = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.xs",
        "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "wasm:echo", "End": true}}},
        "End": true}}});
    let tasks = with_tasks(ScriptedTasks::default());
    run_with(
        &unlimited,
        json!({"xs": [1, 2, 3, 4, 5]}),
        Some(tasks.clone() as Arc<dyn TaskRunner>),
    );
    assert_eq!(tasks.peak.load(Ordering::SeqCst), 5);
}

#[test]
fn map_failure_tolerance() {
    let def = |tolerance: Value| {
        let mut m = json!({"Type": "Map", "ItemsPath": "$", "End": true,
            "ItemProcessor": {"StartAt": "C", "States": {
                "C": {"Type": "Choice", "Choices": [{"Variable": "$", "BooleanEquals": false, "Next": "F"}], "Default": "OK"},
                "F": {"Type": "Fail", "Error": "Bad"},
                "OK": {"Type": "Pass", "End": true}}}});
        for (k, v) in tolerance.as_object().unwrap() {
            m[k] = v.clone();
        }
        json!({"StartAt": "M", "States": {"M": m}})
    };
    let input = json!([true, false, true, false]);
    assert_eq!(run(&def(json!({})), input.clone()).unwrap_err().0, "Bad");
    assert!(run(&def(json!({"ToleratedFailureCount": 2})), input.clone()).is_ok());
    assert_eq!(
        run(&def(json!({"ToleratedFailureCount": 1})), input.clone())
            .unwrap_err()
            .0,
        "States.ExceedToleratedFailureThreshold"
    );
    assert!(
        run(
            &def(json!({"ToleratedFailurePercentage": 50})),
            input.clone()
        )
        .is_ok()
    );
    assert_eq!(
        run(&def(json!({"ToleratedFailurePercentage": 49})), input)
            .unwrap_err()
            .0,
        "States.ExceedToleratedFailureThreshold"
    );
}

#[test]
fn map_items_must_be_an_array_and_empty_maps_finish() {
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.xs", "End": true,
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}});
    assert_eq!(
        run(&def, json!({"xs": "nope"})).unwrap_err().0,
        "States.Runtime"
    );
    assert_eq!(run(&def, json!({"xs": []})).unwrap(), json!([]));
}

#[test]
fn payload_limit_applies_to_state_results() {
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.xs", "End": true,
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"s.$": "$$.Execution.Input.big"}, "End": true}}}}}});
    let big = "x".repeat(100_000);
    let (error, _) = run(&def, json!({"xs": [1, 2, 3], "big": big})).unwrap_err();
    assert_eq!(error, "States.DataLimitExceeded");
}

/// Runs with a journal; `crash_after` commits the journal starts failing (a crash).
pub(super) fn journaled(
    def: &Value,
    input: Value,
    journal: Arc<MemoryJournal>,
    clock: Arc<VirtualClock>,
) -> Result<driver::Finished, String> {
    let runtime = Runtime {
        activities: None,
        clock: clock.clone(),
        tasks: None,
        journal: Some(journal.clone()),
        limits: Limits::default(),
        record_history: true,
    };
    let info = ExecutionInfo::local("j", "sm", Arc::new(input), clock.now());
    let mut exec = Execution::new(
        model(def),
        Arc::new(info),
        Limits::default(),
        true,
        clock.now(),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(driver::run(&mut exec, &runtime))
        .map_err(|e| e.to_string())
}

pub(super) fn resumed(
    def: &Value,
    input: Value,
    journal: Arc<MemoryJournal>,
    clock: Arc<VirtualClock>,
) -> driver::Finished {
    let frames: Vec<(u64, Vec<u8>)> = journal.frames.lock().unwrap().clone().into_iter().collect();
    let last = journal.events.lock().unwrap().last().map_or(0, |e| e.id);
    let info = ExecutionInfo::local(
        "j",
        "sm",
        Arc::new(input),
        UNIX_EPOCH + Duration::from_secs(START),
    );
    let mut exec =
        Execution::resume(model(def), Arc::new(info), Limits::default(), &frames, last).unwrap();
    let runtime = Runtime {
        activities: None,
        clock,
        tasks: None,
        journal: Some(journal),
        limits: Limits::default(),
        record_history: true,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(driver::run(&mut exec, &runtime)).unwrap()
}

fn resumable_machine() -> Value {
    json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Result": [1, 2, 3, 4], "Next": "M"},
        "M": {"Type": "Map", "MaxConcurrency": 2, "Next": "Z",
              "ItemProcessor": {"StartAt": "W", "States": {
                  "W": {"Type": "Wait", "Seconds": 1, "Next": "Dbl"},
                  "Dbl": {"Type": "Pass", "Parameters": {"v.$": "States.MathAdd($, $)"}, "End": true}}}},
        "Z": {"Type": "Pass", "End": true}}})
}

#[test]
fn a_journaled_run_records_a_dense_history_and_clears_its_frames() {
    let journal = Arc::new(MemoryJournal::default());
    let f = journaled(
        &resumable_machine(),
        json!({}),
        journal.clone(),
        Arc::new(VirtualClock::at(START)),
    )
    .unwrap();
    assert_eq!(f.end.status, ExecutionStatus::Succeeded);
    let events = journal.events.lock().unwrap();
    let ids: Vec<u64> = events.iter().map(|e| e.id).collect();
    assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>());
    assert!(
        journal.frames.lock().unwrap().is_empty(),
        "finished executions keep no frames"
    );
    assert_eq!(
        journal.end.lock().unwrap().as_ref().unwrap().output,
        Some(json!([{"v": 2}, {"v": 4}, {"v": 6}, {"v": 8}]))
    );
}

#[test]
fn an_execution_resumes_from_its_frames_after_a_crash_at_every_step() {
    let def = resumable_machine();
    let full = Arc::new(MemoryJournal::default());
    journaled(
        &def,
        json!({}),
        full.clone(),
        Arc::new(VirtualClock::at(START)),
    )
    .unwrap();
    let total_commits = full.commits.load(Ordering::SeqCst);
    let expected_events: Vec<String> = full
        .events
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.event_type.clone())
        .collect();
    for crash_after in 1..total_commits {
        let journal = Arc::new(MemoryJournal {
            crash_after: Some(crash_after),
            ..MemoryJournal::default()
        });
        let clock = Arc::new(VirtualClock::at(START));
        assert!(journaled(&def, json!({}), journal.clone(), clock.clone()).is_err());
        let journal = Arc::new(MemoryJournal {
            events: std::sync::Mutex::new(journal.events.lock().unwrap().clone()),
            frames: std::sync::Mutex::new(journal.frames.lock().unwrap().clone()),
            ..MemoryJournal::default()
        });
        let f = resumed(&def, json!({}), journal.clone(), clock);
        assert_eq!(
            f.end.status,
            ExecutionStatus::Succeeded,
            "crash after {crash_after}"
        );
        let end = journal.end.lock().unwrap().clone().unwrap();
        assert_eq!(
            end.output,
            Some(json!([{"v": 2}, {"v": 4}, {"v": 6}, {"v": 8}])),
            "crash after {crash_after}"
        );
        let events = journal.events.lock().unwrap();
        let ids: Vec<u64> = events.iter().map(|e| e.id).collect();
        assert_eq!(
            ids,
            (1..=ids.len() as u64).collect::<Vec<_>>(),
            "gap-free after crash {crash_after}"
        );
        // A resumed run repeats no committed step and loses none: the same events as without a
        // crash (concurrent iterations may interleave differently).
        let mut types: Vec<String> = events.iter().map(|e| e.event_type.clone()).collect();
        let mut expected = expected_events.clone();
        types.sort();
        expected.sort();
        assert_eq!(types, expected, "crash after {crash_after}");
        assert!(journal.frames.lock().unwrap().is_empty());
    }
}

#[test]
fn a_map_persists_linear_frame_state() {
    let frame_bytes = |n: usize| {
        let journal = Arc::new(MemoryJournal::default());
        let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}});
        let items: Vec<Value> = (0..n).map(|i| json!({"id": i})).collect();
        journaled(
            &def,
            Value::Array(items),
            journal.clone(),
            Arc::new(VirtualClock::at(START)),
        )
        .unwrap();
        journal.frame_bytes.load(Ordering::SeqCst)
    };
    let small = frame_bytes(200);
    let large = frame_bytes(2000);
    // Ten times the items may cost about ten times the bytes, never a hundred.
    assert!(
        large < small * 15,
        "200 items: {small} bytes, 2000 items: {large} bytes"
    );
}

#[test]
fn aborting_keeps_frames_for_redrive_and_reports_aborted() {
    let def =
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 10, "End": true}}});
    let info = ExecutionInfo::local("a", "sm", Arc::new(json!({})), at(0.0));
    let mut exec = Execution::new(
        model(&def),
        Arc::new(info),
        Limits::default(),
        true,
        at(0.0),
    );
    let effect = exec.advance(0, at(0.0));
    assert!(
        matches!(effect, super::execution::Effect::Sleep(_)),
        "{effect:?}"
    );
    let commit = exec.abort(at(1.0), None, Some("stopped".into()));
    let types: Vec<&str> = commit
        .events
        .iter()
        .map(|e| e.event_type.as_str())
        .collect();
    assert_eq!(types.last(), Some(&"ExecutionAborted"));
    assert!(types.contains(&"WaitStateAborted"));
    assert_eq!(commit.end.unwrap().status, ExecutionStatus::Aborted);
    // The frames stay as committed (RedriveExecution resumes from them): none is deleted.
    assert!(
        commit.frames.iter().all(|f| f.state.is_some()),
        "{:?}",
        commit.frames
    );
}
