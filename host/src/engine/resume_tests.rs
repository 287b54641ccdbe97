//! Crash-resume sweeps: for each execution shape, run it once with a journal to count its
//! commits, then for every commit index crash there (the journal refuses that commit and
//! every later one), rebuild the execution from what was committed, run it to its end, and
//! check the output, a dense history, the same events as the uncrashed run, and no frame
//! left behind. Session 1 saw "no runnable frame" after resuming a top-level Wait followed
//! by a Map with MaxConcurrency 1; that shape is the first one here.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::{Value, json};

use super::ports::ExecutionStatus;
use super::testkit::{MemoryJournal, VirtualClock};
use super::tests::{START, journaled, resumed};

/// What one uncrashed run committed: number of commits, event types in order, output.
fn reference(def: &Value, input: &Value) -> (usize, Vec<String>, Value) {
    let journal = Arc::new(MemoryJournal::default());
    let f = journaled(
        def,
        input.clone(),
        journal.clone(),
        Arc::new(VirtualClock::at(START)),
    )
    .expect("the uncrashed run succeeds");
    assert_eq!(f.end.status, ExecutionStatus::Succeeded, "{:?}", f.end);
    let types = journal
        .events
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.event_type.clone())
        .collect();
    (
        journal.commits.load(Ordering::SeqCst),
        types,
        f.end.output.expect("output"),
    )
}

/// Crashes `def` at every commit index and checks each resumed run.
fn sweep(shape: &str, def: &Value, input: &Value) {
    let (total, expected_types, expected_output) = reference(def, input);
    assert!(total > 2, "{shape}: only {total} commits");
    for crash_at in 1..total {
        let crashing = Arc::new(MemoryJournal {
            crash_after: Some(crash_at),
            ..MemoryJournal::default()
        });
        let clock = Arc::new(VirtualClock::at(START));
        assert!(
            journaled(def, input.clone(), crashing.clone(), clock.clone()).is_err(),
            "{shape}: the run must stop at commit {crash_at}"
        );
        let journal = Arc::new(MemoryJournal {
            events: std::sync::Mutex::new(crashing.events.lock().unwrap().clone()),
            frames: std::sync::Mutex::new(crashing.frames.lock().unwrap().clone()),
            ..MemoryJournal::default()
        });
        let f = resumed(def, input.clone(), journal.clone(), clock);
        let at = format!("{shape}, crash at commit {crash_at} of {total}");
        assert_eq!(
            f.end.status,
            ExecutionStatus::Succeeded,
            "{at}: {:?}",
            f.end
        );
        assert_eq!(f.end.output.as_ref(), Some(&expected_output), "{at}");
        let events = journal.events.lock().unwrap();
        let ids: Vec<u64> = events.iter().map(|e| e.id).collect();
        assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>(), "{at}");
        // Concurrent children may interleave differently after a resume; the multiset of
        // events must be the same (nothing repeated, nothing lost).
        let mut types: Vec<String> = events.iter().map(|e| e.event_type.clone()).collect();
        let mut expected = expected_types.clone();
        types.sort();
        expected.sort();
        assert_eq!(types, expected, "{at}");
        assert!(
            journal.frames.lock().unwrap().is_empty(),
            "{at}: frames left"
        );
    }
}

fn inner_pass() -> Value {
    json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"v.$": "$"}, "End": true}}})
}

#[test]
fn wait_then_map_with_max_concurrency_one_resumes_at_every_commit() {
    let def = json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 5, "Next": "M"},
        "M": {"Type": "Map", "ItemsPath": "$.xs", "MaxConcurrency": 1, "End": true,
              "ItemProcessor": inner_pass()}}});
    sweep("wait+map(1)", &def, &json!({"xs": [1, 2, 3, 4]}));
}

#[test]
fn map_with_max_concurrency_one_and_waiting_items_resumes_at_every_commit() {
    let def = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "M"},
        "M": {"Type": "Map", "ItemsPath": "$.xs", "MaxConcurrency": 1, "Next": "Z",
              "ItemProcessor": {"StartAt": "W", "States": {
                  "W": {"Type": "Wait", "Seconds": 2, "Next": "P"},
                  "P": {"Type": "Pass", "Parameters": {"v.$": "$"}, "End": true}}}},
        "Z": {"Type": "Wait", "Seconds": 1, "End": true}}});
    sweep("map(1) of waits", &def, &json!({"xs": [1, 2, 3]}));
}

#[test]
fn parallel_branches_with_waits_resume_at_every_commit() {
    let def = json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 1, "Next": "Par"},
        "Par": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": 3, "Next": "A2"},
                                        "A2": {"Type": "Pass", "Result": "a", "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": "b", "Next": "B2"},
                                        "B2": {"Type": "Wait", "Seconds": 1, "End": true}}}]}}});
    sweep("wait+parallel", &def, &json!({}));
}

#[test]
fn nested_maps_and_a_choice_loop_resume_at_every_commit() {
    let def = json!({"StartAt": "Init", "States": {
        "Init": {"Type": "Pass", "Parameters": {"n": 0, "xs.$": "$.xs"}, "Next": "Loop"},
        "Loop": {"Type": "Choice", "Choices": [
            {"Variable": "$.n", "NumericGreaterThanEquals": 2, "Next": "Outer"}],
            "Default": "Inc"},
        "Inc": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)", "xs.$": "$.xs"},
                "Next": "Nap"},
        "Nap": {"Type": "Wait", "Seconds": 1, "Next": "Loop"},
        "Outer": {"Type": "Map", "ItemsPath": "$.xs", "MaxConcurrency": 2, "End": true,
            "ItemProcessor": {"StartAt": "Inner", "States": {
                "Inner": {"Type": "Map", "ItemsPath": "$", "MaxConcurrency": 1, "End": true,
                          "ItemProcessor": inner_pass()}}}}}});
    sweep(
        "choice loop+nested maps",
        &def,
        &json!({"xs": [[1, 2], [3], []]}),
    );
}

#[test]
fn variables_with_a_top_level_wait_before_a_serial_map_resume_at_every_commit() {
    // The shape session 1 saw fail with "no runnable frame" at commit 7.
    let def = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"k": "v", "n.$": "$.n"}, "Next": "W"},
        "W": {"Type": "Wait", "Seconds": 1, "Next": "M"},
        "M": {"Type": "Map", "ItemsPath": "$.items", "Next": "Z", "MaxConcurrency": 1,
              "ItemProcessor": {"StartAt": "P", "States": {
                  "P": {"Type": "Pass", "Assign": {"mine.$": "$"}, "Next": "Q"},
                  "Q": {"Type": "Wait", "Seconds": 1, "Next": "R"},
                  "R": {"Type": "Pass", "Parameters": {"k.$": "$k", "mine.$": "$mine"}, "End": true}}}},
        "Z": {"Type": "Pass", "QueryLanguage": "JSONata",
              "Output": {"r": "{% $states.input %}", "n": "{% $n %}"}, "End": true}}});
    sweep(
        "assign+wait+map(1)",
        &def,
        &json!({"n": 3, "items": [1, 2]}),
    );
}

#[test]
fn a_journaled_run_parks_on_a_long_wait_and_resumes_from_its_frames() {
    use super::driver::{Driven, Runtime, run_or_park};
    use super::limits::Limits;
    use std::time::Duration;
    let def = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Result": {"x": 1}, "Next": "W"},
        "W": {"Type": "Wait", "Seconds": 30, "Next": "B"},
        "B": {"Type": "Wait", "Seconds": 0, "End": true}}});
    let journal = Arc::new(MemoryJournal::default());
    let clock = Arc::new(VirtualClock::at(START));
    let runtime = Runtime {
        activities: None,
        clock: clock.clone(),
        tasks: None,
        journal: Some(journal.clone()),
        limits: Limits::default(),
        record_history: true,
    };
    let start = super::ports::Clock::now(&*clock);
    let info = super::context::ExecutionInfo::local("j", "sm", Arc::new(json!({})), start);
    let mut exec = super::execution::Execution::new(
        super::testkit::model(&def),
        Arc::new(info),
        Limits::default(),
        true,
        start,
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let parked = rt
        .block_on(run_or_park(
            &mut exec,
            &runtime,
            Some(Duration::from_secs(1)),
            None,
        ))
        .unwrap();
    let Driven::Parked { wake_at } = parked else {
        panic!("expected to park, got {parked:?}");
    };
    assert_eq!(wake_at, start + Duration::from_secs(30));
    assert!(
        !journal.frames.lock().unwrap().is_empty(),
        "the waiting frame is committed before parking"
    );
    // Resumed from its committed frames (as the service does when the timer fires).
    let f = resumed(&def, json!({}), journal.clone(), clock);
    assert_eq!(f.end.status, ExecutionStatus::Succeeded);
    assert_eq!(f.end.output, Some(json!({"x": 1})));
    let types: Vec<String> = journal
        .events
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.event_type.clone())
        .collect();
    assert_eq!(types.iter().filter(|t| *t == "WaitStateEntered").count(), 2);
    assert_eq!(types.iter().filter(|t| *t == "WaitStateExited").count(), 2);
}

/// Found by `fuzz_frames_resume`: a stored frame whose state (or cursor kind, or child
/// machine) does not exist in its machine panicked the step function on an index; resuming
/// it is now a named `Mismatch`.
#[test]
fn frames_that_do_not_fit_their_machine_are_refused_by_name() {
    use super::context::ExecutionInfo;
    use super::execution::Execution;
    use super::limits::Limits;
    use super::resume::ResumeError;
    use super::testkit::model;

    let def = json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "X", "States": {"X": {"Type": "Pass", "End": true}}}]}}});
    let cases = [
        // Machine 1 (the branch) has one state.
        json!({"parent": null, "machine": 1, "cursor": {"Enter": {"state": 1, "input": 0}}}),
        // A Wait's cursor at a Pass state.
        json!({"parent": null, "machine": 1,
               "cursor": {"Waiting": {"state": 0, "output": 0, "until_ms": 0}}}),
        // Children of a machine that does not exist.
        json!({"parent": null, "machine": 0, "cursor": {"Children": {
            "state": 0, "input": 0,
            "attempt": {"retry_count": 0, "per_retrier": [], "entered_ms": 0},
            "pending": [[7, 0]], "started": 0, "running": 0, "finished": 0, "failed": 0,
            "max_concurrency": 0, "tolerated_count": null, "tolerated_percentage": null,
            "is_map": false}}}),
    ];
    for frame in cases {
        let info = Arc::new(ExecutionInfo::local(
            "e",
            "sm",
            Arc::new(json!({})),
            std::time::UNIX_EPOCH,
        ));
        let bytes = serde_json::to_vec(&frame).unwrap();
        match Execution::resume(model(&def), info, Limits::default(), &[(0, bytes)], 1) {
            Err(ResumeError::Mismatch { frame: 0, .. }) => {}
            Err(e) => panic!("{frame}: {e}"),
            Ok(_) => panic!("{frame}: resumed"),
        }
    }
}
