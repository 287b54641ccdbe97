//! The raw serde mirror of an ASL definition: exactly what the JSON says, nothing checked.
//!
//! Every state type shares one [`RawState`] struct holding the union of all fields (JSONPath
//! and JSONata), so validation can report a field that is misplaced for a state type instead
//! of failing to parse. Unknown fields are kept in `extra` maps for the same reason. Fields that
//! may be `null` with a meaning (`ResultPath: null`) or that JSONata allows as expression strings
//! (`Seconds: "{% ... %}"`) are kept as [`Value`], with `null` preserved as `Some(Value::Null)`.
//!
//! A state whose JSON does not fit even this loose shape (say `"Next": 5`) is kept as
//! [`RawStateEntry::Malformed`] so one bad state does not hide the problems of the others.
//! Locations are JSON pointers derived from the tree (`/States/Check/Next`); nothing here stores
//! positions.

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Errors reading a definition before any ASL rule is checked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RawError {
    /// The text is not JSON.
    #[error("definition is not valid JSON: {source}")]
    Json {
        /// The parser's error, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// The JSON does not have the shape of a state machine at the top level.
    #[error("definition does not have the shape of a state machine: {message}")]
    Shape {
        /// What serde found.
        message: String,
    },
}

/// Deserializes a field that is present (even as `null`) into `Some`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// A state machine, a Parallel branch, or a Map's `ItemProcessor`/`Iterator`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RawStateMachine {
    /// `Comment`.
    pub comment: Option<String>,
    /// `StartAt`: the first state's name.
    pub start_at: Option<String>,
    /// `States`, in document order (duplicates kept, so validation can report them).
    #[serde(default)]
    pub states: Option<RawStates>,
    /// `Version` (top level only).
    pub version: Option<String>,
    /// `TimeoutSeconds` (top level only).
    #[serde(default, deserialize_with = "present")]
    pub timeout_seconds: Option<Value>,
    /// `QueryLanguage`: `JSONPath` (default) or `JSONata`.
    pub query_language: Option<String>,
    /// `ProcessorConfig` (Map `ItemProcessor` only).
    #[serde(default, deserialize_with = "present")]
    pub processor_config: Option<Value>,
    /// Fields ASL does not define here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    /// Fields whose JSON did not fit their type: left out above, reported by validation.
    #[serde(skip)]
    pub bad_fields: Vec<BadField>,
}

/// A field whose JSON value does not have the field's type (say `"Next": 5`): the rest of its
/// object is still read, so one bad field hides no other problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadField {
    /// The field's name.
    pub field: String,
    /// What was wrong, in ASL's words (no Rust type names).
    pub message: String,
}

/// Deserializes `value` as `T`; when that fails on an object, reads it without the fields
/// that do not fit (each tried alone) and names those. `None` when even that fails.
fn lenient<T: serde::de::DeserializeOwned>(value: Value) -> Result<(T, Vec<BadField>), String> {
    let Value::Object(map) = value else {
        return T::deserialize(value)
            .map(|t| (t, Vec::new()))
            .map_err(|e| readable(&e.to_string()));
    };
    let whole = Value::Object(map);
    if let Ok(t) = T::deserialize(&whole) {
        return Ok((t, Vec::new()));
    }
    let Value::Object(map) = whole else {
        unreachable!("matched an object above")
    };
    let mut good = Map::new();
    let mut bad = Vec::new();
    for (field, v) in map {
        let alone = Value::Object(Map::from_iter([(field.clone(), v)]));
        match T::deserialize(&alone) {
            Ok(_) => {
                let Value::Object(mut m) = alone else {
                    unreachable!("built as an object")
                };
                good.extend(std::mem::take(&mut m));
            }
            Err(e) => bad.push(BadField {
                message: format!("The field '{field}' {}", readable(&e.to_string())),
                field,
            }),
        }
    }
    T::deserialize(Value::Object(good))
        .map(|t| (t, bad))
        .map_err(|e| readable(&e.to_string()))
}

/// A serde message in ASL's words: "invalid type: integer `5`, expected a string" becomes
/// "has the wrong type: integer `5`, expected a string"; Rust type names become what they are.
pub fn readable(message: &str) -> String {
    let names = [
        ("struct RawStateMachine", "a state machine object"),
        ("struct RawState", "a state object"),
        ("struct RawRetrier", "a Retry object"),
        ("struct RawCatcher", "a Catch object"),
        ("struct RawChoiceRule", "a Choice rule object"),
        ("struct RawItemBatcher", "an ItemBatcher object"),
    ];
    let mut out = message.replace("invalid type: ", "has the wrong type: ");
    for (rust, asl) in names {
        out = out.replace(rust, asl);
    }
    // Any other `struct RawX` left (a type added later) still shows no Rust name.
    while let Some(i) = out.find("struct Raw") {
        let end = out[i + 7..]
            .find(|c: char| !c.is_alphanumeric())
            .map_or(out.len(), |e| i + 7 + e);
        out.replace_range(i..end, "an object");
    }
    out
}

impl RawStateMachine {
    /// Parses a definition's text. Reads straight from the text (not through a [`Value`]) so a
    /// state name repeated in the top-level `States` object is kept and can be reported.
    /// A top-level field of the wrong type is kept as a [`BadField`] (read through a
    /// [`Value`], so that definition's duplicate names are not kept).
    pub fn from_json(text: &str) -> Result<RawStateMachine, RawError> {
        match serde_json::from_str::<RawStateMachine>(text) {
            Ok(raw) => Ok(raw),
            Err(source) if source.classify() == serde_json::error::Category::Data => {
                let value: Value =
                    serde_json::from_str(text).map_err(|source| RawError::Json { source })?;
                RawStateMachine::from_value(value)
            }
            Err(source) => Err(RawError::Json { source }),
        }
    }

    /// Reads a definition from an already parsed JSON value.
    pub fn from_value(value: Value) -> Result<RawStateMachine, RawError> {
        if !value.is_object() {
            return Err(RawError::Shape {
                message: "the top level must be a JSON object".into(),
            });
        }
        let (mut raw, bad) =
            lenient::<RawStateMachine>(value).map_err(|message| RawError::Shape { message })?;
        raw.bad_fields = bad;
        Ok(raw)
    }
}

/// The `States` object, in document order.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RawStates(pub Vec<RawStateEntry>);

/// One `"Name": {...}` entry of a `States` object.
#[derive(Clone, Debug, Serialize)]
pub enum RawStateEntry {
    /// A state that has the loose shape of [`RawState`].
    State {
        /// The key.
        name: String,
        /// The state.
        state: Box<RawState>,
    },
    /// A state whose JSON does not fit [`RawState`] at all (e.g. a field of the wrong JSON type).
    Malformed {
        /// The key.
        name: String,
        /// What did not fit.
        message: String,
    },
}

impl RawStateEntry {
    /// The state's name (its key in `States`).
    pub fn name(&self) -> &str {
        match self {
            RawStateEntry::State { name, .. } | RawStateEntry::Malformed { name, .. } => name,
        }
    }

    /// The parsed state, unless it was malformed.
    pub fn state(&self) -> Option<&RawState> {
        match self {
            RawStateEntry::State { state, .. } => Some(state),
            RawStateEntry::Malformed { .. } => None,
        }
    }
}

impl<'de> Deserialize<'de> for RawStates {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct StatesVisitor;
        impl<'de> Visitor<'de> for StatesVisitor {
            type Value = RawStates;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of states")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawStates, A::Error> {
                let mut out = Vec::new();
                while let Some((name, value)) = map.next_entry::<String, Value>()? {
                    let entry = match lenient::<RawState>(value) {
                        Ok((mut state, bad)) => {
                            state.bad_fields = bad;
                            RawStateEntry::State {
                                name,
                                state: Box::new(state),
                            }
                        }
                        Err(message) => RawStateEntry::Malformed { name, message },
                    };
                    out.push(entry);
                }
                Ok(RawStates(out))
            }
        }
        d.deserialize_map(StatesVisitor).map_err(de::Error::custom)
    }
}

/// One state: the union of every state type's fields.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RawState {
    // --- every state type ---
    /// `Type`: Pass, Task, Choice, Wait, Succeed, Fail, Parallel, Map.
    #[serde(rename = "Type")]
    pub state_type: Option<String>,
    /// `Comment`.
    pub comment: Option<String>,
    /// `QueryLanguage`.
    pub query_language: Option<String>,
    /// `Next`.
    pub next: Option<String>,
    /// `End`.
    pub end: Option<bool>,

    // --- JSONPath data flow ---
    /// `InputPath` (`null` kept).
    #[serde(default, deserialize_with = "present")]
    pub input_path: Option<Value>,
    /// `OutputPath` (`null` kept).
    #[serde(default, deserialize_with = "present")]
    pub output_path: Option<Value>,
    /// `ResultPath` (`null` kept).
    #[serde(default, deserialize_with = "present")]
    pub result_path: Option<Value>,
    /// `Parameters`: a payload template.
    #[serde(default, deserialize_with = "present")]
    pub parameters: Option<Value>,
    /// `ResultSelector`: a payload template.
    #[serde(default, deserialize_with = "present")]
    pub result_selector: Option<Value>,
    /// `Result` (Pass).
    #[serde(default, deserialize_with = "present")]
    pub result: Option<Value>,

    // --- JSONata data flow, and variables (both languages) ---
    /// `Arguments` (JSONata).
    #[serde(default, deserialize_with = "present")]
    pub arguments: Option<Value>,
    /// `Output` (JSONata).
    #[serde(default, deserialize_with = "present")]
    pub output: Option<Value>,
    /// `Assign`: variables to set.
    #[serde(default, deserialize_with = "present")]
    pub assign: Option<Value>,

    // --- errors ---
    /// `Retry`.
    pub retry: Option<Vec<RawRetrier>>,
    /// `Catch`.
    pub catch: Option<Vec<RawCatcher>>,

    // --- Task ---
    /// `Resource`.
    pub resource: Option<String>,
    /// `TimeoutSeconds` (number, or a JSONata string).
    #[serde(default, deserialize_with = "present")]
    pub timeout_seconds: Option<Value>,
    /// `TimeoutSecondsPath`.
    pub timeout_seconds_path: Option<String>,
    /// `HeartbeatSeconds` (number, or a JSONata string).
    #[serde(default, deserialize_with = "present")]
    pub heartbeat_seconds: Option<Value>,
    /// `HeartbeatSecondsPath`.
    pub heartbeat_seconds_path: Option<String>,
    /// `Credentials`.
    #[serde(default, deserialize_with = "present")]
    pub credentials: Option<Value>,

    // --- Choice ---
    /// `Choices`.
    pub choices: Option<Vec<RawChoiceRule>>,
    /// `Default`.
    pub default: Option<String>,

    // --- Wait ---
    /// `Seconds` (number, or a JSONata string).
    #[serde(default, deserialize_with = "present")]
    pub seconds: Option<Value>,
    /// `SecondsPath`.
    pub seconds_path: Option<String>,
    /// `Timestamp` (RFC 3339 string, or a JSONata string).
    #[serde(default, deserialize_with = "present")]
    pub timestamp: Option<Value>,
    /// `TimestampPath`.
    pub timestamp_path: Option<String>,

    // --- Fail ---
    /// `Error`.
    pub error: Option<String>,
    /// `ErrorPath` (path or intrinsic).
    pub error_path: Option<String>,
    /// `Cause`.
    pub cause: Option<String>,
    /// `CausePath` (path or intrinsic).
    pub cause_path: Option<String>,

    // --- Parallel ---
    /// `Branches`.
    pub branches: Option<Vec<RawStateMachine>>,

    // --- Map ---
    /// `ItemProcessor`.
    pub item_processor: Option<RawStateMachine>,
    /// `Iterator` (legacy name of ItemProcessor).
    pub iterator: Option<RawStateMachine>,
    /// `ItemsPath`.
    #[serde(default, deserialize_with = "present")]
    pub items_path: Option<Value>,
    /// `Items` (JSONata).
    #[serde(default, deserialize_with = "present")]
    pub items: Option<Value>,
    /// `ItemSelector`.
    #[serde(default, deserialize_with = "present")]
    pub item_selector: Option<Value>,
    /// `ItemReader` (Distributed Map; S3).
    #[serde(default, deserialize_with = "present")]
    pub item_reader: Option<Value>,
    /// `ItemBatcher`.
    pub item_batcher: Option<RawItemBatcher>,
    /// `ResultWriter` (Distributed Map; S3).
    #[serde(default, deserialize_with = "present")]
    pub result_writer: Option<Value>,
    /// `MaxConcurrency` (number, or a JSONata string).
    #[serde(default, deserialize_with = "present")]
    pub max_concurrency: Option<Value>,
    /// `MaxConcurrencyPath`.
    pub max_concurrency_path: Option<String>,
    /// `ToleratedFailureCount`.
    #[serde(default, deserialize_with = "present")]
    pub tolerated_failure_count: Option<Value>,
    /// `ToleratedFailureCountPath`.
    pub tolerated_failure_count_path: Option<String>,
    /// `ToleratedFailurePercentage`.
    #[serde(default, deserialize_with = "present")]
    pub tolerated_failure_percentage: Option<Value>,
    /// `ToleratedFailurePercentagePath`.
    pub tolerated_failure_percentage_path: Option<String>,
    /// `Label` (Distributed Map).
    pub label: Option<String>,

    /// Fields ASL does not define.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    /// Fields whose JSON did not fit their type: left out above, reported by validation.
    #[serde(skip)]
    pub bad_fields: Vec<BadField>,
}

impl RawState {
    /// Whether `field` was present with a value of the wrong type (so its absence above is
    /// not a second problem).
    pub fn is_bad(&self, field: &str) -> bool {
        self.bad_fields.iter().any(|b| b.field == field)
    }
}

/// One `Retry` entry.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RawRetrier {
    /// `ErrorEquals`.
    pub error_equals: Option<Vec<String>>,
    /// `IntervalSeconds` (default 1).
    #[serde(default, deserialize_with = "present")]
    pub interval_seconds: Option<Value>,
    /// `MaxAttempts` (default 3; 0 means never retry).
    #[serde(default, deserialize_with = "present")]
    pub max_attempts: Option<Value>,
    /// `BackoffRate` (default 2.0).
    #[serde(default, deserialize_with = "present")]
    pub backoff_rate: Option<Value>,
    /// `MaxDelaySeconds`.
    #[serde(default, deserialize_with = "present")]
    pub max_delay_seconds: Option<Value>,
    /// `JitterStrategy`: `FULL` or `NONE`.
    pub jitter_strategy: Option<String>,
    /// `Comment`.
    pub comment: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One `Catch` entry.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RawCatcher {
    /// `ErrorEquals`.
    pub error_equals: Option<Vec<String>>,
    /// `Next`.
    pub next: Option<String>,
    /// `ResultPath` (`null` kept).
    #[serde(default, deserialize_with = "present")]
    pub result_path: Option<Value>,
    /// `Output` (JSONata).
    #[serde(default, deserialize_with = "present")]
    pub output: Option<Value>,
    /// `Assign`.
    #[serde(default, deserialize_with = "present")]
    pub assign: Option<Value>,
    /// `Comment`.
    pub comment: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One Choice rule: a top-level rule (with `Next`) or a nested one (inside And/Or/Not).
///
/// The comparison operators (`StringEquals`, `NumericLessThanPath`, `IsPresent`, ...) are many and
/// share one shape, so they stay in `operators` with any unknown field; the model knows the
/// operator table and validation reports names that are neither.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RawChoiceRule {
    /// `Variable` (JSONPath).
    pub variable: Option<String>,
    /// `Condition` (JSONata): a boolean or an expression string.
    #[serde(default, deserialize_with = "present")]
    pub condition: Option<Value>,
    /// `And`.
    pub and: Option<Vec<RawChoiceRule>>,
    /// `Or`.
    pub or: Option<Vec<RawChoiceRule>>,
    /// `Not`.
    pub not: Option<Box<RawChoiceRule>>,
    /// `Next` (top-level rules only).
    pub next: Option<String>,
    /// `Assign` (top-level rules only).
    #[serde(default, deserialize_with = "present")]
    pub assign: Option<Value>,
    /// `Output` (JSONata, top-level rules only).
    #[serde(default, deserialize_with = "present")]
    pub output: Option<Value>,
    /// `Comment`.
    pub comment: Option<String>,
    /// Comparison operators and unknown fields.
    #[serde(flatten)]
    pub operators: Map<String, Value>,
}

/// A Map state's `ItemBatcher`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RawItemBatcher {
    /// `MaxItemsPerBatch`.
    #[serde(default, deserialize_with = "present")]
    pub max_items_per_batch: Option<Value>,
    /// `MaxItemsPerBatchPath`.
    pub max_items_per_batch_path: Option<String>,
    /// `MaxInputBytesPerBatch`.
    #[serde(default, deserialize_with = "present")]
    pub max_input_bytes_per_batch: Option<Value>,
    /// `MaxInputBytesPerBatchPath`.
    pub max_input_bytes_per_batch_path: Option<String>,
    /// `BatchInput`: a payload template merged into every batch.
    #[serde(default, deserialize_with = "present")]
    pub batch_input: Option<Value>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_null_result_path_and_unknown_fields() {
        let raw = RawStateMachine::from_json(
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","ResultPath":null,"Bogus":1,"End":true}}}"#,
        )
        .unwrap();
        let states = raw.states.unwrap();
        let a = states.0[0].state().unwrap();
        assert_eq!(a.result_path, Some(Value::Null));
        assert_eq!(a.input_path, None);
        assert_eq!(a.extra.get("Bogus"), Some(&Value::from(1)));
    }

    #[test]
    fn a_malformed_state_does_not_hide_the_others() {
        let raw = RawStateMachine::from_json(
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":5},"B":{"Type":"Succeed"},"A":{"Type":"Fail"}}}"#,
        )
        .unwrap();
        let states = raw.states.unwrap().0;
        assert_eq!(states.len(), 3, "duplicates are kept");
        let a = states[0].state().unwrap();
        assert_eq!(
            a.state_type.as_deref(),
            Some("Pass"),
            "the good fields are read"
        );
        assert_eq!(a.bad_fields.len(), 1);
        assert_eq!(a.bad_fields[0].field, "Next");
        assert!(!a.bad_fields[0].message.contains("Raw"));
        assert_eq!(
            states[1].state().unwrap().state_type.as_deref(),
            Some("Succeed")
        );
    }

    #[test]
    fn choice_operators_land_in_the_operator_map() {
        let raw = RawStateMachine::from_json(
            r#"{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Not":{"Variable":"$.a","IsNull":true},"Next":"C"}]}}}"#,
        )
        .unwrap();
        let states = raw.states.unwrap();
        let c = states.0[0].state().unwrap();
        let rule = &c.choices.as_ref().unwrap()[0];
        let not = rule.not.as_ref().unwrap();
        assert_eq!(not.operators.get("IsNull"), Some(&Value::Bool(true)));
    }

    #[test]
    fn bad_json_and_bad_shape_are_errors_not_panics() {
        assert!(matches!(
            RawStateMachine::from_json("{"),
            Err(RawError::Json { .. })
        ));
        assert!(matches!(
            RawStateMachine::from_json("[1]"),
            Err(RawError::Shape { .. })
        ));
        let raw = RawStateMachine::from_json(r#"{"StartAt":1,"States":{"A":5}}"#).unwrap();
        assert_eq!(raw.bad_fields[0].field, "StartAt");
        let states = raw.states.unwrap().0;
        let RawStateEntry::Malformed { message, .. } = &states[0] else {
            panic!("a state that is not an object is malformed")
        };
        assert_eq!(
            message,
            "has the wrong type: integer `5`, expected a state object"
        );
    }
}
