//! An execution whose committed frame does not decode (an older build stored frames nested
//! deeper than serde_json reads back): stop must end it with a named status, not a 500.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::engine::ports::{ExecutionStatus, FrameUpdate, StepCommit};

/// A Waiting frame whose output nests `levels` arrays: what an older build wrote for an
/// input nesting 125 arrays (it accepted up to 126).
fn nested_frame(levels: usize) -> Vec<u8> {
    format!(
        r#"{{"parent":null,"machine":0,"cursor":{{"Waiting":{{"state":0,"output":{}1{},"until_ms":4000000000000}}}}}}"#,
        "[".repeat(levels),
        "]".repeat(levels)
    )
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_ends_an_execution_whose_frame_does_not_decode() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).unwrap();
    let service = Service::new(
        store.clone(),
        Arc::new(EngineRuntime::new(None)),
        Arc::new(BasicInspector),
    )
    .unwrap();
    let (tenant, _) = service.create_tenant("acme", None).await.unwrap();
    let definition = r#"{"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 100000, "End": true}}}"#;
    service
        .create_state_machine(
            &tenant,
            crate::service::NewStateMachine {
                name: "nap".into(),
                definition: definition.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let started = service
        .start_execution(
            &tenant,
            &crate::service::MachineRef::latest("nap"),
            Some("e1".into()),
            Some("{}".into()),
        )
        .await
        .unwrap();
    let arn = started.record.arn.clone();
    // Wait until its driver committed the Wait and parked it.
    for _ in 0..200 {
        let frames = store.running_execution(&arn).unwrap().unwrap().frames;
        if frames
            .iter()
            .any(|(_, f)| String::from_utf8_lossy(f).contains("Waiting"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    store
        .commit_step(StepCommit {
            execution_id: arn.clone(),
            events: Vec::new(),
            frames: vec![FrameUpdate {
                frame: 0,
                state: Some(nested_frame(125)),
            }],
            end: None,
        })
        .await
        .unwrap();
    let stopped = service
        .stop_execution(
            &tenant,
            "nap",
            "e1",
            StopRequest {
                error: Some("Operator".into()),
                cause: Some("unreadable".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(stopped.status, ExecutionStatus::Aborted);
    assert!(store.running_execution(&arn).unwrap().is_none());
    let page = store.history(&arn, None, 1, true).unwrap();
    assert_eq!(page.events[0].event_type, "ExecutionAborted");
}
