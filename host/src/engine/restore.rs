//! Resuming an execution from its persisted frames (after a crash or restart), and aborting
//! one. A parent waiting for children is not re-persisted per child: finished children keep
//! their outcome in their own frame record until the parent completes, and the parent's
//! progress (started, running, finished, results) is rebuilt here from them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{Map, Value};

use super::context::ExecutionInfo;
use super::events::EventLog;
use super::execution::Execution;
use super::frame::{Cursor, Frame, FrameId, Outcome};
use super::limits::Limits;
use super::ports::{ExecutionEnd, ExecutionStatus, FrameUpdate, StepCommit};
use crate::asl::model::StateMachine;

/// A persisted frame that cannot be read back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// The bytes are not a frame of this engine version.
    #[error("frame {frame} of execution {execution} cannot be decoded: {source}")]
    Decode {
        /// The execution.
        execution: String,
        /// The frame id.
        frame: FrameId,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// The frames do not fit the state machine (e.g. it was replaced).
    #[error("frame {frame} of execution {execution} does not fit its state machine: {reason}")]
    Mismatch {
        /// The execution.
        execution: String,
        /// The frame id.
        frame: FrameId,
        /// What does not fit.
        reason: String,
    },
}

impl Execution {
    /// Rebuilds an execution from its stored frames. `last_event_id` is the id of the last
    /// event already in its history, so new events continue it.
    pub fn restore(
        model: Arc<StateMachine>,
        info: Arc<ExecutionInfo>,
        limits: Limits,
        record_history: bool,
        last_event_id: u64,
        stored: Vec<(FrameId, Vec<u8>)>,
    ) -> Result<Execution, RestoreError> {
        let mut frames: HashMap<FrameId, Frame> = HashMap::with_capacity(stored.len());
        for (id, bytes) in stored {
            let frame: Frame =
                serde_json::from_slice(&bytes).map_err(|source| RestoreError::Decode {
                    execution: info.id.clone(),
                    frame: id,
                    source,
                })?;
            if frame.machine as usize >= model.machines.len() {
                return Err(RestoreError::Mismatch {
                    execution: info.id.clone(),
                    frame: id,
                    reason: format!("machine {} does not exist", frame.machine),
                });
            }
            frames.insert(id, frame);
        }
        let next_frame = frames.keys().max().map_or(1, |m| m + 1);
        // A stored parent's counters may predate its children's later steps (or already
        // count them): recount them from the children's own frames below.
        for f in frames.values_mut() {
            if let Cursor::Children(ch) = &mut f.cursor {
                ch.running = 0;
                ch.finished = 0;
                ch.failed = 0;
                ch.child_ids.clear();
            }
        }
        // Children by parent, in id order (they were started in index order).
        let mut kids: Vec<(FrameId, FrameId)> = frames
            .iter()
            .filter_map(|(id, f)| f.parent.map(|l| (l.frame, *id)))
            .collect();
        kids.sort_unstable();
        for (parent, child) in kids {
            let Some(link) = frames.get(&child).and_then(|f| f.parent) else {
                continue;
            };
            let done = match frames.get(&child).map(|f| &f.cursor) {
                Some(Cursor::Done(o)) => Some(o.clone()),
                _ => None,
            };
            let Some(Frame {
                cursor: Cursor::Children(ch),
                ..
            }) = frames.get_mut(&parent)
            else {
                // An orphan (its parent moved on before the crash): drop it.
                frames.remove(&child);
                continue;
            };
            if ch.results.len() != ch.pending.len() {
                ch.results = vec![None; ch.pending.len()];
            }
            if link.index >= ch.pending.len() {
                return Err(RestoreError::Mismatch {
                    execution: info.id.clone(),
                    frame: child,
                    reason: format!("child index {} out of range", link.index),
                });
            }
            ch.child_ids.push(child);
            ch.started = ch.started.max(link.index + 1);
            ch.pending[link.index].1 = Value::Null;
            match done {
                Some(Outcome::Succeeded(v)) => {
                    ch.finished += 1;
                    ch.results[link.index] = Some(v);
                    frames.remove(&child);
                }
                Some(Outcome::Failed { error, cause }) => {
                    ch.finished += 1;
                    ch.failed += 1;
                    let mut info = Map::new();
                    info.insert("Error".into(), Value::from(error));
                    info.insert("Cause".into(), Value::from(cause));
                    ch.results[link.index] = Some(Value::Object(info));
                    frames.remove(&child);
                }
                None => ch.running += 1,
            }
        }
        for f in frames.values_mut() {
            if let Cursor::Children(ch) = &mut f.cursor
                && ch.results.len() != ch.pending.len()
            {
                ch.results = vec![None; ch.pending.len()];
            }
        }
        let mut exec = Execution::new(model, info, limits, record_history, SystemTime::now());
        exec.frames = frames;
        exec.next_frame = next_frame;
        exec.events = EventLog::resume(record_history, last_event_id);
        exec.dirty.clear();
        Ok(exec)
    }

    /// Stops the execution (StopExecution): drops every frame and returns the final commit
    /// with status ABORTED. The caller first stops driving it (drops the `run` future).
    pub fn abort(
        &mut self,
        now: SystemTime,
        error: Option<String>,
        cause: Option<String>,
    ) -> StepCommit {
        let mut ids: Vec<FrameId> = self.frames.keys().copied().collect();
        ids.sort_unstable();
        for id in &ids {
            if let Some(Frame {
                cursor: Cursor::Waiting { .. },
                ..
            }) = self.frames.get(id)
            {
                self.events.plain(now, "WaitStateAborted");
            }
        }
        self.frames.clear();
        self.events.execution_ended_badly(
            now,
            "ExecutionAborted",
            error.as_deref().unwrap_or(""),
            cause.as_deref().unwrap_or(""),
        );
        self.dirty.clear();
        let mut frames: Vec<FrameUpdate> = std::mem::take(&mut self.final_frames);
        frames.extend(
            ids.into_iter()
                .map(|frame| FrameUpdate { frame, state: None }),
        );
        StepCommit {
            execution_id: self.info.id.clone(),
            events: self.events.take(),
            frames,
            end: Some(ExecutionEnd {
                status: ExecutionStatus::Aborted,
                output: None,
                error,
                cause,
            }),
        }
    }
}
