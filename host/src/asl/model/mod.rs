//! The validated, immutable state machine the interpreter runs: states addressed by index,
//! every path, template, intrinsic and Choice rule compiled once. Built from the raw mirror by
//! [`StateMachine::compile`] after [`validate`](crate::asl::validate::validate) found no error;
//! shared as `Arc<StateMachine>`. No serde struct of the raw mirror reaches the interpreter.
//!
//! Fields that JSONata will evaluate differently are enums ([`Payload`], [`Param`], ...) so a
//! JSONata variant plugs in beside the JSONPath ones without restructuring.

mod choice;
mod compile;
mod fields;
pub mod jsonata;

use std::sync::Arc;
use std::time::Duration;

pub use choice::{ChoiceBranch, Cmp, CmpKind, Operand, Operator, Rule, TypeTest, operator};
pub use fields::{InOutPath, Param, Payload, ResultPathSpec, TextSource};
pub use jsonata::JsonataTemplate;

use crate::asl::error::ErrorName;
use crate::asl::raw::RawStateMachine;
use crate::asl::validate::Diagnostic;

/// Index of a state within its [`Machine`].
pub type StateId = u32;
/// Index of a (sub-)machine within the [`StateMachine`]: 0 is the top level; Parallel
/// branches and Map processors get the others.
pub type MachineId = u32;

/// A whole validated definition.
#[derive(Debug)]
pub struct StateMachine {
    /// Every machine, the top level first.
    pub machines: Vec<Machine>,
    /// Top-level `TimeoutSeconds`.
    pub timeout: Option<Duration>,
    /// Top-level `Comment`.
    pub comment: Option<String>,
}

impl StateMachine {
    /// Validates and compiles a raw definition. Returns every error diagnostic when it is invalid
    /// (warnings are dropped here; [`validate`](crate::asl::validate::validate) reports them).
    pub fn compile(raw: &RawStateMachine) -> Result<Arc<StateMachine>, Vec<Diagnostic>> {
        compile::compile(raw).map(Arc::new)
    }

    /// Validates and compiles a raw definition in one pass: every diagnostic (warnings
    /// too), and the model when there is no error.
    pub fn check(raw: &RawStateMachine) -> (Vec<Diagnostic>, Option<Arc<StateMachine>>) {
        let (diagnostics, model) = compile::check(raw);
        (diagnostics, model.map(Arc::new))
    }

    /// The top-level machine.
    pub fn root(&self) -> &Machine {
        &self.machines[0]
    }

    /// A machine by id.
    pub fn machine(&self, id: MachineId) -> &Machine {
        &self.machines[id as usize]
    }
}

/// A list of states with a start: the top level, a Parallel branch or a Map processor.
#[derive(Debug)]
pub struct Machine {
    /// The `StartAt` state.
    pub start: StateId,
    /// The states, in document order.
    pub states: Vec<State>,
}

impl Machine {
    /// A state by id.
    pub fn state(&self, id: StateId) -> &State {
        &self.states[id as usize]
    }
}

/// Where a state goes after it succeeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// `Next`.
    Next(StateId),
    /// `"End": true`.
    End,
    /// Choice, Succeed and Fail decide themselves.
    Own,
}

/// The query language a state evaluates its fields in (`JSONPath` unless set).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QueryLanguage {
    /// Paths, templates and intrinsics.
    #[default]
    JsonPath,
    /// JSONata expressions.
    Jsonata,
}

/// One state.
#[derive(Debug)]
pub struct State {
    /// Its name (`$$.State.Name`, history events).
    pub name: Arc<str>,
    /// Its type-specific part.
    pub kind: StateKind,
    /// The shared input/output fields.
    pub io: Io,
    /// Where it goes on success.
    pub transition: Transition,
    /// `Retry`.
    pub retry: Vec<Retrier>,
    /// `Catch`.
    pub catch: Vec<Catcher>,
    /// `Assign`.
    pub assign: Option<Payload>,
    /// The state's query language.
    pub query_language: QueryLanguage,
    /// Whether any of its expressions reads the context object (`$$`), so the interpreter
    /// builds it only when needed.
    pub needs_context: bool,
}

impl State {
    /// The AWS type name (`Pass`, `Task`, ...), as history events spell it.
    pub fn type_name(&self) -> &'static str {
        self.kind.type_name()
    }
}

/// The input/output fields every state runs through, in the pipeline's order
/// (InputPath → Parameters → [work] → ResultSelector → ResultPath → OutputPath).
/// Each state type has only the subset AWS allows; the rest are defaults.
#[derive(Debug, Default)]
pub struct Io {
    /// `InputPath` (default `$`).
    pub input_path: InOutPath,
    /// `Parameters` (or a Map's `ItemSelector` lives in [`MapState`]).
    pub parameters: Option<Payload>,
    /// `ResultSelector`.
    pub result_selector: Option<Payload>,
    /// `ResultPath` (default `$`).
    pub result_path: ResultPathSpec,
    /// `OutputPath` (default `$`).
    pub output_path: InOutPath,
    /// JSONata `Output` (JSONata `Arguments` live in `parameters`).
    pub output: Option<Payload>,
}

/// What a state does, by type.
#[derive(Debug)]
pub enum StateKind {
    /// `Pass`, with its optional `Result`.
    Pass {
        /// `Result`.
        result: Option<serde_json::Value>,
    },
    /// `Task`.
    Task(TaskState),
    /// `Choice`.
    Choice {
        /// `Choices`, in order.
        branches: Vec<ChoiceBranch>,
        /// `Default`.
        default: Option<StateId>,
    },
    /// `Wait`.
    Wait(WaitFor),
    /// `Succeed`.
    Succeed,
    /// `Fail`.
    Fail {
        /// `Error` / `ErrorPath`.
        error: Option<TextSource>,
        /// `Cause` / `CausePath`.
        cause: Option<TextSource>,
    },
    /// `Parallel`.
    Parallel {
        /// One machine per branch.
        branches: Vec<MachineId>,
    },
    /// `Map`.
    Map(Box<MapState>),
}

impl StateKind {
    /// The AWS type name.
    pub fn type_name(&self) -> &'static str {
        match self {
            StateKind::Pass { .. } => "Pass",
            StateKind::Task(_) => "Task",
            StateKind::Choice { .. } => "Choice",
            StateKind::Wait(_) => "Wait",
            StateKind::Succeed => "Succeed",
            StateKind::Fail { .. } => "Fail",
            StateKind::Parallel { .. } => "Parallel",
            StateKind::Map(_) => "Map",
        }
    }
}

/// A Task state's own fields.
#[derive(Debug)]
pub struct TaskState {
    /// `Resource`.
    pub resource: String,
    /// `TimeoutSeconds` / `TimeoutSecondsPath`.
    pub timeout: Option<Param<u64>>,
    /// `HeartbeatSeconds` / `HeartbeatSecondsPath`.
    pub heartbeat: Option<Param<u64>>,
}

/// How long a Wait state waits.
#[derive(Debug)]
pub enum WaitFor {
    /// `Seconds` or `SecondsPath`.
    Seconds(Param<u64>),
    /// `Timestamp` (already parsed) or `TimestampPath`.
    Timestamp(Param<std::time::SystemTime>),
}

/// A Map state's own fields.
#[derive(Debug)]
pub struct MapState {
    /// `ItemProcessor` / `Iterator`.
    pub processor: MachineId,
    /// `ItemsPath` (default `$`).
    pub items_path: InOutPath,
    /// JSONata `Items` (default: the state input).
    pub items: Option<JsonataTemplate>,
    /// `ItemSelector` (or the legacy `Parameters`).
    pub item_selector: Option<Payload>,
    /// `MaxConcurrency` / `MaxConcurrencyPath`; 0 means no limit.
    pub max_concurrency: Param<u64>,
    /// `ToleratedFailureCount` / `...Path`.
    pub tolerated_count: Option<Param<f64>>,
    /// `ToleratedFailurePercentage` / `...Path`.
    pub tolerated_percentage: Option<Param<f64>>,
    /// `ItemBatcher`.
    pub batcher: Option<ItemBatcher>,
    /// The `Resource` of a Distributed Map's `ItemReader` (Amazon S3), which this engine
    /// cannot reach: AWS accepts the definition, and reaching the Map fails by name.
    pub item_reader: Option<Arc<str>>,
    /// The `Resource` of a Distributed Map's `ResultWriter` (Amazon S3), as `item_reader`.
    pub result_writer: Option<Arc<str>>,
}

/// A Map state's `ItemBatcher`.
#[derive(Debug)]
pub struct ItemBatcher {
    /// `MaxItemsPerBatch` / `...Path`.
    pub max_items: Option<Param<u64>>,
    /// `MaxInputBytesPerBatch` / `...Path`.
    pub max_bytes: Option<Param<u64>>,
    /// `BatchInput`.
    pub batch_input: Option<Payload>,
}

/// The names an `ErrorEquals` list matches.
#[derive(Debug, Clone)]
pub struct ErrorMatcher {
    /// The names, as written.
    pub names: Vec<ErrorName>,
}

impl ErrorMatcher {
    /// Whether an error with this name is matched: `States.ALL` matches everything except
    /// `States.Runtime`; `States.TaskFailed` matches every task failure except `States.Timeout`
    /// (and never the runtime error); otherwise names compare exactly (case-sensitive).
    pub fn matches(&self, error: &ErrorName, from_task: bool) -> bool {
        if *error == ErrorName::Runtime {
            return false;
        }
        self.names.iter().any(|name| match name {
            ErrorName::All => true,
            ErrorName::TaskFailed => {
                *error == ErrorName::TaskFailed || (from_task && *error != ErrorName::Timeout)
            }
            other => other == error,
        })
    }
}

/// How Retry spreads delays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jitter {
    /// Exact exponential backoff.
    None,
    /// A random delay between 0 and the backoff.
    Full,
}

/// One `Retry` entry.
#[derive(Debug)]
pub struct Retrier {
    /// `ErrorEquals`.
    pub errors: ErrorMatcher,
    /// `IntervalSeconds` (default 1).
    pub interval_seconds: f64,
    /// `MaxAttempts` (default 3; 0 never retries).
    pub max_attempts: u32,
    /// `BackoffRate` (default 2.0).
    pub backoff_rate: f64,
    /// `MaxDelaySeconds`.
    pub max_delay_seconds: Option<f64>,
    /// `JitterStrategy`.
    pub jitter: Jitter,
}

impl Retrier {
    /// The delay before retry number `attempt` (1-based), before jitter and capped by
    /// MaxDelaySeconds: `IntervalSeconds * BackoffRate^(attempt-1)`.
    pub fn delay_seconds(&self, attempt: u32) -> f64 {
        let exp = attempt.saturating_sub(1).min(i32::MAX as u32) as i32;
        let mut delay = self.interval_seconds * self.backoff_rate.powi(exp);
        if let Some(max) = self.max_delay_seconds {
            delay = delay.min(max);
        }
        delay
    }
}

/// One `Catch` entry.
#[derive(Debug)]
pub struct Catcher {
    /// `ErrorEquals`.
    pub errors: ErrorMatcher,
    /// `Next`.
    pub next: StateId,
    /// `ResultPath` (default `$`).
    pub result_path: ResultPathSpec,
    /// `Assign`.
    pub assign: Option<Payload>,
    /// JSONata `Output`.
    pub output: Option<Payload>,
}

pub use compile::{MAX_WAIT_SECONDS, timestamp_to_system};
