//! Callback tasks (`.waitForTaskToken`) against the real binary over `/v1`: an approval
//! completed by SendTaskSuccess after a `kill -9` and restart; a token used twice; another
//! tenant's token; a failure caught by Catch; heartbeats keeping a task alive and silence
//! timing it out; malformed tokens and outputs; an activity over `/v1` (GetActivityTask,
//! workerName, another tenant refused).

mod guests;
mod server;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use server::Server;

/// An approval flow: the echo component is invoked with the token, then the execution
/// waits for it.
fn approval(extra: Value) -> Value {
    let mut ask = json!({"Type": "Task", "Resource": "wasm:echo.waitForTaskToken",
        "Parameters": {"order.$": "$.order", "token.$": "$$.Task.Token"},
        "ResultPath": "$.approval", "Next": "Ship"});
    if let (Some(a), Some(extra)) = (ask.as_object_mut(), extra.as_object()) {
        a.extend(extra.clone());
    }
    let mut def = json!({"StartAt": "Ask", "States": {
        "Ask": ask,
        "Ship": {"Type": "Pass", "End": true}}});
    // Only a Catch reaches it (an unreachable state is refused, as in AWS).
    if def.to_string().contains("\"Next\":\"Rejected\"") {
        def["States"]["Rejected"] = json!({"Type": "Pass", "End": true});
    }
    def
}

/// A tenant with the echo component and the approval machine `sm`.
fn setup(s: &Server, tenant: &str, sm: &str, extra: Value) -> String {
    let key = s.tenant(tenant);
    let r = s.upload(&key, "echo", guests::guest_bytes("echo"));
    assert_eq!(r.status, 201, "{:?}", r.body);
    let r = s.post(
        "/v1/state-machines",
        &key,
        &json!({"name": sm, "definition": approval(extra)}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    key
}

fn start(s: &Server, key: &str, sm: &str, name: &str) {
    let r = s.post(
        &format!("/v1/state-machines/{sm}/executions"),
        key,
        &json!({"name": name, "input": {"order": 42}}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
}

/// Waits for the task to be submitted and returns its token (from TaskScheduled's
/// parameters, where `$$.Task.Token` put it).
fn token_of(s: &Server, key: &str, sm: &str, exec: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let history = s.full_history(key, sm, exec);
        if history.iter().any(|e| e["type"] == "TaskSubmitted") {
            let scheduled = history
                .iter()
                .rev()
                .find(|e| e["type"] == "TaskScheduled")
                .expect("TaskScheduled");
            let params: Value = serde_json::from_str(
                scheduled["taskScheduledEventDetails"]["parameters"]
                    .as_str()
                    .unwrap(),
            )
            .unwrap();
            return params["token"].as_str().expect("token").to_string();
        }
        assert!(Instant::now() < deadline, "never submitted: {history:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn types(s: &Server, key: &str, sm: &str, exec: &str) -> Vec<String> {
    s.full_history(key, sm, exec)
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn an_approval_is_completed_after_kill_9_and_its_token_works_once_for_its_tenant_only() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let key = setup(&s, "acme", "approve", json!({}));
    let other = s.tenant("other");
    start(&s, &key, "approve", "order-42");
    let token = token_of(&s, &key, "approve", "order-42");
    assert_eq!(
        types(&s, &key, "approve", "order-42"),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted"
        ]
    );
    s.kill9();

    let s = Server::start(dir.path());
    // Another tenant's key cannot use the token, nor learn that its task exists.
    let r = s.post(
        "/v1/tasks/success",
        &other,
        &json!({"taskToken": token, "output": "{\"approved\": true}"}),
    );
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (404, Some("TaskDoesNotExist"))
    );
    let r = s.post(
        "/v1/tasks/success",
        &key,
        &json!({"taskToken": token, "output": "{\"approved\": true}"}),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    let done = s.wait_done(&key, "approve", "order-42", Duration::from_secs(30));
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let output: Value = serde_json::from_str(done["output"].as_str().unwrap()).unwrap();
    assert_eq!(output, json!({"order": 42, "approval": {"approved": true}}));
    let t = types(&s, &key, "approve", "order-42");
    assert_eq!(
        t[5..],
        [
            "TaskSucceeded",
            "TaskStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    // The same token again: the task is closed.
    let r = s.post(
        "/v1/tasks/success",
        &key,
        &json!({"taskToken": token, "output": "{}"}),
    );
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (400, Some("TaskTimedOut")),
        "{:?}",
        r.body
    );
    let r = s.post(
        "/v1/tasks/failure",
        &key,
        &json!({"taskToken": token, "error": "E"}),
    );
    assert_eq!(r.body["error"], "TaskTimedOut");
    assert_eq!(
        types(&s, &key, "approve", "order-42").len(),
        t.len(),
        "nothing was written by the refused calls"
    );
}

#[test]
fn a_failure_is_caught_and_bad_tokens_and_outputs_are_named_errors() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let key = setup(
        &s,
        "acme",
        "approve",
        json!({"Catch": [{"ErrorEquals": ["Rejected"], "ResultPath": "$.why", "Next": "Rejected"}]}),
    );
    start(&s, &key, "approve", "no");
    let token = token_of(&s, &key, "approve", "no");
    for (body, code) in [
        (
            json!({"taskToken": "forged", "output": "{}"}),
            "InvalidToken",
        ),
        (json!({"taskToken": "", "output": "{}"}), "InvalidToken"),
        (
            json!({"taskToken": token, "output": "{not json"}),
            "InvalidOutput",
        ),
    ] {
        let r = s.post("/v1/tasks/success", &key, &body);
        assert_eq!((r.status, r.body["error"].as_str()), (400, Some(code)));
    }
    let r = s.post(
        "/v1/tasks/failure",
        &key,
        &json!({"taskToken": token, "error": "E".repeat(257)}),
    );
    assert_eq!(r.body["error"], "ValidationException");
    let r = s.post(
        "/v1/tasks/failure",
        &key,
        &json!({"taskToken": token, "error": "Rejected", "cause": "over budget"}),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    let done = s.wait_done(&key, "approve", "no", Duration::from_secs(30));
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let output: Value = serde_json::from_str(done["output"].as_str().unwrap()).unwrap();
    assert_eq!(
        output["why"],
        json!({"Error": "Rejected", "Cause": "over budget"})
    );
    assert!(types(&s, &key, "approve", "no").contains(&"TaskFailed".to_string()));
}

#[test]
fn heartbeats_keep_a_task_alive_and_silence_times_it_out() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let key = setup(
        &s,
        "acme",
        "beat",
        json!({"HeartbeatSeconds": 2, "TimeoutSeconds": 60}),
    );
    start(&s, &key, "beat", "b1");
    let token = token_of(&s, &key, "beat", "b1");
    // Four seconds of heartbeats, one every 0.5 s: twice HeartbeatSeconds.
    for _ in 0..8 {
        let r = s.post("/v1/tasks/heartbeat", &key, &json!({"taskToken": token}));
        assert_eq!(r.status, 200, "{:?}", r.body);
        std::thread::sleep(Duration::from_millis(500));
    }
    let r = s.get("/v1/state-machines/beat/executions/b1", Some(&key));
    assert_eq!(r.body["status"], "RUNNING", "heartbeats kept it alive");
    let done = s.wait_done(&key, "beat", "b1", Duration::from_secs(30));
    assert_eq!(done["status"], "FAILED", "{done}");
    assert_eq!(done["error"], "States.HeartbeatTimeout");
    assert!(types(&s, &key, "beat", "b1").contains(&"TaskTimedOut".to_string()));
    let r = s.post("/v1/tasks/heartbeat", &key, &json!({"taskToken": token}));
    assert_eq!(r.body["error"], "TaskTimedOut");
}

#[test]
fn an_activity_over_v1_goes_to_one_worker_and_is_the_tenants_own() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let key = s.tenant("acme");
    let other = s.tenant("other");
    let r = s.post("/v1/activities", &key, &json!({"name": "pack"}));
    assert_eq!(r.status, 201, "{:?}", r.body);
    let arn = r.body["activityArn"].as_str().unwrap().to_string();
    assert!(arn.ends_with(":acme:activity:pack"), "{arn}");
    let r = s.post("/v1/activities", &key, &json!({"name": "pack"}));
    assert_eq!(
        (r.status, r.body["activityArn"].as_str()),
        (201, Some(&*arn))
    );
    let r = s.get("/v1/activities", Some(&key));
    assert_eq!(r.body["activities"][0]["name"], "pack", "{:?}", r.body);
    // Another tenant has no such activity.
    let r = s.get("/v1/activities/pack", Some(&other));
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (404, Some("ActivityDoesNotExist"))
    );
    let r = s.post("/v1/activities/pack/task", &other, &json!({}));
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (404, Some("ActivityDoesNotExist"))
    );

    let def = json!({"StartAt": "Pack", "States": {
        "Pack": {"Type": "Task", "Resource": arn, "ResultPath": "$.packed", "End": true}}});
    let r = s.post(
        "/v1/state-machines",
        &key,
        &json!({"name": "orders", "definition": def}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    start(&s, &key, "orders", "o1");
    let r = s.post(
        "/v1/activities/pack/task",
        &key,
        &json!({"workerName": "packer-1"}),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    let token = r.body["taskToken"].as_str().expect("a task").to_string();
    let input: Value = serde_json::from_str(r.body["input"].as_str().unwrap()).unwrap();
    assert_eq!(input, json!({"order": 42}));
    let r = s.post(
        "/v1/tasks/success",
        &key,
        &json!({"taskToken": token, "output": {"box": 1}}),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    let d = s.wait_done(&key, "orders", "o1", Duration::from_secs(60));
    assert_eq!(d["status"], "SUCCEEDED", "{d:?}");
    let history = s.full_history(&key, "orders", "o1");
    let started: Vec<&Value> = history
        .iter()
        .filter(|e| e["type"] == "ActivityStarted")
        .collect();
    assert_eq!(started.len(), 1, "{history:?}");
    assert_eq!(
        started[0]["activityStartedEventDetails"]["workerName"],
        "packer-1"
    );
    let r = s.delete("/v1/activities/pack", &key);
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(s.get("/v1/activities/pack", Some(&key)).status, 404);
}
