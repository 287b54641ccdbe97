//! Execution limits with AWS's defaults, configurable per run (and, in the service, per tenant).

use serde_json::Value;

use super::time_scale::TimeScale;
use crate::asl::error::{ErrorName, StatesError};

/// AWS's payload quota: 256 KiB of UTF-8 per state input/output, task result and execution
/// input/output.
pub const DEFAULT_MAX_PAYLOAD_BYTES: usize = 262_144;

/// AWS's Standard-workflow history quota: an execution fails when its history would grow past
/// 25,000 events. It applies when history is recorded (the durable service, `run --history`);
/// Express-like runs that keep no history (the CLI by default, `bench`) have no such limit.
pub const DEFAULT_MAX_HISTORY_EVENTS: u64 = 25_000;

/// The deepest a value may nest, in arrays and objects (`[]` is one level, `[[1]]` two), the
/// same everywhere: an execution's input, every state's output and result, task input and
/// result, variables. A frame wraps its values in at most five more levels and serde_json
/// decodes at most 127, so every value accepted here can be stored and read back; deeper
/// data fails the execution with `States.Runtime` (as a value AWS could not process).
pub const MAX_VALUE_DEPTH: usize = 100;

/// Whether `value` nests at most `max` arrays/objects deep. Stops descending past `max`, so
/// the recursion is bounded whatever the value.
pub fn depth_within(value: &Value, max: usize) -> bool {
    match value {
        Value::Array(items) => max > 0 && items.iter().all(|v| depth_within(v, max - 1)),
        Value::Object(map) => max > 0 && map.values().all(|v| depth_within(v, max - 1)),
        _ => true,
    }
}

/// `States.Runtime` when `value` nests deeper than [`MAX_VALUE_DEPTH`]; `what` names it.
pub fn check_depth(value: &Value, what: &str) -> Result<(), StatesError> {
    if depth_within(value, MAX_VALUE_DEPTH) {
        return Ok(());
    }
    Err(too_deep(what))
}

/// The `States.Runtime` error for a value (`what`) nesting deeper than [`MAX_VALUE_DEPTH`].
pub fn too_deep(what: &str) -> StatesError {
    StatesError::new(
        ErrorName::Runtime,
        format!(
            "The {what} nests deeper than the maximum of {MAX_VALUE_DEPTH} levels of arrays and objects"
        ),
    )
}

/// Limits for one execution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest payload in bytes (`None`: unlimited). Exceeding it is `States.DataLimitExceeded`.
    pub max_payload_bytes: Option<usize>,
    /// Largest history in events (`None`: unlimited); checked only while recording history.
    pub max_history_events: Option<u64>,
    /// Test-only factor on Wait and Retry durations (`--wait-time-scale`).
    pub time_scale: TimeScale,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_payload_bytes: Some(DEFAULT_MAX_PAYLOAD_BYTES),
            max_history_events: Some(DEFAULT_MAX_HISTORY_EVENTS),
            time_scale: TimeScale::default(),
        }
    }
}

/// The length of `value` serialized as compact JSON (as serde_json writes it), or `None` as
/// soon as it exceeds `bound`: checking a huge payload costs at most the bound, and nothing is
/// formatted.
pub fn json_len(value: &Value, bound: usize) -> Option<usize> {
    let mut n = 0usize;
    add_len(value, &mut n, bound).then_some(n)
}

fn add_len(value: &Value, n: &mut usize, bound: usize) -> bool {
    *n += match value {
        Value::Null => 4,
        Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::Number(num) => number_len(num),
        Value::String(s) => string_len(s),
        Value::Array(items) => {
            *n += 2 + items.len().saturating_sub(1);
            for item in items {
                if !add_len(item, n, bound) {
                    return false;
                }
            }
            0
        }
        Value::Object(map) => {
            // Braces, a colon per entry, commas between entries.
            *n += 2 + map.len() + map.len().saturating_sub(1);
            for (key, item) in map {
                *n += string_len(key);
                if !add_len(item, n, bound) {
                    return false;
                }
            }
            0
        }
    };
    *n <= bound
}

/// Extra bytes serde_json's escaping adds per input byte: `\"`-style escapes add 1, `\u00XX` adds 5.
const ESCAPE_EXTRA: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = 5;
        b += 1;
    }
    t[b'"' as usize] = 1;
    t[b'\\' as usize] = 1;
    t[b'\n' as usize] = 1;
    t[b'\r' as usize] = 1;
    t[b'\t' as usize] = 1;
    t[0x08] = 1;
    t[0x0c] = 1;
    t
};

fn string_len(s: &str) -> usize {
    let escapes: usize = s.bytes().map(|b| ESCAPE_EXTRA[b as usize] as usize).sum();
    s.len() + 2 + escapes
}

/// An upper bound of the serialized length, found without scanning string bytes or formatting
/// numbers; `None` once it passes `bound`. Most payloads are far below the limit, and this settles
/// them at the cost of a tree walk.
fn upper_len(value: &Value, n: &mut usize, bound: usize) -> bool {
    // Every escape is at most 6 bytes (`\u00XX`); no f64/i64/u64 prints longer than 24.
    *n += match value {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 24,
        Value::String(s) => 6 * s.len() + 2,
        Value::Array(items) => {
            *n += 2 + items.len();
            for item in items {
                if !upper_len(item, n, bound) {
                    return false;
                }
            }
            0
        }
        Value::Object(map) => {
            *n += 2 + 2 * map.len();
            for (key, item) in map {
                *n += 6 * key.len() + 2;
                if !upper_len(item, n, bound) {
                    return false;
                }
            }
            0
        }
    };
    *n <= bound
}

/// Whether `value` serializes to at most `bound` bytes of compact JSON.
pub fn fits(value: &Value, bound: usize) -> bool {
    let mut upper = 0usize;
    upper_len(value, &mut upper, bound) || json_len(value, bound).is_some()
}

fn number_len(num: &serde_json::Number) -> usize {
    struct Count(usize);
    impl std::fmt::Write for Count {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0 += s.len();
            Ok(())
        }
    }
    let mut c = Count(0);
    let _ = std::fmt::Write::write_fmt(&mut c, format_args!("{num}"));
    c.0
}

impl Limits {
    /// No limits at all.
    pub fn unlimited() -> Self {
        Limits {
            max_payload_bytes: None,
            max_history_events: None,
            time_scale: TimeScale::default(),
        }
    }

    /// Fails with `States.DataLimitExceeded` when `value` serializes to more than the payload
    /// limit, and with `States.Runtime` when it nests deeper than [`MAX_VALUE_DEPTH`]. `what`
    /// names the payload in the cause.
    pub fn check_payload(&self, value: &Value, what: &str) -> Result<(), StatesError> {
        check_depth(value, what)?;
        let Some(bound) = self.max_payload_bytes else {
            return Ok(());
        };
        if !fits(value, bound) {
            return Err(StatesError::new(
                ErrorName::DataLimitExceeded,
                format!(
                    "The {what} has a size exceeding the maximum number of bytes service limit of {bound} bytes"
                ),
            ));
        }
        Ok(())
    }

    /// Fails with `States.DataLimitExceeded` in AWS's words when a state's (or task's) result
    /// is over the payload limit: "The state/task '<who>' returned a result with a size
    /// exceeding the maximum number of bytes service limit." (recorded: localstack/localstack
    /// tests/aws/services/stepfunctions/v2/error_handling/test_states_errors.snapshot.json).
    /// `who` is the state's name, or for a Task what it calls (see [`task_subject`]).
    pub fn check_result(&self, value: &Value, who: &str) -> Result<(), StatesError> {
        match self.max_payload_bytes {
            Some(bound) if !fits(value, bound) => Err(StatesError::new(
                ErrorName::DataLimitExceeded,
                format!(
                    "The state/task '{who}' returned a result with a size exceeding the maximum number of bytes service limit."
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// What AWS names in a Task's data-limit cause: the service of an optimized integration
/// (`arn:aws:states:::lambda:invoke` → `lambda`), otherwise the resource itself (a Lambda
/// function ARN, a component).
pub fn task_subject(resource: &str) -> &str {
    match resource.strip_prefix("arn:aws:states:::") {
        Some(rest) => rest.split([':', '.']).next().unwrap_or(rest),
        None => resource,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_limit_is_exact() {
        let limits = Limits {
            max_payload_bytes: Some(7),
            max_history_events: None,
            ..Limits::default()
        };
        assert!(
            limits
                .check_payload(&Value::from("12345"), "output")
                .is_ok()
        ); // 7 bytes with quotes
        let err = limits
            .check_payload(&Value::from("123456"), "output")
            .unwrap_err();
        assert_eq!(err.name, ErrorName::DataLimitExceeded);
        assert!(
            Limits::unlimited()
                .check_payload(&Value::from("x".repeat(1000)), "o")
                .is_ok()
        );
    }

    fn nested(levels: usize) -> Value {
        (0..levels).fold(Value::from(1), |v, i| {
            if i % 2 == 0 {
                Value::Array(vec![v])
            } else {
                serde_json::json!({ "k": v })
            }
        })
    }

    #[test]
    fn depth_is_bounded_in_payload_checks() {
        assert!(depth_within(&Value::from(1), 0));
        assert!(depth_within(&serde_json::json!([]), 1));
        assert!(!depth_within(&serde_json::json!([]), 0));
        assert!(depth_within(&nested(MAX_VALUE_DEPTH), MAX_VALUE_DEPTH));
        assert!(!depth_within(&nested(MAX_VALUE_DEPTH + 1), MAX_VALUE_DEPTH));
        let limits = Limits::unlimited();
        assert!(limits.check_payload(&nested(MAX_VALUE_DEPTH), "o").is_ok());
        let err = limits
            .check_payload(&nested(MAX_VALUE_DEPTH + 1), "state output")
            .unwrap_err();
        assert_eq!(err.name, ErrorName::Runtime);
        assert!(
            err.cause.contains("state output nests deeper"),
            "{}",
            err.cause
        );
    }

    /// Every place a frame keeps a value, at the deepest value allowed, reads back: the
    /// frame wraps values in at most five levels and serde_json reads 127.
    #[test]
    fn frames_holding_the_deepest_values_read_back() {
        use crate::engine::frame::{Attempt, Children, Cursor, FailedAt, Frame, Outcome, encode};
        let deep = nested(MAX_VALUE_DEPTH);
        let children = Children {
            input: deep.clone(),
            pending: vec![(1, deep.clone())],
            is_map: true,
            ..crate::engine::states::empty_children()
        };
        let cursors = [
            Cursor::Enter {
                state: 0,
                input: deep.clone(),
            },
            Cursor::Task {
                state: 0,
                input: deep.clone(),
                effective: deep.clone(),
                attempt: Attempt::default(),
            },
            Cursor::Waiting {
                state: 0,
                output: deep.clone(),
                until_ms: 0,
            },
            Cursor::Children(Box::new(children)),
            Cursor::Done(Outcome::Succeeded(deep.clone())),
        ];
        for cursor in cursors {
            let mut variables = serde_json::Map::new();
            variables.insert("v".into(), deep.clone());
            // Where a frame failed is kept for a redrive, beside its last cursor.
            let failed_at = Some(Box::new(FailedAt {
                state: 0,
                input: deep.clone(),
                results: Some(vec![None, Some(deep.clone())]),
            }));
            let frame = Frame {
                parent: None,
                machine: 0,
                cursor,
                variables,
                failed_at,
            };
            let bytes = encode(0, &frame).unwrap();
            let back: Result<Frame, _> = serde_json::from_slice(&bytes);
            assert!(back.is_ok(), "{:?}", back.err());
        }
    }

    #[test]
    fn json_len_matches_serde_json() {
        let values = [
            serde_json::json!(null),
            serde_json::json!([
                true,
                false,
                1,
                -2,
                3.5,
                1e300,
                -0.0,
                12345678901234567890u64
            ]),
            serde_json::json!({"a": "x\"y\\z\n\u{1}\u{1f}\u{7f}é😀", "": [], "o": {}, "n": {"m": [null]}}),
            serde_json::json!("plain"),
        ];
        for v in values {
            let text = serde_json::to_string(&v).unwrap();
            assert_eq!(json_len(&v, usize::MAX), Some(text.len()), "{text}");
            assert_eq!(json_len(&v, text.len() - 1), None, "{text}");
            assert!(fits(&v, text.len()), "{text}");
            assert!(!fits(&v, text.len() - 1), "{text}");
        }
    }
}
