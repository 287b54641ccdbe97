//! Retry and Catch rules: every Retrier and Catcher has a non-empty `ErrorEquals`;
//! `States.ALL` stands alone and in the last entry; Retrier numbers are in AWS's ranges
//! (`BackoffRate` ≥ 1, `MaxDelaySeconds` > 0, ...) and `JitterStrategy` is FULL or NONE;
//! a Catcher has `Next`, and its `ResultPath`/`Output` fit the state's query language.
//! (Assign has its own module; where Retry/Catch may appear at all, and whether `Next` names
//! a state, is structural.)

use serde_json::Value;

use super::common::{NumberSpec, check_number, typed_states};
use super::{Code, Diagnostic, MachineCtx, StateCtx, pointer_segment};
use crate::asl::raw::{RawCatcher, RawRetrier};

/// The wildcard error name.
const STATES_ALL: &str = "States.ALL";
/// The longest `IntervalSeconds` / `MaxAttempts` AWS accepts.
const MAX_RETRY_NUMBER: u64 = 99_999_999;
/// The longest `MaxDelaySeconds` AWS accepts (a year and a day).
const MAX_DELAY_SECONDS: u64 = 31_622_400;

pub(super) fn check(machines: &[MachineCtx<'_>], out: &mut Vec<Diagnostic>) {
    for s in typed_states(machines) {
        let retriers = s.state.retry.as_deref().unwrap_or(&[]);
        for (i, r) in retriers.iter().enumerate() {
            let at = format!("{}/Retry/{i}", s.location);
            error_equals(r.error_equals.as_deref(), &at, i + 1 == retriers.len(), out);
            retrier(r, &at, out);
        }
        let catchers = s.state.catch.as_deref().unwrap_or(&[]);
        for (i, c) in catchers.iter().enumerate() {
            let at = format!("{}/Catch/{i}", s.location);
            error_equals(c.error_equals.as_deref(), &at, i + 1 == catchers.len(), out);
            catcher(&s, c, &at, out);
        }
    }
}

/// `ErrorEquals`: present, non-empty, `States.ALL` alone and only in the last entry.
fn error_equals(names: Option<&[String]>, at: &str, last: bool, out: &mut Vec<Diagnostic>) {
    let here = format!("{at}/ErrorEquals");
    let Some(names) = names else {
        out.push(Diagnostic::error(
            Code::InvalidErrorHandler,
            here,
            "missing required field ErrorEquals",
        ));
        return;
    };
    if names.is_empty() {
        out.push(Diagnostic::error(
            Code::InvalidErrorHandler,
            here,
            "ErrorEquals needs at least one error name",
        ));
        return;
    }
    if names.iter().any(|n| n == STATES_ALL) {
        if names.len() > 1 {
            out.push(Diagnostic::error(
                Code::InvalidErrorHandler,
                here.clone(),
                "States.ALL must be the only error name in its ErrorEquals",
            ));
        }
        if !last {
            out.push(Diagnostic::error(
                Code::InvalidErrorHandler,
                here,
                "an entry matching States.ALL must be the last one",
            ));
        }
    }
    for (i, name) in names.iter().enumerate() {
        if name.is_empty() {
            out.push(Diagnostic::error(
                Code::InvalidErrorHandler,
                format!("{at}/ErrorEquals/{i}"),
                "an error name cannot be empty",
            ));
        }
    }
}

fn retrier(r: &RawRetrier, at: &str, out: &mut Vec<Diagnostic>) {
    unknown_fields(&r.extra, at, "Retrier", out);
    let mut number = |value: &Option<Value>, name: &str, spec: NumberSpec| {
        if let Some(v) = value {
            let loc = format!("{at}/{name}");
            check_number(v, false, name, loc, spec, Code::InvalidErrorHandler, out);
        }
    };
    number(
        &r.interval_seconds,
        "IntervalSeconds",
        NumberSpec::int(1, MAX_RETRY_NUMBER),
    );
    number(
        &r.max_attempts,
        "MaxAttempts",
        NumberSpec::int(0, MAX_RETRY_NUMBER),
    );
    number(
        &r.backoff_rate,
        "BackoffRate",
        NumberSpec {
            min: 1.0,
            max: f64::MAX,
            integer: false,
        },
    );
    number(
        &r.max_delay_seconds,
        "MaxDelaySeconds",
        NumberSpec::int(1, MAX_DELAY_SECONDS),
    );
    if let Some(j) = &r.jitter_strategy
        && j != "FULL"
        && j != "NONE"
    {
        out.push(Diagnostic::error(
            Code::InvalidErrorHandler,
            format!("{at}/JitterStrategy"),
            format!("JitterStrategy must be \"FULL\" or \"NONE\", not {j:?}"),
        ));
    }
}

fn catcher(s: &StateCtx<'_>, c: &RawCatcher, at: &str, out: &mut Vec<Diagnostic>) {
    unknown_fields(&c.extra, at, "Catcher", out);
    if c.next.is_none() {
        out.push(Diagnostic::error(
            Code::InvalidErrorHandler,
            format!("{at}/Next"),
            "a Catcher needs Next: the state to go to when it matches",
        ));
    }
    let misplaced = if s.is_jsonata() {
        c.result_path
            .is_some()
            .then_some(("ResultPath", "JSONPath"))
    } else {
        c.output.is_some().then_some(("Output", "JSONata"))
    };
    if let Some((field, language)) = misplaced {
        out.push(Diagnostic::error(
            Code::SchemaValidationFailed,
            format!("{at}/{field}"),
            format!("a Catcher's {field} is only allowed in a {language} state"),
        ));
    }
}

fn unknown_fields(
    extra: &serde_json::Map<String, Value>,
    at: &str,
    what: &str,
    out: &mut Vec<Diagnostic>,
) {
    for key in extra.keys() {
        out.push(Diagnostic::error(
            Code::SchemaValidationFailed,
            format!("{at}/{}", pointer_segment(key)),
            format!("unknown field {key:?} in a {what}"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::Code;
    use super::super::common::testing::{assert_error, assert_valid, one_jsonata_state, one_state};

    fn task(handlers: &str) -> String {
        one_state(&format!(
            r#"{{"Type":"Task","Resource":"wasm:r","Next":"Done",{handlers}}}"#
        ))
    }

    #[test]
    fn well_formed_handlers_pass() {
        assert_valid(&task(
            r#""Retry":[{"ErrorEquals":["A","B"],"IntervalSeconds":2,"MaxAttempts":0,"BackoffRate":1.5,
                "MaxDelaySeconds":10,"JitterStrategy":"FULL"},{"ErrorEquals":["States.ALL"]}],
               "Catch":[{"ErrorEquals":["States.ALL"],"Next":"Done","ResultPath":"$.e"}]"#,
        ));
    }

    #[test]
    fn error_equals_must_be_present_and_non_empty() {
        let def = task(r#""Retry":[{"MaxAttempts":1}],"Catch":[{"ErrorEquals":[],"Next":"Done"}]"#);
        assert_error(
            &def,
            Code::InvalidErrorHandler,
            "/States/S/Retry/0/ErrorEquals",
        );
        assert_error(
            &def,
            Code::InvalidErrorHandler,
            "/States/S/Catch/0/ErrorEquals",
        );
        let empty_name = task(r#""Catch":[{"ErrorEquals":[""],"Next":"Done"}]"#);
        assert_error(
            &empty_name,
            Code::InvalidErrorHandler,
            "/States/S/Catch/0/ErrorEquals/0",
        );
    }

    #[test]
    fn states_all_must_be_alone_and_last() {
        let alone = task(r#""Retry":[{"ErrorEquals":["States.ALL","X"]}]"#);
        assert_error(
            &alone,
            Code::InvalidErrorHandler,
            "/States/S/Retry/0/ErrorEquals",
        );
        let last = task(
            r#""Catch":[{"ErrorEquals":["States.ALL"],"Next":"Done"},{"ErrorEquals":["X"],"Next":"Done"}]"#,
        );
        assert_error(
            &last,
            Code::InvalidErrorHandler,
            "/States/S/Catch/0/ErrorEquals",
        );
    }

    #[test]
    fn retrier_numbers_are_range_checked() {
        let def = task(
            r#""Retry":[{"ErrorEquals":["X"],"IntervalSeconds":0,"MaxAttempts":-1,"BackoffRate":0.5,"MaxDelaySeconds":0}]"#,
        );
        for field in [
            "IntervalSeconds",
            "MaxAttempts",
            "BackoffRate",
            "MaxDelaySeconds",
        ] {
            assert_error(
                &def,
                Code::InvalidErrorHandler,
                &format!("/States/S/Retry/0/{field}"),
            );
        }
        let fractional = task(r#""Retry":[{"ErrorEquals":["X"],"MaxAttempts":1.5}]"#);
        assert_error(
            &fractional,
            Code::InvalidErrorHandler,
            "/States/S/Retry/0/MaxAttempts",
        );
        let wrong_type = task(r#""Retry":[{"ErrorEquals":["X"],"BackoffRate":"2"}]"#);
        assert_error(
            &wrong_type,
            Code::SchemaValidationFailed,
            "/States/S/Retry/0/BackoffRate",
        );
    }

    #[test]
    fn jitter_strategy_is_full_or_none() {
        let def = task(r#""Retry":[{"ErrorEquals":["X"],"JitterStrategy":"PARTIAL"}]"#);
        assert_error(
            &def,
            Code::InvalidErrorHandler,
            "/States/S/Retry/0/JitterStrategy",
        );
        assert_valid(&task(
            r#""Retry":[{"ErrorEquals":["X"],"JitterStrategy":"NONE"}]"#,
        ));
    }

    #[test]
    fn catcher_needs_next() {
        let def = task(r#""Catch":[{"ErrorEquals":["X"],"ResultPath":"$.e"}]"#);
        assert_error(&def, Code::InvalidErrorHandler, "/States/S/Catch/0/Next");
    }

    #[test]
    fn unknown_fields_in_entries_are_reported() {
        let def = task(
            r#""Retry":[{"ErrorEquals":["X"],"Backoff":2}],"Catch":[{"ErrorEquals":["X"],"Next":"Done","Goto":"Done"}]"#,
        );
        assert_error(
            &def,
            Code::SchemaValidationFailed,
            "/States/S/Retry/0/Backoff",
        );
        assert_error(&def, Code::SchemaValidationFailed, "/States/S/Catch/0/Goto");
    }

    #[test]
    fn catcher_fields_follow_the_query_language() {
        let jsonpath = task(r#""Catch":[{"ErrorEquals":["X"],"Next":"Done","Output":{}}]"#);
        assert_error(
            &jsonpath,
            Code::SchemaValidationFailed,
            "/States/S/Catch/0/Output",
        );
        let jsonata = one_jsonata_state(
            r#"{"Type":"Task","Resource":"wasm:r","Next":"Done","Catch":[{"ErrorEquals":["X"],"Next":"Done","ResultPath":"$.e"}]}"#,
        );
        assert_error(
            &jsonata,
            Code::SchemaValidationFailed,
            "/States/S/Catch/0/ResultPath",
        );
    }
}
