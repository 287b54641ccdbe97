//! EXPRESS executions, started asynchronously or synchronously: they run in memory with no
//! per-transition writes and are recorded when they end. Meanwhile they live in an
//! in-memory registry so describe, list and stop see them (RUNNING) like any other
//! execution, and their names are taken: the registry entry is claimed (after checking the
//! store, under the registry's lock) before the execution runs, and dropped only once its
//! record is in the store, so a name is never free in both places at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::sync::oneshot;
use tokio::task::AbortHandle;

use super::limits::RunningSlot;
use super::runtime::Launch;
use super::timefmt::rfc3339_ms;
use super::{Resource, Service, ServiceError, StopRequest};
use crate::engine::history::HistoryEvent;
use crate::engine::ports::ExecutionStatus;
use crate::store::{ExecutionRecord, StoreError, now_ms};

/// How a running EXPRESS execution ends, for whoever waits on it (a start-sync call).
pub(super) type Ended = oneshot::Receiver<Result<ExecutionRecord, ServiceError>>;

/// One running EXPRESS execution.
struct Running {
    launch: Launch,
    task: AbortHandle,
    /// Told the execution's end by whoever removes the entry (the task, or a stop).
    done: oneshot::Sender<Result<ExecutionRecord, ServiceError>>,
}

/// Running EXPRESS executions of this process, by ARN.
#[derive(Clone, Default)]
pub(super) struct ExpressRegistry(Arc<Mutex<HashMap<String, Running>>>);

impl ExpressRegistry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Running>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The record of a running EXPRESS execution.
    pub(super) fn get(&self, arn: &str) -> Option<ExecutionRecord> {
        self.lock().get(arn).map(|r| r.launch.record.clone())
    }

    /// The tenant's running EXPRESS executions (optionally of one state machine), newest
    /// first.
    pub(super) fn of_tenant(
        &self,
        tenant: &str,
        state_machine: Option<&str>,
    ) -> Vec<ExecutionRecord> {
        let mut out: Vec<ExecutionRecord> = self
            .lock()
            .values()
            .map(|r| &r.launch.record)
            .filter(|r| r.tenant == tenant && state_machine.is_none_or(|sm| sm == r.state_machine))
            .cloned()
            .collect();
        out.sort_by(|a, b| (b.start_ms, &b.arn).cmp(&(a.start_ms, &a.arn)));
        out
    }
}

/// Why an EXPRESS execution did not start: its name is taken by this execution.
pub(super) enum Claim {
    /// The name is taken (by a running or a recorded execution).
    Taken(ExecutionRecord),
    /// The store could not be read.
    Failed(ServiceError),
}

impl Service {
    /// Claims the execution's name and runs it in the background, visible in the registry
    /// until its record is in the store. The returned receiver gets its end (dropping it is
    /// fine). A name that a running or recorded execution has is not claimed.
    pub(super) fn spawn_express(&self, launch: Launch, slot: RunningSlot) -> Result<Ended, Claim> {
        let arn = launch.record.arn.clone();
        let registry = self.inner.express.clone();
        let mut map = registry.lock();
        if let Some(running) = map.get(&arn) {
            return Err(Claim::Taken(running.launch.record.clone()));
        }
        // Under the lock: a running execution leaves the registry only after its record
        // is in the store, so one of the two places always has it.
        match self.store().execution(&arn) {
            Ok(Some(stored)) => return Err(Claim::Taken(stored)),
            Ok(None) => {}
            Err(e) => return Err(Claim::Failed(e.into())),
        }
        let (done, ended) = oneshot::channel();
        let service = self.clone();
        let task_launch = launch.clone();
        let task_arn = arn.clone();
        let handle = tokio::spawn(async move {
            let _slot = slot;
            let result = service.run_express(task_launch).await;
            // After the store has it, so it is never invisible. A stop that removed the
            // entry first tells the waiter itself.
            let running = service.inner.express.lock().remove(&task_arn);
            match running {
                Some(running) => {
                    if let Err(Err(e)) = running.done.send(result) {
                        eprintln!("stepwasm: express execution {task_arn} failed to run: {e}");
                    }
                }
                None => {
                    if let Err(e) = result {
                        eprintln!("stepwasm: express execution {task_arn} failed to run: {e}");
                    }
                }
            }
        });
        map.insert(
            arn,
            Running {
                launch,
                task: handle.abort_handle(),
                done,
            },
        );
        Ok(ended)
    }

    /// Stops a running EXPRESS execution: its task is cancelled and it is recorded
    /// ABORTED with its start and abort events. `None` if it is not running here.
    pub(super) async fn stop_express(
        &self,
        arn: &str,
        stop: &StopRequest,
    ) -> Option<Result<ExecutionRecord, ServiceError>> {
        let running = self.inner.express.lock().remove(arn)?;
        running.task.abort();
        let launch = running.launch.clone();
        let mut events = match self.runtime().begin(&launch) {
            Ok((events, _)) => events,
            Err(e) => {
                return Some(Err(ServiceError::Internal {
                    detail: e.to_string(),
                }));
            }
        };
        let id = events.len() as u64 + 1;
        events.push(HistoryEvent {
            id,
            previous_event_id: id - 1,
            timestamp: rfc3339_ms(now_ms()),
            event_type: "ExecutionAborted".into(),
            details: [(
                "executionAbortedEventDetails".to_string(),
                json!({"error": stop.error, "cause": stop.cause}),
            )]
            .into_iter()
            .collect(),
        });
        let mut record = launch.record;
        record.status = ExecutionStatus::Aborted;
        record.error.clone_from(&stop.error);
        record.cause.clone_from(&stop.cause);
        record.stop_ms = Some(now_ms());
        let name = record.name.clone();
        let result = self.store().record_express(record, &events).await;
        // The start-sync call waiting on it answers with what the store holds.
        let (to_waiter, to_caller) = match result {
            Ok(record) => (Ok(record.clone()), Ok(record)),
            // It ended and recorded itself just before the cancel.
            Err(StoreError::AlreadyExists { .. }) => (
                self.store()
                    .execution(arn)
                    .map_err(ServiceError::from)
                    .and_then(|r| {
                        r.ok_or_else(|| ServiceError::NotFound {
                            what: Resource::Execution,
                            name: name.clone(),
                        })
                    }),
                Err(ServiceError::NotRunning { name }),
            ),
            Err(e) => {
                let detail = e.to_string();
                (Err(ServiceError::Internal { detail }), Err(e.into()))
            }
        };
        let _ = running.done.send(to_waiter);
        Some(to_caller)
    }

    /// A running EXPRESS execution's record, or NotFound.
    pub(super) fn running_express(
        &self,
        arn: &str,
        name: &str,
    ) -> Result<ExecutionRecord, ServiceError> {
        self.inner
            .express
            .get(arn)
            .ok_or_else(|| ServiceError::NotFound {
                what: Resource::Execution,
                name: name.to_string(),
            })
    }
}
