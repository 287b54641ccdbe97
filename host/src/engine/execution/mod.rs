//! One execution's frames and the step function over them. Pure with respect to I/O: the
//! current time comes in as an argument, tasks, timers and journaling are the driver's
//! business ([`super::driver`]). Each call returns an [`Effect`] saying what the frame needs
//! next.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

mod children;
mod recovery;
mod tasks;

use rand::Rng;
use rustc_hash::FxHashMap;
use serde_json::{Map, Value};

use super::context::{ExecutionInfo, StateFacts, context_object};
use super::events::EventLog;
use super::frame::{
    Attempt, Children, Cursor, EncodeError, Frame, FrameId, Outcome, ParentLink, from_ms, to_ms,
};
use super::limits::{Limits, check_depth};
use super::pipeline::{self, Env};
use super::ports::{FrameUpdate, TaskContext, TaskFailure, TaskOutcome, TaskRequest};
use super::states;
use super::variables::VarScope;
use crate::asl::error::{ErrorName, StatesError};
use crate::asl::model::{Catcher, QueryLanguage};
use crate::asl::model::{Jitter, MachineId, State, StateId, StateKind, StateMachine, Transition};

/// How many transitions one [`Execution::advance`] call may make before it hands control back
/// (so the driver can check the execution timeout and yield to other executions).
pub const STEPS_PER_SLICE: u32 = 4096;

/// What a frame needs after a step.
#[derive(Debug)]
pub enum Effect {
    /// Runnable again right away (a slice ended, or a commit point in single-step mode).
    Continue,
    /// Nothing to do until this time (Wait state or Retry backoff).
    Sleep(SystemTime),
    /// Invoke a task, then call [`Execution::task_done`].
    Invoke(Box<TaskRequest>),
    /// These child frames were started and are runnable.
    Fork(Vec<FrameId>),
    /// Waiting for children; a child's end wakes it.
    Blocked,
    /// The frame finished (its cursor is [`Cursor::Done`]); call [`Execution::frame_done`].
    Done,
}

/// Why an execution ended. Each way has its own variant, so an ending is never recognised
/// by its text (a Fail state may name any error and cause, `States.Timeout` included).
#[derive(Clone, Debug, PartialEq)]
pub enum Ending {
    /// The top-level frame succeeded with this output.
    Succeeded(Value),
    /// It failed.
    Failed {
        /// Error name.
        error: String,
        /// Cause.
        cause: String,
    },
    /// The state machine's `TimeoutSeconds` passed.
    TimedOut,
    /// StopExecution, with the caller's error and cause.
    Aborted {
        /// Error name, if given.
        error: Option<String>,
        /// Cause, if given.
        cause: Option<String>,
    },
}

impl Ending {
    /// The ending of an execution whose state cannot be stored.
    pub(crate) fn unstorable(e: &EncodeError) -> Self {
        Ending::Failed {
            error: ErrorName::Runtime.as_str().to_owned(),
            cause: e.to_string(),
        }
    }
}

/// The cause recorded when the state machine's `TimeoutSeconds` passes.
pub const TIMEOUT_CAUSE: &str = "The execution ran longer than the state machine's TimeoutSeconds";

/// An execution in memory: the model, its facts, its frames and its event log.
pub struct Execution {
    pub(crate) model: Arc<StateMachine>,
    pub(crate) info: Arc<ExecutionInfo>,
    pub(crate) frames: FxHashMap<FrameId, Frame>,
    pub(crate) next_frame: FrameId,
    pub(crate) events: EventLog,
    pub(crate) limits: Limits,
    /// Frames changed since the last journal commit (`true`: changed; removed frames are
    /// listed with `false`).
    pub(crate) dirty: Vec<(FrameId, bool)>,
    /// Whether `dirty` is tracked (only when journaling).
    pub(crate) track: bool,
    /// Return after every transition (journaling commits each step).
    pub(crate) single_step: bool,
    /// Frame updates decided when a frame ended (a finished child keeps its result in the
    /// store until its parent completes; then the children are deleted).
    pub(crate) final_frames: Vec<FrameUpdate>,
    /// States entered so far (AWS's billable transitions).
    pub(crate) transitions: u64,
}

impl std::fmt::Debug for Execution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Execution")
            .field("id", &self.info.id)
            .field("frames", &self.frames.len())
            .finish_non_exhaustive()
    }
}

/// What a step needs besides the frame: the time, facts, events, limits and variables.
pub(crate) struct Cx<'a> {
    pub now: SystemTime,
    pub info: &'a ExecutionInfo,
    pub events: &'a mut EventLog,
    pub limits: &'a Limits,
    /// The variables the frame can read.
    pub vars: &'a VarScope<'a>,
    /// Variables the state assigns, stored when it succeeds (set by the state's code).
    pub assigned: Option<Map<String, Value>>,
}

impl<'a> Cx<'a> {
    /// The [`Env`] for JSONPath expressions over a context object and the frame's variables.
    pub fn env<'c>(&self, context: &'c Value) -> Env<'c>
    where
        'a: 'c,
    {
        Env {
            context,
            variables: self.vars,
        }
    }

    /// The context object for a state (`Null` when the state never reads `$$`).
    pub fn context(&self, state: &State, attempt: &Attempt) -> Value {
        if !state.needs_context {
            return Value::Null;
        }
        context_object(
            self.info,
            StateFacts::of(state, attempt),
            None,
            attempt.task_token.as_deref(),
        )
    }
}

/// What a state's work produced.
pub(crate) enum Work {
    /// Done; the state's transition follows.
    Output(Value),
    /// Choice: go to this state.
    Goto(StateId, Value),
    /// End the frame (Succeed, Fail).
    End(Outcome),
    /// Wait until a time, then leave with the output.
    Sleep(SystemTime, Value),
    /// The state failed; Retry and Catch apply (`input` is the state's raw input).
    Error {
        /// The error.
        error: StatesError,
        /// The raw input, for Catch's ResultPath and retries.
        input: Value,
        /// Retry bookkeeping.
        attempt: Attempt,
        /// Whether a task raised it (for `States.TaskFailed`).
        from_task: bool,
    },
}

impl Execution {
    /// A new execution of `model` with `input`, its top-level frame ready to run.
    pub fn new(
        model: Arc<StateMachine>,
        info: Arc<ExecutionInfo>,
        limits: Limits,
        record_history: bool,
        now: SystemTime,
    ) -> Execution {
        let mut events = EventLog::new(record_history);
        events.execution_started(now, &info.input, &info.role_arn, &info.state_machine_id);
        let start = model.root().start;
        let mut frames = FxHashMap::default();
        frames.insert(
            0,
            Frame {
                parent: None,
                machine: 0,
                cursor: Cursor::Enter {
                    state: start,
                    input: (*info.input).clone(),
                },
                variables: Map::new(),
            },
        );
        Execution {
            model,
            info,
            frames,
            next_frame: 1,
            events,
            limits,
            dirty: vec![(0, true)],
            track: false,
            single_step: false,
            final_frames: Vec::new(),
            transitions: 0,
        }
    }

    /// The execution's facts.
    pub fn info(&self) -> &ExecutionInfo {
        &self.info
    }

    /// States entered so far.
    pub fn transitions(&self) -> u64 {
        self.transitions
    }

    /// The event log.
    pub fn events_mut(&mut self) -> &mut EventLog {
        &mut self.events
    }

    /// A frame, if it exists.
    pub fn frame(&self, id: FrameId) -> Option<&Frame> {
        self.frames.get(&id)
    }

    fn mark(&mut self, id: FrameId) {
        if self.track {
            self.dirty.push((id, true));
        }
    }

    /// Runs frame `id` as far as it goes without waiting.
    pub fn advance(&mut self, id: FrameId, now: SystemTime) -> Effect {
        let mut steps = 0u32;
        let model = Arc::clone(&self.model);
        loop {
            let Some(frame) = self.frames.get_mut(&id) else {
                return Effect::Blocked;
            };
            let machine = frame.machine;
            let cursor = std::mem::replace(
                &mut frame.cursor,
                Cursor::Done(Outcome::Succeeded(Value::Null)),
            );
            let effect = self.step(&model, id, machine, cursor, now);
            self.mark(id);
            match effect {
                Some(e) => return e,
                None => {
                    steps += 1;
                    if self.single_step || steps >= STEPS_PER_SLICE {
                        return Effect::Continue;
                    }
                }
            }
        }
    }

    fn set(&mut self, id: FrameId, cursor: Cursor) {
        if let Some(f) = self.frames.get_mut(&id) {
            f.cursor = cursor;
        }
    }

    /// One transition. `None`: the frame moved on and can keep going.
    fn step(
        &mut self,
        model: &StateMachine,
        id: FrameId,
        machine: MachineId,
        cursor: Cursor,
        now: SystemTime,
    ) -> Option<Effect> {
        let m = model.machine(machine);
        match cursor {
            Cursor::Enter { state, input } => {
                // Entering and running are one step: nothing can happen in between.
                let s = m.state(state);
                self.transitions += 1;
                self.events
                    .state_entered(now, s.type_name(), &s.name, &input);
                let attempt = Attempt::entered(now, self.events.count());
                self.run(model, id, machine, state, input, attempt, now)
            }
            Cursor::Run {
                state,
                input,
                attempt,
            } => self.run(model, id, machine, state, input, attempt, now),
            Cursor::Backoff {
                state,
                input,
                attempt,
                until_ms,
            } => {
                let until = from_ms(until_ms);
                if now < until {
                    self.set(
                        id,
                        Cursor::Backoff {
                            state,
                            input,
                            attempt,
                            until_ms,
                        },
                    );
                    return Some(Effect::Sleep(until));
                }
                self.set(
                    id,
                    Cursor::Run {
                        state,
                        input,
                        attempt,
                    },
                );
                None
            }
            Cursor::Waiting {
                state,
                output,
                until_ms,
            } => {
                let until = from_ms(until_ms);
                if now < until {
                    self.set(
                        id,
                        Cursor::Waiting {
                            state,
                            output,
                            until_ms,
                        },
                    );
                    return Some(Effect::Sleep(until));
                }
                self.leave(id, m.state(state), output, now)
            }
            Cursor::Task {
                state,
                input,
                effective,
                attempt,
            } => {
                // Only reached when resuming: the invocation is repeated (at least once).
                let s = m.state(state);
                match self.task_request(s, &effective, &attempt) {
                    Ok(request) => {
                        self.set(
                            id,
                            Cursor::Task {
                                state,
                                input,
                                effective,
                                attempt,
                            },
                        );
                        Some(Effect::Invoke(Box::new(request)))
                    }
                    Err(error) => self.on_error(id, state, s, input, attempt, error, false, now),
                }
            }
            Cursor::Children(children) => {
                let total = children.pending.len();
                let done = children.finished == total;
                self.set(id, Cursor::Children(children));
                if done {
                    return self.children_complete(id, machine, now);
                }
                let started = self.launch(id, now);
                if started.is_empty() {
                    Some(Effect::Blocked)
                } else {
                    Some(Effect::Fork(started))
                }
            }
            Cursor::Done(outcome) => {
                self.set(id, Cursor::Done(outcome));
                Some(Effect::Done)
            }
        }
    }

    /// Does a state's work after it was entered.
    #[allow(clippy::too_many_arguments)]
    fn run(
        &mut self,
        model: &StateMachine,
        id: FrameId,
        machine: MachineId,
        state_id: StateId,
        input: Value,
        attempt: Attempt,
        now: SystemTime,
    ) -> Option<Effect> {
        let state = model.machine(machine).state(state_id);
        let entered_event = attempt.entered_event;
        let vars = VarScope::of(&self.frames, id);
        let mut cx = Cx {
            now,
            info: &self.info,
            events: &mut self.events,
            limits: &self.limits,
            vars: &vars,
            assigned: None,
        };
        let jsonata_simple = state.query_language == QueryLanguage::Jsonata
            && !matches!(
                state.kind,
                StateKind::Task(_) | StateKind::Parallel { .. } | StateKind::Map(_)
            );
        let work = match &state.kind {
            _ if jsonata_simple => states::jsonata::run(&mut cx, state, input, &attempt),
            StateKind::Pass { result } => {
                states::pass::run(&mut cx, state, result.as_ref(), input, &attempt)
            }
            StateKind::Choice { branches, default } => {
                states::choice::run(&mut cx, state, branches, *default, input, &attempt)
            }
            StateKind::Wait(wait) => states::wait::run(&mut cx, state, wait, input, &attempt),
            StateKind::Succeed => states::succeed::run(&mut cx, state, input, &attempt),
            StateKind::Fail { error, cause } => states::fail::run(
                &mut cx,
                state,
                error.as_ref(),
                cause.as_ref(),
                input,
                &attempt,
            ),
            StateKind::Task(task) => {
                let attempt = attempt.with_new_task_token();
                match states::task::start(&mut cx, state, task, &input, &attempt) {
                    Ok(effective) => {
                        drop(vars);
                        let request = match self.task_request(state, &effective, &attempt) {
                            Ok(request) => request,
                            Err(error) => {
                                return self.on_error(
                                    id, state_id, state, input, attempt, error, false, now,
                                );
                            }
                        };
                        self.set(
                            id,
                            Cursor::Task {
                                state: state_id,
                                input,
                                effective,
                                attempt,
                            },
                        );
                        return Some(Effect::Invoke(Box::new(request)));
                    }
                    Err(error) => Work::Error {
                        error,
                        input,
                        attempt,
                        from_task: false,
                    },
                }
            }
            StateKind::Parallel { branches } => {
                match states::parallel::start(&mut cx, state, state_id, branches, &input, &attempt)
                {
                    Ok(children) => {
                        drop(vars);
                        return self.fork(id, machine, children, input, attempt, now);
                    }
                    Err(error) => Work::Error {
                        error,
                        input,
                        attempt,
                        from_task: false,
                    },
                }
            }
            StateKind::Map(map) => {
                match states::map::start(&mut cx, state, state_id, map, &input, &attempt) {
                    Ok(children) => {
                        drop(vars);
                        return self.fork(id, machine, children, input, attempt, now);
                    }
                    Err(error) => Work::Error {
                        error,
                        input,
                        attempt,
                        from_task: false,
                    },
                }
            }
        };
        let assigned = cx.assigned.take();
        drop(vars);
        self.apply(id, state_id, state, entered_event, work, assigned, now)
    }

    /// Runs a state's finishing work (a task's result, a Map's or Parallel's gathered
    /// results) in a step context for frame `id`, then applies it.
    fn finish_and_apply(
        &mut self,
        id: FrameId,
        state_id: StateId,
        state: &State,
        entered_event: u64,
        now: SystemTime,
        finish: impl FnOnce(&mut Cx<'_>) -> Work,
    ) -> Option<Effect> {
        let vars = VarScope::of(&self.frames, id);
        let mut cx = Cx {
            now,
            info: &self.info,
            events: &mut self.events,
            limits: &self.limits,
            vars: &vars,
            assigned: None,
        };
        let work = finish(&mut cx);
        let assigned = cx.assigned.take();
        drop(vars);
        self.apply(id, state_id, state, entered_event, work, assigned, now)
    }

    /// Applies a state's work to its frame; `assigned` variables are stored only when the
    /// state succeeded. `entered_event` is the state's StateEntered event id (for AWS's cause
    /// prefix).
    #[allow(clippy::too_many_arguments)]
    fn apply(
        &mut self,
        id: FrameId,
        state_id: StateId,
        state: &State,
        entered_event: u64,
        work: Work,
        assigned: Option<Map<String, Value>>,
        now: SystemTime,
    ) -> Option<Effect> {
        let output = match &work {
            Work::Output(v) | Work::Goto(_, v) | Work::Sleep(_, v) => Some(v),
            Work::End(Outcome::Succeeded(v)) => Some(v),
            Work::End(Outcome::Failed { .. }) | Work::Error { .. } => None,
        };
        if let Err(error) = check_output_depth(output, assigned.as_ref()) {
            return self.fail_frame(id, error.in_state(&state.name, entered_event));
        }
        if let Some(vars) = assigned
            && matches!(work, Work::Output(_) | Work::Goto(..) | Work::Sleep(..))
        {
            self.store_variables(id, vars);
        }
        match work {
            Work::Output(output) => self.leave(id, state, output, now),
            Work::Goto(next, output) => {
                self.events
                    .state_exited(now, state.type_name(), &state.name, &output);
                self.set(
                    id,
                    Cursor::Enter {
                        state: next,
                        input: output,
                    },
                );
                None
            }
            Work::End(outcome) => {
                if let Outcome::Succeeded(output) = &outcome {
                    self.events
                        .state_exited(now, state.type_name(), &state.name, output);
                }
                self.set(id, Cursor::Done(outcome));
                Some(Effect::Done)
            }
            Work::Sleep(until, output) => {
                self.set(
                    id,
                    Cursor::Waiting {
                        state: state_id,
                        output,
                        until_ms: to_ms(until),
                    },
                );
                if now < until {
                    Some(Effect::Sleep(until))
                } else {
                    None
                }
            }
            Work::Error {
                error,
                input,
                attempt,
                from_task,
            } => {
                // A task's own error keeps its cause; the state's evaluation errors get AWS's prefix.
                let error = if from_task {
                    error
                } else {
                    error.in_state(&state.name, attempt.entered_event)
                };
                self.on_error(id, state_id, state, input, attempt, error, from_task, now)
            }
        }
    }

    /// Ends frame `id` with `error`, whatever Retry and Catch say (for errors no handler may
    /// take, such as `States.Runtime`).
    pub(super) fn fail_frame(&mut self, id: FrameId, error: StatesError) -> Option<Effect> {
        self.set(id, Cursor::Done(Outcome::failed(error)));
        Some(Effect::Done)
    }

    /// Stores assigned variables in frame `id`.
    fn store_variables(&mut self, id: FrameId, vars: Map<String, Value>) {
        if let Some(frame) = self.frames.get_mut(&id) {
            frame.variables.extend(vars);
        }
    }

    /// A state succeeded with `output`: StateExited, then Next or End.
    fn leave(
        &mut self,
        id: FrameId,
        state: &State,
        output: Value,
        now: SystemTime,
    ) -> Option<Effect> {
        self.events
            .state_exited(now, state.type_name(), &state.name, &output);
        match state.transition {
            Transition::Next(next) => {
                self.set(
                    id,
                    Cursor::Enter {
                        state: next,
                        input: output,
                    },
                );
                None
            }
            Transition::End | Transition::Own => {
                self.set(id, Cursor::Done(Outcome::Succeeded(output)));
                Some(Effect::Done)
            }
        }
    }
}

/// `States.Runtime` when a state's output or a variable it assigns nests deeper than
/// [`super::limits::MAX_VALUE_DEPTH`]: such a value could not be stored with the frame.
pub(super) fn check_output_depth(
    output: Option<&Value>,
    assigned: Option<&Map<String, Value>>,
) -> Result<(), StatesError> {
    if let Some(output) = output {
        check_depth(output, "state output")?;
    }
    for value in assigned.into_iter().flat_map(Map::values) {
        check_depth(value, "assigned variable")?;
    }
    Ok(())
}
