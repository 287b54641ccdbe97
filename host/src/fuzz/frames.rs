//! Frames as the store returns them: an execution resumed from any frame bytes (mutated
//! frames of a real machine: state, machine and parent indexes out of range, counters that
//! disagree) either runs to an end or is refused by name, never a panic or a wedge.

use std::sync::Arc;

use proptest::prelude::*;
use serde_json::{Value, json};

use super::config;
use crate::engine::context::ExecutionInfo;
use crate::engine::driver::{Runtime, run};
use crate::engine::execution::Execution;
use crate::engine::limits::Limits;
use crate::engine::ports::Clock;
use crate::engine::testkit::{VirtualClock, model};

fn machine() -> Value {
    json!({
        "StartAt": "P",
        "States": {
            "P": {"Type": "Parallel", "Next": "M", "Branches": [
                {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 5, "End": true}}},
                {"StartAt": "X", "States": {"X": {"Type": "Pass", "End": true}}}
            ]},
            "M": {"Type": "Map", "ItemsPath": "$[0]", "Next": "C",
                  "ItemProcessor": {"StartAt": "Y", "States": {"Y": {"Type": "Pass", "End": true}}}},
            "C": {"Type": "Choice", "Default": "F",
                  "Choices": [{"Variable": "$[0]", "IsPresent": true, "Next": "S"}]},
            "S": {"Type": "Succeed"},
            "F": {"Type": "Fail", "Error": "E"}
        }
    })
}

fn small() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0u64..8).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        Just(json!(-1)),
        Just(Value::Null),
        Just(json!([1, 2])),
        Just(json!({"a": 1})),
    ]
}

fn attempt() -> impl Strategy<Value = Value> {
    (small(), proptest::collection::vec(0u32..4, 0..3), small()).prop_map(|(r, per, ms)| {
        json!({"retry_count": r.as_u64().unwrap_or(0) % 10, "per_retrier": per, "entered_ms": ms})
    })
}

fn cursor() -> impl Strategy<Value = Value> {
    prop_oneof![
        (small(), small()).prop_map(|(s, i)| json!({"Enter": {"state": s, "input": i}})),
        (small(), small(), attempt())
            .prop_map(|(s, i, a)| json!({"Run": {"state": s, "input": i, "attempt": a}})),
        (small(), small(), small())
            .prop_map(|(s, o, u)| json!({"Waiting": {"state": s, "output": o, "until_ms": u}})),
        (small(), small(), attempt(), small()).prop_map(|(s, i, a, u)| {
            json!({"Backoff": {"state": s, "input": i, "attempt": a, "until_ms": u}})
        }),
        (
            small(),
            attempt(),
            proptest::collection::vec((0u64..4, small()), 0..3),
            proptest::collection::vec(0u64..5, 5),
            any::<bool>()
        )
            .prop_map(|(s, a, pending, n, is_map)| {
                json!({"Children": {"state": s, "input": [[1, 2]], "attempt": a,
                    "pending": pending, "started": n[0], "running": n[1], "finished": n[2],
                    "failed": n[3], "max_concurrency": n[4], "tolerated_count": null,
                    "tolerated_percentage": null, "is_map": is_map}})
            }),
        small().prop_map(|v| json!({"Done": {"Succeeded": v}})),
    ]
}

fn frame() -> impl Strategy<Value = Value> {
    (
        proptest::option::of((0u64..4, 0usize..4)),
        0u64..5,
        cursor(),
    )
        .prop_map(|(parent, machine, cursor)| {
            let parent = parent.map(|(frame, index)| json!({"frame": frame, "index": index}));
            json!({"parent": parent, "machine": machine, "cursor": cursor})
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_frames_resume(
        frames in proptest::collection::vec((0u64..4, frame()), 1..4),
        garbage in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
        last_event in 0u64..20,
    ) {
        let clock = Arc::new(VirtualClock::at(1_700_000_000));
        let now = clock.now();
        let info = Arc::new(ExecutionInfo::local("e", "sm", Arc::new(json!([[1, 2]])), now));
        let mut stored: Vec<(u64, Vec<u8>)> = frames
            .iter()
            .map(|(id, f)| (*id, serde_json::to_vec(f).unwrap()))
            .collect();
        if let Some(g) = garbage {
            stored.push((9, g));
        }
        let Ok(mut exec) = Execution::resume(model(&machine()), info, Limits::default(), &stored, last_event) else {
            return Ok(());
        };
        let runtime = Runtime {
            activities: None,
            clock,
            tasks: None,
            journal: None,
            limits: Limits::default(),
            record_history: true,
        };
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        // On a virtual clock every wait is immediate: an execution still running after
        // seconds is wedged.
        let ran = rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(10), run(&mut exec, &runtime)).await
        });
        prop_assert!(ran.is_ok(), "wedged: {stored:?}");
    }
}
