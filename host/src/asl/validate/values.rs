//! Field values and field pairs of the Task, Wait and Fail states and of the machine itself:
//! required fields, field shapes (`Resource` a URI), literal numbers
//! in AWS's ranges, RFC 3339 timestamps, and the literal vs `*Path` pairs of which at most one
//! may be set (`Error`/`ErrorPath`, `TimeoutSeconds`/`TimeoutSecondsPath`, ...). Map and
//! Parallel have their own module.

use serde_json::Value;

use super::common::{
    NumberSpec, check_number, exclusive, is_jsonata_expr, is_uri, literal_f64, state_type,
    typed_states,
};
use super::{Code, Diagnostic, MachineCtx, StateCtx};
use crate::asl::compare::parse_timestamp;

/// The largest `Seconds` of a Wait state, and of the timeouts.
pub const MAX_SECONDS: u64 = 99_999_999;

pub(super) fn check(machines: &[MachineCtx<'_>], out: &mut Vec<Diagnostic>) {
    if let Some(top) = machines.first()
        && let Some(timeout) = &top.machine.timeout_seconds
    {
        let loc = format!("{}/TimeoutSeconds", top.location);
        let spec = NumberSpec::int(1, MAX_SECONDS);
        check_number(
            timeout,
            false,
            "TimeoutSeconds",
            loc,
            spec,
            Code::InvalidValue,
            out,
        );
    }
    for s in typed_states(machines) {
        match state_type(&s) {
            "Task" => task(&s, out),
            "Wait" => wait(&s, out),
            "Fail" => fail(&s, out),
            _ => {}
        }
    }
}

fn task(s: &StateCtx<'_>, out: &mut Vec<Diagnostic>) {
    let st = s.state;
    match st.resource.as_deref() {
        None => out.push(Diagnostic::error(
            Code::SchemaValidationFailed,
            s.at("Resource"),
            "a Task state needs a Resource",
        )),
        Some(r) if !is_uri(r) => out.push(Diagnostic::error(
            Code::InvalidValue,
            s.at("Resource"),
            format!(
                "Resource {r:?} must be a URI such as wasm:NAME (a scheme, ':', then the rest)"
            ),
        )),
        Some(_) => {}
    }
    let spec = NumberSpec::int(1, MAX_SECONDS);
    let pairs = [
        (
            "TimeoutSeconds",
            &st.timeout_seconds,
            &st.timeout_seconds_path,
        ),
        (
            "HeartbeatSeconds",
            &st.heartbeat_seconds,
            &st.heartbeat_seconds_path,
        ),
    ];
    for (name, literal, path) in pairs {
        exclusive(literal.is_some(), path.is_some(), &s.location, name, out);
        if let Some(v) = literal {
            check_number(
                v,
                s.is_jsonata(),
                name,
                s.at(name),
                spec,
                Code::InvalidValue,
                out,
            );
        }
    }
    if let (Some(timeout), Some(heartbeat)) = (
        literal_f64(st.timeout_seconds.as_ref()),
        literal_f64(st.heartbeat_seconds.as_ref()),
    ) && heartbeat >= timeout
    {
        out.push(Diagnostic::error(
            Code::InvalidValue,
            s.at("HeartbeatSeconds"),
            format!(
                "HeartbeatSeconds ({heartbeat}) must be smaller than TimeoutSeconds ({timeout})"
            ),
        ));
    }
}

fn wait(s: &StateCtx<'_>, out: &mut Vec<Diagnostic>) {
    let st = s.state;
    let set: Vec<&str> = [
        ("Seconds", st.seconds.is_some()),
        ("SecondsPath", st.seconds_path.is_some()),
        ("Timestamp", st.timestamp.is_some()),
        ("TimestampPath", st.timestamp_path.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, present)| present.then_some(name))
    .collect();
    if set.len() != 1 {
        let found = if set.is_empty() {
            "none".to_owned()
        } else {
            set.join(", ")
        };
        out.push(Diagnostic::error(
            Code::FieldConflict,
            s.location.clone(),
            format!(
                "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath; found {found}"
            ),
        ));
    }
    if let Some(v) = &st.seconds {
        let spec = NumberSpec::int(0, MAX_SECONDS);
        check_number(
            v,
            s.is_jsonata(),
            "Seconds",
            s.at("Seconds"),
            spec,
            Code::InvalidValue,
            out,
        );
    }
    if let Some(v) = &st.timestamp {
        timestamp(v, s.is_jsonata(), s.at("Timestamp"), out);
    }
}

fn timestamp(v: &Value, jsonata: bool, at: String, out: &mut Vec<Diagnostic>) {
    match v {
        Value::String(_) if jsonata && is_jsonata_expr(v) => {}
        Value::String(text) => {
            if parse_timestamp(text).is_none() {
                out.push(Diagnostic::error(
                    Code::InvalidValue,
                    at,
                    format!(
                        "Timestamp {text:?} is not an RFC 3339 timestamp with an upper-case T and a Z or offset, such as 2026-01-01T00:00:00Z"
                    ),
                ));
            }
        }
        other => out.push(Diagnostic::error(
            Code::SchemaValidationFailed,
            at,
            format!("Timestamp must be a string, not {other}"),
        )),
    }
}

fn fail(s: &StateCtx<'_>, out: &mut Vec<Diagnostic>) {
    let st = s.state;
    exclusive(
        st.error.is_some(),
        st.error_path.is_some(),
        &s.location,
        "Error",
        out,
    );
    exclusive(
        st.cause.is_some(),
        st.cause_path.is_some(),
        &s.location,
        "Cause",
        out,
    );
}

#[cfg(test)]
mod tests {
    use super::super::Code;
    use super::super::common::testing::{assert_error, assert_valid, one_jsonata_state, one_state};

    fn wait(fields: &str) -> String {
        one_state(&format!(r#"{{"Type":"Wait","Next":"Done",{fields}}}"#))
    }

    #[test]
    fn wait_needs_exactly_one_duration_field() {
        let none = one_state(r#"{"Type":"Wait","Next":"Done"}"#);
        assert_error(&none, Code::FieldConflict, "/States/S");
        let two = wait(r#""Seconds":1,"TimestampPath":"$.t""#);
        assert_error(&two, Code::FieldConflict, "/States/S");
        assert_valid(&wait(r#""SecondsPath":"$.d""#));
    }

    #[test]
    fn wait_seconds_range() {
        assert_error(
            &wait(r#""Seconds":-1"#),
            Code::InvalidValue,
            "/States/S/Seconds",
        );
        assert_error(
            &wait(r#""Seconds":100000000"#),
            Code::InvalidValue,
            "/States/S/Seconds",
        );
        assert_error(
            &wait(r#""Seconds":"5""#),
            Code::SchemaValidationFailed,
            "/States/S/Seconds",
        );
        assert_valid(&wait(r#""Seconds":99999999"#));
        assert_valid(&wait(r#""Seconds":0"#));
    }

    #[test]
    fn wait_seconds_may_be_an_expression_in_jsonata_only() {
        assert_valid(&one_jsonata_state(
            r#"{"Type":"Wait","Next":"Done","Seconds":"{% $x %}"}"#,
        ));
        assert_error(
            &wait(r#""Seconds":"{% $x %}""#),
            Code::SchemaValidationFailed,
            "/States/S/Seconds",
        );
        assert_error(
            &one_jsonata_state(r#"{"Type":"Wait","Next":"Done","Seconds":"soon"}"#),
            Code::SchemaValidationFailed,
            "/States/S/Seconds",
        );
    }

    #[test]
    fn wait_timestamp_format() {
        assert_error(
            &wait(r#""Timestamp":"2024-01-01 10:00:00""#),
            Code::InvalidValue,
            "/States/S/Timestamp",
        );
        assert_error(
            &wait(r#""Timestamp":"2024-01-01t10:00:00z""#),
            Code::InvalidValue,
            "/States/S/Timestamp",
        );
        assert_error(
            &wait(r#""Timestamp":5"#),
            Code::SchemaValidationFailed,
            "/States/S/Timestamp",
        );
        assert_valid(&wait(r#""Timestamp":"2024-01-01T10:00:00+02:00""#));
        assert_valid(&one_jsonata_state(
            r#"{"Type":"Wait","Next":"Done","Timestamp":"{% $t %}"}"#,
        ));
    }

    #[test]
    fn fail_error_and_cause_pairs() {
        let def = one_state(
            r#"{"Type":"Fail","Error":"E","ErrorPath":"$.e","Cause":"C","CausePath":"$.c"}"#,
        );
        assert_error(&def, Code::FieldConflict, "/States/S/ErrorPath");
        assert_error(&def, Code::FieldConflict, "/States/S/CausePath");
        assert_valid(&one_state(
            r#"{"Type":"Fail","ErrorPath":"$.e","Cause":"C"}"#,
        ));
    }

    #[test]
    fn task_needs_a_resource_uri() {
        assert_error(
            &one_state(r#"{"Type":"Task","Next":"Done"}"#),
            Code::SchemaValidationFailed,
            "/States/S/Resource",
        );
        for bad in ["price", "", ":x", "wasm:", "9p:x"] {
            assert_error(
                &one_state(&format!(
                    r#"{{"Type":"Task","Resource":"{bad}","Next":"Done"}}"#
                )),
                Code::InvalidValue,
                "/States/S/Resource",
            );
        }
        for good in ["wasm:price:2", "arn:aws:states:::lambda:invoke"] {
            assert_valid(&one_state(&format!(
                r#"{{"Type":"Task","Resource":"{good}","Next":"Done"}}"#
            )));
        }
    }

    #[test]
    fn task_timeouts() {
        let both = one_state(
            r#"{"Type":"Task","Resource":"wasm:r","Next":"Done","TimeoutSeconds":5,"TimeoutSecondsPath":"$.t",
                "HeartbeatSeconds":1,"HeartbeatSecondsPath":"$.h"}"#,
        );
        assert_error(&both, Code::FieldConflict, "/States/S/TimeoutSecondsPath");
        assert_error(&both, Code::FieldConflict, "/States/S/HeartbeatSecondsPath");
        let heartbeat = one_state(
            r#"{"Type":"Task","Resource":"wasm:r","Next":"Done","TimeoutSeconds":5,"HeartbeatSeconds":5}"#,
        );
        assert_error(&heartbeat, Code::InvalidValue, "/States/S/HeartbeatSeconds");
        let zero =
            one_state(r#"{"Type":"Task","Resource":"wasm:r","Next":"Done","TimeoutSeconds":0}"#);
        assert_error(&zero, Code::InvalidValue, "/States/S/TimeoutSeconds");
        assert_valid(&one_state(
            r#"{"Type":"Task","Resource":"wasm:r","Next":"Done","TimeoutSeconds":5,"HeartbeatSeconds":4}"#,
        ));
        assert_valid(&one_jsonata_state(
            r#"{"Type":"Task","Resource":"wasm:r","Next":"Done","TimeoutSeconds":"{% $t %}","HeartbeatSeconds":4}"#,
        ));
    }

    #[test]
    fn machine_timeout_is_a_positive_integer() {
        assert_error(
            r#"{"TimeoutSeconds":0,"StartAt":"A","States":{"A":{"Type":"Succeed"}}}"#,
            Code::InvalidValue,
            "/TimeoutSeconds",
        );
        assert_valid(r#"{"TimeoutSeconds":30,"StartAt":"A","States":{"A":{"Type":"Succeed"}}}"#);
    }
}
