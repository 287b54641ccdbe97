//! TestState: one state run once, in isolation, through the engine's own step function
//! (so the same pipeline, Retry and Catch code as an execution), stopping as soon as the
//! state is left. The state comes as the start state of a machine whose other states are
//! placeholders for its transition targets (built by the service); the first transition
//! out of it says what happened:
//!
//! - it moved on (`Next`, a Choice rule, a Wait's end: a Wait is not waited out) or ended:
//!   `SUCCEEDED`, with its output and next state;
//! - a Catcher moved it on: `CAUGHT_ERROR`, with the error, the Catcher's output and next;
//! - a Retrier matched: `RETRIABLE`, with the error (no retry is made);
//! - it failed: `FAILED`.
//!
//! A Task is answered by a mock when there is one, otherwise by the task runner (the real
//! sandbox), bounded by [`TEST_STATE_TIMEOUT`] as AWS bounds TestState.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};

use super::context::ExecutionInfo;
use super::execution::{Effect, Execution};
use super::frame::{Cursor, Outcome};
use super::inspect::{Inspection, inspecting};
use super::limits::Limits;
use super::ports::{TaskFailure, TaskOutcome, TaskRequest, TaskRunner};
use crate::asl::model::{StateMachine, Transition};

/// How long a tested state may run (AWS: five minutes, then `States.Timeout`).
pub const TEST_STATE_TIMEOUT: Duration = Duration::from_secs(300);

/// TestState's status values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TestStatus {
    /// The state succeeded.
    Succeeded,
    /// The state failed and nothing handled the error.
    Failed,
    /// A Retrier matched the error.
    Retriable,
    /// A Catcher matched the error.
    CaughtError,
}

/// What answers the tested state's task.
pub enum TestTask {
    /// AWS's `mock`: this result or this error, the task is not run.
    Mock(Result<Value, TaskFailure>),
    /// The task runner (the sandbox).
    Runner(Arc<dyn TaskRunner>),
    /// No runner: a Task fails with `States.Runtime`.
    Nothing,
}

/// One state to test.
pub struct StateTest {
    /// The machine whose start state is tested.
    pub model: Arc<StateMachine>,
    /// Execution facts for `$$` (from the request's `context`, or made up).
    pub info: Arc<ExecutionInfo>,
    /// The state's input.
    pub input: Value,
    /// Variables visible to the state.
    pub variables: Map<String, Value>,
    /// Payload limits.
    pub limits: Limits,
}

/// What the test found.
#[derive(Debug)]
pub struct StateTestResult {
    /// The status.
    pub status: TestStatus,
    /// The state's output (SUCCEEDED, CAUGHT_ERROR).
    pub output: Option<Value>,
    /// The error (FAILED, RETRIABLE, CAUGHT_ERROR).
    pub error: Option<String>,
    /// Its cause.
    pub cause: Option<String>,
    /// The next state's name.
    pub next_state: Option<String>,
    /// The pipeline's intermediate values.
    pub inspection: Inspection,
    /// The variables after the state.
    pub variables: Map<String, Value>,
    /// The task request and its outcome, when a task ran (or was mocked).
    pub task: Option<(TaskRequest, TaskOutcome)>,
}

/// Runs the start state of `test.model` once.
pub async fn run(test: StateTest, task: TestTask) -> StateTestResult {
    let now = SystemTime::now();
    let model = Arc::clone(&test.model);
    let tested = model.root().start;
    let mut exec = Execution::new(model.clone(), test.info, test.limits, false, now);
    exec.single_step = true;
    if let Some(frame) = exec.frames.get_mut(&0) {
        frame.variables = test.variables;
        frame.cursor = Cursor::Enter {
            state: tested,
            input: test.input,
        };
    }
    let mut inspection = Inspection::default();
    let effect = inspecting(&mut inspection, || exec.advance(0, now));
    let mut ran = None;
    if let Effect::Invoke(request) = effect {
        let outcome = match task {
            TestTask::Mock(result) => TaskOutcome {
                result,
                logs: Vec::new(),
                logs_truncated: false,
                memory_bytes: 0,
                mocked: true,
            },
            TestTask::Runner(runner) => {
                let invoked = runner.invoke((*request).clone());
                match tokio::time::timeout(TEST_STATE_TIMEOUT, invoked).await {
                    Ok(outcome) => outcome,
                    Err(_) => failure(
                        "States.Timeout",
                        "The state ran longer than TestState's five minutes",
                    ),
                }
            }
            TestTask::Nothing => failure(
                "States.Runtime",
                &format!(
                    "no task runner is configured: cannot run Resource '{}'",
                    request.resource
                ),
            ),
        };
        let done = SystemTime::now();
        inspecting(&mut inspection, || exec.task_done(0, outcome.clone(), done));
        ran = Some((*request, outcome));
    }
    let machine = model.root();
    let state = machine.state(tested);
    let name_of = |id| machine.state(id).name.to_string();
    let handled = inspection.error.clone();
    let (status, output, next_state, error) = match exec.frame(0).map(|f| &f.cursor) {
        Some(Cursor::Enter { state: next, input }) => {
            let status = if inspection.catch.is_some() {
                TestStatus::CaughtError
            } else {
                TestStatus::Succeeded
            };
            (status, Some(input.clone()), Some(name_of(*next)), None)
        }
        Some(Cursor::Waiting { output, .. }) => {
            let next = match state.transition {
                Transition::Next(n) => Some(name_of(n)),
                _ => None,
            };
            (TestStatus::Succeeded, Some(output.clone()), next, None)
        }
        Some(Cursor::Backoff { .. } | Cursor::Run { .. }) => (TestStatus::Retriable, None, None, handled.clone()),
        Some(Cursor::Done(Outcome::Succeeded(output))) => {
            (TestStatus::Succeeded, Some(output.clone()), None, None)
        }
        Some(Cursor::Done(Outcome::Failed { error, cause })) => (
            TestStatus::Failed,
            None,
            None,
            Some((error.clone(), cause.clone())),
        ),
        Some(Cursor::Task { .. } | Cursor::Callback { .. } | Cursor::Children(_)) | None => (
            TestStatus::Failed,
            None,
            None,
            Some((
                "States.Runtime".to_owned(),
                "the state did not finish in one step (Map, Parallel, activities and .waitForTaskToken are not supported by TestState here)".to_owned(),
            )),
        ),
    };
    let error = if status == TestStatus::CaughtError {
        handled
    } else {
        error
    };
    let variables = exec
        .frame(0)
        .map(|f| f.variables.clone())
        .unwrap_or_default();
    StateTestResult {
        status,
        output,
        error: error.as_ref().map(|e| e.0.clone()),
        cause: error.map(|e| e.1),
        next_state,
        inspection,
        variables,
        task: ran,
    }
}

fn failure(error: &str, cause: &str) -> TaskOutcome {
    TaskOutcome {
        result: Err(TaskFailure {
            error: error.to_owned(),
            cause: cause.to_owned(),
        }),
        logs: Vec::new(),
        logs_truncated: false,
        memory_bytes: 0,
        mocked: false,
    }
}
