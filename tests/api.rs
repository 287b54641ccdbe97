//! End-to-end tests of `stepwasm serve`: the real binary on a free loopback port with a temp
//! data directory, driven over HTTP: components (real wasm), state machines, executions to
//! SUCCEEDED with their history, stop, idempotent starts, EXPRESS start-sync, quotas,
//! restart, every bad-input class, and tenant isolation route by route.

mod guests;
mod server;

use std::time::Duration;

use serde_json::{Value, json};
use server::{ADMIN_KEY, Server};

fn task_then_pass() -> Value {
    json!({
        "StartAt": "Echo",
        "States": {
            "Echo": {"Type": "Task", "Resource": "wasm:echo", "ResultPath": "$.echoed", "Next": "Done"},
            "Done": {"Type": "Pass", "Parameters": {"got.$": "$.echoed.n"}, "End": true}
        }
    })
}

fn waiting(seconds: u64) -> Value {
    json!({
        "StartAt": "Nap",
        "States": {
            "Nap": {"Type": "Wait", "Seconds": seconds, "Next": "Echo"},
            "Echo": {"Type": "Task", "Resource": "wasm:echo", "End": true}
        }
    })
}

fn setup() -> (tempfile::TempDir, Server, String) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let key = server.tenant("acme");
    let r = server.upload(&key, "echo", guests::guest_bytes("echo"));
    assert_eq!(r.status, 201, "{:?}", r.body);
    (dir, server, key)
}

#[test]
fn component_state_machine_execution_history() {
    let (_dir, s, key) = setup();
    let r = s.get("/v1/components/echo", Some(&key));
    assert_eq!(r.status, 200);
    let v = &r.body["versions"][0];
    assert_eq!(v["resource"], "wasm:echo:1");
    assert!(v["size"].as_u64().unwrap() > 1000);
    assert!(
        v["imports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i.as_str().unwrap().starts_with("stepwasm:task/")),
        "{v}"
    );
    let r = s.post(
        "/v1/state-machines",
        &key,
        &json!({"name": "flow", "definition": task_then_pass()}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    for i in 0..5 {
        let r = s.post(
            "/v1/state-machines/flow/executions",
            &key,
            &json!({"name": format!("e{i}"), "input": {"n": i}}),
        );
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    for i in 0..5 {
        let done = s.wait_done(&key, "flow", &format!("e{i}"), Duration::from_secs(30));
        assert_eq!(done["status"], "SUCCEEDED", "{done}");
        let output: Value = serde_json::from_str(done["output"].as_str().unwrap()).unwrap();
        assert_eq!(output, json!({"got": i}));
        assert!(done["stopDate"].is_string());
    }
    let events = s.full_history(&key, "flow", "e3");
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types.first(), Some(&"ExecutionStarted"));
    assert_eq!(types.last(), Some(&"ExecutionSucceeded"));
    for t in [
        "TaskStateEntered",
        "TaskScheduled",
        "TaskSucceeded",
        "TaskStateExited",
        "PassStateEntered",
        "PassStateExited",
    ] {
        assert!(types.contains(&t), "{t} missing from {types:?}");
    }
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["id"], i as u64 + 1);
        assert_eq!(e["previousEventId"], i as u64);
        assert!(e["timestamp"].as_str().unwrap().ends_with('Z'));
    }
    assert_eq!(
        events[0]["executionStartedEventDetails"]["input"],
        "{\"n\":3}"
    );
    // History pages: 2 at a time gives the same events.
    let mut paged = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let q = token
            .as_ref()
            .map(|t| format!("&nextToken={t}"))
            .unwrap_or_default();
        let r = s.get(
            &format!("/v1/state-machines/flow/executions/e3/history?maxResults=2{q}"),
            Some(&key),
        );
        assert_eq!(r.status, 200);
        paged.extend(r.body["events"].as_array().unwrap().clone());
        match r.body["nextToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    assert_eq!(paged, events);
    // Listing: newest first, status filter, pages.
    let r = s.get(
        "/v1/executions?stateMachine=flow&statusFilter=SUCCEEDED&maxResults=3",
        Some(&key),
    );
    assert_eq!(r.status, 200);
    let names: Vec<&str> = r.body["executions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["e4", "e3", "e2"]);
    let t = r.body["nextToken"].as_str().unwrap();
    let r = s.get(
        &format!(
            "/v1/executions?stateMachine=flow&statusFilter=SUCCEEDED&maxResults=3&nextToken={t}"
        ),
        Some(&key),
    );
    let names: Vec<&str> = r.body["executions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["e1", "e0"]);
    let r = s.get("/v1/executions?statusFilter=RUNNING", Some(&key));
    assert_eq!(r.body["executions"], json!([]));
    assert!(s.terminate(), "SIGTERM should exit cleanly");
}

#[test]
fn idempotent_start_stop_and_component_in_use() {
    let (_dir, s, key) = setup();
    let r = s.post(
        "/v1/state-machines",
        &key,
        &json!({"name": "slow", "definition": waiting(30)}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let start = json!({"name": "once", "input": {"a": 1}});
    let first = s.post("/v1/state-machines/slow/executions", &key, &start);
    assert_eq!(first.status, 201, "{:?}", first.body);
    let again = s.post("/v1/state-machines/slow/executions", &key, &start);
    assert_eq!(
        again.status, 200,
        "same name and input returns the running execution"
    );
    assert_eq!(again.body["executionArn"], first.body["executionArn"]);
    let other = s.post(
        "/v1/state-machines/slow/executions",
        &key,
        &json!({"name": "once", "input": {"a": 2}}),
    );
    assert_eq!(other.status, 409);
    assert_eq!(other.body["error"], "ExecutionAlreadyExists");
    // The running execution will invoke wasm:echo (latest = 1): deleting it is refused.
    let r = s.delete("/v1/components/echo/versions/1", &key);
    assert_eq!(r.status, 409, "{:?}", r.body);
    assert_eq!(r.body["error"], "ResourceInUse");
    let r = s.post(
        "/v1/state-machines/slow/executions/once/stop",
        &key,
        &json!({"error": "Operator", "cause": "not needed"}),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    let d = s
        .get("/v1/state-machines/slow/executions/once", Some(&key))
        .body;
    assert_eq!(d["status"], "ABORTED");
    assert_eq!(d["error"], "Operator");
    assert_eq!(d["cause"], "not needed");
    let events = s.full_history(&key, "slow", "once");
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    // Stopped inside its Wait: AWS closes the Wait with WaitStateAborted first.
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "WaitStateEntered",
            "WaitStateAborted",
            "ExecutionAborted"
        ]
    );
    let ids: Vec<u64> = events.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, [1, 2, 3, 4]);
    assert_eq!(
        events[3]["executionAbortedEventDetails"],
        json!({"error": "Operator", "cause": "not needed"})
    );
    let r = s.post(
        "/v1/state-machines/slow/executions/once/stop",
        &key,
        &json!({}),
    );
    assert_eq!(r.status, 409);
    assert_eq!(r.body["error"], "ExecutionNotRunning");
    // Closed: the same name is now taken for good (as in AWS).
    let r = s.post("/v1/state-machines/slow/executions", &key, &start);
    assert_eq!(r.status, 409);
    let r = s.delete("/v1/components/echo/versions/1", &key);
    assert_eq!(r.status, 200, "{:?}", r.body);
}

#[test]
fn express_start_sync_and_quotas() {
    let (_dir, s, key) = setup();
    let def = json!({"StartAt": "E", "States": {"E": {"Type": "Task", "Resource": "wasm:echo", "End": true}}});
    let r = s.post(
        "/v1/state-machines",
        &key,
        &json!({"name": "fast", "type": "EXPRESS", "definition": def}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let r = s.post(
        "/v1/state-machines/fast/start-sync",
        &key,
        &json!({"input": {"hello": "world"}}),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["status"], "SUCCEEDED");
    assert_eq!(r.body["output"], "{\"hello\":\"world\"}");
    let name = r.body["name"].as_str().unwrap().to_string();
    // Recorded at the end, with its history.
    let events = s.full_history(&key, "fast", &name);
    assert_eq!(events.last().unwrap()["type"], "ExecutionSucceeded");
    // Start rate quota: 429 with Retry-After.
    let r = s.send_json(
        "PUT",
        "/v1/tenants/acme/quotas",
        ADMIN_KEY,
        &json!({"startRatePerSecond": 3}),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    let mut throttled = None;
    for _ in 0..10 {
        let r = s.post("/v1/state-machines/fast/start-sync", &key, &json!({}));
        if r.status == 429 {
            throttled = Some(r);
            break;
        }
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    let r = throttled.expect("a start over the rate was not throttled");
    assert_eq!(r.body["error"], "ThrottlingException");
    assert!(r.retry_after.is_some());
    // Concurrency quota.
    s.send_json(
        "PUT",
        "/v1/tenants/acme/quotas",
        ADMIN_KEY,
        &json!({"maxConcurrentExecutions": 1}),
    );
    s.post(
        "/v1/state-machines",
        &key,
        &json!({"name": "slow", "definition": waiting(30)}),
    );
    assert_eq!(
        s.post("/v1/state-machines/slow/executions", &key, &json!({}))
            .status,
        201
    );
    let r = s.post("/v1/state-machines/slow/executions", &key, &json!({}));
    assert_eq!(r.status, 429, "{:?}", r.body);
    assert_eq!(r.body["error"], "ExecutionLimitExceeded");
    // Component size quota.
    s.send_json(
        "PUT",
        "/v1/tenants/acme/quotas",
        ADMIN_KEY,
        &json!({"maxComponentBytes": 1000}),
    );
    let r = s.upload(&key, "echo", guests::guest_bytes("echo"));
    assert_eq!(r.status, 413, "{:?}", r.body);
    assert_eq!(r.body["error"], "ComponentTooLarge");
}

#[test]
fn data_survives_restart_and_admin_key_is_generated_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with_env(dir.path(), &[]);
    let line = s
        .startup
        .iter()
        .find(|l| l.contains("shown once"))
        .expect("generated admin key printed");
    let admin = line.rsplit(' ').next().unwrap().to_string();
    assert!(admin.starts_with("swk_"));
    let r = s.post("/v1/tenants", &admin, &json!({"id": "keep"}));
    assert_eq!(r.status, 201, "{:?}", r.body);
    let key = r.body["apiKey"].as_str().unwrap().to_string();
    let r = s.post("/v1/state-machines", &key, &json!({"name": "p", "definition": {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}}));
    assert_eq!(r.status, 201);
    assert!(s.terminate());
    let s = Server::start_with_env(dir.path(), &[]);
    assert!(
        !s.startup.iter().any(|l| l.contains("shown once")),
        "{:?}",
        s.startup
    );
    assert_eq!(s.get("/v1/state-machines/p", Some(&key)).status, 200);
    assert_eq!(s.get("/v1/tenants", Some(&admin)).status, 200);
}

#[test]
fn bad_input_over_http() {
    let (_dir, s, key) = setup();
    let check = |r: server::Reply, status: u16, code: &str| {
        assert_eq!(r.status, status, "{:?}", r.body);
        assert_eq!(r.body["error"], code, "{:?}", r.body);
        assert!(r.body["message"].as_str().is_some_and(|m| !m.is_empty()));
    };
    check(
        s.send_raw(
            "POST",
            "/v1/state-machines",
            Some(&key),
            "application/json",
            b"{oops".to_vec(),
        ),
        400,
        "SerializationException",
    );
    check(
        s.send_raw(
            "POST",
            "/v1/state-machines",
            Some(&key),
            "text/plain",
            b"{}".to_vec(),
        ),
        415,
        "UnsupportedMediaType",
    );
    check(
        s.send_raw(
            "POST",
            "/v1/state-machines",
            Some(&key),
            "application/json",
            vec![b' '; 5 * 1024 * 1024],
        ),
        413,
        "PayloadTooLarge",
    );
    check(
        s.get("/v1/state-machines/none", Some(&key)),
        404,
        "StateMachineDoesNotExist",
    );
    check(
        s.get("/v1/executions?nextToken=bogus", Some(&key)),
        400,
        "InvalidToken",
    );
    check(
        s.get("/v1/executions?maxResults=five", Some(&key)),
        400,
        "ValidationException",
    );
    check(
        s.get("/v1/components", None),
        401,
        "UnrecognizedClientException",
    );
    check(
        s.upload(&key, "notwasm", b"plain text".to_vec()),
        400,
        "InvalidComponent",
    );
    // A core module is not a component.
    check(
        s.upload(&key, "core", b"\0asm\x01\x00\x00\x00".to_vec()),
        400,
        "InvalidComponent",
    );
    let r = s.post("/v1/state-machines", &key, &json!({"name": "bad", "definition": {"StartAt": "X", "States": {"T": {"Type": "Task", "Resource": "wasm:missing", "End": true}}}}));
    check(r, 400, "InvalidDefinition");
    let r = s.post("/v1/validate", &key, &json!({"definition": {"StartAt": "X", "States": {"T": {"Type": "Task", "Resource": "wasm:missing", "End": true}}}}));
    assert_eq!(r.status, 200);
    assert_eq!(r.body["result"], "FAIL");
    let codes: Vec<&str> = r.body["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"MISSING_TRANSITION_TARGET") && codes.contains(&"UNKNOWN_COMPONENT"),
        "{codes:?}"
    );
    let r = s.get("/v1/openapi.json", None);
    assert_eq!(r.status, 200);
    assert!(r.body["paths"]["/v1/state-machines/{name}/executions"]["post"].is_object());
    assert_eq!(s.get("/healthz", None).status, 200);
}

#[test]
fn tenants_are_isolated_on_every_route_over_http() {
    let (_dir, s, alice) = setup();
    let bob = s.tenant("bob");
    let r = s.post(
        "/v1/state-machines",
        &alice,
        &json!({"name": "sm", "definition": waiting(30)}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(
        s.post(
            "/v1/state-machines/sm/executions",
            &alice,
            &json!({"name": "run"})
        )
        .status,
        201
    );
    let not_found = |r: server::Reply, code: &str| {
        assert_eq!(r.status, 404, "{:?}", r.body);
        assert_eq!(r.body["error"], code);
    };
    not_found(
        s.get("/v1/components/echo", Some(&bob)),
        "ComponentDoesNotExist",
    );
    not_found(
        s.delete("/v1/components/echo/versions/1", &bob),
        "ComponentDoesNotExist",
    );
    not_found(
        s.get("/v1/state-machines/sm", Some(&bob)),
        "StateMachineDoesNotExist",
    );
    not_found(
        s.send_json(
            "PUT",
            "/v1/state-machines/sm",
            &bob,
            &json!({"definition": waiting(1)}),
        ),
        "StateMachineDoesNotExist",
    );
    not_found(
        s.delete("/v1/state-machines/sm", &bob),
        "StateMachineDoesNotExist",
    );
    not_found(
        s.post("/v1/state-machines/sm/executions", &bob, &json!({})),
        "StateMachineDoesNotExist",
    );
    not_found(
        s.post("/v1/state-machines/sm/start-sync", &bob, &json!({})),
        "StateMachineDoesNotExist",
    );
    not_found(
        s.get("/v1/state-machines/sm/executions/run", Some(&bob)),
        "ExecutionDoesNotExist",
    );
    not_found(
        s.get("/v1/state-machines/sm/executions/run/history", Some(&bob)),
        "ExecutionDoesNotExist",
    );
    not_found(
        s.post(
            "/v1/state-machines/sm/executions/run/stop",
            &bob,
            &json!({}),
        ),
        "ExecutionDoesNotExist",
    );
    not_found(
        s.get("/v1/executions?stateMachine=sm", Some(&bob)),
        "StateMachineDoesNotExist",
    );
    for (path, field) in [
        ("/v1/components", "components"),
        ("/v1/state-machines", "stateMachines"),
        ("/v1/executions", "executions"),
    ] {
        let r = s.get(path, Some(&bob));
        assert_eq!(r.status, 200);
        assert_eq!(r.body[field], json!([]), "{path}");
    }
    // Bob's own names do not collide with Alice's.
    assert_eq!(
        s.upload(&bob, "echo", guests::guest_bytes("echo")).status,
        201
    );
    assert_eq!(
        s.get("/v1/components/echo", Some(&alice)).body["versions"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Alice's execution is untouched.
    assert_eq!(
        s.get("/v1/state-machines/sm/executions/run", Some(&alice))
            .body["status"],
        "RUNNING"
    );
}
