//! Every state type in a JSONata state: `Arguments` before the work, `Output` and `Assign`
//! after it (both reading `$states.input`/`$states.result` and the variables from before the
//! state; the new variables are stored when the state succeeds), `Condition`, `Items`,
//! `ItemSelector`, the number and time fields as expressions, and Catcher `Output`/`Assign`
//! over `$states.errorOutput`. Evaluation failures are `States.QueryEvaluationError`.

use serde_json::{Map, Value};

use super::super::execution::{Cx, Work};
use super::super::frame::{Attempt, Children, Outcome};
use super::super::jsonata_eval::{Evaluator, StatesView, query_error};
use super::super::variables::{VarScope, checked_assignment, merge};
use crate::asl::error::{ErrorName, StatesError};
use crate::asl::model::{
    Catcher, ChoiceBranch, MachineId, MapState, Param, Payload, Rule, State, StateId, StateKind,
    TextSource, WaitFor,
};

/// Output and Assign of a state whose work gave `result` (or, with `None`, of a state with
/// no result: Pass, Wait, Succeed); the Assign is kept in `cx` for when the state succeeds.
pub(crate) fn finish(
    cx: &mut Cx<'_>,
    state: &State,
    input: Value,
    result: Option<Value>,
    attempt: &Attempt,
) -> Result<Value, StatesError> {
    let ctx = cx.context(state, attempt);
    let vars = cx.vars;
    let has_result = result.is_some();
    let mut ev = Evaluator::owned(input, ctx, result, vars);
    // Both read the same `$states`; the default output (or the input an Output of the shape
    // `$merge([$states.input, {...}])` updates in place) is taken out only afterwards.
    let update = match state.io.output.as_ref() {
        Some(Payload::Jsonata(t)) => ev.input_update(t, "Output")?,
        _ => None,
    };
    let output = match update {
        Some(_) => None,
        None => ev.payload(state.io.output.as_ref(), "Output")?,
    };
    let assigned = ev.payload(state.assign.as_ref(), "Assign")?;
    let output = match (update, output) {
        (Some(update), _) => ev.merge_into_input(update),
        (None, Some(v)) => v,
        (None, None) => ev
            .take(if has_result { "result" } else { "input" })
            .unwrap_or(Value::Null),
    };
    cx.assigned = assigned.map(|a| checked_assignment(a, vars)).transpose()?;
    Ok(output)
}

/// Pass, Choice, Wait, Succeed and Fail in a JSONata state.
pub(crate) fn run(cx: &mut Cx<'_>, state: &State, input: Value, attempt: &Attempt) -> Work {
    match &state.kind {
        // A Pass state has no Retry or Catch, so its input need not be kept.
        StateKind::Pass { .. } => super::output_or_error(
            finish(cx, state, input, None, attempt),
            None,
            attempt.clone(),
        ),
        StateKind::Succeed => match finish(cx, state, input, None, attempt) {
            Ok(output) => Work::End(Outcome::Succeeded(output)),
            Err(e) => Work::End(Outcome::failed(e)),
        },
        StateKind::Fail { error, cause } => {
            let ctx = cx.context(state, attempt);
            let ev = Evaluator::new(StatesView::before(&input, &ctx), cx.vars);
            let text = |t: Option<&TextSource>, field: &str| match t {
                None => Ok(String::new()),
                Some(TextSource::Literal(s)) => Ok(s.clone()),
                Some(TextSource::Expr(t)) => ev.text(t, field),
                Some(_) => Err(query_error(format!("{field} holds a JSONPath value"))),
            };
            match text(error.as_ref(), "Error")
                .and_then(|e| Ok((e, text(cause.as_ref(), "Cause")?)))
            {
                Ok((error, cause)) => Work::End(Outcome::Failed { error, cause }),
                Err(e) => Work::End(Outcome::failed(e)),
            }
        }
        StateKind::Wait(wait) => match wait_until(cx, state, wait, input, attempt) {
            Ok((until, output)) => Work::Sleep(until, output),
            Err(e) => Work::End(Outcome::failed(e)),
        },
        StateKind::Choice { branches, default } => {
            match choose(cx, state, branches, *default, &input, attempt) {
                Ok((next, output)) => Work::Goto(next, output),
                Err(e) => Work::End(Outcome::failed(e)),
            }
        }
        StateKind::Task(_) | StateKind::Parallel { .. } | StateKind::Map(_) => {
            Work::End(Outcome::failed(StatesError::new(
                ErrorName::Runtime,
                "Task, Parallel and Map states start through their own entry points",
            )))
        }
    }
}

fn wait_until(
    cx: &mut Cx<'_>,
    state: &State,
    wait: &WaitFor,
    input: Value,
    attempt: &Attempt,
) -> Result<(std::time::SystemTime, Value), StatesError> {
    let until = {
        let ctx = cx.context(state, attempt);
        let ev = Evaluator::new(StatesView::before(&input, &ctx), cx.vars);
        match wait {
            WaitFor::Seconds(p) => {
                super::super::durations::wait_until(cx.now, ev.integer(p, "Seconds")?, "Seconds")?
            }
            WaitFor::Timestamp(p) => ev.timestamp(p, "Timestamp")?,
        }
    };
    let output = finish(cx, state, input, None, attempt)?;
    Ok((until, output))
}

fn choose(
    cx: &mut Cx<'_>,
    state: &State,
    branches: &[ChoiceBranch],
    default: Option<StateId>,
    input: &Value,
    attempt: &Attempt,
) -> Result<(StateId, Value), StatesError> {
    let ctx = cx.context(state, attempt);
    let vars = cx.vars;
    let ev = Evaluator::new(StatesView::before(input, &ctx), vars);
    let mut chosen = None;
    for (i, b) in branches.iter().enumerate() {
        let Rule::Condition(t) = &b.rule else {
            return Err(query_error("a JSONata Choice rule needs a Condition"));
        };
        if ev.condition(t, &format!("Choices/{i}/Condition"))? {
            chosen = Some(b);
            break;
        }
    }
    let next = match (chosen, default) {
        (Some(b), _) => b.next,
        (None, Some(d)) => d,
        (None, None) => {
            return Err(StatesError::new(
                ErrorName::NoChoiceMatched,
                format!(
                    "No Choice rule matched and there is no Default in state '{}'",
                    state.name
                ),
            ));
        }
    };
    // The state's Assign always applies; a matched rule's Assign is evaluated too and wins
    // for the names both set. A rule's Output replaces the state's.
    let state_assign = ev.payload(state.assign.as_ref(), "Assign")?;
    let rule_assign = match chosen {
        Some(b) => ev.payload(b.assign.as_ref(), "Assign")?,
        None => None,
    };
    let to_map = |v: Option<Value>| v.map(|v| checked_assignment(v, vars)).transpose();
    let assigned = merge(to_map(state_assign)?, to_map(rule_assign)?);
    let output_field = chosen
        .and_then(|b| b.output.as_ref())
        .or(state.io.output.as_ref());
    let output = ev
        .payload(output_field, "Output")?
        .unwrap_or_else(|| input.clone());
    cx.assigned = assigned;
    Ok((next, output))
}

/// Task: the effective input (Arguments, default the state input).
pub(crate) fn arguments(
    cx: &mut Cx<'_>,
    state: &State,
    input: &Value,
    attempt: &Attempt,
) -> Result<Value, StatesError> {
    let ctx = cx.context(state, attempt);
    let ev = Evaluator::new(StatesView::before(input, &ctx), cx.vars);
    Ok(ev
        .payload(state.io.parameters.as_ref(), "Arguments")?
        .unwrap_or_else(|| input.clone()))
}

/// Parallel: every branch gets the Arguments (default the state input).
pub(crate) fn parallel(
    cx: &mut Cx<'_>,
    state: &State,
    state_id: StateId,
    branches: &[MachineId],
    input: &Value,
    attempt: &Attempt,
) -> Result<Box<Children>, StatesError> {
    let effective = arguments(cx, state, input, attempt)?;
    cx.events.plain(cx.now, "ParallelStateStarted");
    let mut children = Box::new(super::empty_children());
    children.state = state_id;
    children.pending = branches.iter().map(|b| (*b, effective.clone())).collect();
    Ok(children)
}

/// Map: Items (default the state input) must be an array; ItemSelector sees
/// `$states.context.Map.Item`; the limits may be expressions.
pub(crate) fn map(
    cx: &mut Cx<'_>,
    state: &State,
    state_id: StateId,
    map: &MapState,
    input: &Value,
    attempt: &Attempt,
) -> Result<Box<Children>, StatesError> {
    let mut ctx = cx.context(state, attempt);
    let vars = cx.vars;
    let (items, max_concurrency, tolerated_count, tolerated_percentage, batching) = {
        let ev = Evaluator::new(StatesView::before(input, &ctx), vars);
        let items = match &map.items {
            Some(t) => ev.value(t, "Items")?,
            None => input.clone(),
        };
        let max_concurrency = ev.integer(&map.max_concurrency, "MaxConcurrency")?;
        let count = map
            .tolerated_count
            .as_ref()
            .map(|p| ev.number(p, "ToleratedFailureCount", f64::MAX))
            .transpose()?;
        let pct = map
            .tolerated_percentage
            .as_ref()
            .map(|p| ev.number(p, "ToleratedFailurePercentage", 100.0))
            .transpose()?;
        let batching = match &map.batcher {
            None => None,
            Some(b) => Some((
                opt_int(&ev, b.max_items.as_ref(), "ItemBatcher/MaxItemsPerBatch")?,
                opt_int(
                    &ev,
                    b.max_bytes.as_ref(),
                    "ItemBatcher/MaxInputBytesPerBatch",
                )?,
                ev.payload(b.batch_input.as_ref(), "ItemBatcher/BatchInput")?,
            )),
        };
        (items, max_concurrency, count, pct, batching)
    };
    let Value::Array(list) = items else {
        return Err(query_error(format!(
            "The Items field of Map state '{}' must evaluate to a JSON array, but it returned {}",
            state.name,
            type_name(&items)
        )));
    };
    let mut inputs = match &map.item_selector {
        None => list,
        Some(selector) => {
            let mut out = Vec::with_capacity(list.len());
            for (index, item) in list.into_iter().enumerate() {
                set_map_item(&mut ctx, index, item);
                let ev = Evaluator::new(StatesView::before(input, &ctx), vars);
                out.push(
                    ev.payload(Some(selector), "ItemSelector")?
                        .unwrap_or(Value::Null),
                );
            }
            out
        }
    };
    if let Some((max_items, max_bytes, batch_input)) = batching {
        inputs = super::map::batch_with(
            inputs,
            max_items.map_or(usize::MAX, |n| n.max(1) as usize),
            max_bytes.map_or(usize::MAX, |n| n as usize),
            batch_input,
        );
    }
    Ok(super::map::children(
        cx,
        state_id,
        map,
        inputs,
        max_concurrency,
        tolerated_count,
        tolerated_percentage,
    ))
}

fn opt_int(
    ev: &Evaluator<'_>,
    p: Option<&Param<u64>>,
    field: &str,
) -> Result<Option<u64>, StatesError> {
    p.map(|p| ev.integer(p, field)).transpose()
}

/// Puts `Map.Item` into the context object (which always exists for a Map that reads it).
fn set_map_item(ctx: &mut Value, index: usize, item: Value) {
    if let Value::Object(c) = ctx {
        let mut it = Map::new();
        it.insert("Index".into(), Value::from(index));
        it.insert("Value".into(), item);
        let mut m = Map::new();
        m.insert("Item".into(), Value::Object(it));
        c.insert("Map".into(), Value::Object(m));
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A Catcher of a JSONata state: `(output, assigned variables)` from `$states.errorOutput`.
pub(crate) fn caught(
    catcher: &Catcher,
    input: &Value,
    context: &Value,
    error_output: Value,
    vars: &VarScope<'_>,
) -> Result<(Value, Option<Map<String, Value>>), StatesError> {
    let ev = Evaluator::new(StatesView::caught(input, context, &error_output), vars);
    let assigned = ev
        .payload(catcher.assign.as_ref(), "Assign")?
        .map(|a| checked_assignment(a, vars))
        .transpose()?;
    let output = ev
        .payload(catcher.output.as_ref(), "Output")?
        .unwrap_or(error_output);
    Ok((output, assigned))
}
