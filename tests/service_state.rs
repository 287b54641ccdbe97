//! The service's in-memory state against the real binary: running EXPRESS executions are
//! visible (describe, list, stop) before they are recorded; a durable execution parked on
//! a long Wait wakes from the store and completes; the concurrent-execution quota is
//! derived from the store, so it holds across a `kill -9` and restart; starts follow state
//! machine updates and deletes (the latest version is cached); a stop ends an execution
//! whether it is parked on a timer or driven mid-Task, and nothing is written after it; the
//! history limit applies to STANDARD executions only and `--max-history-events` moves it.

mod guests;
mod server;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use server::{ADMIN_KEY, Server};

fn wait_then_pass(seconds: u64) -> Value {
    json!({"StartAt": "Nap", "States": {
        "Nap": {"Type": "Wait", "Seconds": seconds, "Next": "Done"},
        "Done": {"Type": "Pass", "Result": "woke", "End": true}}})
}

fn names_listed(s: &Server, key: &str, query: &str) -> Vec<String> {
    let r = s.get(&format!("/v1/executions{query}"), Some(key));
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["executions"]
        .as_array()
        .unwrap_or_else(|| panic!("no executions array: {:?}", r.body))
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_running_express_execution_is_visible_and_can_be_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let key = s.tenant("acme");
    s.create_machine(
        &key,
        &json!({"name": "quick", "type": "EXPRESS", "definition": wait_then_pass(60)}),
    );
    s.start_execution(
        &key,
        "quick",
        &json!({"name": "slow-one", "input": {"a": 1}}),
    );
    let r = s.get("/v1/state-machines/quick/executions/slow-one", Some(&key));
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["status"], "RUNNING");
    assert!(names_listed(&s, &key, "").contains(&"slow-one".to_string()));
    assert!(names_listed(&s, &key, "?statusFilter=RUNNING").contains(&"slow-one".to_string()));
    assert!(!names_listed(&s, &key, "?statusFilter=SUCCEEDED").contains(&"slow-one".to_string()));
    // The same name and input is the same execution; another input is a conflict.
    let again = json!({"name": "slow-one", "input": {"a": 1}});
    assert_eq!(
        s.post("/v1/state-machines/quick/executions", &key, &again)
            .status,
        200
    );
    let other = json!({"name": "slow-one", "input": {"a": 2}});
    assert_eq!(
        s.post("/v1/state-machines/quick/executions", &key, &other)
            .status,
        409
    );
    // Another tenant does not see it.
    let other_key = s.tenant("other");
    assert_eq!(
        s.get(
            "/v1/state-machines/quick/executions/slow-one",
            Some(&other_key)
        )
        .status,
        404
    );
    let r = s.post(
        "/v1/state-machines/quick/executions/slow-one/stop",
        &key,
        &json!({"error": "Halt", "cause": "test"}),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = s.get("/v1/state-machines/quick/executions/slow-one", Some(&key));
    assert_eq!(r.body["status"], "ABORTED", "{:?}", r.body);
    assert_eq!(r.body["error"], "Halt");
    let events = s.full_history(&key, "quick", "slow-one");
    assert_eq!(events.first().unwrap()["type"], "ExecutionStarted");
    assert_eq!(events.last().unwrap()["type"], "ExecutionAborted");
    let r = s.post(
        "/v1/state-machines/quick/executions/slow-one/stop",
        &key,
        &json!({}),
    );
    assert_eq!(r.status, 409, "{:?}", r.body);
    // A short one runs to its end and is recorded.
    s.create_machine(
        &key,
        &json!({"name": "instant", "type": "EXPRESS",
                "definition": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}),
    );
    s.start_execution(&key, "instant", &json!({"name": "fast"}));
    let done = s.wait_done(&key, "instant", "fast", Duration::from_secs(30));
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
}

#[test]
fn a_parked_wait_wakes_from_the_store_and_completes() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let key = s.tenant("acme");
    let r = s.post(
        "/v1/state-machines",
        &key,
        &json!({"name": "nap", "definition": wait_then_pass(2)}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let started = Instant::now();
    for name in ["a", "b", "c"] {
        s.start_execution(&key, "nap", &json!({"name": name}));
    }
    for name in ["a", "b", "c"] {
        let done = s.wait_done(&key, "nap", name, Duration::from_secs(30));
        assert_eq!(done["status"], "SUCCEEDED", "{done}");
        assert_eq!(done["output"], "\"woke\"");
        let events = s.full_history(&key, "nap", name);
        let ids: Vec<u64> = events.iter().map(|e| e["id"].as_u64().unwrap()).collect();
        assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>());
        let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(
            types,
            [
                "ExecutionStarted",
                "WaitStateEntered",
                "WaitStateExited",
                "PassStateEntered",
                "PassStateExited",
                "ExecutionSucceeded"
            ]
        );
    }
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "the Wait was not waited out"
    );
}

#[test]
fn the_concurrency_quota_holds_across_a_kill_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let key = s.tenant("acme");
    let r = s.send_json(
        "PUT",
        "/v1/tenants/acme/quotas",
        ADMIN_KEY,
        &json!({"maxConcurrentExecutions": 2}),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    s.create_machine(
        &key,
        &json!({"name": "long", "definition": wait_then_pass(3600)}),
    );
    let start = |s: &Server, name: &str| {
        s.post(
            "/v1/state-machines/long/executions",
            &key,
            &json!({"name": name}),
        )
    };
    assert_eq!(start(&s, "one").status, 201);
    assert_eq!(start(&s, "two").status, 201);
    let r = start(&s, "three");
    assert_eq!(r.status, 429, "{:?}", r.body);
    assert_eq!(r.body["error"], "ExecutionLimitExceeded");
    s.kill9();
    let s = Server::start(dir.path());
    // Both are still RUNNING in the store, so they still count.
    let r = start(&s, "three");
    assert_eq!(r.status, 429, "after restart: {:?}", r.body);
    // Stopping one (parked on its timer) frees its slot.
    let r = s.post(
        "/v1/state-machines/long/executions/one/stop",
        &key,
        &json!({}),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    let events = s.full_history(&key, "long", "one");
    let tail: Vec<&Value> = events.iter().rev().take(2).collect();
    assert_eq!(tail[1]["type"], "WaitStateAborted", "{events:?}");
    assert_eq!(tail[0]["type"], "ExecutionAborted");
    // Stopped without an error or cause: AWS leaves both out.
    assert_eq!(tail[0]["executionAbortedEventDetails"], json!({}));
    assert_eq!(start(&s, "three").status, 201);
    assert_eq!(start(&s, "four").status, 429);
    assert!(s.terminate());
    let s = Server::start(dir.path());
    assert_eq!(start(&s, "four").status, 429, "after a clean restart");
    let r = s.get("/v1/executions?statusFilter=RUNNING", Some(&key));
    assert_eq!(
        r.body["executions"].as_array().unwrap().len(),
        2,
        "{:?}",
        r.body
    );
}

#[test]
fn starts_use_the_latest_version_after_an_update_and_fail_after_a_delete() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let key = s.tenant("acme");
    let pass = |v: &str| json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": v, "End": true}}});
    let r = s.post(
        "/v1/state-machines",
        &key,
        &json!({"name": "m", "definition": pass("one")}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let run = |name: &str| {
        let r = s.post(
            "/v1/state-machines/m/executions",
            &key,
            &json!({"name": name}),
        );
        assert_eq!(r.status, 201, "{:?}", r.body);
        s.wait_done(&key, "m", name, Duration::from_secs(30))["output"].clone()
    };
    assert_eq!(run("a"), "\"one\"");
    let r = s.send_json(
        "PUT",
        "/v1/state-machines/m",
        &key,
        &json!({"definition": pass("two")}),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(run("b"), "\"two\"");
    assert_eq!(s.delete("/v1/state-machines/m", &key).status, 200);
    let r = s.post(
        "/v1/state-machines/m/executions",
        &key,
        &json!({"name": "c"}),
    );
    assert_eq!(r.status, 404, "{:?}", r.body);
}

#[test]
fn stopping_an_execution_mid_task_ends_its_history_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let key = s.tenant("acme");
    let r = s.upload(&key, "long-run", guests::guest_bytes("long-run"));
    assert_eq!(r.status, 201, "{:?}", r.body);
    let def = json!({"StartAt": "Work", "States": {
        "Work": {"Type": "Task", "Resource": "wasm:long-run", "Next": "After"},
        "After": {"Type": "Pass", "End": true}}});
    s.create_machine(&key, &json!({"name": "busy", "definition": def}));
    // 40 steps of 100 ms, heartbeating: the driver is inside the Task for 4 s.
    s.start_execution(
        &key,
        "busy",
        &json!({"name": "b", "input": {"steps": 40, "step_ms": 100}}),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while !s
        .full_history(&key, "busy", "b")
        .iter()
        .any(|e| e["type"] == "TaskStarted")
    {
        assert!(Instant::now() < deadline, "the Task never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let r = s.post(
        "/v1/state-machines/busy/executions/b/stop",
        &key,
        &json!({"error": "Operator"}),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    let stopped = s.full_history(&key, "busy", "b");
    let last = stopped.last().unwrap();
    assert_eq!(last["type"], "ExecutionAborted", "{stopped:?}");
    assert_eq!(
        last["executionAbortedEventDetails"],
        json!({"error": "Operator"})
    );
    let ids: Vec<u64> = stopped.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>());
    // The cancelled driver writes nothing more, even once the Task would have finished.
    std::thread::sleep(Duration::from_millis(4500));
    assert_eq!(s.full_history(&key, "busy", "b"), stopped);
    let r = s.get("/v1/state-machines/busy/executions/b", Some(&key));
    assert_eq!(r.body["status"], "ABORTED", "{:?}", r.body);
    assert!(s.terminate());
}

#[test]
fn running_express_executions_are_paged_like_stored_ones() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let key = s.tenant("acme");
    for (name, kind) in [("slow", "EXPRESS"), ("done", "STANDARD")] {
        let def = if kind == "EXPRESS" {
            wait_then_pass(60)
        } else {
            json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}})
        };
        let r = s.post(
            "/v1/state-machines",
            &key,
            &json!({"name": name, "type": kind, "definition": def}),
        );
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    let mut expected = Vec::new();
    for (machine, prefix, count) in [("done", "stored", 2), ("slow", "express", 5)] {
        for i in 0..count {
            let name = format!("{prefix}-{i}");
            let path = format!("/v1/state-machines/{machine}/executions");
            let r = s.post(&path, &key, &json!({"name": name}));
            assert_eq!(r.status, 201, "{:?}", r.body);
            expected.push(name);
        }
    }
    // Pages of 2 walk the 5 running EXPRESS executions, then the store: each exactly once.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..10 {
        let query = match &token {
            Some(t) => format!("/v1/executions?maxResults=2&nextToken={t}"),
            None => "/v1/executions?maxResults=2".into(),
        };
        let r = s.get(&query, Some(&key));
        assert_eq!(r.status, 200, "{:?}", r.body);
        let page = r.body["executions"].as_array().unwrap();
        assert!(page.len() <= 2);
        seen.extend(page.iter().map(|e| e["name"].as_str().unwrap().to_string()));
        token = r.body["nextToken"].as_str().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert!(token.is_none(), "the listing never ended: {seen:?}");
    let mut sorted = seen.clone();
    sorted.sort();
    expected.sort();
    assert_eq!(sorted, expected, "every execution exactly once");
    // Newest first: the running EXPRESS ones lead.
    assert!(
        seen[..5].iter().all(|n| n.starts_with("express-")),
        "{seen:?}"
    );
    assert!(s.terminate());
}

#[test]
fn the_history_limit_caps_standard_executions_only_and_can_be_lifted() {
    // A Map of 10 Pass iterations: 4 events per iteration plus the Map's own, over 20.
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map",
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
        "End": true}}});
    let items = json!({"input": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]});
    let run = |s: &Server, key: &str, kind: &str| -> Value {
        let name = kind.to_lowercase();
        let r = s.post(
            "/v1/state-machines",
            key,
            &json!({"name": name, "type": kind, "definition": def}),
        );
        assert_eq!(r.status, 201, "{:?}", r.body);
        if kind == "EXPRESS" {
            let r = s.post(
                &format!("/v1/state-machines/{name}/start-sync"),
                key,
                &items,
            );
            assert_eq!(r.status, 200, "{:?}", r.body);
            return r.body;
        }
        let mut start = items.clone();
        start["name"] = json!("e");
        let r = s.post(
            &format!("/v1/state-machines/{name}/executions"),
            key,
            &start,
        );
        assert_eq!(r.status, 201, "{:?}", r.body);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let d = s.get(
                &format!("/v1/state-machines/{name}/executions/e"),
                Some(key),
            );
            if d.body["status"] != "RUNNING" {
                return d.body;
            }
            assert!(Instant::now() < deadline, "never finished: {:?}", d.body);
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let env = [("STEPWASM_ADMIN_KEY", ADMIN_KEY)];
    let s = Server::start_with(dir.path(), &env, &["--max-history-events", "20"]);
    let key = s.tenant("acme");
    let standard = run(&s, &key, "STANDARD");
    assert_eq!(standard["status"], "FAILED", "{standard:?}");
    assert_eq!(standard["error"], "States.Runtime");
    let express = run(&s, &key, "EXPRESS");
    assert_eq!(express["status"], "SUCCEEDED", "{express:?}");
    assert!(s.terminate());
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with(dir.path(), &env, &["--max-history-events", "0"]);
    let key = s.tenant("acme");
    let standard = run(&s, &key, "STANDARD");
    assert_eq!(standard["status"], "SUCCEEDED", "{standard:?}");
    assert!(s.terminate());
}

#[test]
fn a_running_sync_express_execution_owns_its_name_and_is_visible_and_stoppable() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let key = s.tenant("acme");
    let r = s.post(
        "/v1/state-machines",
        &key,
        &json!({"name": "nap", "type": "EXPRESS", "definition": wait_then_pass(3)}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let visible = |name: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let r = s.get(
                &format!("/v1/state-machines/nap/executions/{name}"),
                Some(&key),
            );
            if r.status == 200 {
                return r.body;
            }
            assert!(Instant::now() < deadline, "{name} never visible: {r:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    std::thread::scope(|scope| {
        let sync = |name: &'static str| {
            let (s, key) = (&s, &key);
            scope.spawn(move || {
                s.post(
                    "/v1/state-machines/nap/start-sync",
                    key,
                    &json!({"name": name, "input": {"n": 1}}),
                )
            })
        };
        let runs = sync("held");
        let stopped = sync("halted");
        // Visible to describe and list while the sync call waits.
        assert_eq!(visible("held")["status"], "RUNNING");
        let listed = names_listed(&s, &key, "?statusFilter=RUNNING");
        assert!(listed.contains(&"held".to_string()), "{listed:?}");
        // Its name is taken: another input and another sync start are refused.
        let other = json!({"name": "held", "input": {"n": 2}});
        let r = s.post("/v1/state-machines/nap/executions", &key, &other);
        assert_eq!(r.status, 409, "{:?}", r.body);
        assert_eq!(r.body["error"], "ExecutionAlreadyExists", "{:?}", r.body);
        let r = s.post("/v1/state-machines/nap/start-sync", &key, &other);
        assert_eq!(r.status, 409, "{:?}", r.body);
        // A stop ends the other one; its sync call answers with the aborted record.
        assert_eq!(visible("halted")["status"], "RUNNING");
        let r = s.post(
            "/v1/state-machines/nap/executions/halted/stop",
            &key,
            &json!({"error": "Halt"}),
        );
        assert_eq!(r.status, 200, "{:?}", r.body);
        let halted = stopped.join().unwrap();
        assert_eq!(halted.status, 200, "{:?}", halted.body);
        assert_eq!(halted.body["status"], "ABORTED", "{:?}", halted.body);
        let held = runs.join().unwrap();
        assert_eq!(held.status, 200, "{:?}", held.body);
        assert_eq!(held.body["status"], "SUCCEEDED", "{:?}", held.body);
    });
    // The one execution named `held` is the sync one, with its input.
    let r = s.get("/v1/state-machines/nap/executions/held", Some(&key));
    assert_eq!(r.body["status"], "SUCCEEDED", "{:?}", r.body);
    let input: Value = serde_json::from_str(r.body["input"].as_str().unwrap()).unwrap();
    assert_eq!(input, json!({"n": 1}), "{:?}", r.body);
    let r = s.get("/v1/state-machines/nap/executions/halted", Some(&key));
    assert_eq!(r.body["status"], "ABORTED", "{:?}", r.body);
    assert!(s.terminate());
}
