//! Evaluating JSONata field values: the `$states` variable (`input`, `result`,
//! `errorOutput`, `context`; each field sees only what AWS gives it), workflow variables bound
//! as `$name`, Step Functions mode of the evaluator, and the mapping of failures to
//! `States.QueryEvaluationError` (evaluation errors, undefined results where a value is
//! required, results of the wrong type).

use std::time::{Duration, SystemTime};

use std::borrow::Cow;

use serde_json::{Map, Value};
use stepwasm_jsonata::{Environment, VALUE_TOO_DEEP, Variable};

use super::limits::{MAX_VALUE_DEPTH, too_deep};
use super::variables::VarScope;
use crate::asl::compare::parse_timestamp;
use crate::asl::error::{ErrorName, StatesError};
use crate::asl::model::{JsonataTemplate, Param, Payload, timestamp_to_system};
use crate::asl::scope::Variables as _;

/// The longest one expression may run before it is stopped (a hostile `$states` loop).
pub const EXPRESSION_TIME_LIMIT: Duration = Duration::from_secs(10);

/// What one group of fields sees as `$states`.
#[derive(Clone, Copy, Debug)]
pub struct StatesView<'a> {
    /// `$states.input`: the state's raw input.
    pub input: &'a Value,
    /// `$states.context` (`Null` when the state never reads it).
    pub context: &'a Value,
    /// `$states.result` (Output/Assign after the work).
    pub result: Option<&'a Value>,
    /// `$states.errorOutput` (Catcher Output/Assign).
    pub error_output: Option<&'a Value>,
}

impl<'a> StatesView<'a> {
    /// Fields evaluated before the work (Arguments, Items, Condition, Seconds, ...).
    pub fn before(input: &'a Value, context: &'a Value) -> Self {
        StatesView {
            input,
            context,
            result: None,
            error_output: None,
        }
    }

    /// Fields evaluated after the work (Output, Assign).
    pub fn after(input: &'a Value, context: &'a Value, result: &'a Value) -> Self {
        StatesView {
            result: Some(result),
            ..StatesView::before(input, context)
        }
    }

    /// A Catcher's fields.
    pub fn caught(input: &'a Value, context: &'a Value, error_output: &'a Value) -> Self {
        StatesView {
            error_output: Some(error_output),
            ..StatesView::before(input, context)
        }
    }
}

/// What expressions see: `$states` as a record of borrowed fields (built whole only when an
/// expression uses `$states` itself), then the frame's variables, looked up on demand.
struct Scope<'s> {
    states: &'s [(&'s str, &'s Value)],
    vars: &'s VarScope<'s>,
}

impl stepwasm_jsonata::Variables for Scope<'_> {
    fn variable(&self, name: &str) -> Option<Variable<'_>> {
        if name == "states" {
            return Some(Variable::Record(self.states));
        }
        self.vars.get(name).map(Variable::Json)
    }
}

/// An evaluator for the fields of one state step: `$states` fields borrowed (or owned, for
/// Output/Assign, so the default output can be moved out afterwards), variables read on
/// demand; nothing is copied per evaluation.
pub struct Evaluator<'a> {
    input: Cow<'a, Value>,
    context: Cow<'a, Value>,
    result: Option<Cow<'a, Value>>,
    error_output: Option<Cow<'a, Value>>,
    vars: &'a VarScope<'a>,
}

impl<'a> Evaluator<'a> {
    /// An evaluator over a `$states` view and the frame's variables.
    pub fn new(view: StatesView<'a>, vars: &'a VarScope<'a>) -> Self {
        Evaluator {
            input: Cow::Borrowed(view.input),
            context: Cow::Borrowed(view.context),
            result: view.result.map(Cow::Borrowed),
            error_output: view.error_output.map(Cow::Borrowed),
            vars,
        }
    }

    /// An evaluator for Output/Assign that takes the input, context and result by value
    /// (no copy); [`Evaluator::take`] gives them back for the default output.
    pub fn owned(
        input: Value,
        context: Value,
        result: Option<Value>,
        vars: &'a VarScope<'a>,
    ) -> Self {
        Evaluator {
            input: Cow::Owned(input),
            context: Cow::Owned(context),
            result: result.map(Cow::Owned),
            error_output: None,
            vars,
        }
    }

    /// Takes a `$states` field back out (`"input"`, `"result"`, ...).
    pub fn take(&mut self, field: &str) -> Option<Value> {
        let slot = match field {
            "input" => &mut self.input,
            "context" => &mut self.context,
            "result" => self.result.as_mut()?,
            "errorOutput" => self.error_output.as_mut()?,
            _ => return None,
        };
        Some(std::mem::replace(slot, Cow::Owned(Value::Null)).into_owned())
    }

    /// Evaluates `t` with `$states` and the variables bound.
    fn eval(&self, t: &JsonataTemplate, field: &str) -> Result<Value, StatesError> {
        self.with_env(|env| eval_in(t, field, env))
    }

    /// For an Output of the shape `$merge([$states.input, {...}])` over an object input: the
    /// entries of the object the constructor builds, to be merged into the input in place
    /// ([`Evaluator::merge_into_input`]) once nothing reads the input any more. `None` when
    /// the expression has another shape (evaluate it with [`Evaluator::payload`]).
    pub fn input_update(
        &self,
        t: &JsonataTemplate,
        field: &str,
    ) -> Result<Option<Vec<(String, Value)>>, StatesError> {
        let JsonataTemplate::Expr(e) = t else {
            return Ok(None);
        };
        let into_input = e
            .expr
            .merge_base()
            .is_some_and(|b| b.variable == "states" && b.field == "input");
        if !into_input || !self.input.is_object() {
            return Ok(None);
        }
        self.with_env(|env| e.expr.merge_update(env))
            .map_err(|err| expression_failed(&e.source, field, &err))
    }

    /// The Output `$merge([$states.input, update])`, reusing the input (taken out).
    pub fn merge_into_input(&mut self, update: Vec<(String, Value)>) -> Value {
        match self.take("input") {
            Some(Value::Object(input)) => stepwasm_jsonata::merge_objects(input, update),
            // `input_update` gives an update only for an object input.
            other => other.unwrap_or(Value::Null),
        }
    }

    /// Runs `f` with an environment binding `$states` and the variables.
    fn with_env<R>(&self, f: impl FnOnce(&Environment<'_>) -> R) -> R {
        // `$states.context` is left out when the state never reads it (it is `Null` then).
        let mut states: [(&str, &Value); 4] = [("", &Value::Null); 4];
        let mut n = 0;
        let fields = [
            ("input", Some(&*self.input)),
            ("context", Some(&*self.context).filter(|c| !c.is_null())),
            ("result", self.result.as_deref()),
            ("errorOutput", self.error_output.as_deref()),
        ];
        for (name, value) in fields {
            if let Some(v) = value {
                states[n] = (name, v);
                n += 1;
            }
        }
        let scope = Scope {
            states: &states[..n],
            vars: self.vars,
        };
        let mut env = Environment::new();
        env.set_step_functions(true);
        env.set_time_limit(Some(EXPRESSION_TIME_LIMIT));
        // The one bound on values, applied while the expression builds them: a deeper
        // intermediate value fails the state as a deeper output would.
        env.set_max_value_depth(MAX_VALUE_DEPTH);
        env.set_variables(&scope);
        f(&env)
    }

    /// Evaluates a field value; every expression must give a value.
    pub fn value(&self, t: &JsonataTemplate, field: &str) -> Result<Value, StatesError> {
        if let JsonataTemplate::Literal(v) = t {
            return Ok(v.clone());
        }
        self.eval(t, field)
    }

    /// Evaluates an optional payload (Arguments, Output, ItemSelector, Assign).
    pub fn payload(&self, p: Option<&Payload>, field: &str) -> Result<Option<Value>, StatesError> {
        match p {
            None => Ok(None),
            Some(Payload::Jsonata(t)) => self.value(t, field).map(Some),
            Some(Payload::Template(_)) => Err(wrong_language(field)),
        }
    }

    /// A Choice `Condition`: must be a boolean.
    pub fn condition(&self, t: &JsonataTemplate, field: &str) -> Result<bool, StatesError> {
        match self.value(t, field)? {
            Value::Bool(b) => Ok(b),
            other => Err(query_error(format!(
                "The Condition field '{field}' must evaluate to a boolean, but it returned {}",
                short(&other)
            ))),
        }
    }

    /// A non-negative integer field (Seconds, MaxConcurrency, TimeoutSeconds, ...).
    pub fn integer(&self, p: &Param<u64>, field: &str) -> Result<u64, StatesError> {
        match p {
            Param::Value(n) => Ok(*n),
            Param::Expr(t) => {
                let v = self.value(t, field)?;
                let n = v.as_f64().filter(|n| *n >= 0.0 && n.fract() == 0.0);
                match (v.as_u64(), n) {
                    (Some(n), _) => Ok(n),
                    (None, Some(n)) if n <= u64::MAX as f64 => Ok(n as u64),
                    _ => Err(query_error(format!(
                        "The field '{field}' must evaluate to a non-negative integer, but it returned {}",
                        short(&v)
                    ))),
                }
            }
            Param::Path(_) => Err(wrong_language(field)),
        }
    }

    /// A non-negative number field (ToleratedFailureCount/Percentage).
    pub fn number(&self, p: &Param<f64>, field: &str, max: f64) -> Result<f64, StatesError> {
        match p {
            Param::Value(n) => Ok(*n),
            Param::Expr(t) => {
                let v = self.value(t, field)?;
                v.as_f64()
                    .filter(|n| (0.0..=max).contains(n))
                    .ok_or_else(|| {
                        query_error(format!(
                            "The field '{field}' must evaluate to a number from 0 to {max}, but it returned {}",
                            short(&v)
                        ))
                    })
            }
            Param::Path(_) => Err(wrong_language(field)),
        }
    }

    /// A Wait `Timestamp`: an RFC 3339 string.
    pub fn timestamp(&self, p: &Param<SystemTime>, field: &str) -> Result<SystemTime, StatesError> {
        match p {
            Param::Value(t) => Ok(*t),
            Param::Expr(t) => {
                let v = self.value(t, field)?;
                v.as_str()
                    .and_then(parse_timestamp)
                    .map(|ts| timestamp_to_system(ts.unix_nanos()))
                    .ok_or_else(|| {
                        // AWS's wording (recorded: localstack/localstack tests/aws/services/
                        // stepfunctions/v2/scenarios/test_base_scenarios.snapshot.json,
                        // test_wait_timestamp_jsonata).
                        let shown = match &v {
                            Value::String(s) => s.clone(),
                            other => short(other),
                        };
                        query_error(format!(
                            "The {field} field cannot be parsed as an ISO-8601 extended offset date-time format string: {shown}"
                        ))
                    })
            }
            Param::Path(_) => Err(wrong_language(field)),
        }
    }

    /// A Fail `Error`/`Cause` expression: a string.
    pub fn text(&self, t: &JsonataTemplate, field: &str) -> Result<String, StatesError> {
        match self.value(t, field)? {
            Value::String(s) => Ok(s),
            other => Err(query_error(format!(
                "The field '{field}' must evaluate to a string, but it returned {}",
                short(&other)
            ))),
        }
    }
}

fn eval_in(t: &JsonataTemplate, field: &str, env: &Environment<'_>) -> Result<Value, StatesError> {
    match t {
        JsonataTemplate::Literal(v) => Ok(v.clone()),
        JsonataTemplate::Expr(e) => match e.expr.evaluate(None, env) {
            Ok(Some(v)) => Ok(v),
            Ok(None) => Err(query_error(format!(
                "The JSONata expression '{}' specified for the field '{field}' returned nothing (undefined).",
                e.source.trim()
            ))),
            Err(err) => Err(expression_failed(&e.source, field, &err)),
        },
        JsonataTemplate::Object(fields) => {
            let mut m = Map::with_capacity(fields.len());
            for (k, v) in fields {
                m.insert(k.clone(), eval_in(v, &format!("{field}/{k}"), env)?);
            }
            Ok(Value::Object(m))
        }
        JsonataTemplate::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| eval_in(v, &format!("{field}/{i}"), env))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
    }
}

/// AWS's wording (recorded: localstack/localstack tests/aws/services/stepfunctions/v2/
/// scenarios/test_base_scenarios.snapshot.json: "... threw an error during evaluation. T1006:
/// Attempted to invoke a non-function").
fn expression_failed(source: &str, field: &str, err: &stepwasm_jsonata::Error) -> StatesError {
    if err.code == VALUE_TOO_DEEP {
        return too_deep(&format!(
            "value the JSONata expression '{}' specified for the field '{field}' builds",
            source.trim()
        ));
    }
    query_error(format!(
        "The JSONata expression '{}' specified for the field '{field}' threw an error during evaluation. {err}",
        source.trim()
    ))
}

/// A `States.QueryEvaluationError`.
pub fn query_error(cause: impl Into<String>) -> StatesError {
    StatesError::new(ErrorName::QueryEvaluationError, cause)
}

fn wrong_language(field: &str) -> StatesError {
    StatesError::new(
        ErrorName::Runtime,
        format!("The field '{field}' holds a JSONPath value in a JSONata state"),
    )
}

fn short(v: &Value) -> String {
    let text = v.to_string();
    if text.len() > 200 {
        let cut = (0..=200)
            .rev()
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(0);
        format!("{}...", &text[..cut])
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tpl(v: Value) -> JsonataTemplate {
        JsonataTemplate::compile(&v).unwrap()
    }

    #[test]
    fn states_fields_and_variables_are_bound() {
        let mut frames = std::collections::HashMap::new();
        let mut vars = Map::new();
        vars.insert("rate".into(), json!(3));
        frames.insert(
            0,
            crate::engine::frame::Frame {
                parent: None,
                machine: 0,
                cursor: crate::engine::frame::Cursor::Done(
                    crate::engine::frame::Outcome::Succeeded(Value::Null),
                ),
                variables: vars,
                failed_at: None,
            },
        );
        let scope = VarScope::of(&frames, 0);
        let input = json!({"n": 2});
        let result = json!([1, 2]);
        let ctx = json!({"State": {"Name": "S"}});
        let ev = Evaluator::new(StatesView::after(&input, &ctx, &result), &scope);
        let out = ev
            .value(
                &tpl(json!({"a": "{% $states.input.n * $rate %}", "b": ["{% $count($states.result) %}", "lit"], "c": "{% $states.context.State.Name %}"})),
                "Output",
            )
            .unwrap();
        assert_eq!(out, json!({"a": 6, "b": [2, "lit"], "c": "S"}));
    }

    #[test]
    fn failures_are_query_evaluation_errors() {
        let scope = VarScope::default();
        let input = json!({"price": "ten"});
        let ev = Evaluator::new(StatesView::before(&input, &Value::Null), &scope);
        let e = ev
            .value(&tpl(json!("{% $states.input.price * 2 %}")), "Output")
            .unwrap_err();
        assert_eq!(e.name, ErrorName::QueryEvaluationError);
        let e = ev
            .value(&tpl(json!({"x": "{% $states.input.nope %}"})), "Output")
            .unwrap_err();
        assert!(e.cause.contains("undefined"), "{}", e.cause);
        assert!(e.cause.contains("Output/x"), "{}", e.cause);
        let e = ev
            .condition(&tpl(json!("{% 1 %}")), "Condition")
            .unwrap_err();
        assert_eq!(e.name, ErrorName::QueryEvaluationError);
        let e = ev
            .integer(&Param::Expr(tpl(json!("{% -1 %}"))), "Seconds")
            .unwrap_err();
        assert_eq!(e.name, ErrorName::QueryEvaluationError);
        assert_eq!(
            ev.integer(&Param::Expr(tpl(json!("{% 2.0 %}"))), "Seconds")
                .unwrap(),
            2
        );
        // `$states.result` is not there before the work.
        let e = ev
            .value(&tpl(json!("{% $states.result %}")), "Arguments")
            .unwrap_err();
        assert_eq!(e.name, ErrorName::QueryEvaluationError);
    }
}
