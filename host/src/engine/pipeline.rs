//! The one input/output pipeline every state runs through:
//! InputPath → Parameters → (the state's work) → ResultSelector → ResultPath → OutputPath.
//! Each state type uses the subset AWS allows; the model leaves the others at their defaults.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::inspect::{self, Stage};
use crate::asl::error::{ErrorName, StatesError};
use crate::asl::model::{InOutPath, Io, Payload, ResultPathSpec};
use crate::asl::path::{JsonPath, Selected};
use crate::asl::scope::{Scope, Variables, select_in};

/// What expressions see besides `$`: the context object and variables.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    /// `$$` (`Value::Null` for states that never read it).
    pub context: &'a Value,
    /// `$name` variables.
    pub variables: &'a dyn Variables,
}

impl<'a> Env<'a> {
    /// The scope for evaluating against `input`.
    pub fn scope(&self, input: &'a Value) -> Scope<'a> {
        Scope::new(input, self.context, self.variables)
    }
}

/// Selects with a path used as InputPath/OutputPath/ItemsPath: a definite path that matches
/// nothing is `States.Runtime`; an indefinite one yields an array.
pub fn select_path<'v>(
    path: &JsonPath,
    input: &'v Value,
    env: Env<'v>,
) -> Result<Cow<'v, Value>, StatesError> {
    match select_in(path, &env.scope(input)) {
        Selected::One(v) => Ok(Cow::Borrowed(v)),
        Selected::Many(vs) => Ok(Cow::Owned(Value::Array(vs.into_iter().cloned().collect()))),
        // AWS names the path in Jayway's bracket form and not the field (recorded:
        // localstack/localstack tests/aws/services/stepfunctions/v2/scenarios/
        // test_base_scenarios.snapshot.json, test_invalid_jsonpath).
        Selected::Nothing => Err(StatesError::new(
            ErrorName::Runtime,
            format!(
                "Invalid path '{}' : No results for path: {}",
                path.as_str(),
                path.normalized()
            ),
        )),
    }
}

/// `InputPath` (or `ItemsPath`): `$` keeps the input, `null` gives `{}`.
pub fn input_path<'v>(
    spec: &InOutPath,
    input: &'v Value,
    env: Env<'v>,
) -> Result<Cow<'v, Value>, StatesError> {
    match spec {
        InOutPath::Identity => Ok(Cow::Borrowed(input)),
        InOutPath::Null => Ok(Cow::Owned(Value::Object(Map::new()))),
        InOutPath::Path(p) => select_path(p, input, env),
    }
}

/// A state's own `InputPath` (what TestState's DEBUG level shows as `afterInputPath`).
pub fn state_input_path<'v>(
    spec: &InOutPath,
    input: &'v Value,
    env: Env<'v>,
) -> Result<Cow<'v, Value>, StatesError> {
    let selected = input_path(spec, input, env)?;
    inspect::note(Stage::InputPath, &selected);
    Ok(selected)
}

/// Evaluates a payload (Parameters, ResultSelector, ItemSelector, ...) against `input`.
pub fn payload(p: &Payload, input: &Value, env: Env<'_>) -> Result<Value, StatesError> {
    match p {
        Payload::Template(t) => t.evaluate(&env.scope(input)),
        Payload::Jsonata(_) => Err(StatesError::new(
            ErrorName::Runtime,
            "a JSONata payload reached JSONPath evaluation",
        )),
    }
}

/// InputPath then Parameters: the effective input of the state's work.
pub fn effective_input<'v>(
    io: &Io,
    input: &'v Value,
    env: Env<'v>,
) -> Result<Cow<'v, Value>, StatesError> {
    let selected = state_input_path(&io.input_path, input, env)?;
    let effective = match &io.parameters {
        None => selected,
        Some(p) => Cow::Owned(payload(p, &selected, env)?),
    };
    inspect::note(Stage::Parameters, &effective);
    Ok(effective)
}

/// `ResultPath`: places `result` into the state's raw `input`.
pub fn result_path(
    spec: &ResultPathSpec,
    input: Value,
    result: Value,
) -> Result<Value, StatesError> {
    let merged = match spec {
        ResultPathSpec::Replace => result,
        ResultPathSpec::Discard => input,
        ResultPathSpec::Path(p) => p.set(input, result)?,
    };
    inspect::note(Stage::ResultPath, &merged);
    Ok(merged)
}

/// `OutputPath`: `$` keeps the value, `null` gives `{}`.
pub fn output_path(spec: &InOutPath, value: Value, env: Env<'_>) -> Result<Value, StatesError> {
    match spec {
        InOutPath::Identity => Ok(value),
        InOutPath::Null => Ok(Value::Object(Map::new())),
        InOutPath::Path(p) => select_path(p, &value, env).map(Cow::into_owned),
    }
}

/// ResultSelector → ResultPath → OutputPath, for a state's raw `result`.
pub fn finish(io: &Io, input: Value, result: Value, env: Env<'_>) -> Result<Value, StatesError> {
    finish_assigning(io, None, input, result, env).map(|(v, _)| v)
}

/// Like [`finish`], also evaluating a JSONPath `Assign` on the selected result (after
/// ResultSelector, before ResultPath, as AWS orders it). Returns the output and the Assign
/// object.
pub fn finish_assigning(
    io: &Io,
    assign: Option<&Payload>,
    input: Value,
    result: Value,
    env: Env<'_>,
) -> Result<(Value, Option<Value>), StatesError> {
    inspect::note(Stage::Result, &result);
    let result = match &io.result_selector {
        None => result,
        Some(p) => payload(p, &result, env)?,
    };
    inspect::note(Stage::ResultSelector, &result);
    let assigned = assign.map(|a| payload(a, &result, env)).transpose()?;
    let merged = result_path(&io.result_path, input, result)?;
    Ok((output_path(&io.output_path, merged, env)?, assigned))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asl::path::ReferencePath;
    use crate::asl::scope::NoVariables;
    use crate::asl::template::Template;
    use serde_json::json;

    fn env() -> Env<'static> {
        static NULL: Value = Value::Null;
        Env {
            context: &NULL,
            variables: &NoVariables,
        }
    }

    #[test]
    fn the_full_pipeline_runs_in_aws_order() {
        let io = Io {
            input_path: InOutPath::Path(JsonPath::parse("$.in").unwrap()),
            parameters: Some(Payload::Template(
                Template::compile(&json!({"v.$": "$.x", "k": 1})).unwrap(),
            )),
            result_selector: Some(Payload::Template(
                Template::compile(&json!({"r.$": "$.v"})).unwrap(),
            )),
            result_path: ResultPathSpec::Path(ReferencePath::parse("$.out").unwrap()),
            output_path: InOutPath::Path(JsonPath::parse("$.out").unwrap()),
            output: None,
        };
        let input = json!({"in": {"x": 7}, "keep": true});
        let eff = effective_input(&io, &input, env()).unwrap().into_owned();
        assert_eq!(eff, json!({"v": 7, "k": 1}));
        let out = finish(&io, input, eff, env()).unwrap();
        assert_eq!(out, json!({"r": 7}));
    }

    #[test]
    fn null_paths_and_discarded_results() {
        let input = json!({"a": 1});
        assert_eq!(
            input_path(&InOutPath::Null, &input, env())
                .unwrap()
                .into_owned(),
            json!({})
        );
        assert_eq!(
            result_path(&ResultPathSpec::Discard, input.clone(), json!(5)).unwrap(),
            input
        );
        assert_eq!(
            output_path(&InOutPath::Null, input, env()).unwrap(),
            json!({})
        );
    }

    #[test]
    fn a_missing_input_path_is_a_runtime_error() {
        let err = input_path(
            &InOutPath::Path(JsonPath::parse("$.nope").unwrap()),
            &json!({}),
            env(),
        )
        .unwrap_err();
        assert_eq!(err.name, ErrorName::Runtime);
    }

    #[test]
    fn result_path_under_a_scalar_fails_with_match_failure() {
        let spec = ResultPathSpec::Path(ReferencePath::parse("$.a.b").unwrap());
        let err = result_path(&spec, json!({"a": 1}), json!(2)).unwrap_err();
        assert_eq!(err.name, ErrorName::ResultPathMatchFailure);
    }
}
