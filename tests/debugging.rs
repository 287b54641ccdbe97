//! Issue 13's debugging tools against the real binary: time control (`--wait-time-scale`),
//! TestState, mocked runs from a MockConfigFile, and RedriveExecution.

mod guests;
mod server;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use server::Server;

fn one_hour_wait() -> Value {
    json!({"StartAt": "Nap", "States": {
        "Nap": {"Type": "Wait", "Seconds": 3600, "Next": "Done"},
        "Done": {"Type": "Pass", "Result": "woke", "End": true}}})
}

fn timestamp_of(events: &[Value], kind: &str) -> f64 {
    let e = events
        .iter()
        .find(|e| e["type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {events:?}"));
    let text = e["timestamp"].as_str().expect("timestamp");
    let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .expect("RFC 3339 timestamp");
    t.unix_timestamp_nanos() as f64 / 1e9
}

/// A one-hour Wait under `--wait-time-scale 0.0005` takes 1.8 s. The bound (under 2 s of
/// waiting, as the history shows it, and under 30 s end to end under load) fails without
/// scaling, where the execution would still be RUNNING.
#[test]
fn a_one_hour_wait_ends_in_under_two_seconds_with_a_scale_of_half_a_thousandth() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with(
        dir.path(),
        &[("STEPWASM_ADMIN_KEY", server::ADMIN_KEY)],
        &["--wait-time-scale", "0.0005"],
    );
    let key = s.tenant("acme");
    let r = s.post(
        "/v1/state-machines",
        &key,
        &json!({"name": "nap", "definition": one_hour_wait()}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let started = Instant::now();
    let r = s.post(
        "/v1/state-machines/nap/executions",
        &key,
        &json!({"name": "e1"}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let done = s.wait_done(&key, "nap", "e1", Duration::from_secs(30));
    assert_eq!(done["status"], "SUCCEEDED", "{done:?}");
    assert!(started.elapsed() < Duration::from_secs(30));
    let events = s.full_history(&key, "nap", "e1");
    let waited =
        timestamp_of(&events, "WaitStateExited") - timestamp_of(&events, "WaitStateEntered");
    assert!(
        (1.7..2.0).contains(&waited),
        "the history shows the scaled wait: {waited} s"
    );
}

#[test]
fn run_scales_waits_and_retry_backoffs_and_refuses_silly_factors() {
    let dir = tempfile::tempdir().unwrap();
    let def = dir.path().join("m.json");
    std::fs::write(
        &def,
        json!({"StartAt": "Nap", "States": {
            "Nap": {"Type": "Wait", "Seconds": 3600, "Next": "Boom"},
            "Boom": {"Type": "Task", "Resource": "wasm:flaky", "End": true,
                     "Parameters": {"error": "Boom"},
                     "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1000,
                                "MaxAttempts": 2, "BackoffRate": 1.0}]}}})
        .to_string(),
    )
    .unwrap();
    let started = Instant::now();
    let module = format!("flaky={}", guests::guest("flaky").display());
    let out = Command::new(env!("CARGO_BIN_EXE_stepwasm"))
        .args(["run", "--json", "--history", "--wait-time-scale", "0.0005"])
        .args(["--module", &module])
        .arg(&def)
        .output()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(30));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("test-only"), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "FAILED", "{v}");
    let events = v["history"].as_array().unwrap();
    let scheduled: Vec<f64> = events
        .iter()
        .filter(|e| e["type"] == "TaskScheduled")
        .map(|e| {
            let t = time::OffsetDateTime::parse(
                e["timestamp"].as_str().unwrap(),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap();
            t.unix_timestamp_nanos() as f64 / 1e9
        })
        .collect();
    assert_eq!(scheduled.len(), 3, "{events:?}");
    // Each 1000 s backoff took 0.5 s.
    for pair in scheduled.windows(2) {
        let gap = pair[1] - pair[0];
        assert!((0.45..1.5).contains(&gap), "backoff of {gap} s");
    }
    for bad in ["0", "-2", "1e9", "soon"] {
        let out = Command::new(env!("CARGO_BIN_EXE_stepwasm"))
            .arg("run")
            .arg(format!("--wait-time-scale={bad}"))
            .arg(&def)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("wait time scale"),
            "{bad}"
        );
    }
}

fn fixture(name: &str) -> std::path::PathBuf {
    guests::repo_root().join("tests/fixtures").join(name)
}

/// `stepwasm test-state` on a definition (JSON text), with extra arguments; its JSON.
fn test_state_cli(definition: &Value, args: &[&str]) -> (Option<i32>, Value) {
    let dir = tempfile::tempdir().unwrap();
    let def = dir.path().join("state.json");
    std::fs::write(&def, definition.to_string()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_stepwasm"))
        .arg("test-state")
        .arg(&def)
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let v = serde_json::from_str(&text).unwrap_or_else(|_| {
        panic!(
            "not JSON: {text}; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), v)
}

fn input_file(dir: &tempfile::TempDir, v: &Value) -> String {
    let p = dir.path().join("input.json");
    std::fs::write(&p, v.to_string()).unwrap();
    p.to_string_lossy().into_owned()
}

/// AWS's examples 1 and 2 of "Using TestState API to test a state"
/// (https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html):
/// INFO on a Choice state, DEBUG on a Pass state, with the values the page shows.
#[test]
fn test_state_gives_the_values_of_aws_documented_examples() {
    let dir = tempfile::tempdir().unwrap();
    let choice = json!({"Type": "Choice", "Choices": [
        {"Variable": "$.number", "NumericEquals": 1, "Next": "Equals 1"},
        {"Variable": "$.number", "NumericEquals": 2, "Next": "Equals 2"}],
        "Default": "No Match"});
    let input = input_file(&dir, &json!({"number": 2}));
    let (code, v) = test_state_cli(&choice, &["--input", &input]);
    assert_eq!(code, Some(0));
    assert_eq!(
        v,
        json!({"output": {"number": 2}, "nextState": "Equals 2", "status": "SUCCEEDED"})
    );

    let pass = json!({"Type": "Pass", "InputPath": "$.payload", "Parameters": {"data": 1},
        "ResultPath": "$.result", "OutputPath": "$.result.data", "Next": "Another State"});
    let input = input_file(&dir, &json!({"payload": {"foo": "bar"}}));
    let (_, v) = test_state_cli(&pass, &["--input", &input, "--inspection-level", "DEBUG"]);
    assert_eq!(
        v,
        json!({
            "output": 1,
            "inspectionData": {
                "input": {"payload": {"foo": "bar"}},
                "afterInputPath": {"foo": "bar"},
                "afterParameters": {"data": 1},
                "afterResultSelector": {"data": 1},
                "afterResultPath": {"payload": {"foo": "bar"}, "result": {"data": 1}}
            },
            "nextState": "Another State",
            "status": "SUCCEEDED"
        })
    );
}

/// AWS's mocked Task example (the same page, "Scenario 1: Mock a successful result" and
/// "Scenario 2: Mock error conditions").
#[test]
fn test_state_answers_a_task_from_its_mock() {
    let task = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "process-order"}, "End": true});
    let (code, v) = test_state_cli(
        &task,
        &[
            "--mock-result",
            r#"{"orderId":"12345","status":"processed"}"#,
            "--inspection-level",
            "DEBUG",
        ],
    );
    assert_eq!(code, Some(0));
    let result = json!({"orderId": "12345", "status": "processed"});
    assert_eq!(
        v,
        json!({
            "output": result,
            "inspectionData": {
                "input": {},
                "afterInputPath": {},
                "afterParameters": {"FunctionName": "process-order"},
                "result": result,
                "afterResultSelector": result,
                "afterResultPath": result
            },
            "status": "SUCCEEDED"
        })
    );
    let (code, v) = test_state_cli(
        &task,
        &[
            "--mock-error",
            "Lambda.ServiceException",
            "--mock-cause",
            "Function failed",
        ],
    );
    assert_eq!(code, Some(1));
    assert_eq!(
        v,
        json!({"error": "Lambda.ServiceException", "cause": "Function failed", "status": "FAILED"})
    );
    // A Retrier that matches makes it RETRIABLE; a Catcher makes it CAUGHT_ERROR.
    let mut retried = task.clone();
    retried["Retry"] = json!([{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 3}]);
    let (_, v) = test_state_cli(
        &retried,
        &["--mock-error", "Boom", "--inspection-level", "DEBUG"],
    );
    assert_eq!(v["status"], "RETRIABLE", "{v}");
    assert_eq!(v["error"], "Boom");
    assert_eq!(
        v["inspectionData"]["errorDetails"],
        json!({"retryIndex": 0, "retryBackoffIntervalSeconds": 3})
    );
    let mut caught = task;
    caught["Catch"] = json!([{"ErrorEquals": ["Boom"], "ResultPath": "$.err", "Next": "Handle"}]);
    let (_, v) = test_state_cli(&caught, &["--mock-error", "Boom", "--mock-cause", "c"]);
    assert_eq!(
        v,
        json!({"status": "CAUGHT_ERROR", "error": "Boom", "cause": "c", "nextState": "Handle",
               "output": {"err": {"Error": "Boom", "Cause": "c"}}})
    );
}

/// TestState on `/v1` at each inspection level, the Task run by the real sandbox (the
/// `flaky` guest), one state picked out of a whole machine with `stateName`, variables
/// and context given.
#[test]
fn test_state_over_http_runs_the_real_component_at_each_level() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let key = s.tenant("acme");
    assert_eq!(
        s.upload(&key, "flaky", guests::guest_bytes("flaky")).status,
        201
    );
    let machine = json!({"StartAt": "First", "States": {
        "First": {"Type": "Pass", "Next": "Call"},
        "Call": {"Type": "Task", "Resource": "wasm:flaky",
                 "Parameters": {"error.$": "$.err", "cause.$": "States.Format('for {}', $$.Execution.Name)"},
                 "ResultSelector": {"kept.$": "$"}, "ResultPath": "$.out", "Next": "After",
                 "Catch": [{"ErrorEquals": ["Other"], "Next": "After"}]},
        "After": {"Type": "Succeed"}}});
    let ask = |level: &str, input: Value| {
        s.post(
            "/v1/test-state",
            &key,
            &json!({"definition": machine.to_string(), "stateName": "Call",
                    "input": input.to_string(), "inspectionLevel": level,
                    "context": {"Execution": {"Name": "ctx-name"}}}),
        )
    };
    let r = ask("INFO", json!({"err": "Custom.Failure"}));
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        r.body,
        json!({"status": "FAILED", "error": "Custom.Failure", "cause": "for ctx-name"})
    );
    let r = ask("DEBUG", json!({"err": "Custom.Failure"}));
    assert_eq!(
        r.body["inspectionData"]["afterParameters"],
        json!({"error": "Custom.Failure", "cause": "for ctx-name"})
    );
    assert!(r.body["inspectionData"].get("request").is_none());
    let r = ask("TRACE", json!({"err": "Custom.Failure"}));
    let data = &r.body["inspectionData"];
    assert_eq!(data["request"]["url"], "wasm:flaky");
    assert_eq!(data["request"]["method"], "invoke");
    assert_eq!(data["response"]["statusCode"], "500");
    assert_eq!(data["response"]["statusMessage"], "Custom.Failure");
    // Unknown levels and bad JSON are named errors.
    let r = ask("LOUD", json!({}));
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (400, Some("ValidationException"))
    );
    let r = s.post(
        "/v1/test-state",
        &key,
        &json!({"definition": "{\"Type\": \"Pass\", \"Next\": 5}"}),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"], "InvalidDefinition", "{:?}", r.body);
    let r = s.post(
        "/v1/test-state",
        &key,
        &json!({"definition": {"Type": "Pass", "End": true}, "input": "{not json"}),
    );
    assert_eq!(r.body["error"], "InvalidExecutionInput", "{:?}", r.body);
}

fn mock_server(dir: &tempfile::TempDir, extra: &[&str]) -> Server {
    let config = fixture("sfn-local-mock/MockConfigFile.json");
    let mut args = vec!["--mock-config", config.to_str().unwrap()];
    args.extend_from_slice(extra);
    Server::start_with(
        dir.path(),
        &[("STEPWASM_ADMIN_KEY", server::ADMIN_KEY)],
        &args,
    )
}

/// AWS's Step Functions Local example runs unchanged: the state machine and mock file of
/// "Using mocked service integrations" (tests/fixtures/sfn-local-mock), started as
/// `LambdaSQSIntegration#HappyPath` and `#RetryPath`.
#[test]
fn a_mocked_run_from_aws_mock_config_example() {
    let dir = tempfile::tempdir().unwrap();
    let s = mock_server(&dir, &["--wait-time-scale", "0.01"]);
    let key = s.tenant("acme");
    let definition: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("sfn-local-mock/LambdaSQSIntegration.json")).unwrap(),
    )
    .unwrap();
    let r = s.post(
        "/v1/state-machines",
        &key,
        &json!({"name": "LambdaSQSIntegration", "definition": definition}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    for case in ["HappyPath", "RetryPath"] {
        let r = s.post(
            &format!("/v1/state-machines/LambdaSQSIntegration%23{case}/executions"),
            &key,
            &json!({"name": case}),
        );
        assert_eq!(r.status, 201, "{:?}", r.body);
        let done = s.wait_done(&key, "LambdaSQSIntegration", case, Duration::from_secs(60));
        assert_eq!(done["status"], "SUCCEEDED", "{case}: {done:?}");
        let output: Value = serde_json::from_str(done["output"].as_str().unwrap()).unwrap();
        assert_eq!(
            output["MessageId"], "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51",
            "{output}"
        );
        let events = s.full_history(&key, "LambdaSQSIntegration", case);
        let failed: Vec<&str> = events
            .iter()
            .filter(|e| e["type"] == "TaskFailed")
            .map(|e| e["taskFailedEventDetails"]["error"].as_str().unwrap_or(""))
            .collect();
        let expected: &[&str] = if case == "RetryPath" {
            &[
                "Lambda.ResourceNotReadyException",
                "Lambda.TimeoutException",
                "Lambda.TimeoutException",
            ]
        } else {
            &[]
        };
        assert_eq!(failed, expected, "{case}");
    }
    // An unknown test case, or one given to a server without a mock file, is refused.
    let r = s.post(
        "/v1/state-machines/LambdaSQSIntegration%23NoSuchCase/executions",
        &key,
        &json!({}),
    );
    assert_eq!(r.body["error"], "ValidationException", "{:?}", r.body);
}

#[test]
fn run_takes_a_mock_config_and_a_test_case() {
    let out = Command::new(env!("CARGO_BIN_EXE_stepwasm"))
        .args([
            "run",
            "--json",
            "--wait-time-scale",
            "0.01",
            "--mock-config",
        ])
        .arg(fixture("sfn-local-mock/MockConfigFile.json"))
        .args(["--test-case", "RetryPath"])
        .arg(fixture("sfn-local-mock/LambdaSQSIntegration.json"))
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(v["status"], "SUCCEEDED", "{v}");
    assert_eq!(
        v["output"]["MessageId"],
        "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51"
    );
    // HybridPath leaves SQSState unmocked: with no component for it, it fails by name.
    let out = Command::new(env!("CARGO_BIN_EXE_stepwasm"))
        .args(["run", "--json", "--mock-config"])
        .arg(fixture("sfn-local-mock/MockConfigFile.json"))
        .args(["--test-case", "HybridPath"])
        .arg(fixture("sfn-local-mock/LambdaSQSIntegration.json"))
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "FAILED", "{v}");
    assert!(v["cause"].as_str().unwrap().contains("SQSState"), "{v}");
}

/// Five items; items 3 and 4 fail (through the `flaky` guest) while the execution has not
/// been redriven, and one failure is tolerated, so the Map fails at the second. Every item
/// runs one at a time; each call of the guest that succeeds prints a line, which the
/// history records with its TaskSucceeded event: that is how calls are counted.
fn map_that_fails_twice() -> Value {
    json!({"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1,
        "ToleratedFailureCount": 1,
        "ItemProcessor": {"StartAt": "Route", "States": {
            "Route": {"Type": "Choice", "Choices": [{"And": [
                {"Variable": "$.bad", "BooleanEquals": true},
                {"Variable": "$$.Execution.RedriveCount", "NumericEquals": 0}],
                "Next": "Break"}], "Default": "Call"},
            "Break": {"Type": "Task", "Resource": "wasm:flaky",
                      "Parameters": {"error": "Item.Bad", "cause.$": "States.Format('item {}', $.id)"},
                      "End": true},
            "Call": {"Type": "Task", "Resource": "wasm:flaky", "Parameters": {"id.$": "$.id"},
                     "ResultPath": "$.called", "OutputPath": "$.id", "End": true}}},
        "End": true}}})
}

fn map_input() -> Value {
    json!({"items": (0..5).map(|i| json!({"id": i, "bad": i >= 3})).collect::<Vec<_>>()})
}

/// Guest calls that succeeded, before and after the (first) ExecutionRedriven event.
fn calls_around_redrive(events: &[Value]) -> (usize, usize) {
    let at = events
        .iter()
        .position(|e| e["type"] == "ExecutionRedriven")
        .unwrap_or(events.len());
    let count = |es: &[Value]| {
        es.iter()
            .filter(|e| e["type"] == "TaskSucceeded")
            .filter(|e| e.to_string().contains("flaky: attempt"))
            .count()
    };
    (count(&events[..at]), count(&events[at..]))
}

fn start_failing_map(s: &Server, key: &str) {
    assert_eq!(
        s.upload(key, "flaky", guests::guest_bytes("flaky")).status,
        201
    );
    let r = s.post(
        "/v1/state-machines",
        key,
        &json!({"name": "batch", "definition": map_that_fails_twice()}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let r = s.post(
        "/v1/state-machines/batch/executions",
        key,
        &json!({"name": "run1", "input": map_input()}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let done = s.wait_done(key, "batch", "run1", Duration::from_secs(60));
    assert_eq!(done["status"], "FAILED", "{done:?}");
    assert_eq!(done["error"], "States.ExceedToleratedFailureThreshold");
    assert_eq!(done["redriveStatus"], "REDRIVABLE", "{done:?}");
    assert_eq!(done["redriveCount"], 0);
}

/// Redrive of a failed Map: only the two failed items run again; the history has
/// `ExecutionRedriven` with the count; DescribeExecution shows the redrive fields; a
/// SUCCEEDED execution is not redrivable.
#[test]
fn redrive_of_a_failed_map_reruns_only_the_failed_items() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let key = s.tenant("acme");
    start_failing_map(&s, &key);
    let (before, _) = calls_around_redrive(&s.full_history(&key, "batch", "run1"));
    assert_eq!(before, 3);
    let r = s.post(
        "/v1/state-machines/batch/executions/run1/redrive",
        &key,
        &json!({}),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["redriveCount"], 1);
    let done = s.wait_done(&key, "batch", "run1", Duration::from_secs(60));
    assert_eq!(done["status"], "SUCCEEDED", "{done:?}");
    let output: Value = serde_json::from_str(done["output"].as_str().unwrap()).unwrap();
    assert_eq!(output, json!([0, 1, 2, 3, 4]));
    assert_eq!(done["redriveCount"], 1);
    assert!(done["redriveDate"].is_string(), "{done:?}");
    assert_eq!(done["redriveStatus"], "NOT_REDRIVABLE");
    let events = s.full_history(&key, "batch", "run1");
    let redriven: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "ExecutionRedriven")
        .collect();
    assert_eq!(redriven.len(), 1);
    assert_eq!(
        redriven[0]["executionRedrivenEventDetails"]["redriveCount"],
        1
    );
    assert_eq!(calls_around_redrive(&events), (3, 2));
    // Ids stay dense across the redrive.
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["id"], i as u64 + 1);
    }
    let r = s.post(
        "/v1/state-machines/batch/executions/run1/redrive",
        &key,
        &json!({}),
    );
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (400, Some("ExecutionNotRedrivable"))
    );
    let r = s.post(
        "/v1/state-machines/batch/executions/nope/redrive",
        &key,
        &json!({}),
    );
    assert_eq!(r.status, 404);
}

/// The kept state is durable: the server is killed (-9) after the failure, restarted, and
/// the redrive works; killed again right after the redrive, the restart finishes it.
#[test]
fn redrive_works_after_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let key = s.tenant("acme");
    start_failing_map(&s, &key);
    s.kill9();
    let s = Server::start(dir.path());
    let r = s.post(
        "/v1/state-machines/batch/executions/run1/redrive",
        &key,
        &json!({}),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    s.kill9();
    let s = Server::start(dir.path());
    let done = s.wait_done(&key, "batch", "run1", Duration::from_secs(60));
    assert_eq!(done["status"], "SUCCEEDED", "{done:?}");
    let events = s.full_history(&key, "batch", "run1");
    let (before, after) = calls_around_redrive(&events);
    assert_eq!(before, 3);
    // At least the two failed items ran again (a call in flight at the kill runs again:
    // tasks are at-least-once), and never the three that had succeeded.
    assert!((2..=3).contains(&after), "{after}");
    let output: Value = serde_json::from_str(done["output"].as_str().unwrap()).unwrap();
    assert_eq!(output.as_array().unwrap().len(), 5);
}

/// A redrive runs the component versions the execution started with: `wasm:task` names
/// the latest version at the start (the `flaky` guest); a newer version uploaded before
/// the redrive (the `echo` guest, other bytes) is not what the redrive runs. A new
/// execution takes the new version.
#[test]
fn redrive_runs_the_component_versions_the_execution_started_with() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let key = s.tenant("acme");
    assert_eq!(
        s.upload(&key, "task", guests::guest_bytes("flaky")).status,
        201
    );
    // One branch: it fails (flaky asked to) until the execution is redriven, then calls
    // the component with {"probe": 1}.
    let machine = json!({"StartAt": "One", "States": {"One": {"Type": "Parallel",
        "End": true, "Branches": [{"StartAt": "Gate", "States": {
            "Gate": {"Type": "Choice", "Choices": [{"Variable": "$$.Execution.RedriveCount",
                     "NumericEquals": 0, "Next": "Break"}], "Default": "Call"},
            "Break": {"Type": "Task", "Resource": "wasm:task",
                      "Parameters": {"error": "Not.Yet"}, "End": true},
            "Call": {"Type": "Task", "Resource": "wasm:task", "Parameters": {"probe": 1},
                     "End": true}}}]}}});
    s.create_machine(&key, &json!({"name": "pinned", "definition": machine}));
    s.start_execution(&key, "pinned", &json!({"name": "r1"}));
    let done = s.wait_done(&key, "pinned", "r1", Duration::from_secs(60));
    assert_eq!(
        (&done["status"], &done["error"]),
        (&json!("FAILED"), &json!("Not.Yet"))
    );
    // Version 2 of the component: other bytes.
    assert_eq!(
        s.upload(&key, "task", guests::guest_bytes("echo")).status,
        201
    );
    let r = s.post(
        "/v1/state-machines/pinned/executions/r1/redrive",
        &key,
        &json!({}),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    let done = s.wait_done(&key, "pinned", "r1", Duration::from_secs(60));
    assert_eq!(done["status"], "SUCCEEDED", "{done:?}");
    let output: Value = serde_json::from_str(done["output"].as_str().unwrap()).unwrap();
    // flaky's answer, not echo's ({"probe": 1}).
    assert_eq!(output, json!([{"succeeded_on_retry": 0, "state": "Call"}]));
    // A new execution runs version 2 (echo answers the failing branch too).
    s.start_execution(&key, "pinned", &json!({"name": "r2"}));
    let done = s.wait_done(&key, "pinned", "r2", Duration::from_secs(60));
    assert_eq!(done["status"], "SUCCEEDED", "{done:?}");
    let output: Value = serde_json::from_str(done["output"].as_str().unwrap()).unwrap();
    assert_eq!(output, json!([{"error": "Not.Yet"}]));
    // Version 1 can be deleted once nothing runs on it.
    let r = s.delete("/v1/components/task/versions/1", &key);
    assert_eq!(r.status, 200, "{:?}", r.body);
}

/// AWS resets the state machine's timeout on a redrive: the redriven run has the whole
/// `TimeoutSeconds` again, counted from the redrive, not from the first start.
#[test]
fn a_redrive_gets_the_whole_machine_timeout_again() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let key = s.tenant("acme");
    assert_eq!(
        s.upload(&key, "flaky", guests::guest_bytes("flaky")).status,
        201
    );
    let machine = json!({"TimeoutSeconds": 2, "StartAt": "One", "States": {"One": {
        "Type": "Parallel", "End": true, "Branches": [{"StartAt": "Gate", "States": {
            "Gate": {"Type": "Choice", "Choices": [{"Variable": "$$.Execution.RedriveCount",
                     "NumericEquals": 0, "Next": "Break"}], "Default": "Pause"},
            "Break": {"Type": "Task", "Resource": "wasm:flaky",
                      "Parameters": {"error": "Not.Yet"}, "End": true},
            "Pause": {"Type": "Wait", "Seconds": 1, "End": true}}}]}}});
    s.create_machine(&key, &json!({"name": "timed", "definition": machine}));
    s.start_execution(&key, "timed", &json!({"name": "t1"}));
    let done = s.wait_done(&key, "timed", "t1", Duration::from_secs(60));
    assert_eq!(done["status"], "FAILED", "{done:?}");
    // Past the first start's deadline.
    std::thread::sleep(Duration::from_millis(2500));
    let r = s.post(
        "/v1/state-machines/timed/executions/t1/redrive",
        &key,
        &json!({}),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    let done = s.wait_done(&key, "timed", "t1", Duration::from_secs(60));
    assert_eq!(done["status"], "SUCCEEDED", "{done:?}");
}
