//! Regression tests for issue 16 at the service: over a real store and the real engine, no
//! failure path leaves an execution RUNNING silently, a definition is compiled once at
//! create, and a stopped EXPRESS execution gets the engine's own abort events.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::{BasicInspector, EngineRuntime, HistoryQuery, Service, StopRequest};
use crate::engine::ports::{ExecutionStatus, FrameUpdate, StepCommit};
use crate::store::{ExecutionRecord, Store, TenantRecord};

struct Fixture {
    service: Service,
    tenant: TenantRecord,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).unwrap();
    let service = Service::new(
        store,
        Arc::new(EngineRuntime::new(None)),
        Arc::new(BasicInspector),
    )
    .unwrap();
    let (tenant, _key) = service.create_tenant("acme", None).await.unwrap();
    Fixture {
        service,
        tenant,
        _dir: dir,
    }
}

impl Fixture {
    async fn machine(&self, name: &str, kind: &str, definition: Value) {
        self.service
            .create_state_machine(
                &self.tenant,
                crate::service::NewStateMachine {
                    name: name.into(),
                    definition: definition.to_string(),
                    machine_type: Some(kind.into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap_or_else(|e| panic!("create {name}: {e}"));
    }

    async fn start(&self, machine: &str, name: &str) -> ExecutionRecord {
        self.service
            .start_execution(
                &self.tenant,
                &crate::service::MachineRef::latest(machine),
                Some(name.into()),
                None,
            )
            .await
            .unwrap_or_else(|e| panic!("start {name}: {e}"))
            .record
    }

    fn describe(&self, machine: &str, name: &str) -> ExecutionRecord {
        self.service
            .describe_execution(&self.tenant, machine, name)
            .unwrap()
    }

    /// Waits until the execution is no longer RUNNING (or gives up after 20 s).
    async fn ended(&self, machine: &str, name: &str) -> ExecutionRecord {
        for _ in 0..400 {
            let r = self.describe(machine, name);
            if r.status != ExecutionStatus::Running {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.describe(machine, name)
    }

    fn history(&self, machine: &str, name: &str) -> Vec<Value> {
        let page = self
            .service
            .execution_history(&self.tenant, machine, name, &HistoryQuery::default())
            .unwrap();
        page.items
            .iter()
            .map(|e| serde_json::to_value(e).unwrap())
            .collect()
    }
}

fn wait_machine(seconds: u64) -> Value {
    json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": seconds, "End": true}}})
}

/// `TimeoutSeconds: 10.0` passes validation (an integral number); it used to fail only when
/// compiled, at the first start, with a 500.
#[tokio::test]
async fn a_definition_that_validates_also_starts() {
    let f = fixture().await;
    let def = json!({"TimeoutSeconds": 10.0, "StartAt": "P",
        "States": {"P": {"Type": "Pass", "End": true}}});
    f.machine("float", "STANDARD", def).await;
    f.start("float", "one").await;
    assert_eq!(
        f.ended("float", "one").await.status,
        ExecutionStatus::Succeeded
    );
}

/// An execution whose committed frames cannot be decoded used to stay RUNNING forever (the
/// driver's error was only printed); now it ends FAILED with a named error.
#[tokio::test]
async fn an_execution_that_cannot_be_resumed_fails_with_a_named_error() {
    let f = fixture().await;
    f.machine("nap", "STANDARD", wait_machine(3600)).await;
    let rec = f.start("nap", "broken").await;
    // Parked on its hour-long Wait: overwrite its frame with bytes that do not decode.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let last_event_id = f.history("nap", "broken").len() as u64;
    assert!(last_event_id >= 2);
    f.service
        .store()
        .commit_step(StepCommit {
            execution_id: rec.arn.clone(),
            events: Vec::new(),
            frames: vec![FrameUpdate {
                frame: 0,
                state: Some(b"not a frame".to_vec()),
            }],
            end: None,
        })
        .await
        .unwrap();
    // What start-up after a restart does.
    f.service.resume_running().unwrap();
    let ended = f.ended("nap", "broken").await;
    assert_eq!(ended.status, ExecutionStatus::Failed, "{ended:?}");
    assert_eq!(ended.error.as_deref(), Some("States.Runtime"));
    let events = f.history("nap", "broken");
    assert_eq!(events.last().unwrap()["type"], "ExecutionFailed");
    assert_eq!(f.service.running_count("acme"), 0);
}

/// Stopping a running EXPRESS execution records the engine's abort: `WaitStateAborted` for
/// the Wait it is in, and no `"error": null` in the abort's details.
#[tokio::test]
async fn stopping_a_running_express_execution_records_the_engines_abort() {
    let f = fixture().await;
    f.machine("quick", "EXPRESS", wait_machine(60)).await;
    f.start("quick", "slow").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stopped = f
        .service
        .stop_execution(&f.tenant, "quick", "slow", StopRequest::default())
        .await
        .unwrap();
    assert_eq!(stopped.status, ExecutionStatus::Aborted);
    let events = f.history("quick", "slow");
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "WaitStateEntered",
            "WaitStateAborted",
            "ExecutionAborted"
        ]
    );
    let details = &events.last().unwrap()["executionAbortedEventDetails"];
    assert!(details.get("error").is_none(), "{details}");
    assert_eq!(f.service.running_count("acme"), 0);
}
