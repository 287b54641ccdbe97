//! The Fail state: ends its machine with an error name and cause, given literally or read
//! through `ErrorPath`/`CausePath` (a path or an intrinsic function).

use serde_json::Value;

use super::super::execution::{Cx, Work};
use super::super::frame::{Attempt, Outcome};
use super::super::pipeline::Env;
use crate::asl::error::{ErrorName, StatesError};
use crate::asl::model::{State, TextSource};
use crate::asl::scope::resolve_field;

pub(crate) fn run(
    cx: &mut Cx<'_>,
    state: &State,
    error: Option<&TextSource>,
    cause: Option<&TextSource>,
    input: Value,
    attempt: &Attempt,
) -> Work {
    let ctx = cx.context(state, attempt);
    let env = cx.env(&ctx);
    let texts = text(error, "ErrorPath", &input, env)
        .and_then(|e| Ok((e, text(cause, "CausePath", &input, env)?)));
    match texts {
        Ok((error, cause)) => Work::End(Outcome::Failed { error, cause }),
        Err(e) => super::raised(e, attempt),
    }
}

fn text(
    source: Option<&TextSource>,
    field: &str,
    input: &Value,
    env: Env<'_>,
) -> Result<String, StatesError> {
    let value = match source {
        None => return Ok(String::new()),
        Some(TextSource::Literal(s)) => return Ok(s.clone()),
        Some(TextSource::Path(p)) => resolve_field(p, field, &env.scope(input))?,
        Some(TextSource::Intrinsic(i)) => i.evaluate(&env.scope(input))?,
        Some(TextSource::Expr(_)) => return Err(super::map::jsonata_in_jsonpath(field)),
    };
    match value {
        Value::String(s) => Ok(s),
        other => Err(StatesError::new(
            ErrorName::Runtime,
            format!("The {field} of a Fail state must resolve to a string, got {other}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::testkit::run;
    use serde_json::json;

    #[test]
    fn literal_error_and_cause() {
        let def = json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "My.Err", "Cause": "why"}}});
        assert_eq!(
            run(&def, json!({})).unwrap_err(),
            ("My.Err".into(), "why".into())
        );
    }

    #[test]
    fn error_path_and_intrinsic_cause_path() {
        let def = json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "ErrorPath": "$.e",
            "CausePath": "States.Format('code {}', $.n)"}}});
        assert_eq!(
            run(&def, json!({"e": "E1", "n": 3})).unwrap_err(),
            ("E1".into(), "code 3".into())
        );
    }

    #[test]
    fn an_error_path_to_a_non_string_is_a_runtime_error() {
        let def = json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "ErrorPath": "$.e"}}});
        assert_eq!(run(&def, json!({"e": 5})).unwrap_err().0, "States.Runtime");
    }
}
