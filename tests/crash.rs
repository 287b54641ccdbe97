//! Crash recovery of `stepwasm serve`, with real `kill -9`.
//!
//! Guards the durability promise: many STANDARD executions (Waits, wasm Tasks, a Map with
//! MaxConcurrency) are started, the server is killed with SIGKILL at random moments more
//! than 20 times (restarting on the same data directory each time, and starting more
//! executions between kills), and in the end every acknowledged execution must have
//! SUCCEEDED with the right output and a history with no gap (ids dense from 1) and no
//! duplicate transition (each state entered and exited exactly as often as the definition
//! says). Tasks may run more than once (at-least-once); transitions may not.

mod guests;
mod server;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::{Value, json};
use server::Server;

/// How many times the server is killed with SIGKILL.
const KILLS: usize = 22;
/// Executions of each kind started before the first kill.
const INITIAL: usize = 15;
/// Items each Map execution fans out over.
const ITEMS: usize = 5;

fn waits_machine() -> Value {
    json!({
        "StartAt": "Start",
        "States": {
            "Start": {"Type": "Pass", "Result": true, "ResultPath": "$.started", "Next": "Nap1"},
            "Nap1": {"Type": "Wait", "Seconds": 1, "Next": "Echo"},
            "Echo": {"Type": "Task", "Resource": "wasm:echo", "ResultPath": "$.echo", "Next": "Nap2"},
            "Nap2": {"Type": "Wait", "Seconds": 1, "Next": "Finish"},
            "Finish": {"Type": "Pass", "End": true}
        }
    })
}

fn map_machine() -> Value {
    json!({
        "StartAt": "Fan",
        "States": {
            "Fan": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": 2,
                "ResultPath": "$.mapped",
                "ItemProcessor": {
                    "StartAt": "ItemEcho",
                    "States": {
                        "ItemEcho": {"Type": "Task", "Resource": "wasm:echo", "Next": "ItemNap"},
                        "ItemNap": {"Type": "Wait", "Seconds": 1, "Next": "ItemDone"},
                        "ItemDone": {"Type": "Pass", "End": true}
                    }
                },
                "Next": "Last"
            },
            "Last": {"Type": "Task", "Resource": "wasm:echo", "End": true}
        }
    })
}

/// How often each state must be entered (and exited) in one execution.
fn expected_entries(machine: &str) -> HashMap<&'static str, usize> {
    match machine {
        "waits" => [
            ("Start", 1),
            ("Nap1", 1),
            ("Echo", 1),
            ("Nap2", 1),
            ("Finish", 1),
        ]
        .into(),
        _ => [
            ("Fan", 1),
            ("ItemEcho", ITEMS),
            ("ItemNap", ITEMS),
            ("ItemDone", ITEMS),
            ("Last", 1),
        ]
        .into(),
    }
}

fn input_for(machine: &str, n: usize) -> Value {
    match machine {
        "waits" => json!({"n": n}),
        _ => json!({"n": n, "items": (0..ITEMS).collect::<Vec<_>>()}),
    }
}

fn expected_output(machine: &str, n: usize) -> Value {
    match machine {
        "waits" => json!({"n": n, "started": true, "echo": {"n": n, "started": true}}),
        _ => {
            json!({"n": n, "items": (0..ITEMS).collect::<Vec<_>>(), "mapped": (0..ITEMS).collect::<Vec<_>>()})
        }
    }
}

/// Starts one execution; returns whether the server acknowledged it (a kill may cut it off).
fn start(s: &Server, key: &str, machine: &str, n: usize) -> bool {
    let body = json!({"name": format!("{machine}-{n}"), "input": input_for(machine, n)});
    let r = s.post(
        &format!("/v1/state-machines/{machine}/executions"),
        key,
        &body,
    );
    assert!(matches!(r.status, 200 | 201), "start failed: {:?}", r.body);
    true
}

fn check_history(machine: &str, name: &str, events: &[Value]) {
    for (i, e) in events.iter().enumerate() {
        assert_eq!(
            e["id"],
            json!(i + 1),
            "{name}: gap or repeat at position {i}: {e}"
        );
    }
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(types.first(), Some(&"ExecutionStarted"), "{name}");
    assert_eq!(types.last(), Some(&"ExecutionSucceeded"), "{name}");
    assert_eq!(
        types.iter().filter(|t| **t == "ExecutionStarted").count(),
        1,
        "{name}"
    );
    assert_eq!(
        types.iter().filter(|t| t.starts_with("Execution")).count(),
        2,
        "{name}: {types:?}"
    );
    let mut entered: HashMap<String, usize> = HashMap::new();
    let mut exited: HashMap<String, usize> = HashMap::new();
    for e in events {
        let t = e["type"].as_str().unwrap_or("");
        if t.ends_with("StateEntered") {
            *entered
                .entry(
                    e["stateEnteredEventDetails"]["name"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                )
                .or_default() += 1;
        } else if t.ends_with("StateExited") {
            *exited
                .entry(
                    e["stateExitedEventDetails"]["name"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                )
                .or_default() += 1;
        }
    }
    for (state, count) in expected_entries(machine) {
        assert_eq!(
            entered.get(state).copied().unwrap_or(0),
            count,
            "{name}: {state} entered {entered:?}"
        );
        assert_eq!(
            exited.get(state).copied().unwrap_or(0),
            count,
            "{name}: {state} exited {exited:?}"
        );
    }
    assert_eq!(
        entered.len(),
        expected_entries(machine).len(),
        "{name}: unexpected states {entered:?}"
    );
}

#[test]
fn executions_survive_repeated_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let key = s.tenant("crash");
    assert_eq!(
        s.upload(&key, "echo", guests::guest_bytes("echo")).status,
        201
    );
    for (name, def) in [("waits", waits_machine()), ("mapper", map_machine())] {
        let r = s.post(
            "/v1/state-machines",
            &key,
            &json!({"name": name, "definition": def}),
        );
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    let mut started: Vec<(&str, usize)> = Vec::new();
    for n in 0..INITIAL {
        for m in ["waits", "mapper"] {
            if start(&s, &key, m, n) {
                started.push((m, n));
            }
        }
    }
    let mut rng = rand::rng();
    let mut server = Some(s);
    // Execution numbers continue after the initial ones.
    for (round, next) in (0..KILLS).zip(INITIAL..) {
        let s = match server.take() {
            Some(s) => s,
            None => Server::start(dir.path()),
        };
        // A few new executions each round, so some starts race the kill too.
        for m in ["waits", "mapper"] {
            if start(&s, &key, m, next) {
                started.push((m, next));
            }
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(100..700)));
        eprintln!("round {round}: kill -9 {}", s.pid());
        s.kill9();
    }
    let s = Server::start(dir.path());
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let r = s.get(
            "/v1/executions?statusFilter=RUNNING&maxResults=1",
            Some(&key),
        );
        assert_eq!(r.status, 200);
        if r.body["executions"].as_array().is_some_and(Vec::is_empty) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "executions still RUNNING after 180 s: {:?}",
            r.body
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(started.len() >= 2 * (INITIAL + KILLS));
    for (machine, n) in &started {
        let name = format!("{machine}-{n}");
        let d = s
            .get(
                &format!("/v1/state-machines/{machine}/executions/{name}"),
                Some(&key),
            )
            .body;
        assert_eq!(d["status"], "SUCCEEDED", "{name}: {d}");
        let output: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
        assert_eq!(output, expected_output(machine, *n), "{name}");
        check_history(machine, &name, &s.full_history(&key, machine, &name));
    }
    // Nothing else ran: every execution in the store is one we started.
    let r = s.get("/v1/executions?maxResults=1000", Some(&key));
    assert_eq!(
        r.body["executions"].as_array().unwrap().len(),
        started.len()
    );
}
