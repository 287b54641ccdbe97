//! One file per state type. Each takes the state's raw input and returns its [`Work`]; the
//! shared pipeline ([`super::pipeline`]) does the data flow, [`super::execution`] does the
//! transitions, Retry and Catch.

pub(crate) mod choice;
pub(crate) mod fail;
pub(crate) mod jsonata;
pub(crate) mod map;
pub(crate) mod parallel;
pub(crate) mod pass;
pub(crate) mod succeed;
pub(crate) mod task;
pub(crate) mod wait;

use serde_json::Value;

use super::execution::{Cx, Work};
use super::frame::{Attempt, Children};
use super::pipeline;
use super::variables::checked_assignment;
use crate::asl::error::StatesError;
use crate::asl::model::{QueryLanguage, State};

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
        failed_indexes: Vec::new(),
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

/// A runtime error of a state that has no Retry or Catch (Choice, Wait, Succeed, Fail): it
/// goes the same way as any other (AWS's cause prefix, then the frame fails).
pub(crate) fn raised(error: StatesError, attempt: &Attempt) -> Work {
    Work::Error {
        error,
        input: Value::Null,
        attempt: attempt.clone(),
        from_task: false,
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
    let keep = (!state.catch.is_empty() || !state.retry.is_empty()).then(|| input.clone());
    let result = cx
        .limits
        .check_result(&results, &state.name)
        .and_then(|()| finish_result(cx, state, input, results, &attempt));
    output_or_error(result, keep, attempt)
}

/// A Task's, Parallel's or Map's result through the rest of the state: ResultSelector,
/// Assign, ResultPath, OutputPath (JSONPath) or Output and Assign (JSONata).
pub(crate) fn finish_result(
    cx: &mut Cx<'_>,
    state: &State,
    input: Value,
    result: Value,
    attempt: &Attempt,
) -> Result<Value, StatesError> {
    if state.query_language == QueryLanguage::Jsonata {
        return jsonata::finish(cx, state, input, Some(result), attempt);
    }
    let ctx = cx.context(state, attempt);
    let (output, assigned) = pipeline::finish_assigning(
        &state.io,
        state.assign.as_ref(),
        input,
        result,
        cx.env(&ctx),
    )?;
    store_assign(cx, assigned)?;
    Ok(output)
}

/// Checks an evaluated JSONPath `Assign` and keeps it for when the state succeeds.
pub(crate) fn store_assign(cx: &mut Cx<'_>, assigned: Option<Value>) -> Result<(), StatesError> {
    cx.assigned = assigned
        .map(|a| checked_assignment(a, cx.vars))
        .transpose()?;
    Ok(())
}
