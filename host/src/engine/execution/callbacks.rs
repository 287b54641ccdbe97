//! Callback tasks (`.waitForTaskToken`) inside an execution: the token an attempt gets,
//! `TaskSubmitted` when the invocation returns, the wait for a signal (its TimeoutSeconds and
//! HeartbeatSeconds deadlines), and a signal applied to the waiting frame.

use super::*;
use crate::engine::callback::{self, ActivityTask, DEFAULT_TIMEOUT_SECS, Refusal, Signal};
use crate::engine::events::TaskLogs;
use crate::engine::frame::ActivityWait;

/// What a signal did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The task succeeded or failed: the frame moved on and is runnable.
    Moved,
    /// A heartbeat: the frame's heartbeat deadline moved.
    Heartbeat,
    /// An activity task went to a worker: its heartbeat deadline starts (the frame must be
    /// stepped again to sleep until it).
    Started,
    /// The task's invocation has not returned yet: deliver again once it has.
    NotYet,
}

/// `secs` seconds after `ms` (Unix milliseconds), saturating.
fn secs_after(ms: i64, secs: u64) -> i64 {
    ms.saturating_add(i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX))
}

/// Compares tokens in time independent of where they differ (a token is a capability).
fn same_token(held: Option<&str>, given: &str) -> bool {
    let Some(held) = held else { return false };
    held.len() == given.len()
        && held
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

impl Execution {
    /// The attempt a Task state starts: with a fresh token when it waits for one (AWS gives
    /// `$$.Task.Token` to that pattern only).
    pub(super) fn task_attempt(
        info: &ExecutionInfo,
        task: &crate::asl::model::TaskState,
        id: FrameId,
        attempt: Attempt,
    ) -> Attempt {
        if callback::waits_for_token(&task.resource) {
            attempt.with_task_token(callback::mint(&info.id, id))
        } else {
            attempt
        }
    }

    /// A callback task's invocation returned: `TaskSubmitted`, then the frame waits for its
    /// token until TimeoutSeconds (AWS's default when unset) or HeartbeatSeconds run out.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn submitted(
        &mut self,
        id: FrameId,
        state_id: StateId,
        task: &crate::asl::model::TaskState,
        input: Value,
        effective: &Value,
        attempt: Attempt,
        output: &Value,
        logs: TaskLogs<'_>,
        now: SystemTime,
    ) {
        self.events
            .task_submitted(now, &task.resource, output, logs);
        // They were read when the task was invoked, so they read again.
        let (timeout, heartbeat) = states::task::limits(task, effective).unwrap_or_default();
        let now_ms = to_ms(now);
        let secs_ms = |s: u64| secs_after(now_ms, s);
        self.set(
            id,
            Cursor::Callback {
                state: state_id,
                input,
                attempt,
                timeout_ms: secs_ms(timeout.unwrap_or(DEFAULT_TIMEOUT_SECS)),
                heartbeat_secs: heartbeat,
                heartbeat_ms: heartbeat.map(secs_ms),
                activity: None,
            },
        );
        self.mark(id);
    }

    /// A Task whose resource is an activity: `ActivityScheduled` was recorded; the frame
    /// waits for a worker (GetActivityTask) and then for the token, until TimeoutSeconds;
    /// HeartbeatSeconds count from `ActivityStarted`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn schedule_activity(
        &mut self,
        id: FrameId,
        state_id: StateId,
        task: &crate::asl::model::TaskState,
        input: Value,
        effective: Value,
        attempt: Attempt,
        now: SystemTime,
    ) -> Option<Effect> {
        // Read once already by `start`, which refused what is out of range.
        let (timeout, heartbeat) = states::task::limits(task, &effective).unwrap_or_default();
        let timeout_ms = secs_after(to_ms(now), timeout.unwrap_or(DEFAULT_TIMEOUT_SECS));
        if let Some(token) = attempt.task_token.clone() {
            self.scheduled.push(ActivityTask {
                activity: task.resource.clone(),
                execution: self.info.id.clone(),
                token,
                input: effective.clone(),
            });
        }
        self.set(
            id,
            Cursor::Callback {
                state: state_id,
                input,
                attempt,
                timeout_ms,
                heartbeat_secs: heartbeat,
                heartbeat_ms: None,
                activity: Some(Box::new(ActivityWait {
                    input: effective,
                    started: false,
                })),
            },
        );
        self.mark(id);
        Some(Effect::Sleep(from_ms(timeout_ms)))
    }

    /// A frame waiting for its token: fails with `States.HeartbeatTimeout` or
    /// `States.Timeout` once a deadline passed, else sleeps until the nearer one.
    pub(super) fn callback_step(
        &mut self,
        model: &StateMachine,
        id: FrameId,
        machine: MachineId,
        cursor: Cursor,
        now: SystemTime,
    ) -> Option<Effect> {
        let Cursor::Callback {
            timeout_ms,
            heartbeat_ms,
            ..
        } = &cursor
        else {
            self.set(id, cursor);
            return None;
        };
        let now_ms = to_ms(now);
        let expired = if heartbeat_ms.is_some_and(|h| now_ms >= h) {
            Some((
                "States.HeartbeatTimeout",
                "The task sent no heartbeat within HeartbeatSeconds",
            ))
        } else if now_ms >= *timeout_ms {
            Some((
                "States.Timeout",
                "The task was not completed within TimeoutSeconds",
            ))
        } else {
            None
        };
        let Some((error, cause)) = expired else {
            let until = from_ms(heartbeat_ms.map_or(*timeout_ms, |h| h.min(*timeout_ms)));
            // Resumed (or woken) with its activity task still waiting for a worker: the
            // task goes (again) to the activity's queue.
            if let Cursor::Callback {
                activity: Some(wait),
                attempt,
                state,
                ..
            } = &cursor
                && !wait.started
                && let Some(token) = &attempt.task_token
                && let StateKind::Task(task) = &model.machine(machine).state(*state).kind
            {
                self.scheduled.push(ActivityTask {
                    activity: task.resource.clone(),
                    execution: self.info.id.clone(),
                    token: token.clone(),
                    input: wait.input.clone(),
                });
            }
            self.set(id, cursor);
            return Some(Effect::Sleep(until));
        };
        self.close_callback(
            model,
            id,
            machine,
            cursor,
            Err((error.into(), cause.into())),
            now,
        );
        None
    }

    /// Applies a signal to frame `id` if it holds `token`.
    pub fn signal(
        &mut self,
        id: FrameId,
        token: &str,
        signal: Signal,
        now: SystemTime,
    ) -> Result<Applied, Refusal> {
        let Some(frame) = self.frames.get_mut(&id) else {
            return Err(Refusal::Closed);
        };
        let machine = frame.machine;
        let now_ms = to_ms(now);
        match &mut frame.cursor {
            Cursor::Task { attempt, .. } if same_token(attempt.task_token.as_deref(), token) => {
                return Ok(Applied::NotYet);
            }
            Cursor::Callback {
                attempt,
                timeout_ms,
                heartbeat_secs,
                heartbeat_ms,
                activity,
                ..
            } if same_token(attempt.task_token.as_deref(), token) => {
                if now_ms >= *timeout_ms || heartbeat_ms.is_some_and(|h| now_ms >= h) {
                    return Err(Refusal::TimedOut);
                }
                if let Signal::Started { worker } = &signal {
                    // Handed to exactly one worker: a second hand-off is refused.
                    let Some(wait) = activity.as_mut().filter(|w| !w.started) else {
                        return Err(Refusal::Closed);
                    };
                    wait.started = true;
                    *heartbeat_ms = heartbeat_secs.map(|secs| secs_after(now_ms, secs));
                    self.events.activity_started(now, worker.as_deref());
                    self.mark(id);
                    return Ok(Applied::Started);
                }
                if signal == Signal::Heartbeat {
                    if let Some(secs) = heartbeat_secs {
                        *heartbeat_ms = Some(secs_after(now_ms, *secs));
                    }
                    self.mark(id);
                    return Ok(Applied::Heartbeat);
                }
            }
            _ => return Err(Refusal::Closed),
        }
        let cursor = std::mem::replace(
            &mut frame.cursor,
            Cursor::Done(Outcome::Succeeded(Value::Null)),
        );
        let result = match signal {
            Signal::Success(output) => Ok(output),
            Signal::Failure { error, cause } => Err((error, cause)),
            Signal::Heartbeat | Signal::Started { .. } => {
                unreachable!("heartbeats and hand-offs returned above")
            }
        };
        let model = Arc::clone(&self.model);
        self.close_callback(&model, id, machine, cursor, result, now);
        Ok(Applied::Moved)
    }

    /// Ends a callback wait with a result or an error, through the Task's pipeline, Retry
    /// and Catch (`TaskSucceeded`, `TaskFailed` or `TaskTimedOut`).
    fn close_callback(
        &mut self,
        model: &StateMachine,
        id: FrameId,
        machine: MachineId,
        cursor: Cursor,
        result: Result<Value, (String, String)>,
        now: SystemTime,
    ) {
        let Cursor::Callback {
            state: state_id,
            input,
            attempt,
            ..
        } = cursor
        else {
            return;
        };
        let state = model.machine(machine).state(state_id);
        let StateKind::Task(task) = &state.kind else {
            return;
        };
        let entered = attempt.entered_event;
        self.finish_and_apply(id, state_id, state, entered, now, |cx| {
            states::task::finish(cx, state, task, input, result, TaskLogs::default(), attempt)
        });
        self.mark(id);
    }
}
