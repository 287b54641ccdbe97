//! The Task state: its effective input goes to the task runner (a WASM component in
//! Stepwasm); the result comes back through ResultSelector, ResultPath and OutputPath, or the
//! failure through Retry and Catch.

use serde_json::Value;

use super::super::callback::activity_of;
use super::super::durations;
use super::super::events::TaskLogs;
use super::super::execution::{Cx, Work};
use super::super::frame::Attempt;
use super::super::jsonata_eval::{Evaluator, StatesView};
use super::super::limits::task_subject;
use super::super::pipeline;
use super::super::variables::VarScope;
use crate::asl::error::{ErrorName, StatesError};
use crate::asl::model::{Param, QueryLanguage, State, TaskState};
use crate::asl::scope::{NoVariables, Scope, resolve_field};

/// InputPath → Parameters, and the TaskScheduled/TaskStarted events.
pub(crate) fn start(
    cx: &mut Cx<'_>,
    state: &State,
    task: &TaskState,
    input: &Value,
    attempt: &Attempt,
) -> Result<Value, StatesError> {
    let effective = if state.query_language == QueryLanguage::Jsonata {
        super::jsonata::arguments(cx, state, input, attempt)?
    } else {
        let ctx = cx.context(state, attempt);
        pipeline::effective_input(&state.io, input, cx.env(&ctx))?.into_owned()
    };
    cx.limits.check_payload(&effective, "task input")?;
    // Checked before anything is scheduled: an out-of-range timeout fails the state.
    let (timeout, heartbeat) = limits(task, &effective)?;
    if cx.events.recording() {
        if activity_of(&task.resource).is_some() {
            cx.events
                .activity_scheduled(cx.now, &task.resource, &effective, timeout, heartbeat);
        } else {
            cx.events
                .task_scheduled(cx.now, &task.resource, &effective, timeout, heartbeat);
            cx.events.task_started(cx.now, &task.resource);
        }
    }
    Ok(effective)
}

/// TimeoutSeconds and HeartbeatSeconds, reading their `*Path` (or JSONata) forms from the
/// effective input: positive integers up to [`durations::MAX_SECONDS`], else
/// `States.Runtime`.
pub(crate) fn limits(
    task: &TaskState,
    effective: &Value,
) -> Result<(Option<u64>, Option<u64>), StatesError> {
    let read = |p: &Option<Param<u64>>, field: &str| match p {
        None => Ok(None),
        Some(Param::Value(n)) => Ok(Some(*n)),
        Some(Param::Path(path)) => {
            let scope = Scope::new(effective, &Value::Null, &NoVariables);
            let v = resolve_field(path, &format!("{field}Path"), &scope)?;
            durations::task_limit(&format!("{field}Path"), &v).map(Some)
        }
        // Evaluated against the effective input (the raw input is gone by the time a
        // resumed task is re-invoked).
        Some(Param::Expr(t)) => {
            let vars = VarScope::default();
            let view = StatesView::before(effective, &Value::Null);
            let n = Evaluator::new(view, &vars).integer(&Param::Expr(t.clone()), field)?;
            durations::task_limit(field, &Value::from(n)).map(Some)
        }
    };
    Ok((
        read(&task.timeout, "TimeoutSeconds")?,
        read(&task.heartbeat, "HeartbeatSeconds")?,
    ))
}

/// The task's result (or failure) through the rest of the pipeline.
pub(crate) fn finish(
    cx: &mut Cx<'_>,
    state: &State,
    task: &TaskState,
    input: Value,
    result: Result<Value, (String, String)>,
    logs: TaskLogs<'_>,
    attempt: Attempt,
) -> Work {
    match result {
        Ok(output) => {
            if activity_of(&task.resource).is_some() {
                cx.events.activity_succeeded(cx.now, &output);
            } else {
                cx.events
                    .task_succeeded(cx.now, &task.resource, &output, logs);
            }
            let keep = (!state.catch.is_empty() || !state.retry.is_empty()).then(|| input.clone());
            let result = cx
                .limits
                .check_result(&output, task_subject(&task.resource))
                .and_then(|()| super::finish_result(cx, state, input, output, &attempt));
            super::output_or_error(result, keep, attempt)
        }
        Err((error, cause)) => {
            let name = ErrorName::parse(&error);
            let timed_out = name == ErrorName::Timeout || name == ErrorName::HeartbeatTimeout;
            if activity_of(&task.resource).is_some() {
                let kind = if timed_out {
                    "ActivityTimedOut"
                } else {
                    "ActivityFailed"
                };
                cx.events.activity_failed(cx.now, kind, &error, &cause);
            } else {
                let kind = if timed_out {
                    "TaskTimedOut"
                } else {
                    "TaskFailed"
                };
                cx.events
                    .task_failed(cx.now, kind, &task.resource, (&error, &cause), logs);
            }
            Work::Error {
                error: StatesError::new(name, cause),
                input,
                attempt,
                from_task: true,
            }
        }
    }
}
