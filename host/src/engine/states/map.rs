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
use crate::asl::scope::resolve_field;

pub(crate) fn start(
    cx: &mut Cx<'_>,
    state: &State,
    state_id: StateId,
    map: &MapState,
    input: &Value,
    attempt: &Attempt,
) -> Result<Box<Children>, StatesError> {
    if state.query_language == QueryLanguage::Jsonata {
        return super::jsonata::map(cx, state, state_id, map, input, attempt);
    }
    // The base context object is built once; each item only swaps in `Map.Item`.
    let ctx = if state.needs_context {
        context_object(
            cx.info,
            StateFacts {
                name: &state.name,
                entered_time: attempt.entered_time(),
                retry_count: attempt.retry_count,
            },
            None,
            None,
        )
    } else {
        Value::Null
    };
    let effective = pipeline::input_path(&state.io.input_path, "InputPath", input, cx.env(&ctx))?;
    let items = pipeline::input_path(&map.items_path, "ItemsPath", &effective, cx.env(&ctx))?;
    let Value::Array(_) = items.as_ref() else {
        return Err(StatesError::new(
            ErrorName::Runtime,
            format!(
                "Invalid path '{}': the ItemsPath of Map state '{}' must point to a JSON array",
                match &map.items_path {
                    crate::asl::model::InOutPath::Path(p) => p.as_str(),
                    _ => "$",
                },
                state.name
            ),
        ));
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
        .map(|p| float(p, "ToleratedFailureCountPath", &effective, cx.env(&ctx)))
        .transpose()?;
    let tolerated_percentage = map
        .tolerated_percentage
        .as_ref()
        .map(|p| {
            float(
                p,
                "ToleratedFailurePercentagePath",
                &effective,
                cx.env(&ctx),
            )
        })
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

fn number(p: &Param<u64>, field: &str, input: &Value, env: Env<'_>) -> Result<u64, StatesError> {
    match p {
        Param::Value(n) => Ok(*n),
        Param::Expr(_) => Err(jsonata_in_jsonpath(field)),
        Param::Path(path) => {
            let v = resolve_field(path, field, &env.scope(input))?;
            v.as_u64().ok_or_else(|| {
                StatesError::new(
                    ErrorName::Runtime,
                    format!(
                        "The {field} '{}' must point to a non-negative integer, got {v}",
                        path.as_str()
                    ),
                )
            })
        }
    }
}

fn float(p: &Param<f64>, field: &str, input: &Value, env: Env<'_>) -> Result<f64, StatesError> {
    match p {
        Param::Value(n) => Ok(*n),
        Param::Expr(_) => Err(jsonata_in_jsonpath(field)),
        Param::Path(path) => {
            let v = resolve_field(path, field, &env.scope(input))?;
            v.as_f64().filter(|n| *n >= 0.0).ok_or_else(|| {
                StatesError::new(
                    ErrorName::Runtime,
                    format!(
                        "The {field} '{}' must point to a non-negative number, got {v}",
                        path.as_str()
                    ),
                )
            })
        }
    }
}

/// A JSONata value reached JSONPath evaluation (the compiler never builds this).
pub(crate) fn jsonata_in_jsonpath(field: &str) -> StatesError {
    StatesError::new(
        ErrorName::Runtime,
        format!("The field '{field}' holds a JSONata expression in a JSONPath state"),
    )
}
