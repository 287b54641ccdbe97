//! Facts about one execution and the context object (`$$`) built from them.
//!
//! The context object is built only for states that read `$$` (the model marks them), because
//! it copies the execution input.

use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::frame::Attempt;
use crate::asl::model::State;

/// What the context object and history events need to know about an execution.
#[derive(Clone, Debug)]
pub struct ExecutionInfo {
    /// The execution's ARN-like id (`$$.Execution.Id`).
    pub id: String,
    /// The execution's name (`$$.Execution.Name`).
    pub name: String,
    /// When it started.
    pub start_time: SystemTime,
    /// The execution input (`$$.Execution.Input`).
    pub input: Arc<Value>,
    /// `$$.Execution.RoleArn`.
    pub role_arn: String,
    /// `$$.StateMachine.Id`.
    pub state_machine_id: String,
    /// `$$.StateMachine.Name`.
    pub state_machine_name: String,
    /// The owning tenant, passed on to task runners (`None` in the CLI).
    pub tenant: Option<String>,
    /// `$$.Execution.RedriveCount`: how many times it was redriven.
    pub redrive_count: u32,
    /// When it was last redriven: the machine's `TimeoutSeconds` counts from then (AWS
    /// resets it on a redrive), else from `start_time`.
    pub redrive_time: Option<SystemTime>,
}

impl ExecutionInfo {
    /// Facts for a local, single-user execution (the CLI and benches).
    pub fn local(
        name: &str,
        machine_name: &str,
        input: Arc<Value>,
        start_time: SystemTime,
    ) -> Self {
        let region_account = "local:000000000000";
        ExecutionInfo {
            id: format!("arn:aws:states:{region_account}:execution:{machine_name}:{name}"),
            name: name.to_owned(),
            start_time,
            input,
            role_arn: "arn:aws:iam::000000000000:role/stepwasm".to_owned(),
            state_machine_id: format!(
                "arn:aws:states:{region_account}:stateMachine:{machine_name}"
            ),
            state_machine_name: machine_name.to_owned(),
            tenant: None,
            redrive_count: 0,
            redrive_time: None,
        }
    }
}

/// Formats a time as AWS does in the context object and histories: RFC 3339, UTC, milliseconds.
pub fn format_time(t: SystemTime) -> String {
    // Written field by field (it runs for every history event): the same text as
    // RFC 3339 with the fraction always three digits, as AWS shows it.
    // `OffsetDateTime::from` panics past year 9999 (a Wait `Timestamp` may wait until
    // then); this conversion fails instead.
    let nanos = match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i128::try_from(d.as_nanos()).unwrap_or(i128::MAX),
        Err(e) => -i128::try_from(e.duration().as_nanos()).unwrap_or(i128::MAX),
    };
    let Ok(dt) = OffsetDateTime::from_unix_timestamp_nanos(nanos) else {
        return String::new();
    };
    let year = dt.year();
    if !(0..=9999).contains(&year) {
        // RFC 3339 has no spelling for it.
        return String::new();
    }
    format!(
        "{year:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.millisecond()
    )
}

/// The per-state part of the context object.
#[derive(Clone, Copy, Debug)]
pub struct StateFacts<'a> {
    /// `$$.State.Name`.
    pub name: &'a str,
    /// `$$.State.EnteredTime`.
    pub entered_time: SystemTime,
    /// `$$.State.RetryCount`: only for the state types that can retry (Task, Parallel, Map).
    pub retry_count: Option<u32>,
}

impl<'a> StateFacts<'a> {
    /// The facts of `state` in `attempt`: the one place that decides which `State` fields a
    /// state type's context object has. Every state type gets `RetryCount`, as the shared
    /// conformance cases (context-fields-present-01, jsonata-context-fields-01) read the
    /// developer guide. A recording against AWS shows a Pass state's `$$.State` as
    /// `{Name, EnteredTime}` only (localstack/localstack tests/aws/services/stepfunctions/v2/
    /// context_object/test_context_object.snapshot.json, test_input_path); which one holds is
    /// the lead's call (`retry_count: None` here for non-retrying types would follow the
    /// recording, for all but Task, Parallel and Map).
    pub fn of(state: &'a State, attempt: &Attempt) -> Self {
        StateFacts {
            name: &state.name,
            entered_time: attempt.entered_time(),
            retry_count: Some(attempt.retry_count),
        }
    }
}

/// Builds the context object for one state (and optionally one Map item).
pub fn context_object(
    info: &ExecutionInfo,
    state: StateFacts<'_>,
    map_item: Option<(usize, &Value)>,
    task_token: Option<&str>,
) -> Value {
    let mut execution = Map::new();
    execution.insert("Id".into(), Value::from(info.id.as_str()));
    execution.insert("Input".into(), (*info.input).clone());
    execution.insert("Name".into(), Value::from(info.name.as_str()));
    execution.insert("RoleArn".into(), Value::from(info.role_arn.as_str()));
    execution.insert(
        "StartTime".into(),
        Value::from(format_time(info.start_time)),
    );
    execution.insert("RedriveCount".into(), Value::from(info.redrive_count));
    let mut st = Map::new();
    st.insert(
        "EnteredTime".into(),
        Value::from(format_time(state.entered_time)),
    );
    st.insert("Name".into(), Value::from(state.name));
    if let Some(retries) = state.retry_count {
        st.insert("RetryCount".into(), Value::from(retries));
    }
    let mut machine = Map::new();
    machine.insert("Id".into(), Value::from(info.state_machine_id.as_str()));
    machine.insert("Name".into(), Value::from(info.state_machine_name.as_str()));
    let mut ctx = Map::new();
    ctx.insert("Execution".into(), Value::Object(execution));
    ctx.insert("State".into(), Value::Object(st));
    ctx.insert("StateMachine".into(), Value::Object(machine));
    if let Some(token) = task_token {
        let mut task = Map::new();
        task.insert("Token".into(), Value::from(token));
        ctx.insert("Task".into(), Value::Object(task));
    }
    if let Some((index, value)) = map_item {
        let mut item = Map::new();
        item.insert("Index".into(), Value::from(index));
        item.insert("Value".into(), value.clone());
        let mut map = Map::new();
        map.insert("Item".into(), Value::Object(item));
        ctx.insert("Map".into(), Value::Object(map));
    }
    Value::Object(ctx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn times_have_three_fraction_digits() {
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_120);
        assert_eq!(format_time(t), "2023-11-14T22:13:20.120Z");
        assert_eq!(
            format_time(UNIX_EPOCH + Duration::from_secs(1)),
            "1970-01-01T00:00:01.000Z"
        );
    }

    /// Found by `fuzz_frames_resume`: a stored Wait until 9999-12-31T23:59:55Z, resumed on
    /// a clock that reaches it, formatted an event time past year 9999 and panicked.
    #[test]
    fn times_past_year_9999_format_as_empty_instead_of_panicking() {
        let last = UNIX_EPOCH + Duration::from_millis(253_402_300_799_999);
        assert_eq!(format_time(last), "9999-12-31T23:59:59.999Z");
        assert_eq!(format_time(last + Duration::from_secs(10)), "");
        assert_eq!(format_time(UNIX_EPOCH + Duration::from_secs(1 << 40)), "");
    }

    #[test]
    fn context_has_the_documented_fields() {
        let info =
            ExecutionInfo::local("e1", "sm", Arc::new(serde_json::json!({"a":1})), UNIX_EPOCH);
        let ctx = context_object(
            &info,
            StateFacts {
                name: "S",
                entered_time: UNIX_EPOCH,
                retry_count: Some(2),
            },
            Some((3, &Value::from("x"))),
            None,
        );
        assert_eq!(ctx["Execution"]["Input"]["a"], 1);
        assert_eq!(ctx["Execution"]["Name"], "e1");
        assert_eq!(ctx["State"]["RetryCount"], 2);
        assert_eq!(ctx["StateMachine"]["Name"], "sm");
        assert_eq!(ctx["Map"]["Item"]["Index"], 3);
        assert_eq!(ctx["Map"]["Item"]["Value"], "x");
    }
}
