//! Every way the sandbox can fail a task, with the ASL error name Retry/Catch match on.
//! Converted to the engine's `TaskFailure` here and nowhere else.

use super::component::{LoadError, ResourceError};
use crate::asl::error::ErrorName;
use crate::engine::ports::TaskFailure;

/// A task failure the sandbox itself detected (the guest's own task errors pass through
/// untouched and are not listed here).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TaskFault {
    /// The `Resource` is not `wasm:NAME[:VERSION]`.
    #[error("{source}")]
    InvalidResource {
        /// The parse error.
        source: ResourceError,
    },
    /// No such component, or its source failed.
    #[error("{source}")]
    ComponentNotFound {
        /// The lookup error.
        source: ResourceError,
    },
    /// The component was rejected when it was loaded.
    #[error("{source}")]
    InvalidComponent {
        /// Why it was rejected.
        source: LoadError,
    },
    /// Ran past TimeoutSeconds.
    #[error("task ran past its {limit_ms} ms TimeoutSeconds")]
    Timeout {
        /// The limit.
        limit_ms: u128,
    },
    /// No heartbeat within HeartbeatSeconds.
    #[error("no heartbeat within {limit_ms} ms (HeartbeatSeconds)")]
    HeartbeatTimeout {
        /// The limit.
        limit_ms: u128,
    },
    /// Used up its fuel.
    #[error("task used up its fuel ({fuel} units)")]
    FuelExhausted {
        /// The fuel it had.
        fuel: u64,
    },
    /// Tried to grow linear memory past its limit.
    #[error("linear memory would grow to {desired} bytes, over the {limit} byte limit")]
    MemoryLimitExceeded {
        /// Size it asked for.
        desired: usize,
        /// The limit.
        limit: usize,
    },
    /// Exhausted the WebAssembly call stack.
    #[error("call stack exhausted (recursion too deep)")]
    StackOverflow,
    /// Trapped (a panic, `unreachable`, out-of-bounds access...).
    #[error("{message}")]
    Trap {
        /// The trap message, plus the guest's stderr when it wrote any.
        message: String,
    },
    /// Returned text that is not JSON.
    #[error("task output is not JSON: {reason}")]
    OutputNotJson {
        /// The parser's message.
        reason: String,
    },
    /// Returned more than the payload limit.
    #[error("task output is {bytes} bytes, over the {limit} byte payload limit")]
    DataLimitExceeded {
        /// Output size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// Tried to fill its scratch directory past the cap.
    #[error("scratch directory over its {limit} byte cap: it holds {used} bytes{}", refused_note(*.refused))]
    ScratchLimitExceeded {
        /// Bytes the directory held.
        used: u64,
        /// Bytes of the write that was refused (0 when the size was found after the fact).
        refused: u64,
        /// The cap.
        limit: u64,
    },
    /// The host could not set the attempt up (scratch directory, instantiation).
    #[error("the sandbox could not run the task: {reason}")]
    Internal {
        /// What failed.
        reason: String,
    },
}

impl TaskFault {
    /// The error name Retry/Catch match on.
    pub fn error_name(&self) -> String {
        match self {
            TaskFault::InvalidResource { .. } => "Sandbox.InvalidResource".to_owned(),
            TaskFault::ComponentNotFound { .. } => "Sandbox.ComponentNotFound".to_owned(),
            TaskFault::InvalidComponent { .. } => "Sandbox.InvalidComponent".to_owned(),
            TaskFault::Timeout { .. } => ErrorName::Timeout.to_string(),
            TaskFault::HeartbeatTimeout { .. } => ErrorName::HeartbeatTimeout.to_string(),
            TaskFault::FuelExhausted { .. } => "Sandbox.FuelExhausted".to_owned(),
            TaskFault::MemoryLimitExceeded { .. } => "Sandbox.MemoryLimitExceeded".to_owned(),
            TaskFault::StackOverflow => "Sandbox.StackOverflow".to_owned(),
            TaskFault::Trap { .. } => "Sandbox.Trap".to_owned(),
            TaskFault::OutputNotJson { .. } => "Sandbox.OutputNotJson".to_owned(),
            TaskFault::DataLimitExceeded { .. } => ErrorName::DataLimitExceeded.to_string(),
            TaskFault::ScratchLimitExceeded { .. } => "Sandbox.ScratchLimitExceeded".to_owned(),
            TaskFault::Internal { .. } => "Sandbox.Internal".to_owned(),
        }
    }
}

impl From<TaskFault> for TaskFailure {
    fn from(fault: TaskFault) -> Self {
        TaskFailure {
            error: fault.error_name(),
            cause: fault.to_string(),
        }
    }
}

fn refused_note(refused: u64) -> String {
    if refused == 0 {
        String::new()
    } else {
        format!(" and a write of {refused} more was refused")
    }
}
