//! An execution is a tree of frames: frame 0 runs the top-level machine; each Parallel branch
//! and each Map iteration runs in a child frame with its own cursor. Frames are
//! serde-serializable so the durable service can persist them and resume after a crash;
//! deadlines (Wait, Retry backoff) are absolute times inside them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::asl::error::{ErrorName, StatesError};
use crate::asl::model::{MachineId, StateId};

/// Frame ids are unique within an execution; the top-level frame is 0.
pub type FrameId = u64;

/// One frame.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Frame {
    /// The parent frame and this frame's index among its children.
    pub parent: Option<ParentLink>,
    /// The machine it runs.
    pub machine: MachineId,
    /// Where it is.
    pub cursor: Cursor,
    /// Variables its states assigned ([`super::variables`]); enclosing frames' variables
    /// are read through `parent`.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub variables: serde_json::Map<String, Value>,
    /// Where the frame failed, kept in its last state so RedriveExecution can resume
    /// there ([`super::redrive`]); set only when a state's error went unhandled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_at: Option<Box<FailedAt>>,
}

/// The state a frame failed in, with its raw input.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FailedAt {
    /// The state.
    pub state: StateId,
    /// Its raw input.
    pub input: Value,
    /// For a Parallel or Map state: each child's output where the child had succeeded
    /// (a redrive reruns only the others).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<Vec<Option<Value>>>,
}

/// A child's place in its parent.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ParentLink {
    /// The parent frame.
    pub frame: FrameId,
    /// Branch index (Parallel) or item index (Map).
    pub index: usize,
}

/// Retry bookkeeping for the current state.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Attempt {
    /// `$$.State.RetryCount`: retries so far.
    pub retry_count: u32,
    /// Retries used per retrier, by index.
    pub per_retrier: Vec<u32>,
    /// `$$.State.EnteredTime`, in Unix milliseconds.
    pub entered_ms: i64,
    /// The id of the state's `...StateEntered` event (AWS names it in runtime error causes).
    #[serde(default)]
    pub entered_event: u64,
    /// `$$.Task.Token` of the current Task attempt: only for the callback pattern
    /// (`.waitForTaskToken`), a fresh token per attempt ([`super::callback::mint`]), kept in
    /// the frame so a resumed invocation sees the same one and a completion can be checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_token: Option<String>,
}

impl Attempt {
    /// A first attempt entered at `now` with the event `entered_event`.
    pub fn entered(now: SystemTime, entered_event: u64) -> Self {
        Attempt {
            retry_count: 0,
            per_retrier: Vec::new(),
            entered_ms: to_ms(now),
            entered_event,
            task_token: None,
        }
    }

    /// This attempt with a task token (a callback Task state starting an attempt).
    pub fn with_task_token(self, token: String) -> Self {
        Attempt {
            task_token: Some(token),
            ..self
        }
    }

    /// When the state was entered.
    pub fn entered_time(&self) -> SystemTime {
        from_ms(self.entered_ms)
    }
}

/// An activity task's part of a callback wait.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActivityWait {
    /// The effective input a worker gets.
    pub input: Value,
    /// Whether a worker took it (`ActivityStarted` is recorded).
    #[serde(default)]
    pub started: bool,
}

/// Where a frame is.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Cursor {
    /// About to enter `state` with `input`.
    Enter {
        /// The state.
        state: StateId,
        /// Its raw input.
        input: Value,
    },
    /// Entered; about to do the state's work (first attempt or a retry).
    Run {
        /// The state.
        state: StateId,
        /// Its raw input.
        input: Value,
        /// Retry bookkeeping.
        attempt: Attempt,
    },
    /// Waiting out a Retry backoff, then back to `Run`.
    Backoff {
        /// The state.
        state: StateId,
        /// Its raw input.
        input: Value,
        /// Retry bookkeeping.
        attempt: Attempt,
        /// Absolute deadline, Unix milliseconds.
        until_ms: i64,
    },
    /// A Wait state waiting until its deadline, then leaving with `output`.
    Waiting {
        /// The Wait state.
        state: StateId,
        /// Its output (already through OutputPath).
        output: Value,
        /// Absolute deadline, Unix milliseconds.
        until_ms: i64,
    },
    /// A task invocation in flight (re-invoked after a crash: at least once).
    Task {
        /// The Task state.
        state: StateId,
        /// Its raw input (for ResultPath).
        input: Value,
        /// The effective input sent to the task.
        effective: Value,
        /// Retry bookkeeping.
        attempt: Attempt,
    },
    /// A callback task (`.waitForTaskToken`) whose invocation returned: waiting for
    /// SendTaskSuccess/Failure with the token in `attempt`, or for a deadline.
    Callback {
        /// The Task state.
        state: StateId,
        /// Its raw input (for ResultPath).
        input: Value,
        /// Retry bookkeeping; holds the token.
        attempt: Attempt,
        /// TimeoutSeconds' deadline, Unix milliseconds.
        timeout_ms: i64,
        /// HeartbeatSeconds, when set.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        heartbeat_secs: Option<u64>,
        /// The heartbeat deadline (reset by each SendTaskHeartbeat), Unix milliseconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        heartbeat_ms: Option<i64>,
        /// An activity task (the Task's `Resource` is an activity ARN): its input and
        /// whether a worker took it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        activity: Option<Box<ActivityWait>>,
    },
    /// Waiting for child frames (Parallel branches or Map iterations).
    Children(Box<Children>),
    /// Finished.
    Done(Outcome),
}

/// How a frame ended.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum Outcome {
    /// With this output.
    Succeeded(Value),
    /// With this error.
    Failed {
        /// Error name.
        error: String,
        /// Cause.
        cause: String,
    },
}

impl Outcome {
    /// The failure of a states error.
    pub fn failed(e: StatesError) -> Self {
        Outcome::Failed {
            error: e.name.as_str().to_owned(),
            cause: e.cause,
        }
    }
}

/// A Parallel or Map state waiting for its children.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Children {
    /// The Parallel or Map state.
    pub state: StateId,
    /// Its raw input (for ResultPath).
    pub input: Value,
    /// Retry bookkeeping.
    pub attempt: Attempt,
    /// Each child's machine and input, by index; taken when the child starts.
    pub pending: Vec<(MachineId, Value)>,
    /// Children started so far (they start in index order).
    pub started: usize,
    /// Children running now.
    pub running: usize,
    /// Children finished.
    pub finished: usize,
    /// Children that failed (Map failure tolerance).
    pub failed: usize,
    /// At most this many run at once (0: no limit).
    pub max_concurrency: usize,
    /// Map: failures tolerated by count.
    pub tolerated_count: Option<f64>,
    /// Map: failures tolerated by percentage.
    pub tolerated_percentage: Option<f64>,
    /// Whether this is a Map (its events are MapIteration*).
    pub is_map: bool,
    /// Results by index. Not persisted with the parent: each child's final frame holds its
    /// own result, and a resumed parent gathers them (so a Map over N items costs O(N)).
    #[serde(skip)]
    pub results: Vec<Option<Value>>,
    /// Ids of the children started so far (rebuilt on resume).
    #[serde(skip)]
    pub child_ids: Vec<FrameId>,
    /// Indexes of the children that failed (rebuilt on resume), so a redrive knows which
    /// results were outputs.
    #[serde(skip)]
    pub failed_indexes: Vec<usize>,
}

/// A frame that could not be encoded for the journal. Nothing in a [`Frame`] should fail to
/// encode, but if one did, the execution must end with a named error, not lose the frame.
#[derive(Debug, thiserror::Error)]
#[error("frame {frame} cannot be stored: {detail}")]
pub struct EncodeError {
    /// The frame.
    pub frame: FrameId,
    /// The encoder's message.
    pub detail: String,
}

/// A frame's stored bytes (what [`super::resume`] decodes).
pub fn encode(frame: FrameId, state: &Frame) -> Result<Vec<u8>, EncodeError> {
    serde_json::to_vec(state).map_err(|e| EncodeError {
        frame,
        detail: e.to_string(),
    })
}

/// Unix milliseconds of a time (negative before 1970).
pub fn to_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis().min(i64::MAX as u128) as i64,
        Err(e) => -(e.duration().as_millis().min(i64::MAX as u128) as i64),
    }
}

/// The time of Unix milliseconds.
pub fn from_ms(ms: i64) -> SystemTime {
    if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
    }
}

/// Turns an error name string back into an [`ErrorName`].
pub fn error_name(s: &str) -> ErrorName {
    ErrorName::parse(s)
}
