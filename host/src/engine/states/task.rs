//! The Task state: its effective input goes to the task runner (a WASM component in
//! Stepwasm); the result comes back through ResultSelector, ResultPath and OutputPath, or the
//! failure through Retry and Catch.

use serde_json::Value;

use super::super::events::TaskLogs;
use super::super::execution::{Cx, Work};
use super::super::frame::Attempt;
use super::super::jsonata_eval::{Evaluator, StatesView};
use super::super::limits::task_subject;
use super::super::pipeline;
use super::super::variables::VarScope;
use crate::asl::error::{ErrorName, StatesError};
use crate::asl::model::{Param, QueryLanguage, State, TaskState};
use crate::asl::scope::{NoVariables, Scope, resolve};

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
    if cx.events.recording() {
        let (timeout, heartbeat) = limits(task, &effective);
        cx.events
            .task_scheduled(cx.now, &task.resource, &effective, timeout, heartbeat);
        cx.events.task_started(cx.now, &task.resource);
    }
    Ok(effective)
}

/// TimeoutSeconds and HeartbeatSeconds, reading their `*Path` forms from the effective input.
pub(crate) fn limits(task: &TaskState, effective: &Value) -> (Option<u64>, Option<u64>) {
    let read = |p: &Option<Param<u64>>| match p {
        None => None,
        Some(Param::Value(n)) => Some(*n),
        Some(Param::Path(path)) => {
            let scope = Scope::new(effective, &Value::Null, &NoVariables);
            resolve(path, &scope).and_then(|v| v.as_u64())
        }
        // Evaluated against the effective input (the raw input is gone by the time a
        // resumed task is re-invoked).
        Some(Param::Expr(t)) => {
            let vars = VarScope::default();
            let view = StatesView::before(effective, &Value::Null);
            Evaluator::new(view, &vars)
                .integer(&Param::Expr(t.clone()), "TimeoutSeconds")
                .ok()
        }
    };
    (read(&task.timeout), read(&task.heartbeat))
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
            cx.events
                .task_succeeded(cx.now, &task.resource, &output, logs);
            let keep = (!state.catch.is_empty() || !state.retry.is_empty()).then(|| input.clone());
            let result = cx
                .limits
                .check_result(&output, task_subject(&task.resource))
                .and_then(|()| super::finish_result(cx, state, input, output, &attempt));
            super::output_or_error(result, keep, attempt)
        }
        Err((error, cause)) => {
            let name = ErrorName::parse(&error);
            let kind = if name == ErrorName::Timeout || name == ErrorName::HeartbeatTimeout {
                "TaskTimedOut"
            } else {
                "TaskFailed"
            };
            cx.events
                .task_failed(cx.now, kind, &task.resource, (&error, &cause), logs);
            Work::Error {
                error: StatesError::new(name, cause),
                input,
                attempt,
                from_task: true,
            }
        }
    }
}
