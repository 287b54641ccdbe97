//! The Wait state: waits a number of seconds or until a timestamp, then passes its input on.
//! The deadline is absolute and lives in the frame, so a waiting execution holds no thread and
//! survives a restart.

use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::super::execution::{Cx, Work};
use super::super::frame::{Attempt, Outcome};
use super::super::pipeline::{self, Env};
use crate::asl::compare::parse_timestamp;
use crate::asl::error::{ErrorName, StatesError};
use crate::asl::model::{Param, State, WaitFor, timestamp_to_system};
use crate::asl::scope::resolve_field;

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
        Err(e) => Work::End(Outcome::failed(e)),
    }
}

fn plan(
    now: SystemTime,
    state: &State,
    wait: &WaitFor,
    input: Value,
    env: Env<'_>,
) -> Result<(SystemTime, Value, Option<Value>), StatesError> {
    let effective = pipeline::input_path(&state.io.input_path, "InputPath", &input, env)?;
    let until = match wait {
        WaitFor::Seconds(Param::Value(s)) => now + Duration::from_secs(*s),
        WaitFor::Seconds(Param::Path(p)) => {
            let v = resolve_field(p, "SecondsPath", &env.scope(&effective))?;
            match v.as_u64() {
                Some(s) => now + Duration::from_secs(s),
                None => {
                    return Err(StatesError::new(
                        ErrorName::Runtime,
                        format!(
                            "The SecondsPath '{}' must point to a non-negative integer, got {v}",
                            p.as_str()
                        ),
                    ));
                }
            }
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
                    return Err(StatesError::new(
                        ErrorName::Runtime,
                        format!(
                            "The TimestampPath '{}' must point to an RFC 3339 timestamp, got {v}",
                            p.as_str()
                        ),
                    ));
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
