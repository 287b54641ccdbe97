//! End to end through `stepwasm run --module NAME=PATH`: real state machines running the
//! example guests: success, a custom error caught by Catch, retry then success, timeout,
//! heartbeat timeout, and every misbehaving guest ending in its named error while a
//! well-behaved task beside it (a Parallel branch in the same host process) completes.

mod guests;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

struct Run {
    status: String,
    output: Value,
    error: Value,
    cause: Value,
}

/// Runs `stepwasm run DEF --input IN --json` with the example guests as modules.
fn run(definition: &Value, input: &Value) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let def_path = dir.path().join("machine.json");
    let input_path = dir.path().join("input.json");
    std::fs::write(&def_path, definition.to_string()).unwrap();
    std::fs::write(&input_path, input.to_string()).unwrap();
    run_files(&def_path, &input_path)
}

fn run_files(definition: &Path, input: &Path) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stepwasm"));
    cmd.arg("run")
        .arg(definition)
        .arg("--input")
        .arg(input)
        .arg("--json");
    for name in ["price", "flaky", "long-run", "misbehave"] {
        cmd.arg("--module")
            .arg(format!("{name}={}", guests::guest(name).display()));
    }
    // Compiled artifacts shared by every run of this test binary.
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-cache");
    let out = cmd.env("XDG_CACHE_HOME", cache).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let result: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "stepwasm run printed no JSON ({e}): stdout {stdout:?}, stderr {:?}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let status = result["status"].as_str().unwrap_or_default().to_owned();
    assert_eq!(out.status.success(), status == "SUCCEEDED", "{result}");
    Run {
        status,
        output: result["output"].clone(),
        error: result["error"].clone(),
        cause: result["cause"].clone(),
    }
}

fn examples() -> PathBuf {
    guests::repo_root().join("examples")
}

fn task(resource: &str, extra: Value) -> Value {
    let mut state = json!({"Type": "Task", "Resource": resource, "End": true});
    state
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    json!({"StartAt": "T", "States": {"T": state}})
}

#[test]
fn the_price_example_succeeds() {
    let ex = examples();
    let run = run_files(&ex.join("price/machine.json"), &ex.join("price/input.json"));
    assert_eq!(run.status, "SUCCEEDED");
    // 8 x 3.50 + 2 x 6.00 = 40.00; 10 items: 10% off = 4.00; 20% tax on 36.00 = 7.20.
    assert_eq!(
        run.output["priced"],
        json!({"id": "o-17", "items": 10, "subtotal": 40.0, "discount": 4.0, "tax": 7.2, "total": 43.2})
    );
}

#[test]
fn a_custom_error_is_caught() {
    let ex = examples();
    let def: Value =
        serde_json::from_str(&std::fs::read_to_string(ex.join("flaky/machine.json")).unwrap())
            .unwrap();
    let run = run(
        &def,
        &json!({"error": "Payment.Declined", "cause": "card expired"}),
    );
    assert_eq!(run.status, "SUCCEEDED");
    assert_eq!(run.output["status"], "declined");
    assert_eq!(
        run.output["error"],
        json!({"Error": "Payment.Declined", "Cause": "card expired"})
    );
    // The same error uncaught fails the execution with the guest's own name.
    let run = self::run(
        &task("wasm:flaky", json!({})),
        &json!({"error": "Payment.Declined", "cause": "card expired"}),
    );
    assert_eq!(
        (run.status.as_str(), &run.error),
        ("FAILED", &json!("Payment.Declined"))
    );
    assert_eq!(run.cause, "card expired");
}

#[test]
fn retries_then_succeeds() {
    let def = task(
        "wasm:flaky",
        json!({"Retry": [{"ErrorEquals": ["Flaky.NotYet"], "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 1.0}]}),
    );
    let run = run(&def, &json!({"fail_until_retry": 2}));
    assert_eq!(run.status, "SUCCEEDED", "{:?} {:?}", run.error, run.cause);
    assert_eq!(run.output, json!({"succeeded_on_retry": 2, "state": "T"}));
    // Fewer attempts than needed: the last failure comes through.
    let def = task(
        "wasm:flaky",
        json!({"Retry": [{"ErrorEquals": ["Flaky.NotYet"], "IntervalSeconds": 1, "MaxAttempts": 1}]}),
    );
    let run = self::run(&def, &json!({"fail_until_retry": 2}));
    assert_eq!(
        (run.status.as_str(), &run.error),
        ("FAILED", &json!("Flaky.NotYet"))
    );
    assert_eq!(run.cause, "retry 1 of 2");
}

#[test]
fn a_task_times_out() {
    let def = task("wasm:long-run", json!({"TimeoutSeconds": 1}));
    let run = run(&def, &json!({"steps": 1, "step_ms": 10000}));
    assert_eq!(
        (run.status.as_str(), &run.error),
        ("FAILED", &json!("States.Timeout"))
    );
    // A busy guest too.
    let def = task("wasm:misbehave", json!({"TimeoutSeconds": 1}));
    let run = self::run(&def, &json!({"mode": "loop"}));
    assert_eq!(
        (run.status.as_str(), &run.error),
        ("FAILED", &json!("States.Timeout"))
    );
}

#[test]
fn heartbeats_or_a_heartbeat_timeout() {
    let def = task(
        "wasm:long-run",
        json!({"HeartbeatSeconds": 1, "TimeoutSeconds": 20}),
    );
    let run = run(
        &def,
        &json!({"steps": 4, "step_ms": 600, "heartbeat": true}),
    );
    assert_eq!(run.status, "SUCCEEDED", "{:?} {:?}", run.error, run.cause);
    assert_eq!(run.output, json!({"steps_done": 4}));
    let run = self::run(
        &def,
        &json!({"steps": 4, "step_ms": 600, "heartbeat": false}),
    );
    assert_eq!(
        (run.status.as_str(), &run.error),
        ("FAILED", &json!("States.HeartbeatTimeout"))
    );
    // Caught like any task failure: States.TaskFailed matches a heartbeat timeout.
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "wasm:long-run", "HeartbeatSeconds": 1,
              "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}], "End": true},
        "Caught": {"Type": "Pass", "End": true}}});
    let run = self::run(
        &def,
        &json!({"steps": 4, "step_ms": 600, "heartbeat": false}),
    );
    assert_eq!(run.status, "SUCCEEDED");
    assert_eq!(run.output["Error"], "States.HeartbeatTimeout");
}

/// One host process per mode; in each, a Parallel runs the misbehaving guest beside a
/// well-behaved pricing task that must complete with the right answer.
#[test]
fn misbehaving_guests_end_in_named_errors_beside_a_healthy_task() {
    let cases = [
        ("loop", "States.Timeout"),
        ("memory", "Sandbox.MemoryLimitExceeded"),
        ("recursion", "Sandbox.StackOverflow"),
        ("huge-output", "States.DataLimitExceeded"),
        ("not-json", "Sandbox.OutputNotJson"),
        ("panic", "Sandbox.Trap"),
        ("read-file", "Misbehave.Denied"),
        ("env", "Misbehave.Denied"),
        ("socket", "Misbehave.Denied"),
    ];
    let def = json!({"StartAt": "Both", "States": {"Both": {"Type": "Parallel", "End": true,
        "Branches": [
            {"StartAt": "Bad", "States": {"Bad": {"Type": "Task", "Resource": "wasm:misbehave",
                "InputPath": "$.bad", "TimeoutSecondsPath": "$.timeout",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true},
                "Caught": {"Type": "Pass", "End": true}}},
            {"StartAt": "Good", "States": {"Good": {"Type": "Task", "Resource": "wasm:price",
                "InputPath": "$.good", "End": true}}}]}}});
    let good = json!({"id": "g", "lines": [{"sku": "a", "quantity": 3, "unit_price": 2.0}]});
    let handles: Vec<_> = cases
        .iter()
        .map(|(mode, _)| {
            // Only the loop should meet its deadline; the rest end on their own.
            let timeout = if *mode == "loop" { 1 } else { 30 };
            let input = json!({"bad": {"mode": mode, "timeout": timeout}, "good": good});
            let def = def.clone();
            std::thread::spawn(move || run(&def, &input))
        })
        .collect();
    for ((mode, want), handle) in cases.iter().zip(handles) {
        let run = handle.join().unwrap();
        assert_eq!(
            run.status, "SUCCEEDED",
            "{mode}: {:?} {:?}",
            run.error, run.cause
        );
        assert_eq!(run.output[0]["Error"], *want, "{mode}: {}", run.output[0]);
        assert_eq!(run.output[1]["total"], 6.0, "{mode}: {}", run.output[1]);
    }
}

#[test]
fn a_bad_module_flag_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_stepwasm"))
        .args(["run", "x.json", "--module", "price"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(env!("CARGO_BIN_EXE_stepwasm"))
        .args([
            "run",
            "/dev/null",
            "--module",
            "price=/nonexistent/price.wasm",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
