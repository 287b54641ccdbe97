//! Test doubles for the engine's ports, real implementations of the traits: a virtual clock
//! (time moves only when someone sleeps, so Retry and Wait timings are exact and instant), a
//! scripted task runner that counts concurrency, and an in-memory journal.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::frame::FrameId;
use super::history::HistoryEvent;
use super::ports::{
    BoxFuture, Clock, ExecutionEnd, Journal, JournalError, StepCommit, TaskFailure, TaskOutcome,
    TaskRequest, TaskRunner,
};

/// A clock that jumps to each deadline it is asked to sleep until, recording the deadlines.
#[derive(Debug)]
pub struct VirtualClock {
    now: Mutex<SystemTime>,
    sleeps: Mutex<Vec<SystemTime>>,
}

impl VirtualClock {
    /// A clock at `start` (Unix seconds).
    pub fn at(start_secs: u64) -> Self {
        VirtualClock {
            now: Mutex::new(UNIX_EPOCH + Duration::from_secs(start_secs)),
            sleeps: Mutex::new(Vec::new()),
        }
    }

    /// Every deadline slept until, in order.
    pub fn sleeps(&self) -> Vec<SystemTime> {
        self.sleeps.lock().unwrap().clone()
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap()
    }

    fn sleep_until(&self, deadline: SystemTime) -> BoxFuture<'_, ()> {
        self.sleeps.lock().unwrap().push(deadline);
        let mut now = self.now.lock().unwrap();
        if deadline > *now {
            *now = deadline;
        }
        Box::pin(async {})
    }
}

/// One scripted outcome: an output or (error, cause).
type Scripted = Result<Value, (String, String)>;

/// A task runner answering from a script: per resource, a list of outcomes used in order
/// (the last one repeats); it yields a few times per call and tracks peak concurrency.
#[derive(Debug, Default)]
pub struct ScriptedTasks {
    script: Mutex<HashMap<String, Vec<Scripted>>>,
    calls: Mutex<Vec<TaskRequest>>,
    in_flight: AtomicUsize,
    /// Highest number of invocations in flight at once.
    pub peak: AtomicUsize,
}

impl ScriptedTasks {
    /// Adds outcomes for a resource.
    pub fn on(self, resource: &str, outcomes: Vec<Result<Value, (&str, &str)>>) -> Self {
        self.script.lock().unwrap().insert(
            resource.to_owned(),
            outcomes
                .into_iter()
                .map(|o| o.map_err(|(e, c)| (e.to_owned(), c.to_owned())))
                .collect(),
        );
        self
    }

    /// The requests seen so far.
    pub fn calls(&self) -> Vec<TaskRequest> {
        self.calls.lock().unwrap().clone()
    }
}

impl TaskRunner for ScriptedTasks {
    fn invoke(&self, request: TaskRequest) -> BoxFuture<'_, TaskOutcome> {
        Box::pin(async move {
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now, Ordering::SeqCst);
            for _ in 0..3 {
                tokio::task::yield_now().await;
            }
            let result = {
                let mut script = self.script.lock().unwrap();
                let list = script.entry(request.resource.clone()).or_default();
                let r = match list.len() {
                    0 => Ok(request.input.clone()),
                    1 => list[0].clone(),
                    _ => list.remove(0),
                };
                r.map_err(|(error, cause)| TaskFailure { error, cause })
            };
            self.calls.lock().unwrap().push(request);
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            TaskOutcome {
                result,
                logs: Vec::new(),
                logs_truncated: false,
                memory_bytes: 0,
            }
        })
    }
}

/// A journal keeping everything in memory like a store would: history rows, live frames, end.
#[derive(Debug, Default)]
pub struct MemoryJournal {
    /// History so far.
    pub events: Mutex<Vec<HistoryEvent>>,
    /// Stored frames.
    pub frames: Mutex<BTreeMap<FrameId, Vec<u8>>>,
    /// The end, once committed.
    pub end: Mutex<Option<ExecutionEnd>>,
    /// Commits so far.
    pub commits: AtomicUsize,
    /// Fail every commit after this many (simulates a crash).
    pub crash_after: Option<usize>,
    /// Bytes of frame state written in total.
    pub frame_bytes: AtomicUsize,
}

impl Journal for MemoryJournal {
    fn commit(&self, step: StepCommit) -> BoxFuture<'_, Result<(), JournalError>> {
        Box::pin(async move {
            let n = self.commits.fetch_add(1, Ordering::SeqCst);
            if self.crash_after.is_some_and(|limit| n >= limit) {
                return Err(JournalError("simulated crash".into()));
            }
            self.events.lock().unwrap().extend(step.events);
            let mut frames = self.frames.lock().unwrap();
            for update in step.frames {
                match update.state {
                    Some(bytes) => {
                        self.frame_bytes.fetch_add(bytes.len(), Ordering::SeqCst);
                        frames.insert(update.frame, bytes);
                    }
                    None => {
                        frames.remove(&update.frame);
                    }
                }
            }
            if let Some(end) = step.end {
                *self.end.lock().unwrap() = Some(end);
            }
            Ok(())
        })
    }
}

/// Compiles a definition, panicking with its diagnostics if invalid (tests only).
pub fn model(def: &Value) -> std::sync::Arc<crate::asl::model::StateMachine> {
    let raw = crate::asl::raw::RawStateMachine::from_value(def.clone()).expect("raw definition");
    crate::asl::model::StateMachine::compile(&raw).unwrap_or_else(|d| {
        panic!(
            "invalid definition: {}",
            d.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        )
    })
}

/// Runs a definition on a virtual clock with history recorded; returns the outcome and clock.
pub fn run_with(
    def: &Value,
    input: Value,
    tasks: Option<std::sync::Arc<dyn TaskRunner>>,
) -> (super::driver::Finished, std::sync::Arc<VirtualClock>) {
    use std::sync::Arc;
    let clock = Arc::new(VirtualClock::at(1_700_000_000));
    let runtime = super::driver::Runtime {
        clock: clock.clone(),
        tasks,
        journal: None,
        limits: super::limits::Limits::default(),
        record_history: true,
    };
    let now = clock.now();
    let info = super::context::ExecutionInfo::local("test", "sm", Arc::new(input), now);
    let mut exec = super::execution::Execution::new(
        model(def),
        Arc::new(info),
        runtime.limits.clone(),
        true,
        now,
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let finished = rt
        .block_on(super::driver::run(&mut exec, &runtime))
        .expect("no journal, no journal error");
    (finished, clock)
}

/// Runs a definition without tasks; returns the output or `(error, cause)`.
pub fn run(def: &Value, input: Value) -> Result<Value, (String, String)> {
    outcome(&run_with(def, input, None).0)
}

/// The output or `(error, cause)` of a finished execution.
pub fn outcome(f: &super::driver::Finished) -> Result<Value, (String, String)> {
    match &f.end.output {
        Some(v) if f.end.status == super::ports::ExecutionStatus::Succeeded => Ok(v.clone()),
        _ => Err((
            f.end.error.clone().unwrap_or_default(),
            f.end.cause.clone().unwrap_or_default(),
        )),
    }
}

/// The event types of a history, in order.
pub fn event_types(f: &super::driver::Finished) -> Vec<String> {
    f.history.iter().map(|e| e.event_type.clone()).collect()
}
