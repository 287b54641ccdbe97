//! The Map state (inline, and Distributed run inline): one child frame per item (or per
//! batch), started in item order up to MaxConcurrency; results in item order; failures
//! tolerated up to ToleratedFailureCount/Percentage.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::super::context::{StateFacts, context_object};
use super::super::execution::Cx;
use super::super::frame::{Attempt, Children};
use super::super::pipeline::{self, Env};
use crate::asl::error::{ErrorName, StatesError};
use crate::asl::model::{ItemBatcher, MapState, Param, QueryLanguage, State, StateId};
use crate::asl::path::JsonPath;
use crate::asl::scope::resolve_field;
use crate::asl::validate::s3_hint;

pub(crate) fn start(
    cx: &mut Cx<'_>,
    state: &State,
    state_id: StateId,
    map: &MapState,
    input: &Value,
    attempt: &Attempt,
) -> Result<Box<Children>, StatesError> {
    unreachable_s3(map)?;
    if state.query_language == QueryLanguage::Jsonata {
        return super::jsonata::map(cx, state, state_id, map, input, attempt);
    }
    // The base context object is built once; each item only swaps in `Map.Item`.
    let ctx = if state.needs_context {
        context_object(cx.info, StateFacts::of(state, attempt), None, None)
    } else {
        Value::Null
    };
    let effective = pipeline::input_path(&state.io.input_path, input, cx.env(&ctx))?;
    let items = pipeline::input_path(&map.items_path, &effective, cx.env(&ctx))?;
    let Value::Array(_) = items.as_ref() else {
        return Err(not_an_array(ErrorName::Runtime, &items));
    };
    let max_concurrency = number(
        &map.max_concurrency,
        "MaxConcurrencyPath",
        &effective,
        cx.env(&ctx),
    )?;
    let tolerated_count = map
        .tolerated_count
        .as_ref()
        .map(|p| tolerated_count(p, &effective, cx.env(&ctx)))
        .transpose()?;
    let tolerated_percentage = map
        .tolerated_percentage
        .as_ref()
        .map(|p| tolerated_percentage(p, &effective, cx.env(&ctx)))
        .transpose()?;
    let mut inputs: Vec<Value> = match (&map.item_selector, items) {
        (None, Cow::Owned(Value::Array(v))) => v,
        (None, Cow::Borrowed(Value::Array(v))) => v.clone(),
        (Some(selector), items) => {
            let mut item_ctx = ctx.clone();
            let Value::Array(list) = items.as_ref() else {
                unreachable!("checked above")
            };
            let mut out = Vec::with_capacity(list.len());
            for (index, item) in list.iter().enumerate() {
                if let Value::Object(c) = &mut item_ctx {
                    let mut it = Map::new();
                    it.insert("Index".into(), Value::from(index));
                    it.insert("Value".into(), item.clone());
                    let mut m = Map::new();
                    m.insert("Item".into(), Value::Object(it));
                    c.insert("Map".into(), Value::Object(m));
                }
                out.push(pipeline::payload(selector, &effective, cx.env(&item_ctx))?);
            }
            out
        }
        (None, _) => Vec::new(),
    };
    if let Some(batcher) = &map.batcher {
        inputs = batch(batcher, inputs, &effective, cx.env(&ctx))?;
    }
    Ok(children(
        cx,
        state_id,
        map,
        inputs,
        max_concurrency,
        tolerated_count,
        tolerated_percentage,
    ))
}

/// A Distributed Map reading its items from, or writing its results to, Amazon S3 fails as
/// AWS names a failed reader or writer: this engine has no S3 to reach (validation warned).
/// Both fail before any item runs, so no work is done whose results could not be written.
fn unreachable_s3(map: &MapState) -> Result<(), StatesError> {
    let failure = |name, field: &str, resource: &str| {
        StatesError::new(
            name,
            format!(
                "The {field} resource '{resource}' needs Amazon S3, which this engine does not \
                 reach. Instead, {}.",
                s3_hint(field)
            ),
        )
    };
    if let Some(r) = &map.item_reader {
        return Err(failure(ErrorName::ItemReaderFailed, "ItemReader", r));
    }
    if let Some(r) = &map.result_writer {
        return Err(failure(ErrorName::ResultWriterFailed, "ResultWriter", r));
    }
    Ok(())
}

/// The Map's children, one per (batched) item input, and the MapStateStarted event.
pub(crate) fn children(
    cx: &mut Cx<'_>,
    state_id: StateId,
    map: &MapState,
    inputs: Vec<Value>,
    max_concurrency: u64,
    tolerated_count: Option<f64>,
    tolerated_percentage: Option<f64>,
) -> Box<Children> {
    cx.events.map_started(cx.now, inputs.len());
    let mut children = Box::new(super::empty_children());
    children.state = state_id;
    children.is_map = true;
    children.max_concurrency = max_concurrency.min(usize::MAX as u64) as usize;
    children.tolerated_count = tolerated_count;
    children.tolerated_percentage = tolerated_percentage;
    children.pending = inputs.into_iter().map(|v| (map.processor, v)).collect();
    children
}

/// Whether the failures so far exceed what the Map tolerates (strictly more than allowed).
/// With both thresholds, exceeding either fails the Map: "If you specify both values, the
/// workflow fails when it exceeds either value"
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/maprun-fail-threshold.html>).
pub(crate) fn over_threshold(ch: &Children, total: usize) -> bool {
    let failed = ch.failed as f64;
    let by_count = ch.tolerated_count.map(|c| failed > c);
    let by_percentage = ch
        .tolerated_percentage
        .map(|p| total > 0 && failed * 100.0 / total as f64 > p);
    match (by_count, by_percentage) {
        (None, None) => ch.failed > 0,
        (a, b) => a.unwrap_or(false) || b.unwrap_or(false),
    }
}

/// Groups item inputs into `{"Items": [...], "BatchInput": ...}` batches, filled in item order.
fn batch(
    batcher: &ItemBatcher,
    inputs: Vec<Value>,
    effective: &Value,
    env: Env<'_>,
) -> Result<Vec<Value>, StatesError> {
    let max_items = match &batcher.max_items {
        Some(p) => number(p, "MaxItemsPerBatchPath", effective, env)?.max(1) as usize,
        None => usize::MAX,
    };
    let max_bytes = match &batcher.max_bytes {
        Some(p) => number(p, "MaxInputBytesPerBatchPath", effective, env)? as usize,
        None => usize::MAX,
    };
    let batch_input = match &batcher.batch_input {
        Some(p) => Some(pipeline::payload(p, effective, env)?),
        None => None,
    };
    Ok(batch_with(inputs, max_items, max_bytes, batch_input))
}

/// Groups item inputs into `{"Items": [...], "BatchInput": ...}` batches of at most
/// `max_items` items and `max_bytes` serialized bytes, filled in item order.
pub(crate) fn batch_with(
    inputs: Vec<Value>,
    max_items: usize,
    max_bytes: usize,
    batch_input: Option<Value>,
) -> Vec<Value> {
    let mut out = Vec::new();
    let mut current: Vec<Value> = Vec::new();
    let mut bytes = 0usize;
    let flush = |current: &mut Vec<Value>, out: &mut Vec<Value>| {
        let mut m = Map::new();
        m.insert("Items".into(), Value::Array(std::mem::take(current)));
        if let Some(b) = &batch_input {
            m.insert("BatchInput".into(), b.clone());
        }
        out.push(Value::Object(m));
    };
    for item in inputs {
        let size = if max_bytes == usize::MAX {
            0
        } else {
            serde_json::to_vec(&item).map_or(0, |v| v.len())
        };
        if !current.is_empty() && (current.len() >= max_items || bytes + size > max_bytes) {
            flush(&mut current, &mut out);
            bytes = 0;
        }
        bytes += size;
        current.push(item);
    }
    if !current.is_empty() {
        flush(&mut current, &mut out);
    }
    out
}

// AWS's wording for a `*Path` field of a Map that selects no usable number, recorded
// against AWS in localstack/localstack tests/aws/services/stepfunctions/v2/scenarios/
// test_base_scenarios.snapshot.json (test_max_concurrency_path,
// test_map_state_tolerated_failure_count_path, test_map_state_tolerated_failure_percentage_path):
// the value is shown as text ("NoNumber", "{}"), as AWS parses that text.

/// A non-negative integer from a literal or a `*Path` field.
fn number(p: &Param<u64>, field: &str, input: &Value, env: Env<'_>) -> Result<u64, StatesError> {
    match p {
        Param::Value(n) => Ok(*n),
        Param::Expr(_) => Err(jsonata_in_jsonpath(field)),
        Param::Path(path) => {
            let v = resolve_field(path, field, &env.scope(input))?;
            parsed::<i64>(&v)
                .and_then(|n| u64::try_from(n).ok())
                .ok_or_else(|| not_valid(field, &v, "integer", path))
        }
    }
}

/// `ToleratedFailureCount(Path)`: a non-negative integer, kept as a float for the threshold.
fn tolerated_count(p: &Param<f64>, input: &Value, env: Env<'_>) -> Result<f64, StatesError> {
    let n = match p {
        Param::Value(n) => *n,
        Param::Expr(_) => return Err(jsonata_in_jsonpath("ToleratedFailureCountPath")),
        Param::Path(path) => {
            let v = resolve_field(path, "ToleratedFailureCountPath", &env.scope(input))?;
            parsed::<i64>(&v)
                .ok_or_else(|| not_valid("ToleratedFailureCountPath", &v, "integer", path))?
                as f64
        }
    };
    if n < 0.0 {
        return Err(runtime("ToleratedFailureCount cannot be negative."));
    }
    Ok(n)
}

/// `ToleratedFailurePercentage(Path)`: a number from 0 to 100.
fn tolerated_percentage(p: &Param<f64>, input: &Value, env: Env<'_>) -> Result<f64, StatesError> {
    let n = match p {
        Param::Value(n) => *n,
        Param::Expr(_) => return Err(jsonata_in_jsonpath("ToleratedFailurePercentagePath")),
        Param::Path(path) => {
            let v = resolve_field(path, "ToleratedFailurePercentagePath", &env.scope(input))?;
            parsed::<f64>(&v)
                .ok_or_else(|| not_valid("ToleratedFailurePercentagePath", &v, "float", path))?
        }
    };
    if !(0.0..=100.0).contains(&n) {
        return Err(runtime(
            "ToleratedFailurePercentage must be between 0 and 100.",
        ));
    }
    Ok(n)
}

/// A number, or a string holding one, parsed as AWS parses the value's text.
fn parsed<T: std::str::FromStr>(v: &Value) -> Option<T> {
    match v {
        Value::Number(n) => n.to_string().parse().ok(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn not_valid(field: &str, v: &Value, kind: &str, path: &JsonPath) -> StatesError {
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    runtime(format!(
        "The {field} field refers to value \"{text}\" which is not a valid {kind}: {path}"
    ))
}

fn runtime(cause: impl Into<String>) -> StatesError {
    StatesError::new(ErrorName::Runtime, cause)
}

/// The Map's items are not an array: AWS's wording (recorded: localstack/localstack
/// tests/aws/services/stepfunctions/v2/scenarios/test_base_scenarios.snapshot.json,
/// test_map_state_items_input_types; `States.QueryEvaluationError` under JSONata).
pub(crate) fn not_an_array(name: ErrorName, items: &Value) -> StatesError {
    StatesError::new(
        name,
        format!("Map state input must be an array but was: {items}"),
    )
}

/// A JSONata value reached JSONPath evaluation (the compiler never builds this).
pub(crate) fn jsonata_in_jsonpath(field: &str) -> StatesError {
    StatesError::new(
        ErrorName::Runtime,
        format!("The field '{field}' holds a JSONata expression in a JSONPath state"),
    )
}
