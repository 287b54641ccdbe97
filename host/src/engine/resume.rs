//! Rebuilding an [`Execution`] from its committed frames after a restart (or right after
//! its first commit: the service starts every durable execution this way, so the resume
//! path runs on every execution, not only after crashes).
//!
//! What the store holds per execution: every live frame, plus the final frame of each
//! finished Parallel/Map child whose parent is still gathering (it carries the child's
//! result). Parents do not persist their children's ids or results; they are rebuilt here.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::context::ExecutionInfo;
use super::events::EventLog;
use super::execution::Execution;
use super::frame::{Cursor, Frame, FrameId, Outcome};
use super::limits::Limits;
use crate::asl::model::StateMachine;

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
    /// No live frame is left to run.
    #[error("no live frame to resume")]
    NoLiveFrame,
}

impl Execution {
    /// An execution continuing from committed `frames` (id, serialized [`Frame`]), whose
    /// history's last event is `last_event_id`.
    pub fn resume(
        model: Arc<StateMachine>,
        info: Arc<ExecutionInfo>,
        limits: Limits,
        frames: &[(FrameId, Vec<u8>)],
        last_event_id: u64,
    ) -> Result<Execution, ResumeError> {
        let mut live: HashMap<FrameId, Frame> = HashMap::new();
        let mut finished: Vec<(FrameId, Frame)> = Vec::new();
        let mut next_frame = 0;
        for (id, bytes) in frames {
            let frame: Frame = serde_json::from_slice(bytes).map_err(|e| ResumeError::Decode {
                frame: *id,
                detail: e.to_string(),
            })?;
            next_frame = next_frame.max(id + 1);
            if frame.parent.is_some() && matches!(frame.cursor, Cursor::Done(_)) {
                finished.push((*id, frame));
            } else {
                live.insert(*id, frame);
            }
        }
        if live.is_empty() {
            return Err(ResumeError::NoLiveFrame);
        }
        // Parents gather their children again: ids (live and finished) and results.
        for ch in live.values_mut().filter_map(|f| match &mut f.cursor {
            Cursor::Children(ch) => Some(ch),
            _ => None,
        }) {
            ch.results = vec![None; ch.pending.len()];
            ch.child_ids.clear();
        }
        let mut children: Vec<(FrameId, FrameId, usize)> = live
            .iter()
            .filter_map(|(id, f)| f.parent.map(|p| (p.frame, *id, p.index)))
            .collect();
        for (id, f) in &finished {
            if let (Some(p), Cursor::Done(outcome)) = (f.parent, &f.cursor) {
                children.push((p.frame, *id, p.index));
                if let Some(Frame {
                    cursor: Cursor::Children(ch),
                    ..
                }) = live.get_mut(&p.frame)
                    && let Some(slot) = ch.results.get_mut(p.index)
                {
                    *slot = Some(result_value(outcome));
                }
            }
        }
        children.sort_unstable();
        for (parent, id, _) in children {
            if let Some(Frame {
                cursor: Cursor::Children(ch),
                ..
            }) = live.get_mut(&parent)
            {
                ch.child_ids.push(id);
            }
        }
        Ok(Execution {
            model,
            info,
            frames: live,
            next_frame,
            events: EventLog::resume(true, last_event_id),
            limits,
            dirty: Vec::new(),
            track: false,
            single_step: false,
            final_frames: Vec::new(),
            transitions: 0,
        })
    }
}

/// A finished child's entry in its parent's results (as `child_done` records it).
fn result_value(outcome: &Outcome) -> Value {
    match outcome {
        Outcome::Succeeded(v) => v.clone(),
        Outcome::Failed { error, cause } => {
            let mut info = Map::new();
            info.insert("Error".into(), Value::from(error.as_str()));
            info.insert("Cause".into(), Value::from(cause.as_str()));
            Value::Object(info)
        }
    }
}
