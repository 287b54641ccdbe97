//! What the engine needs from the outside world, as traits: a task runner (the WASM
//! sandbox implements it), and a clock. The store's port lives beside the engine code
//! that drives it.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use serde_json::Value;

/// A boxed, sendable future, so ports stay object-safe (`Arc<dyn TaskRunner>`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Read-only facts about the task invocation, visible to the guest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskContext {
    /// The execution's ARN-like id.
    pub execution_id: String,
    /// The execution's name.
    pub execution_name: String,
    /// The Task state's name.
    pub state_name: String,
    /// How many times this state has been retried so far (0 on the first attempt).
    pub retry_count: u32,
    /// The attempt's task token, also visible as `$$.Task.Token`: the engine sets a fresh
    /// random one for every Task attempt (`None` only from callers without one).
    pub task_token: Option<String>,
}

/// One invocation of a Task state's resource.
#[derive(Clone, Debug)]
pub struct TaskRequest {
    /// Tenant that owns the execution (`None` for the single-user CLI).
    pub tenant: Option<String>,
    /// The state's `Resource`, e.g. `wasm:price` or `wasm:price:3`.
    pub resource: String,
    /// The effective input (after InputPath and Parameters/Arguments).
    pub input: Value,
    /// Wall-clock limit from TimeoutSeconds/TimeoutSecondsPath.
    pub timeout: Option<Duration>,
    /// Heartbeat limit from HeartbeatSeconds/HeartbeatSecondsPath.
    pub heartbeat: Option<Duration>,
    /// Facts the guest may read.
    pub context: TaskContext,
}

/// Something the guest said while it ran; recorded in the execution history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskLog {
    /// `trace`, `debug`, `info`, `warn`, `error`, `stdout` or `stderr`.
    pub level: String,
    /// The message (already truncated to the sandbox's bound).
    pub message: String,
}

/// A task that ended with an error. `error` is the ASL error name Retry/Catch match on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskFailure {
    /// Error name: the guest's own, or `States.Timeout`, `States.HeartbeatTimeout`,
    /// `States.DataLimitExceeded`, or a `Sandbox.*` name.
    pub error: String,
    /// Human-readable cause.
    pub cause: String,
}

/// Outcome of one task invocation, with whatever the guest logged.
#[derive(Clone, Debug)]
pub struct TaskOutcome {
    /// The guest's JSON output, or its failure.
    pub result: Result<Value, TaskFailure>,
    /// Logs and captured stdout/stderr, in order, bounded by the sandbox.
    pub logs: Vec<TaskLog>,
    /// Whether the runner dropped log output over its bound (`logs` is then incomplete).
    pub logs_truncated: bool,
    /// Peak linear memory the attempt used, in bytes (0 when the runner does not meter
    /// it); EXPRESS billing details are computed from it.
    pub memory_bytes: u64,
}

/// Runs Task states. Implemented by the WASM sandbox; tests may implement it too.
pub trait TaskRunner: Send + Sync {
    /// Invokes the resource once. Must not block the calling thread. The engine calls it
    /// when it records TaskStarted, so `timeout` and `heartbeat` count from the call, not
    /// from the first poll of the future.
    fn invoke(&self, request: TaskRequest) -> BoxFuture<'_, TaskOutcome>;
}

/// Wall-clock time and timers, so tests can control time.
pub trait Clock: Send + Sync {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;
    /// Completes at `deadline` (immediately if it has passed). Holds no thread.
    fn sleep_until(&self, deadline: SystemTime) -> BoxFuture<'_, ()>;
}

/// How an execution ended, as stored and reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    /// Still going.
    Running,
    /// Ended in a Succeed state (or an End state).
    Succeeded,
    /// Ended with an error.
    Failed,
    /// Ran past the top-level TimeoutSeconds.
    TimedOut,
    /// Stopped by a StopExecution request.
    Aborted,
}

/// One frame's resumable state after a step, opaque to the store: the engine serializes
/// it and reads it back on recovery. `state: None` deletes the frame (it finished).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameUpdate {
    /// Frame id, unique within the execution (0 is the top-level frame).
    pub frame: u64,
    /// The engine's serialized frame state, or `None` to delete it.
    pub state: Option<Vec<u8>>,
}

/// Everything one step of one execution makes durable, committed atomically.
#[derive(Clone, Debug)]
pub struct StepCommit {
    /// The execution the step belongs to.
    pub execution_id: String,
    /// History events the step appended, in order (ids continue the execution's history).
    pub events: Vec<crate::engine::history::HistoryEvent>,
    /// Frames the step changed.
    pub frames: Vec<FrameUpdate>,
    /// Set when the step ended the execution: its final status, output or error/cause.
    pub end: Option<ExecutionEnd>,
}

/// The final record of an execution.
#[derive(Clone, Debug, PartialEq)]
pub struct ExecutionEnd {
    /// SUCCEEDED, FAILED, TIMED_OUT or ABORTED.
    pub status: ExecutionStatus,
    /// The output, when it succeeded.
    pub output: Option<Value>,
    /// Error name, when it did not succeed.
    pub error: Option<String>,
    /// Cause, when it did not succeed.
    pub cause: Option<String>,
}

/// Error from a journal: the step was not made durable, so the engine must not go on.
#[derive(Debug, thiserror::Error)]
#[error("journal failure: {0}")]
pub struct JournalError(pub String);

/// Durable record of executions' steps. The redb store implements it with group commit;
/// the in-memory CLI uses a no-op journal.
pub trait Journal: Send + Sync {
    /// Makes the step durable; the engine moves on only after this resolves `Ok`.
    fn commit(&self, step: StepCommit) -> BoxFuture<'_, Result<(), JournalError>>;
}
