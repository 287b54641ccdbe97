//! The Wait state: waits a number of seconds or until a timestamp, then passes its input on.
//! The deadline is absolute and lives in the frame, so a waiting execution holds no thread and
//! survives a restart.

use std::time::SystemTime;

use serde_json::Value;

use super::super::durations;
use super::super::execution::{Cx, Work};
use super::super::frame::Attempt;
use super::super::pipeline::{self, Env};
use crate::asl::compare::parse_timestamp;
use crate::asl::error::{ErrorName, StatesError};
use crate::asl::model::{Param, State, WaitFor, timestamp_to_system};
use crate::asl::path::JsonPath;
use crate::asl::scope::{Scope, resolve, resolve_field};

pub(crate) fn run(
    cx: &mut Cx<'_>,
    state: &State,
    wait: &WaitFor,
    input: Value,
    attempt: &Attempt,
) -> Work {
    let ctx = cx.context(state, attempt);
    let env = cx.env(&ctx);
    let planned = plan(cx.now, state, wait, input, env)
        .and_then(|(until, output, a)| super::store_assign(cx, a).map(|()| (until, output)));
    match planned {
        Ok((until, output)) => Work::Sleep(until, output),
        Err(e) => super::raised(e, attempt),
    }
}

fn plan(
    now: SystemTime,
    state: &State,
    wait: &WaitFor,
    input: Value,
    env: Env<'_>,
) -> Result<(SystemTime, Value, Option<Value>), StatesError> {
    let effective = pipeline::state_input_path(&state.io.input_path, &input, env)?;
    let until = match wait {
        WaitFor::Seconds(Param::Value(s)) => durations::wait_until(now, *s, "Seconds")?,
        WaitFor::Seconds(Param::Path(p)) => {
            durations::wait_until(now, seconds_at(p, &env.scope(&effective))?, "SecondsPath")?
        }
        WaitFor::Timestamp(Param::Value(t)) => *t,
        WaitFor::Seconds(Param::Expr(_)) | WaitFor::Timestamp(Param::Expr(_)) => {
            return Err(super::map::jsonata_in_jsonpath("Seconds/Timestamp"));
        }
        WaitFor::Timestamp(Param::Path(p)) => {
            let v = resolve_field(p, "TimestampPath", &env.scope(&effective))?;
            match v.as_str().and_then(parse_timestamp) {
                Some(ts) => timestamp_to_system(ts.unix_nanos()),
                None => {
                    return Err(runtime(format!(
                        "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {p} == {}",
                        shown(&v)
                    )));
                }
            }
        }
    };
    // Assign reads the effective input (a Wait has no result of its own).
    let assigned = state
        .assign
        .as_ref()
        .map(|a| pipeline::payload(a, &effective, env))
        .transpose()?;
    let output = pipeline::output_path(&state.io.output_path, effective.into_owned(), env)?;
    Ok((until, output, assigned))
}

// AWS's wording for a bad SecondsPath/TimestampPath, recorded against AWS in
// localstack/localstack tests/aws/services/stepfunctions/v2/base/test_wait.snapshot.json and
// v2/scenarios/test_base_scenarios.snapshot.json (test_base_wait_seconds_path,
// test_wait_timestamp_path).

/// The seconds `SecondsPath` selects: a non-negative integer (a long, as AWS parses it).
fn seconds_at(p: &JsonPath, scope: &Scope<'_>) -> Result<u64, StatesError> {
    let Some(v) = resolve(p, scope) else {
        return Err(runtime(format!(
            "The SecondsPath parameter does not reference an input value: {p}"
        )));
    };
    match &v {
        Value::Number(n) if n.is_i64() || n.is_u64() => match n.as_u64() {
            Some(s) => Ok(s),
            None => Err(runtime(format!(
                "The SecondsPath parameter references a negative value: {p} == {n}"
            ))),
        },
        other => Err(runtime(format!(
            "The SecondsPath parameter cannot be parsed as a long value: {p} == {}",
            shown(other)
        ))),
    }
}

/// A value as AWS shows it after `==`: a string's text, anything else as JSON.
fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn runtime(cause: String) -> StatesError {
    StatesError::new(ErrorName::Runtime, cause)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use crate::engine::testkit::{event_types, outcome, run_with};
    use serde_json::json;

    const START: u64 = 1_700_000_000;

    fn wait(
        fields: serde_json::Value,
        input: serde_json::Value,
    ) -> (
        Result<serde_json::Value, (String, String)>,
        Vec<std::time::SystemTime>,
    ) {
        let mut state = fields;
        state["Type"] = json!("Wait");
        state["End"] = json!(true);
        let (f, clock) = run_with(
            &json!({"StartAt": "W", "States": {"W": state}}),
            input,
            None,
        );
        (outcome(&f), clock.sleeps())
    }

    #[test]
    fn seconds_sleeps_exactly_that_long_and_passes_input() {
        let (out, sleeps) = wait(json!({"Seconds": 5}), json!({"a": 1}));
        assert_eq!(out.unwrap(), json!({"a": 1}));
        assert_eq!(sleeps, vec![UNIX_EPOCH + Duration::from_secs(START + 5)]);
    }

    #[test]
    fn seconds_path_reads_after_input_path() {
        let (out, sleeps) = wait(
            json!({"InputPath": "$.cfg", "SecondsPath": "$.s"}),
            json!({"cfg": {"s": 2}}),
        );
        assert_eq!(out.unwrap(), json!({"s": 2}));
        assert_eq!(sleeps, vec![UNIX_EPOCH + Duration::from_secs(START + 2)]);
    }

    #[test]
    fn timestamp_and_timestamp_path() {
        let (_, sleeps) = wait(json!({"Timestamp": "2023-11-14T22:13:30Z"}), json!({}));
        assert_eq!(
            sleeps,
            vec![UNIX_EPOCH + Duration::from_secs(1_700_000_010)]
        );
        let (_, sleeps) = wait(
            json!({"TimestampPath": "$.t"}),
            json!({"t": "2023-11-14T22:13:21.5Z"}),
        );
        assert_eq!(
            sleeps,
            vec![UNIX_EPOCH + Duration::from_millis(1_700_000_001_500)]
        );
    }

    #[test]
    fn a_past_timestamp_does_not_wait() {
        let (out, sleeps) = wait(json!({"Timestamp": "2001-01-01T00:00:00Z"}), json!(1));
        assert_eq!(out.unwrap(), json!(1));
        assert!(sleeps.is_empty());
    }

    #[test]
    fn bad_seconds_path_values_are_runtime_errors() {
        for bad in [json!(-1), json!("3"), json!(1.5)] {
            let (out, _) = wait(json!({"SecondsPath": "$.s"}), json!({"s": bad}));
            assert_eq!(out.unwrap_err().0, "States.Runtime");
        }
        let (out, _) = wait(json!({"TimestampPath": "$.t"}), json!({"t": "yesterday"}));
        assert_eq!(out.unwrap_err().0, "States.Runtime");
    }

    #[test]
    fn history_has_wait_events() {
        let (f, _) = run_with(
            &json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": true}}}),
            json!({}),
            None,
        );
        assert_eq!(
            event_types(&f),
            [
                "ExecutionStarted",
                "WaitStateEntered",
                "WaitStateExited",
                "ExecutionSucceeded"
            ]
        );
        assert_eq!(f.history[2].timestamp, "2023-11-14T22:13:21.000Z");
    }
}
