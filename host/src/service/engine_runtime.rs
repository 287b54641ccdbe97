//! The service's [`Runtime`] on the real engine: compiles each state machine version once,
//! starts durable executions by resuming from their first committed frames (one code path
//! for fresh and recovered executions), and runs EXPRESS executions in memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;

use super::names::{role_arn, state_machine_arn};
use super::runtime::{Driven, ExpressRun, Launch, Runtime, RuntimeError};
use crate::asl::model::StateMachine;
use crate::asl::raw::RawStateMachine;
use crate::cache::ByteLru;
use crate::engine::context::ExecutionInfo;
use crate::engine::driver::{self, StopOrder, SystemClock};
use crate::engine::execution::Execution;
use crate::engine::frame::{from_ms, to_ms};
use crate::engine::history::HistoryEvent;
use crate::engine::limits::Limits;
use crate::engine::ports::{
    BoxFuture, Clock, FrameUpdate, Journal, StepCommit, TaskOutcome, TaskRequest, TaskRunner,
};
use crate::store::StateMachineVersion;

/// Compiled models kept in memory, weighed by their definitions' length, least recently
/// used evicted first (an evicted one is compiled again from its stored definition).
pub const MODEL_CACHE_BYTES: usize = 64 << 20;

/// A durable execution whose every frame waits at least this long on a timer is parked:
/// dropped from memory and resumed from the store when the timer fires.
pub const PARK_AFTER: Duration = Duration::from_secs(1);

/// Runs executions on the engine's driver.
pub struct EngineRuntime {
    clock: Arc<dyn Clock>,
    tasks: Option<Arc<dyn TaskRunner>>,
    limits: Limits,
    /// Compiled models by (tenant, state machine, version): versions are immutable.
    models: ByteLru<(String, String, u64), Arc<StateMachine>>,
}

impl std::fmt::Debug for EngineRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineRuntime")
            .field("tasks", &self.tasks.is_some())
            .finish_non_exhaustive()
    }
}

impl EngineRuntime {
    /// A runtime on the system clock with AWS's default limits.
    pub fn new(tasks: Option<Arc<dyn TaskRunner>>) -> Self {
        Self::with_clock(Arc::new(SystemClock), tasks)
    }

    /// A runtime on a given clock.
    pub fn with_clock(clock: Arc<dyn Clock>, tasks: Option<Arc<dyn TaskRunner>>) -> Self {
        Self {
            clock,
            tasks,
            limits: Limits::default(),
            models: ByteLru::new(MODEL_CACHE_BYTES),
        }
    }

    /// The same runtime with other execution limits (payload size, history length).
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    fn model(&self, launch: &Launch) -> Result<Arc<StateMachine>, RuntimeError> {
        let r = &launch.record;
        let key = (
            r.tenant.clone(),
            r.state_machine.clone(),
            r.state_machine_version,
        );
        if let Some(m) = self.models.get(&key) {
            return Ok(m);
        }
        let raw = RawStateMachine::from_json(&launch.machine.definition).map_err(|e| {
            RuntimeError::Definition {
                message: e.to_string(),
            }
        })?;
        let model = StateMachine::compile(&raw).map_err(|d| RuntimeError::Definition {
            message: d
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        })?;
        let weight = launch.machine.definition.len();
        self.models.insert(key, model.clone(), weight);
        Ok(model)
    }

    fn info(launch: &Launch) -> Result<Arc<ExecutionInfo>, RuntimeError> {
        let r = &launch.record;
        let input: Value =
            serde_json::from_str(&r.input).map_err(|e| RuntimeError::Definition {
                message: format!("stored input is not JSON: {e}"),
            })?;
        Ok(Arc::new(ExecutionInfo {
            id: r.arn.clone(),
            name: r.name.clone(),
            start_time: from_ms(r.start_ms),
            input: Arc::new(input),
            role_arn: role_arn(&r.tenant, &launch.machine),
            state_machine_id: state_machine_arn(&r.tenant, &r.state_machine),
            state_machine_name: r.state_machine.clone(),
            tenant: Some(r.tenant.clone()),
        }))
    }

    /// A durable execution rebuilt from its committed frames.
    fn restore(
        &self,
        launch: &Launch,
        frames: &[(u64, Vec<u8>)],
        last_event_id: u64,
    ) -> Result<Execution, RuntimeError> {
        let model = self.model(launch)?;
        let info = Self::info(launch)?;
        Execution::resume(model, info, self.limits.clone(), frames, last_event_id).map_err(|e| {
            RuntimeError::Resume {
                message: e.to_string(),
            }
        })
    }

    fn driver(&self, journal: Option<Arc<dyn Journal>>) -> driver::Runtime {
        driver::Runtime {
            clock: self.clock.clone(),
            tasks: self.tasks.clone(),
            journal,
            limits: self.limits.clone(),
            record_history: true,
        }
    }
}

impl Runtime for EngineRuntime {
    fn keep_model(&self, tenant: &str, version: &StateMachineVersion, model: Arc<StateMachine>) {
        let key = (tenant.to_owned(), version.name.clone(), version.version);
        self.models.insert(key, model, version.definition.len());
    }

    fn begin(
        &self,
        launch: &Launch,
    ) -> Result<(Vec<HistoryEvent>, Vec<FrameUpdate>), RuntimeError> {
        let model = self.model(launch)?;
        let info = Self::info(launch)?;
        let start = info.start_time;
        let mut exec = Execution::new(model, info, self.limits.clone(), true, start);
        let commit = exec.take_commit().map_err(|e| RuntimeError::Definition {
            message: e.to_string(),
        })?;
        Ok((commit.events, commit.frames))
    }

    fn drive(
        &self,
        launch: Launch,
        frames: Vec<(u64, Vec<u8>)>,
        last_event_id: u64,
        journal: Arc<dyn Journal>,
    ) -> BoxFuture<'static, Result<Driven, RuntimeError>> {
        let prepared = self.restore(&launch, &frames, last_event_id);
        let rt = self.driver(Some(journal));
        Box::pin(async move {
            let mut exec = prepared?;
            match driver::run_or_park(&mut exec, &rt, Some(PARK_AFTER)).await {
                Ok(driver::Driven::Finished(_)) => Ok(Driven::Ended),
                Ok(driver::Driven::Parked { wake_at }) => Ok(Driven::Parked {
                    wake_at_ms: to_ms(wake_at),
                }),
                Err(e) => Err(RuntimeError::Journal {
                    message: e.to_string(),
                }),
            }
        })
    }

    fn abort(
        &self,
        launch: &Launch,
        frames: &[(u64, Vec<u8>)],
        last_event_id: u64,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<StepCommit, RuntimeError> {
        let mut exec = self.restore(launch, frames, last_event_id)?;
        Ok(exec.abort(self.clock.now(), error, cause))
    }

    fn run_express(
        &self,
        launch: Launch,
        stop: Option<BoxFuture<'static, StopOrder>>,
    ) -> BoxFuture<'static, Result<ExpressRun, RuntimeError>> {
        let prepared = self.model(&launch).and_then(|model| {
            let info = Self::info(&launch)?;
            let start = info.start_time;
            // AWS caps the history of STANDARD executions only: an EXPRESS one keeps none.
            let limits = Limits {
                max_history_events: None,
                ..self.limits.clone()
            };
            Ok(Execution::new(model, info, limits, true, start))
        });
        let mut rt = self.driver(None);
        let peak = Arc::new(AtomicU64::new(0));
        rt.tasks = rt.tasks.map(|inner| -> Arc<dyn TaskRunner> {
            Arc::new(Metered {
                inner,
                peak: peak.clone(),
            })
        });
        Box::pin(async move {
            let mut exec = prepared?;
            let finished = driver::run_until_stopped(&mut exec, &rt, stop)
                .await
                .map_err(|e| RuntimeError::Journal {
                    message: e.to_string(),
                })?;
            Ok(ExpressRun {
                end: finished.end,
                events: finished.history,
                peak_memory_bytes: peak.load(Ordering::Relaxed),
            })
        })
    }
}

/// A task runner that keeps the peak memory of the attempts it runs (one EXPRESS
/// execution's, for its billing details).
struct Metered {
    inner: Arc<dyn TaskRunner>,
    peak: Arc<AtomicU64>,
}

impl TaskRunner for Metered {
    fn invoke(&self, request: TaskRequest) -> BoxFuture<'_, TaskOutcome> {
        Box::pin(async move {
            let outcome = self.inner.invoke(request).await;
            self.peak.fetch_max(outcome.memory_bytes, Ordering::Relaxed);
            outcome
        })
    }
}
