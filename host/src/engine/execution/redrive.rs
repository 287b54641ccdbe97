//! RedriveExecution's side of the engine: where a failed frame stood is kept in its last
//! state ([`FailedAt`]), and a redrive turns the kept frames back into runnable ones.
//!
//! - A frame that failed resumes by re-entering the state that failed, with the same input
//!   (fresh retry counts, as a new attempt).
//! - A Parallel or Map state that failed keeps the outputs of the children that had
//!   succeeded: re-entered, it starts those children already finished (their output
//!   seeds them), so only failed and unfinished branches or iterations run again. A failed
//!   child reruns from its start.
//! - A frame that was in a Task, a Retry backoff or a retry when the execution timed out or
//!   was aborted re-enters that state; a Wait keeps its deadline; children still running
//!   go on from where they stood.
//!
//! A frame that failed without a kept state (a Fail state, or a `States.Runtime` error in a
//! Choice, Wait, Succeed or Pass state's own fields, which would recur) cannot be redriven.

use super::*;
use crate::engine::frame::FailedAt;
use crate::engine::resume::ResumeError;

/// Each child's output, for the children that succeeded (failed ones: `None`).
pub(super) fn succeeded_children(ch: &Children) -> Vec<Option<Value>> {
    let mut out = ch.results.clone();
    for &i in &ch.failed_indexes {
        if let Some(slot) = out.get_mut(i) {
            *slot = None;
        }
    }
    out
}

/// Frame `id` failed in `state` with `input`: keep that for a redrive.
pub(super) fn keep_failure(exec: &mut Execution, id: FrameId, state: StateId, input: Value) {
    if let Some(frame) = exec.frames.get_mut(&id) {
        frame.failed_at = Some(Box::new(FailedAt {
            state,
            input,
            results: None,
        }));
    }
}

/// The Parallel/Map `state` of frame `parent` failed (its error unhandled): keep which
/// children had succeeded.
pub(super) fn keep_children(
    exec: &mut Execution,
    parent: FrameId,
    state: StateId,
    succeeded: Vec<Option<Value>>,
) {
    if let Some(Frame {
        failed_at: Some(at),
        cursor: Cursor::Done(Outcome::Failed { .. }),
        ..
    }) = exec.frames.get_mut(&parent)
        && at.state == state
    {
        at.results = Some(succeeded);
    }
}

/// Kept frames (as stored when the execution ended FAILED, TIMED_OUT or ABORTED) turned
/// into frames to run from. Errors name what cannot be redriven.
pub fn redrive_frames(
    model: &StateMachine,
    frames: &[(FrameId, Vec<u8>)],
) -> Result<Vec<(FrameId, Vec<u8>)>, ResumeError> {
    let mut out = Vec::with_capacity(frames.len());
    for (id, bytes) in frames {
        let mut frame: Frame = serde_json::from_slice(bytes).map_err(|e| ResumeError::Decode {
            frame: *id,
            detail: e.to_string(),
        })?;
        if frame.machine as usize >= model.machines.len() {
            return Err(ResumeError::Mismatch {
                frame: *id,
                detail: format!("machine {} does not exist", frame.machine),
            });
        }
        let cursor = std::mem::replace(
            &mut frame.cursor,
            Cursor::Done(Outcome::Succeeded(Value::Null)),
        );
        frame.cursor = match cursor {
            Cursor::Done(Outcome::Failed { error, .. }) => {
                let Some(mut at) = frame.failed_at.take() else {
                    return Err(ResumeError::Mismatch {
                        frame: *id,
                        detail: format!(
                            "it failed with {error} where no state can be re-entered (a Fail state, or an error in a state's own fields, which would recur)"
                        ),
                    });
                };
                let input = std::mem::take(&mut at.input);
                let state = at.state;
                if at.results.is_some() {
                    // The seeds of the re-entered Parallel/Map.
                    frame.failed_at = Some(at);
                }
                Cursor::Enter { state, input }
            }
            Cursor::Task { state, input, .. }
            | Cursor::Run { state, input, .. }
            | Cursor::Backoff { state, input, .. } => Cursor::Enter { state, input },
            other => other,
        };
        let bytes = serde_json::to_vec(&frame).map_err(|e| ResumeError::Decode {
            frame: *id,
            detail: e.to_string(),
        })?;
        out.push((*id, bytes));
    }
    Ok(out)
}

impl Execution {
    /// RedriveExecution: the execution rebuilt from its kept frames, ready to run, and the
    /// commit that starts it again (`ExecutionRedriven`, then every frame as it now runs).
    pub fn redrive(
        model: Arc<StateMachine>,
        info: Arc<super::super::context::ExecutionInfo>,
        limits: Limits,
        frames: &[(FrameId, Vec<u8>)],
        last_event_id: u64,
        now: SystemTime,
    ) -> Result<(Execution, super::super::ports::StepCommit), ResumeError> {
        let frames = redrive_frames(&model, frames)?;
        let count = info.redrive_count;
        let mut exec = Execution::resume(model, info, limits, &frames, last_event_id)?;
        exec.events.execution_redriven(now, count);
        let mut ids: Vec<FrameId> = exec.frames.keys().copied().collect();
        ids.sort_unstable();
        exec.track = true;
        exec.dirty = ids.into_iter().map(|id| (id, true)).collect();
        let commit = exec.take_commit().map_err(|e| ResumeError::Mismatch {
            frame: 0,
            detail: e.to_string(),
        })?;
        Ok((exec, commit))
    }
}
