//! The sandbox at the `TaskRunner` level: real example guests built for wasm32-wasip2,
//! run through `SandboxRunner`, each ending in its named outcome while well-behaved
//! invocations beside them complete.

mod guests;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use stepwasm::engine::ports::{TaskContext, TaskOutcome, TaskRequest, TaskRunner};
use stepwasm::sandbox::{
    FileSource, Limits, PoolConfig, SandboxConfig, SandboxRunner, ScratchGrant, TaskPolicy,
};

const GUESTS: [&str; 5] = ["echo", "price", "flaky", "long-run", "misbehave"];

fn config() -> SandboxConfig {
    SandboxConfig {
        pool: PoolConfig {
            max_concurrent: 64,
            ..PoolConfig::default()
        },
        // Shared across runners and runs, so each guest is compiled once.
        cache_dir: Some(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("stepwasm-cache")),
        ..SandboxConfig::default()
    }
}

fn runner_with(config: SandboxConfig) -> Arc<SandboxRunner> {
    let mut source = FileSource::new();
    for name in GUESTS {
        source.add_file(name, &guests::guest(name)).unwrap();
    }
    Arc::new(SandboxRunner::new(Arc::new(source), config).unwrap())
}

fn runner() -> Arc<SandboxRunner> {
    runner_with(config())
}

fn request(resource: &str, input: Value) -> TaskRequest {
    TaskRequest {
        tenant: None,
        resource: resource.to_owned(),
        input,
        timeout: None,
        heartbeat: None,
        context: TaskContext {
            execution_id: "exec-1".into(),
            execution_name: "test".into(),
            state_name: "Task".into(),
            retry_count: 0,
            task_token: None,
        },
    }
}

fn error_of(outcome: &TaskOutcome) -> (&str, &str) {
    match &outcome.result {
        Err(f) => (f.error.as_str(), f.cause.as_str()),
        Ok(v) => panic!("expected a failure, got {v}"),
    }
}

#[tokio::test]
async fn prices_an_order() {
    let runner = runner();
    let input = json!({"id": "o-1", "tax_rate": 0.5, "lines": [
        {"sku": "a", "quantity": 4, "unit_price": 2.5},
        {"sku": "b", "quantity": 6, "unit_price": 1.0}]});
    let outcome = runner.invoke(request("wasm:price", input)).await;
    let out = outcome.result.unwrap();
    // 10 items: 16.00 subtotal, 10% off = 1.60, tax 50% of 14.40 = 7.20.
    assert_eq!(out["items"], 10);
    assert_eq!(out["subtotal"], 16.0);
    assert_eq!(out["discount"], 1.6);
    assert_eq!(out["tax"], 7.2);
    assert_eq!(out["total"], 21.6);
    assert_eq!(outcome.logs.len(), 1);
    assert_eq!(outcome.logs[0].level, "info");
    assert!(
        outcome.logs[0].message.contains("o-1"),
        "{:?}",
        outcome.logs
    );
}

#[tokio::test]
async fn bad_input_is_a_task_error_not_a_trap() {
    let outcome = runner()
        .invoke(request("wasm:price", json!({"id": 3})))
        .await;
    let (error, cause) = error_of(&outcome);
    assert_eq!(error, "Task.InvalidInput");
    assert!(cause.contains("invalid type"), "{cause}");
    let outcome = runner()
        .invoke(request("wasm:price", json!({"id": "x", "lines": []})))
        .await;
    assert_eq!(error_of(&outcome).0, "Order.Empty");
}

#[tokio::test]
async fn custom_errors_and_context_reach_the_guest() {
    let runner = runner();
    let mut req = request("wasm:flaky", json!({"fail_until_retry": 2}));
    for retry in 0..2 {
        req.context.retry_count = retry;
        let outcome = runner.invoke(req.clone()).await;
        let (error, cause) = error_of(&outcome);
        assert_eq!(error, "Flaky.NotYet");
        assert_eq!(cause, format!("retry {retry} of 2"));
    }
    req.context.retry_count = 2;
    let out = runner.invoke(req).await.result.unwrap();
    assert_eq!(out, json!({"succeeded_on_retry": 2, "state": "Task"}));
    let outcome = runner
        .invoke(request(
            "wasm:flaky",
            json!({"error": "Payment.Declined", "cause": "no funds"}),
        ))
        .await;
    assert_eq!(error_of(&outcome), ("Payment.Declined", "no funds"));
}

#[tokio::test]
async fn heartbeats_keep_a_long_task_alive() {
    let runner = runner();
    let mut req = request("wasm:long-run", json!({"steps": 6, "step_ms": 100}));
    req.heartbeat = Some(Duration::from_millis(350));
    let outcome = runner.invoke(req.clone()).await;
    assert_eq!(outcome.result.unwrap(), json!({"steps_done": 6}));
    let steps: Vec<&str> = outcome.logs.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(steps.len(), 6, "{steps:?}");
    assert_eq!(steps[5], "step 6 of 6 done");

    // The same run without heartbeats dies at HeartbeatSeconds.
    req.input = json!({"steps": 6, "step_ms": 100, "heartbeat": false});
    let started = Instant::now();
    let outcome = runner.invoke(req).await;
    let elapsed = started.elapsed();
    assert_eq!(error_of(&outcome).0, "States.HeartbeatTimeout");
    assert!(elapsed >= Duration::from_millis(350), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(450), "{elapsed:?}");
}

#[tokio::test]
async fn a_sleeping_task_times_out() {
    let runner = runner();
    // Warm the component cache so compile time does not count.
    let _ = runner
        .invoke(request("wasm:long-run", json!({"steps": 0, "step_ms": 0})))
        .await;
    let mut req = request("wasm:long-run", json!({"steps": 1, "step_ms": 5000}));
    req.timeout = Some(Duration::from_millis(300));
    let started = Instant::now();
    let outcome = runner.invoke(req).await;
    let elapsed = started.elapsed();
    assert_eq!(error_of(&outcome).0, "States.Timeout");
    assert!(elapsed < Duration::from_millis(400), "{elapsed:?}");
}

#[tokio::test]
async fn an_infinite_loop_stops_within_100ms_of_its_deadline() {
    let runner = runner();
    // Warm the component cache so compile time does not count against the deadline.
    let _ = runner
        .invoke(request("wasm:misbehave", json!({"mode": "none"})))
        .await;
    let mut req = request("wasm:misbehave", json!({"mode": "loop"}));
    req.timeout = Some(Duration::from_millis(500));
    let started = Instant::now();
    let outcome = runner.invoke(req).await;
    let elapsed = started.elapsed();
    let (error, cause) = error_of(&outcome);
    assert_eq!(error, "States.Timeout");
    assert!(cause.contains("500 ms"), "{cause}");
    assert!(elapsed >= Duration::from_millis(500), "{elapsed:?}");
    // The bound the sandbox aims at is 100 ms (one 10 ms epoch tick plus scheduling); the
    // test allows a loaded machine 1 s and prints what it measured.
    eprintln!(
        "infinite loop stopped {:?} after its deadline",
        elapsed - Duration::from_millis(500)
    );
    assert!(
        elapsed < Duration::from_millis(1500),
        "stopped {elapsed:?} after start"
    );
}

/// The clock starts when the engine asks for the attempt (TaskStarted), not when the guest
/// is instantiated: time spent waiting for a pool slot counts.
#[tokio::test]
async fn the_deadline_counts_from_the_request_not_from_instantiation() {
    let runner = runner_with(SandboxConfig {
        pool: PoolConfig {
            max_concurrent: 1,
            ..PoolConfig::default()
        },
        ..config()
    });
    let _ = runner
        .invoke(request("wasm:long-run", json!({"steps": 0, "step_ms": 0})))
        .await;
    // Holds the only slot for 2 s.
    let busy = runner.invoke(request(
        "wasm:long-run",
        json!({"steps": 1, "step_ms": 2000, "heartbeat": false}),
    ));
    let mut quick = request("wasm:long-run", json!({"steps": 0, "step_ms": 0}));
    quick.timeout = Some(Duration::from_millis(500));
    let mut beating = request("wasm:long-run", json!({"steps": 0, "step_ms": 0}));
    beating.heartbeat = Some(Duration::from_millis(700));
    let started = Instant::now();
    let timed = |future| async move {
        let outcome: TaskOutcome = future.await;
        (outcome, started.elapsed())
    };
    let (busy, quick, beating) = tokio::join!(
        busy,
        timed(runner.invoke(quick)),
        timed(runner.invoke(beating))
    );
    assert!(busy.result.is_ok(), "{:?}", busy.result);
    for ((outcome, elapsed), (want, limit)) in [
        (quick, ("States.Timeout", 500)),
        (beating, ("States.HeartbeatTimeout", 700)),
    ] {
        let (error, cause) = error_of(&outcome);
        assert_eq!(error, want, "{cause}");
        let limit = Duration::from_millis(limit);
        assert!(
            elapsed >= limit && elapsed < limit + Duration::from_secs(1),
            "{want}: {elapsed:?}"
        );
    }
}

#[tokio::test]
async fn an_infinite_loop_runs_out_of_fuel() {
    let runner = runner();
    runner.set_policy(
        None,
        "misbehave",
        TaskPolicy {
            limits: Limits {
                fuel: 50_000_000,
                ..Limits::default()
            },
            scratch: None,
        },
    );
    let outcome = runner
        .invoke(request("wasm:misbehave", json!({"mode": "loop"})))
        .await;
    let (error, cause) = error_of(&outcome);
    assert_eq!(error, "Sandbox.FuelExhausted");
    assert!(cause.contains("50000000"), "{cause}");
}

/// Every misbehaving guest at once, beside well-behaved ones, on one runner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misbehaving_guests_end_in_their_named_errors() {
    let runner = runner();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"mode": "memory"}),
            "Sandbox.MemoryLimitExceeded",
            "over the 67108864 byte limit",
        ),
        (
            json!({"mode": "recursion"}),
            "Sandbox.StackOverflow",
            "call stack exhausted",
        ),
        (
            json!({"mode": "huge-output"}),
            "States.DataLimitExceeded",
            "over the 262144 byte",
        ),
        (
            json!({"mode": "not-json"}),
            "Sandbox.OutputNotJson",
            "this is { not json",
        ),
        (
            json!({"mode": "panic"}),
            "Sandbox.Trap",
            "panicked on purpose",
        ),
        (
            json!({"mode": "read-file"}),
            "Misbehave.Denied",
            "/etc/passwd",
        ),
        (
            json!({"mode": "env"}),
            "Misbehave.Denied",
            "no environment variables",
        ),
        (
            json!({"mode": "socket", "addr": addr}),
            "Misbehave.Denied",
            "connect",
        ),
        (
            json!({"mode": "scratch"}),
            "Misbehave.Denied",
            "/scratch/note.txt",
        ),
    ];
    let mut handles = Vec::new();
    for (input, _, _) in &cases {
        let runner = runner.clone();
        let req = request("wasm:misbehave", input.clone());
        handles.push(tokio::spawn(async move { runner.invoke(req).await }));
    }
    let good: Vec<_> = (0..20)
        .map(|i| {
            let runner = runner.clone();
            let req = request("wasm:echo", json!({"n": i}));
            tokio::spawn(async move { runner.invoke(req).await })
        })
        .collect();
    for ((input, want_error, want_cause), handle) in cases.iter().zip(handles) {
        let outcome = handle.await.unwrap();
        let (error, cause) = error_of(&outcome);
        assert_eq!(error, *want_error, "{input}: {cause}");
        assert!(cause.contains(want_cause), "{input}: cause {cause:?}");
    }
    for (i, handle) in good.into_iter().enumerate() {
        assert_eq!(handle.await.unwrap().result.unwrap(), json!({"n": i}));
    }
    // Nobody reached the socket.
    assert!(listener.accept().is_err(), "a guest connected to the host");
}

#[tokio::test]
async fn stdout_and_stderr_are_captured_in_order() {
    let outcome = runner()
        .invoke(request("wasm:misbehave", json!({"mode": "stdout"})))
        .await;
    assert_eq!(outcome.result.unwrap(), json!(true));
    let logs: Vec<(&str, &str)> = outcome
        .logs
        .iter()
        .map(|l| (l.level.as_str(), l.message.as_str()))
        .collect();
    assert_eq!(
        logs,
        vec![
            ("stdout", "line 0 to stdout"),
            ("stdout", "line 1 to stdout"),
            ("stdout", "line 2 to stdout"),
            ("stderr", "one line to stderr"),
        ]
    );
}

/// A guest that never yields must not hold the only runtime thread.
#[tokio::test(flavor = "current_thread")]
async fn a_busy_guest_does_not_block_others_on_one_thread() {
    let runner = runner();
    // Fuel enough for longer than the timeout on any machine: the deadline must stop it.
    runner.set_policy(
        None,
        "misbehave",
        TaskPolicy {
            limits: Limits {
                fuel: u64::MAX,
                ..Limits::default()
            },
            scratch: None,
        },
    );
    let _ = runner.invoke(request("wasm:echo", json!(0))).await;
    let _ = runner
        .invoke(request("wasm:misbehave", json!({"mode": "none"})))
        .await;
    let mut busy = request("wasm:misbehave", json!({"mode": "loop"}));
    busy.timeout = Some(Duration::from_secs(3));
    let busy_runner = runner.clone();
    let busy = tokio::spawn(async move { busy_runner.invoke(busy).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    let mut quick = Vec::new();
    for i in 0..50 {
        let runner = runner.clone();
        quick.push(tokio::spawn(async move {
            runner.invoke(request("wasm:echo", json!(i))).await
        }));
    }
    for (i, handle) in quick.into_iter().enumerate() {
        assert_eq!(handle.await.unwrap().result.unwrap(), json!(i));
    }
    assert!(!busy.is_finished(), "the busy guest ended early");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(error_of(&busy.await.unwrap()).0, "States.Timeout");
}

#[tokio::test]
async fn unknown_component_and_bad_resource() {
    let runner = runner();
    let outcome = runner.invoke(request("wasm:nope:2", json!({}))).await;
    let (error, cause) = error_of(&outcome);
    assert_eq!(error, "Sandbox.ComponentNotFound");
    assert!(
        cause.contains("nope") && cause.contains("version 2"),
        "{cause}"
    );
    let outcome = runner
        .invoke(request("arn:aws:lambda:us-east-1:1:function:f", json!({})))
        .await;
    assert_eq!(error_of(&outcome).0, "Sandbox.InvalidResource");
}

fn scratch_runner(root: &std::path::Path, max_bytes: u64) -> Arc<SandboxRunner> {
    let runner = runner_with(SandboxConfig {
        scratch_root: root.to_owned(),
        ..config()
    });
    runner.set_policy(
        None,
        "misbehave",
        TaskPolicy {
            limits: Limits::default(),
            scratch: Some(ScratchGrant { max_bytes }),
        },
    );
    runner
}

#[tokio::test]
async fn a_granted_scratch_directory_is_private_and_removed() {
    let root = tempfile::tempdir().unwrap();
    let runner = scratch_runner(root.path(), 1 << 20);
    let outcome = runner
        .invoke(request(
            "wasm:misbehave",
            json!({"mode": "scratch", "text": "kept"}),
        ))
        .await;
    assert_eq!(outcome.result.unwrap(), json!({"read_back": "kept"}));
    let outcome = runner
        .invoke(request("wasm:misbehave", json!({"mode": "scratch-escape"})))
        .await;
    assert_eq!(outcome.result.unwrap(), json!({"reached": []}));
    let outcome = runner
        .invoke(request("wasm:misbehave", json!({"mode": "scratch-fill"})))
        .await;
    let (error, cause) = error_of(&outcome);
    assert_eq!(error, "Sandbox.ScratchLimitExceeded", "{cause}");
    // The write past the cap was refused before it reached the disk: the directory never
    // held more than the cap.
    let held: u64 = cause
        .split("it holds ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no size in {cause:?}"));
    assert!(held <= 1 << 20, "{cause}");
    eprintln!("scratch-fill: {cause}");
    assert!(cause.contains("was refused"), "{cause}");
    let left: Vec<_> = std::fs::read_dir(root.path()).unwrap().collect();
    assert!(left.is_empty(), "scratch directories left behind: {left:?}");
}

#[tokio::test]
async fn symlinks_in_the_scratch_directory_cannot_reach_outside() {
    let root = tempfile::tempdir().unwrap();
    let runner = scratch_runner(root.path(), 1 << 20);
    let outcome = runner
        .invoke(request(
            "wasm:misbehave",
            json!({"mode": "scratch-symlink"}),
        ))
        .await;
    let out = outcome.result.unwrap();
    // Whatever links WASI let the guest make, none led outside the directory.
    assert_eq!(out["reached"], json!([]), "{out}");
    assert_eq!(out["inside_ok"], true, "{out}");
    // Absolute targets are refused outright.
    let made: Vec<&str> = out["made"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(!made.iter().any(|t| t.starts_with('/')), "{out}");
}

#[tokio::test]
async fn without_a_grant_opening_scratch_fails_clearly() {
    let runner = runner();
    let outcome = runner
        .invoke(request(
            "wasm:misbehave",
            json!({"mode": "scratch", "text": "x"}),
        ))
        .await;
    let (error, cause) = error_of(&outcome);
    // The guest's own error, carrying the OS error WASI gave it for the open.
    assert_eq!(error, "Misbehave.Denied");
    assert!(cause.starts_with("write /scratch/note.txt: "), "{cause}");
    let outcome = runner
        .invoke(request("wasm:misbehave", json!({"mode": "scratch-escape"})))
        .await;
    assert_eq!(outcome.result.unwrap(), json!({"reached": []}));
}
