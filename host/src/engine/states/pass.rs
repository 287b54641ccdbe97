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
    Ok((
        pipeline::output_path(&io.output_path, merged, env)?,
        assigned,
    ))
}

#[cfg(test)]
mod tests {
    use crate::engine::testkit::run;
    use serde_json::json;

    fn one(
        state: serde_json::Value,
        input: serde_json::Value,
    ) -> Result<serde_json::Value, (String, String)> {
        let mut state = state;
        state["Type"] = json!("Pass");
        state["End"] = json!(true);
        run(&json!({"StartAt": "P", "States": {"P": state}}), input)
    }

    #[test]
    fn passes_input_through_by_default() {
        assert_eq!(
            one(json!({}), json!({"a": [1, 2]})).unwrap(),
            json!({"a": [1, 2]})
        );
    }

    #[test]
    fn result_wins_over_parameters_and_lands_at_result_path() {
        let out = one(
            json!({"Parameters": {"x.$": "$.a"}, "Result": {"r": 1}, "ResultPath": "$.res"}),
            json!({"a": 5}),
        )
        .unwrap();
        assert_eq!(out, json!({"a": 5, "res": {"r": 1}}));
    }

    #[test]
    fn parameters_with_input_path_and_output_path() {
        let out = one(
            json!({"InputPath": "$.in", "Parameters": {"v.$": "$.v", "k": "c"},
                   "ResultPath": "$.got", "OutputPath": "$.got"}),
            json!({"in": {"v": [1]}}),
        )
        .unwrap();
        assert_eq!(out, json!({"v": [1], "k": "c"}));
    }

    #[test]
    fn result_path_null_keeps_the_input() {
        let out = one(json!({"Result": 1, "ResultPath": null}), json!({"a": 1})).unwrap();
        assert_eq!(out, json!({"a": 1}));
    }

    #[test]
    fn result_path_under_a_scalar_fails() {
        let err = one(json!({"Result": 1, "ResultPath": "$.a.b"}), json!({"a": 3})).unwrap_err();
        assert_eq!(err.0, "States.ResultPathMatchFailure");
    }

    #[test]
    fn a_missing_parameter_path_is_a_runtime_error() {
        let err = one(json!({"Parameters": {"x.$": "$.nope"}}), json!({})).unwrap_err();
        assert_eq!(err.0, "States.Runtime");
        assert!(err.1.contains("$.nope"), "{}", err.1);
    }

    #[test]
    fn context_object_is_visible() {
        let out = one(
            json!({"Parameters": {"name.$": "$$.State.Name", "input.$": "$$.Execution.Input", "retry.$": "$$.State.RetryCount"}}),
            json!({"q": 1}),
        )
        .unwrap();
        assert_eq!(out, json!({"name": "P", "input": {"q": 1}, "retry": 0}));
    }
}
