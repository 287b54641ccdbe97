//! One file per state type. Each takes the state's raw input and returns its [`Work`]; the
//! shared pipeline ([`super::pipeline`]) does the data flow, [`super::execution`] does the
//! transitions, Retry and Catch.

pub(crate) mod choice;
pub(crate) mod fail;
pub(crate) mod map;
pub(crate) mod parallel;
pub(crate) mod pass;
pub(crate) mod succeed;
pub(crate) mod task;
pub(crate) mod wait;

use serde_json::Value;

use super::execution::{Cx, Work, env};
use super::frame::{Attempt, Children};
use super::pipeline;
use crate::asl::error::StatesError;
use crate::asl::model::State;

/// A placeholder for a Children cursor that was taken apart.
pub(crate) fn empty_children() -> Children {
    Children {
        state: 0,
        input: Value::Null,
        attempt: Attempt::default(),
        pending: Vec::new(),
        started: 0,
        running: 0,
        finished: 0,
        failed: 0,
        max_concurrency: 0,
        tolerated_count: None,
        tolerated_percentage: None,
        is_map: false,
        results: Vec::new(),
        child_ids: Vec::new(),
    }
}

/// Turns a pipeline result into work; `input` is kept for Catch only when the state has one.
pub(crate) fn output_or_error(
    result: Result<Value, StatesError>,
    input: Option<Value>,
    attempt: Attempt,
) -> Work {
    match result {
        Ok(v) => Work::Output(v),
        Err(error) => Work::Error {
            error,
            input: input.unwrap_or(Value::Null),
            attempt,
            from_task: false,
        },
    }
}

/// A Parallel or Map state's results: payload limit, ResultSelector, ResultPath, OutputPath.
pub(crate) fn finish_children(
    cx: &mut Cx<'_>,
    state: &State,
    input: Value,
    attempt: Attempt,
    results: Value,
) -> Work {
    let ctx = cx.context(state, &attempt);
    let keep = (!state.catch.is_empty() || !state.retry.is_empty()).then(|| input.clone());
    let result = cx
        .limits
        .check_payload(&results, "state result")
        .and_then(|()| pipeline::finish(&state.io, input, results, env(&ctx)));
    output_or_error(result, keep, attempt)
}
