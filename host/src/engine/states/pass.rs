//! The Pass state: passes its input (or its `Result`, or its Parameters) to its output.

use serde_json::Value;

use super::super::execution::{Cx, Work};
use super::super::frame::Attempt;
use super::super::pipeline::{self, Env};
use crate::asl::error::StatesError;
use crate::asl::model::{InOutPath, ResultPathSpec, State};

pub(crate) fn run(
    cx: &mut Cx<'_>,
    state: &State,
    result: Option<&Value>,
    input: Value,
    attempt: &Attempt,
) -> Work {
    let ctx = cx.context(state, attempt);
    let out = output(state, result, input, cx.env(&ctx))
        .and_then(|(output, assigned)| super::store_assign(cx, assigned).map(|()| output));
    super::output_or_error(out, None, attempt.clone())
}

fn output(
    state: &State,
    literal: Option<&Value>,
    input: Value,
    env: Env<'_>,
) -> Result<(Value, Option<Value>), StatesError> {
    let io = &state.io;
    let result = match (literal, &io.parameters, &io.input_path) {
        (Some(r), _, _) => r.clone(),
        // The common identity case moves the input instead of copying it.
        (None, None, InOutPath::Identity)
            if matches!(io.result_path, ResultPathSpec::Replace) && state.assign.is_none() =>
        {
            return Ok((pipeline::output_path(&io.output_path, input, env)?, None));
        }
        (None, None, InOutPath::Identity) => input.clone(),
        _ => pipeline::effective_input(io, &input, env)?.into_owned(),
    };
    // Assign reads the state's result (before ResultPath), as AWS orders it.
    let assigned = state
        .assign
        .as_ref()
        .map(|a| pipeline::payload(a, &result, env))
        .transpose()?;
    let merged = pipeline::result_path(&io.result_path, input, result)?;
    Ok((pipeline::output_path(&io.output_path, merged, env)?, assigned))
}
