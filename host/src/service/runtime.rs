//! The seam between the service and the engine's driver: begin an execution (its first
//! events and frames, committed together with its record), drive a durable one to its end
//! through the journal (fresh or recovered from its committed frames), and run an EXPRESS
//! one in memory.

use std::sync::Arc;

use crate::asl::model::StateMachine;
use crate::engine::driver::StopOrder;
use crate::engine::history::HistoryEvent;
use crate::engine::ports::{BoxFuture, ExecutionEnd, FrameUpdate, Journal, StepCommit};
use crate::store::{ExecutionRecord, StateMachineVersion};

/// Everything the runtime needs to run one execution.
#[derive(Clone, Debug)]
pub struct Launch {
    /// The execution's record (ARN, name, input, start time, tenant).
    pub record: ExecutionRecord,
    /// The state machine version it runs.
    pub machine: Arc<StateMachineVersion>,
    /// Fuel per task attempt (tenant quota).
    pub task_fuel: u64,
    /// Linear memory per task attempt (tenant quota).
    pub task_memory_bytes: u64,
}

/// A finished EXPRESS execution.
#[derive(Clone, Debug)]
pub struct ExpressRun {
    /// How it ended.
    pub end: ExecutionEnd,
    /// Its whole history.
    pub events: Vec<HistoryEvent>,
    /// The most linear memory any of its task attempts used, in bytes.
    pub peak_memory_bytes: u64,
}

/// How far [`Runtime::drive`] took a durable execution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Driven {
    /// It ended (its end is committed).
    Ended,
    /// It only waits on a timer until `wake_at_ms` (Unix ms); every step is committed and
    /// nothing of it is held in memory. Drive it again from its committed frames then.
    Parked {
        /// When to resume it.
        wake_at_ms: i64,
    },
}

/// Why the runtime could not run an execution.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// No engine is wired into this server.
    #[error("{reason}")]
    Unavailable {
        /// Why.
        reason: String,
    },
    /// The stored definition does not compile (it was valid when stored, so this is a
    /// version mismatch or a bug).
    #[error("the definition cannot run: {message}")]
    Definition {
        /// Why.
        message: String,
    },
    /// A commit failed; the execution stays RUNNING and resumes at the next start.
    #[error("the journal failed: {message}")]
    Journal {
        /// Why.
        message: String,
    },
    /// Frame state written by another build could not be read back.
    #[error("cannot resume: {message}")]
    Resume {
        /// Why.
        message: String,
    },
}

/// Runs executions. The engine's driver implements it; the service never looks inside
/// frames or definitions beyond validation.
pub trait Runtime: Send + Sync {
    /// Keeps the model compiled when a state machine version was created, for its
    /// executions (versions are immutable).
    fn keep_model(&self, _tenant: &str, _version: &StateMachineVersion, _model: Arc<StateMachine>) {
    }

    /// The events and frames that begin an execution (`ExecutionStarted`, frame 0).
    fn begin(&self, launch: &Launch)
    -> Result<(Vec<HistoryEvent>, Vec<FrameUpdate>), RuntimeError>;

    /// Drives a durable execution from its committed frames (`last_event_id` is its last
    /// committed event) until it ends or parks on a long timer, committing every step
    /// through `journal`.
    fn drive(
        &self,
        launch: Launch,
        frames: Vec<(u64, Vec<u8>)>,
        last_event_id: u64,
        journal: Arc<dyn Journal>,
    ) -> BoxFuture<'static, Result<Driven, RuntimeError>>;

    /// The commit that stops a durable execution from its committed frames (StopExecution):
    /// a `WaitStateAborted` for each Wait it is in, `ExecutionAborted`, frames dropped,
    /// status ABORTED. Nothing may drive it meanwhile.
    fn abort(
        &self,
        launch: &Launch,
        frames: &[(u64, Vec<u8>)],
        last_event_id: u64,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<StepCommit, RuntimeError>;

    /// Runs an EXPRESS execution in memory to its end, or until `stop` resolves (then the
    /// engine ends it ABORTED, with its own abort events).
    fn run_express(
        &self,
        launch: Launch,
        stop: Option<BoxFuture<'static, StopOrder>>,
    ) -> BoxFuture<'static, Result<ExpressRun, RuntimeError>>;
}

/// The runtime of a server built without an engine: every execution is refused with a
/// clear `ServiceUnavailable`, everything else works.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoRuntime;

fn no_engine() -> RuntimeError {
    RuntimeError::Unavailable {
        reason: "this server has no execution engine wired in".into(),
    }
}

impl Runtime for NoRuntime {
    fn begin(&self, _: &Launch) -> Result<(Vec<HistoryEvent>, Vec<FrameUpdate>), RuntimeError> {
        Err(no_engine())
    }

    fn drive(
        &self,
        _: Launch,
        _: Vec<(u64, Vec<u8>)>,
        _: u64,
        _: Arc<dyn Journal>,
    ) -> BoxFuture<'static, Result<Driven, RuntimeError>> {
        Box::pin(async { Err(no_engine()) })
    }

    fn abort(
        &self,
        _: &Launch,
        _: &[(u64, Vec<u8>)],
        _: u64,
        _: Option<String>,
        _: Option<String>,
    ) -> Result<StepCommit, RuntimeError> {
        Err(no_engine())
    }

    fn run_express(
        &self,
        _: Launch,
        _: Option<BoxFuture<'static, StopOrder>>,
    ) -> BoxFuture<'static, Result<ExpressRun, RuntimeError>> {
        Box::pin(async { Err(no_engine()) })
    }
}
