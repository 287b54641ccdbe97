//! A long-running task that logs progress and heartbeats, to show HeartbeatSeconds.
//!
//! Input: `{"steps": N, "step_ms": M, "heartbeat": true}`: N steps of M milliseconds each
//! (a real sleep: the guest yields to the host while it waits), logging each step and
//! heartbeating after it when `heartbeat` is true.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use stepwasm_guest::{TaskError, export_task, heartbeat, log};

#[derive(Deserialize)]
struct Input {
    steps: u32,
    step_ms: u64,
    #[serde(default = "yes")]
    heartbeat: bool,
}

fn yes() -> bool {
    true
}

fn long_run(input: Input) -> Result<Value, TaskError> {
    for step in 1..=input.steps {
        std::thread::sleep(Duration::from_millis(input.step_ms));
        log::info(&format!("step {step} of {} done", input.steps));
        if input.heartbeat {
            heartbeat();
        }
    }
    Ok(json!({ "steps_done": input.steps }))
}

export_task!(long_run);
