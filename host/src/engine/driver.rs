//! Runs an [`Execution`] on tokio: frames that can go on are stepped, Wait and Retry deadlines
//! are awaited through the [`Clock`] (no thread is held), tasks through the [`TaskRunner`],
//! every step is made durable through the [`Journal`] when there is one, and the top-level
//! `TimeoutSeconds` ends the execution with `States.Timeout`.
//!
//! Without a journal and without I/O the loop never awaits: that is the fast path.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::FutureExt;
use futures::stream::{FuturesUnordered, StreamExt};
use serde_json::Value;

use crate::asl::error::ErrorName;

use super::events::EventLog;
use super::execution::{Effect, Ending, Execution, TIMEOUT_CAUSE};
use super::frame::{self, Cursor, EncodeError, Frame, FrameId};
use super::history::HistoryEvent;
use super::limits::Limits;
use super::ports::{
    BoxFuture, Clock, ExecutionEnd, ExecutionStatus, FrameUpdate, Journal, JournalError,
    StepCommit, TaskFailure, TaskOutcome, TaskRequest, TaskRunner,
};

/// The ports and settings executions run with.
#[derive(Clone)]
pub struct Runtime {
    /// Time and timers.
    pub clock: Arc<dyn Clock>,
    /// Runs Task states (`None`: a Task fails the execution with a clear error).
    pub tasks: Option<Arc<dyn TaskRunner>>,
    /// Makes each step durable (`None`: in memory only).
    pub journal: Option<Arc<dyn Journal>>,
    /// Payload and history limits.
    pub limits: Limits,
    /// Whether history events are built (always when journaling).
    pub record_history: bool,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("tasks", &self.tasks.is_some())
            .field("journal", &self.journal.is_some())
            .field("limits", &self.limits)
            .field("record_history", &self.record_history)
            .finish()
    }
}

/// The real clock: `SystemTime::now` and tokio timers.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep_until(&self, deadline: SystemTime) -> BoxFuture<'_, ()> {
        let wait = deadline
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        Box::pin(tokio::time::sleep(wait))
    }
}

/// How an execution ended, with its history when it was recorded without a journal.
#[derive(Clone, Debug)]
pub struct Finished {
    /// Status, output or error and cause.
    pub end: ExecutionEnd,
    /// The recorded history (empty when not recording, or when a journal took the events).
    pub history: Vec<HistoryEvent>,
    /// Events the execution had (recorded or only counted).
    pub event_count: u64,
}

/// What a Task gets when no task runner is configured.
fn no_runner(request: &TaskRequest) -> TaskOutcome {
    TaskOutcome {
        result: Err(TaskFailure {
            error: "States.Runtime".into(),
            cause: format!(
                "no task runner is configured: cannot run Resource '{}' (this build or command runs no WASM tasks)",
                request.resource
            ),
        }),
        logs: Vec::new(),
        logs_truncated: false,
        memory_bytes: 0,
    }
}

/// How far [`run_or_park`] drove an execution.
#[derive(Clone, Debug)]
pub enum Driven {
    /// It ended.
    Finished(Finished),
    /// Every frame is waiting on a timer at least `park_after` away, no task is in flight
    /// and every step is committed: the caller may drop the execution and resume it from
    /// its committed frames at `wake_at` (it holds nothing in memory meanwhile).
    Parked {
        /// The earliest timer (or the execution's timeout).
        wake_at: SystemTime,
    },
}

/// StopExecution for an execution a driver is running: the caller's error and cause.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StopOrder {
    /// Error name, if given.
    pub error: Option<String>,
    /// Cause, if given.
    pub cause: Option<String>,
}

/// Runs an execution to its end.
pub async fn run(exec: &mut Execution, rt: &Runtime) -> Result<Finished, JournalError> {
    run_until_stopped(exec, rt, None).await
}

/// Runs an execution to its end, or until `stop` resolves: then the engine ends it ABORTED
/// (`WaitStateAborted` for each Wait in progress, `ExecutionAborted`), as a stop of a
/// durable execution does.
pub async fn run_until_stopped(
    exec: &mut Execution,
    rt: &Runtime,
    stop: Option<BoxFuture<'_, StopOrder>>,
) -> Result<Finished, JournalError> {
    match drive(exec, rt, None, stop).await? {
        Driven::Finished(f) => Ok(f),
        // Without `park_after` the loop never parks.
        Driven::Parked { .. } => Err(JournalError("internal error: parked unasked".into())),
    }
}

/// Runs an execution to its end or, with a journal and `park_after`, until it would only
/// wait on timers at least `park_after` away (see [`Driven::Parked`]).
pub async fn run_or_park(
    exec: &mut Execution,
    rt: &Runtime,
    park_after: Option<Duration>,
) -> Result<Driven, JournalError> {
    drive(exec, rt, park_after, None).await
}

async fn drive(
    exec: &mut Execution,
    rt: &Runtime,
    park_after: Option<Duration>,
    mut stop: Option<BoxFuture<'_, StopOrder>>,
) -> Result<Driven, JournalError> {
    let journal = rt.journal.clone();
    exec.track = journal.is_some();
    exec.single_step = journal.is_some();
    let runner = rt.tasks.clone();
    let clock = Arc::clone(&rt.clock);
    let deadline = exec.model.timeout.map(|t| exec.info.start_time + t);
    let mut ready: VecDeque<FrameId> = exec.runnable();
    let mut timers: BinaryHeap<Reverse<(SystemTime, FrameId)>> = BinaryHeap::new();
    let mut tasks: FuturesUnordered<BoxFuture<'_, (FrameId, TaskOutcome)>> =
        FuturesUnordered::new();

    let ending = 'run: loop {
        while let Some(id) = ready.pop_front() {
            let now = clock.now();
            if deadline.is_some_and(|d| now >= d) {
                break 'run Ending::TimedOut;
            }
            match exec.advance(id, now) {
                Effect::Continue => {
                    ready.push_back(id);
                    if !exec.single_step {
                        tokio::task::yield_now().await;
                        if let Some(order) = stop.as_mut().and_then(FutureExt::now_or_never) {
                            break 'run aborted(order);
                        }
                    }
                }
                Effect::Sleep(until) => timers.push(Reverse((until, id))),
                Effect::Invoke(request) => match &runner {
                    Some(r) => tasks.push(Box::pin(r.invoke(*request).map(move |o| (id, o)))),
                    None => {
                        let outcome = no_runner(&request);
                        exec.task_done(id, outcome, now);
                        ready.push_back(id);
                    }
                },
                Effect::Fork(children) => ready.extend(children),
                Effect::Blocked => {}
                Effect::Done => match exec.frame_done(id, now) {
                    Ok(wake) => ready.extend(wake),
                    Err(ending) => break 'run ending,
                },
            }
            if let Some(limit) = exec.limits.max_history_events
                && exec.events.recording()
                && exec.events.count() > limit
            {
                break 'run Ending::Failed {
                    error: "States.Runtime".into(),
                    cause: format!("The execution history reached the limit of {limit} events"),
                };
            }
            if let Some(j) = &journal {
                match exec.take_commit() {
                    Ok(commit) => j.commit(commit).await?,
                    Err(e) => break 'run Ending::unstorable(&e),
                }
            }
        }
        // Nothing can run now: wait for a timer, a task or the execution timeout.
        let next_timer = timers.peek().map(|Reverse((t, _))| *t);
        let wake_at = match (next_timer, deadline) {
            (Some(t), Some(d)) => Some(t.min(d)),
            (t, d) => t.or(d),
        };
        if tasks.is_empty() && next_timer.is_none() {
            break 'run Ending::Failed {
                error: "States.Runtime".into(),
                cause: "internal error: the execution has no runnable frame".into(),
            };
        }
        // Everything so far is committed (each step commits before the next), so a long
        // wait can let go of the execution's memory.
        if let (Some(min), Some(t), Some(_)) = (park_after, wake_at, &journal)
            && tasks.is_empty()
            && t.duration_since(clock.now()).unwrap_or_default() >= min
        {
            return Ok(Driven::Parked { wake_at: t });
        }
        let sleep = async {
            match wake_at {
                Some(t) => clock.sleep_until(t).await,
                None => futures::future::pending::<()>().await,
            }
        };
        let stopped = async {
            match stop.as_mut() {
                Some(order) => order.await,
                None => futures::future::pending().await,
            }
        };
        tokio::select! {
            order = stopped => break 'run aborted(order),
            Some((id, outcome)) = tasks.next(), if !tasks.is_empty() => {
                exec.task_done(id, outcome, clock.now());
                ready.push_back(id);
            }
            () = sleep => {
                let now = clock.now();
                if deadline.is_some_and(|d| now >= d) {
                    break 'run Ending::TimedOut;
                }
                while let Some(Reverse((t, id))) = timers.peek().copied() {
                    if t > now {
                        break;
                    }
                    timers.pop();
                    ready.push_back(id);
                }
            }
        }
    };
    drop(tasks);
    let end = exec.finish(ending, clock.now());
    let event_count = exec.events.count();
    if let Some(j) = &journal {
        j.commit(exec.final_commit(end.clone())).await?;
        return Ok(Driven::Finished(Finished {
            end,
            history: Vec::new(),
            event_count,
        }));
    }
    Ok(Driven::Finished(Finished {
        end,
        history: exec.events.take(),
        event_count,
    }))
}

fn aborted(order: StopOrder) -> Ending {
    Ending::Aborted {
        error: order.error,
        cause: order.cause,
    }
}

impl Execution {
    /// Frames to step first: the top-level frame of a new execution; every frame after a
    /// resume (a parent waiting for children just reports that it is blocked, or launches
    /// children it had not started yet).
    pub fn runnable(&self) -> VecDeque<FrameId> {
        let mut ids: Vec<FrameId> = self.frames.keys().copied().collect();
        ids.sort_unstable();
        ids.into()
    }

    /// Ends the execution: checks the output's size and records the final event.
    pub(crate) fn finish(&mut self, ending: Ending, now: SystemTime) -> ExecutionEnd {
        let ending = match ending {
            Ending::Succeeded(output) => {
                match self.limits.check_payload(&output, "execution output") {
                    Ok(()) => Ending::Succeeded(output),
                    Err(e) => Ending::Failed {
                        error: e.name.as_str().to_owned(),
                        cause: e.cause,
                    },
                }
            }
            other => other,
        };
        let mut ids: Vec<FrameId> = self.frames.keys().copied().collect();
        if matches!(ending, Ending::Aborted { .. }) {
            // A stop interrupts every Wait in progress, in frame order.
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
        }
        for id in ids {
            self.frames.remove(&id);
            if self.track {
                self.dirty.push((id, false));
            }
        }
        record_ending(&mut self.events, now, ending)
    }

    /// Everything since the last commit: events and changed frames.
    pub fn take_commit(&mut self) -> Result<StepCommit, EncodeError> {
        let frames = self.frame_updates(true)?;
        Ok(StepCommit {
            execution_id: self.info.id.clone(),
            events: self.events.take(),
            frames,
            end: None,
        })
    }

    /// The commit that ends the execution (after [`Execution::finish`]): its last events,
    /// and every frame it had, deleted (nothing is left to encode).
    pub fn final_commit(&mut self, end: ExecutionEnd) -> StepCommit {
        // Not encoding, so nothing can fail.
        let frames = self.frame_updates(false).unwrap_or_default();
        StepCommit {
            execution_id: self.info.id.clone(),
            events: self.events.take(),
            frames,
            end: Some(end),
        }
    }

    /// The frames changed since the last commit, each once, in order: encoded when `encode`
    /// and live, else deleted.
    fn frame_updates(&mut self, encode: bool) -> Result<Vec<FrameUpdate>, EncodeError> {
        let mut dirty = std::mem::take(&mut self.dirty);
        let mut frames = Vec::with_capacity(dirty.len() + self.final_frames.len());
        // A step usually dirties one or two frames: a linear check beats hashing them; a
        // fork or gather of many children uses a set.
        let mut seen = (dirty.len() > 16).then(rustc_hash::FxHashSet::default);
        let mut failed = None;
        for (id, live) in dirty.drain(..).rev() {
            let repeat = match &mut seen {
                Some(seen) => !seen.insert(id),
                None => frames.iter().any(|f: &FrameUpdate| f.frame == id),
            };
            if repeat {
                continue;
            }
            let state = match self.frames.get(&id) {
                Some(f) if live && encode => match frame::encode(id, f) {
                    Ok(bytes) => Some(bytes),
                    Err(e) => {
                        failed.get_or_insert(e);
                        None
                    }
                },
                _ => None,
            };
            frames.push(FrameUpdate { frame: id, state });
        }
        frames.reverse();
        // The list keeps its capacity for the next step.
        self.dirty = dirty;
        let finals = std::mem::take(&mut self.final_frames);
        if encode {
            frames.extend(finals);
        } else {
            frames.extend(finals.into_iter().map(|f| FrameUpdate {
                frame: f.frame,
                state: None,
            }));
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(frames),
        }
    }
}

/// Records an execution's final event (`ExecutionSucceeded`, `ExecutionFailed`,
/// `ExecutionTimedOut` or `ExecutionAborted`) and returns its end: one place decides how
/// each ending is recorded.
pub(crate) fn record_ending(
    events: &mut EventLog,
    now: SystemTime,
    ending: Ending,
) -> ExecutionEnd {
    match ending {
        Ending::Succeeded(output) => {
            events.execution_succeeded(now, &output);
            ExecutionEnd {
                status: ExecutionStatus::Succeeded,
                output: Some(output),
                error: None,
                cause: None,
            }
        }
        Ending::Failed { error, cause } => {
            // A Fail state without Error/Cause: AWS's execution has no error or cause field
            // at all (recorded: localstack/localstack tests/aws/services/stepfunctions/v2/
            // scenarios/test_base_scenarios.snapshot.json, map_state_catch_empty_fail); the
            // engine carries them as empty strings.
            let error = (!error.is_empty()).then_some(error);
            let cause = (!cause.is_empty()).then_some(cause);
            events.execution_ended_badly(
                now,
                "ExecutionFailed",
                error.as_deref(),
                cause.as_deref(),
            );
            ExecutionEnd {
                status: ExecutionStatus::Failed,
                output: None,
                error,
                cause,
            }
        }
        Ending::TimedOut => {
            let name = ErrorName::Timeout;
            let error = name.as_str();
            events.execution_ended_badly(
                now,
                "ExecutionTimedOut",
                Some(error),
                Some(TIMEOUT_CAUSE),
            );
            ExecutionEnd {
                status: ExecutionStatus::TimedOut,
                output: None,
                error: Some(error.to_owned()),
                cause: Some(TIMEOUT_CAUSE.to_owned()),
            }
        }
        Ending::Aborted { error, cause } => {
            events.execution_aborted(now, error.as_deref(), cause.as_deref());
            ExecutionEnd {
                status: ExecutionStatus::Aborted,
                output: None,
                error,
                cause,
            }
        }
    }
}

/// Convenience for tests and the CLI: a JSON value's execution input.
pub fn input_arc(value: Value) -> Arc<Value> {
    Arc::new(value)
}
