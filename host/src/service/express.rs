//! EXPRESS executions started asynchronously: they run in memory with no per-transition
//! writes and are recorded when they end. Meanwhile they live in an in-memory registry so
//! describe, list and stop see them (RUNNING) like any other execution.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::task::AbortHandle;

use super::limits::RunningSlot;
use super::runtime::Launch;
use super::timefmt::rfc3339_ms;
use super::{Resource, Service, ServiceError, StopRequest};
use crate::engine::history::HistoryEvent;
use crate::engine::ports::ExecutionStatus;
use crate::store::{ExecutionRecord, StoreError, now_ms};

/// One running EXPRESS execution.
struct Running {
    launch: Launch,
    task: AbortHandle,
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

impl Service {
    /// Runs an EXPRESS execution in the background, visible in the registry until its
    /// record is in the store.
    pub(super) fn spawn_express(&self, launch: Launch, slot: RunningSlot) {
        let arn = launch.record.arn.clone();
        let registry = self.inner.express.clone();
        let mut map = registry.lock();
        let service = self.clone();
        let task_launch = launch.clone();
        let task_arn = arn.clone();
        let handle = tokio::spawn(async move {
            let _slot = slot;
            if let Err(e) = service.run_express(task_launch).await {
                eprintln!("stepwasm: express execution failed to run: {e}");
            }
            // After the store has it, so it is never invisible.
            service.inner.express.lock().remove(&task_arn);
        });
        map.insert(
            arn,
            Running {
                launch,
                task: handle.abort_handle(),
            },
        );
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
        let launch = running.launch;
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
        Some(
            self.store()
                .record_express(record, events)
                .await
                .map_err(|e| match e {
                    // It ended and recorded itself just before the cancel.
                    StoreError::AlreadyExists { .. } => ServiceError::NotRunning { name },
                    other => other.into(),
                }),
        )
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
