//! Rebuilding an [`Execution`] from its committed frames after a restart (the service also
//! starts every durable execution this way, so this path runs on every execution, not only
//! after crashes), and aborting one.
//!
//! What the store holds per execution: every live frame, plus the final frame of each
//! finished Parallel/Map child whose parent is still gathering (it carries the child's
//! result). A parent is not re-persisted per child (a Map over N items stays O(N)), so its
//! progress (children started, running, finished, failed; their ids and results) is rebuilt
//! here from its children's frames.

use std::sync::Arc;
use std::time::SystemTime;

use rustc_hash::FxHashMap;
use serde_json::{Map, Value};

use super::context::ExecutionInfo;
use super::events::EventLog;
use super::execution::{Ending, Execution};
use super::frame::{Cursor, Frame, FrameId, Outcome};
use super::limits::Limits;
use super::ports::StepCommit;
use crate::asl::model::{StateKind, StateMachine};

/// Why committed frames could not be turned back into an execution.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResumeError {
    /// A frame's bytes do not decode (written by an incompatible build).
    #[error("frame {frame} does not decode: {detail}")]
    Decode {
        /// The frame.
        frame: FrameId,
        /// The decoder's message.
        detail: String,
    },
    /// A frame does not fit the state machine (e.g. a machine or child index out of range).
    #[error("frame {frame} does not fit its state machine: {detail}")]
    Mismatch {
        /// The frame.
        frame: FrameId,
        /// What does not fit.
        detail: String,
    },
    /// No live frame is left to run.
    #[error("no live frame to resume")]
    NoLiveFrame,
}

impl Execution {
    /// An execution continuing from committed `frames` (id, serialized [`Frame`]), whose
    /// history's last event is `last_event_id`. History is recorded (durable executions always
    /// record it).
    pub fn resume(
        model: Arc<StateMachine>,
        info: Arc<ExecutionInfo>,
        limits: Limits,
        frames: &[(FrameId, Vec<u8>)],
        last_event_id: u64,
    ) -> Result<Execution, ResumeError> {
        let mut live: FxHashMap<FrameId, Frame> = FxHashMap::default();
        let mut next_frame = 1;
        for (id, bytes) in frames {
            let frame: Frame = serde_json::from_slice(bytes).map_err(|e| ResumeError::Decode {
                frame: *id,
                detail: e.to_string(),
            })?;
            if let Some(detail) = misfit(&model, &frame) {
                return Err(ResumeError::Mismatch { frame: *id, detail });
            }
            next_frame = next_frame.max(id + 1);
            live.insert(*id, frame);
        }
        for f in live.values_mut() {
            if let Cursor::Children(ch) = &mut f.cursor {
                ch.results = vec![None; ch.pending.len()];
                ch.child_ids.clear();
                ch.started = 0;
                ch.running = 0;
                ch.finished = 0;
                ch.failed = 0;
            }
        }
        // Children by (parent, id): ids grow in start order, which is index order.
        let mut kids: Vec<(FrameId, FrameId)> = live
            .iter()
            .filter_map(|(id, f)| f.parent.map(|l| (l.frame, *id)))
            .collect();
        kids.sort_unstable();
        for (parent, child) in kids {
            let Some((link, done)) = live.get(&child).and_then(|f| {
                let done = match &f.cursor {
                    Cursor::Done(o) => Some(o.clone()),
                    _ => None,
                };
                f.parent.map(|l| (l, done))
            }) else {
                continue;
            };
            let Some(Frame {
                cursor: Cursor::Children(ch),
                ..
            }) = live.get_mut(&parent)
            else {
                // Its parent moved on before the crash: the child is an orphan.
                live.remove(&child);
                continue;
            };
            if link.index >= ch.pending.len() {
                return Err(ResumeError::Mismatch {
                    frame: child,
                    detail: format!("child index {} out of range", link.index),
                });
            }
            ch.child_ids.push(child);
            ch.started = ch.started.max(link.index + 1);
            ch.pending[link.index].1 = Value::Null;
            match done {
                Some(outcome) => {
                    ch.finished += 1;
                    if matches!(outcome, Outcome::Failed { .. }) {
                        ch.failed += 1;
                        ch.failed_indexes.push(link.index);
                    }
                    ch.results[link.index] = Some(result_value(outcome));
                    live.remove(&child);
                }
                None => ch.running += 1,
            }
        }
        if live.is_empty() {
            return Err(ResumeError::NoLiveFrame);
        }
        let mut exec = Execution::new(model, info, limits, true, SystemTime::now());
        exec.frames = live;
        exec.next_frame = next_frame;
        exec.events = EventLog::resume(true, last_event_id);
        exec.dirty.clear();
        Ok(exec)
    }

    /// Stops the execution (StopExecution): the engine's own ending (`WaitStateAborted`
    /// for each Wait in progress, then `ExecutionAborted`) and the final commit, with
    /// status ABORTED. The caller first stops driving it (drops the `run` future).
    pub fn abort(
        &mut self,
        now: SystemTime,
        error: Option<String>,
        cause: Option<String>,
    ) -> StepCommit {
        let end = self.finish(Ending::Aborted { error, cause }, now);
        self.final_commit(end)
    }
}

/// The commit that ends an execution which cannot be rebuilt (its frames or its definition
/// do not load), after event `last_event_id`, every frame dropped: `Ending::Failed` for
/// one that can never move again, `Ending::Aborted` for a stop. An execution must end with
/// a named error, never stay RUNNING unable to move.
pub fn unresumable_commit(
    execution_id: &str,
    last_event_id: u64,
    now: SystemTime,
    ending: Ending,
) -> StepCommit {
    let mut events = EventLog::resume(true, last_event_id);
    let end = super::driver::record_ending(&mut events, now, ending);
    StepCommit {
        execution_id: execution_id.to_owned(),
        events: events.take(),
        frames: Vec::new(),
        end: Some(end),
    }
}

/// A finished child's entry in its parent's results (as `child_done` records it).
fn result_value(outcome: Outcome) -> Value {
    match outcome {
        Outcome::Succeeded(v) => v,
        Outcome::Failed { error, cause } => {
            let mut info = Map::new();
            info.insert("Error".into(), Value::from(error));
            info.insert("Cause".into(), Value::from(cause));
            Value::Object(info)
        }
    }
}

/// Why a decoded frame cannot run on `model` (a frame of another definition, or damaged):
/// its machine, state or children's machines do not exist, or its cursor waits in a kind of
/// state that never waits that way. The step function indexes by these ids, so each is
/// checked here, where it is a named error.
fn misfit(model: &StateMachine, frame: &Frame) -> Option<String> {
    let Some(machine) = model.machines.get(frame.machine as usize) else {
        return Some(format!("machine {} does not exist", frame.machine));
    };
    let state = match &frame.cursor {
        Cursor::Enter { state, .. }
        | Cursor::Run { state, .. }
        | Cursor::Backoff { state, .. }
        | Cursor::Waiting { state, .. }
        | Cursor::Task { state, .. }
        | Cursor::Callback { state, .. } => *state,
        Cursor::Children(ch) => ch.state,
        Cursor::Done(_) => return None,
    };
    let Some(s) = machine.states.get(state as usize) else {
        return Some(format!(
            "state {state} does not exist in machine {}",
            frame.machine
        ));
    };
    let fits = match (&frame.cursor, &s.kind) {
        (Cursor::Task { .. } | Cursor::Callback { .. }, StateKind::Task(_))
        | (Cursor::Waiting { .. }, StateKind::Wait(_))
        | (Cursor::Children(_), StateKind::Parallel { .. } | StateKind::Map(_)) => true,
        (
            Cursor::Task { .. }
            | Cursor::Callback { .. }
            | Cursor::Waiting { .. }
            | Cursor::Children(_),
            _,
        ) => false,
        _ => true,
    };
    if !fits {
        return Some(format!(
            "state '{}' cannot hold a frame in this cursor",
            s.name
        ));
    }
    if let Cursor::Children(ch) = &frame.cursor
        && let Some((m, _)) = ch
            .pending
            .iter()
            .find(|(m, _)| *m as usize >= model.machines.len())
    {
        return Some(format!("child machine {m} does not exist"));
    }
    None
}
