//! What a task leaves in the execution history, end to end through
//! `stepwasm run --history --json` with real guests: its log lines and captured
//! stdout/stderr on the Task's terminal event (the `logs` extension field, bounded, marked
//! when truncated), on every attempt of a retried task, and `$$.Task.Token` (callback tasks only), a fresh token
//! per attempt that the guest's context carries too.

mod guests;

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};

/// Runs `stepwasm run DEF --input IN --json --history` with the example guests; returns
/// the printed result (status, output, error, cause, history).
fn run(definition: &Value, input: &Value) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let def_path = dir.path().join("machine.json");
    let input_path = dir.path().join("input.json");
    std::fs::write(&def_path, definition.to_string()).unwrap();
    std::fs::write(&input_path, input.to_string()).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stepwasm"));
    cmd.arg("run")
        .arg(&def_path)
        .arg("--input")
        .arg(&input_path)
        .args(["--json", "--history"]);
    for name in ["flaky", "long-run", "misbehave"] {
        cmd.arg("--module")
            .arg(format!("{name}={}", guests::guest(name).display()));
    }
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("history-cache");
    let out = cmd.env("XDG_CACHE_HOME", cache).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "stepwasm run printed no JSON ({e}): stdout {stdout:?}, stderr {:?}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn types(result: &Value) -> Vec<&str> {
    result["history"]
        .as_array()
        .expect("a history")
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect()
}

/// The details of every event of type `ty`, in order.
fn details<'a>(result: &'a Value, ty: &str) -> Vec<&'a Value> {
    let key = format!(
        "{}{}EventDetails",
        ty[..1].to_lowercase(),
        &ty[1..] // e.g. TaskFailed -> taskFailedEventDetails
    );
    result["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == ty)
        .map(|e| &e[key.as_str()])
        .collect()
}

#[test]
fn logs_and_stdout_of_each_attempt_are_on_its_terminal_event() {
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "wasm:flaky",
        "Retry": [{"ErrorEquals": ["Flaky.NotYet"], "IntervalSeconds": 1, "BackoffRate": 1.0}],
        "End": true}}});
    let result = run(&def, &json!({"fail_until_retry": 1}));
    assert_eq!(result["status"], "SUCCEEDED", "{result}");
    // The extension adds no event: the sequence is AWS's.
    assert_eq!(
        types(&result),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskFailed",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    let failed = details(&result, "TaskFailed");
    assert_eq!(failed[0]["error"], "Flaky.NotYet");
    assert_eq!(
        failed[0]["logs"],
        json!([
            {"stream": "stdout", "message": "flaky: attempt 0"},
            {"level": "warn", "message": "attempt 0 fails on purpose"}
        ])
    );
    let succeeded = details(&result, "TaskSucceeded");
    assert_eq!(
        succeeded[0]["logs"],
        json!([
            {"stream": "stdout", "message": "flaky: attempt 1"},
            {"level": "info", "message": "attempt 1 succeeds"}
        ])
    );
    assert!(succeeded[0].get("logsTruncated").is_none());
}

#[test]
fn stdout_and_stderr_are_captured_and_a_quiet_task_has_no_logs_field() {
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task",
        "Resource": "wasm:misbehave", "Next": "Quiet"},
        "Quiet": {"Type": "Task", "Resource": "wasm:misbehave",
                  "Parameters": {"mode": "context"}, "End": true}}});
    let result = run(&def, &json!({"mode": "stdout"}));
    assert_eq!(result["status"], "SUCCEEDED", "{result}");
    let succeeded = details(&result, "TaskSucceeded");
    assert_eq!(
        succeeded[0]["logs"],
        json!([
            {"stream": "stdout", "message": "line 0 to stdout"},
            {"stream": "stdout", "message": "line 1 to stdout"},
            {"stream": "stdout", "message": "line 2 to stdout"},
            {"stream": "stderr", "message": "one line to stderr"}
        ])
    );
    assert!(succeeded[1].get("logs").is_none(), "{}", succeeded[1]);
}

#[test]
fn a_timed_out_attempt_keeps_what_it_logged_and_big_logs_are_truncated() {
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task",
        "Resource": "wasm:long-run", "HeartbeatSeconds": 1, "End": true}}});
    let result = run(
        &def,
        &json!({"steps": 4, "step_ms": 600, "heartbeat": false}),
    );
    assert_eq!(result["error"], "States.HeartbeatTimeout", "{result}");
    let timed_out = details(&result, "TaskTimedOut");
    assert_eq!(
        timed_out[0]["logs"],
        json!([{"level": "info", "message": "step 1 of 4 done"}])
    );

    // 2,000 lines of 100 bytes: far over the 64 KiB bound.
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task",
        "Resource": "wasm:misbehave", "End": true}}});
    let result = run(&def, &json!({"mode": "chatty", "lines": 2000}));
    assert_eq!(result["status"], "SUCCEEDED", "{result}");
    let d = details(&result, "TaskSucceeded")[0];
    assert_eq!(d["logsTruncated"], true);
    let logs = d["logs"].as_array().unwrap();
    let bytes: usize = logs
        .iter()
        .map(|l| l["message"].as_str().unwrap().len())
        .sum();
    assert!(bytes <= 64 * 1024, "{bytes} bytes of logs kept");
    assert!(logs.len() > 100, "only {} lines kept", logs.len());
    assert_eq!(logs[0]["message"], format!("{:>6} {}", 0, ".".repeat(93)));
}

#[test]
fn each_attempt_has_its_own_task_token_in_the_context_and_for_the_guest() {
    // Only the callback pattern has a token; nobody sends it here, so the second attempt
    // times out (and is caught) after its invocation returned what the guest saw.
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task",
        "Resource": "wasm:misbehave.waitForTaskToken", "TimeoutSeconds": 1,
        "Parameters": {"mode": "context", "fail_first": true, "token.$": "$$.Task.Token"},
        "Retry": [{"ErrorEquals": ["Misbehave.FirstAttempt"], "IntervalSeconds": 1}],
        "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "Done"}],
        "End": true}, "Done": {"Type": "Pass", "End": true}}});
    let result = run(&def, &json!({}));
    assert_eq!(result["status"], "SUCCEEDED", "{result}");
    let submitted = details(&result, "TaskSubmitted")[0]["output"]
        .as_str()
        .unwrap();
    let out: Value = serde_json::from_str(submitted).unwrap();
    let out = &out;
    let second = out["token"].as_str().expect("the guest sees a token");
    assert!(second.len() >= 16, "{second}");
    // The guest's context and `$$.Task.Token` agree.
    assert_eq!(out["input"]["token"], second);
    assert_eq!(out["retry_count"], 1);
    // The failed first attempt had another token (the guest put it in its cause), and
    // its Parameters carried that one.
    let first = details(&result, "TaskFailed")[0]["cause"].as_str().unwrap();
    assert!(first.len() >= 16, "{first}");
    assert_ne!(first, second);
    let scheduled = details(&result, "TaskScheduled");
    let params: Value = serde_json::from_str(scheduled[0]["parameters"].as_str().unwrap()).unwrap();
    assert_eq!(params["token"], first);
    // Two executions never share a token.
    let again = run(&def, &json!({}));
    let again = details(&again, "TaskSubmitted")[0]["output"]
        .as_str()
        .unwrap();
    assert!(!again.contains(second));
}
