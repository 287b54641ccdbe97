//! EXPRESS executions, started asynchronously or synchronously: they run in memory with no
//! per-transition writes and are recorded when they end. Meanwhile they live in an
//! in-memory registry so describe, list and stop see them (RUNNING) like any other
//! execution, and their names are taken: the registry entry is claimed (after checking the
//! store, under the registry's lock) before the execution runs, and dropped only once its
//! record is in the store, so a name is never free in both places at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use super::limits::RunningSlot;
use super::runtime::Launch;
use super::{Resource, Service, ServiceError, StopRequest};
use crate::engine::driver::StopOrder;
use crate::engine::ports::BoxFuture;
use crate::store::ExecutionRecord;

/// How a running EXPRESS execution ends, for whoever waits on it (a start-sync call).
pub(super) type Ended = oneshot::Receiver<Result<(ExecutionRecord, u64), ServiceError>>;

/// Why an EXPRESS execution did not start.
pub(super) enum Claim {
    /// The name is taken (by a running or a recorded execution).
    Taken(Box<ExecutionRecord>),
    /// The store could not be read.
    Failed(ServiceError),
}

/// One running EXPRESS execution.
struct Running {
    launch: Launch,
    /// Taken by the first stop: the engine ends the run ABORTED and the run's task answers
    /// on the order's reply channel once the record is stored.
    stop: Option<oneshot::Sender<Stop>>,
}

/// A stop handed to a running EXPRESS execution's task.
struct Stop {
    order: StopOrder,
    reply: oneshot::Sender<Result<ExecutionRecord, ServiceError>>,
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
    /// Claims the execution's name and runs it in the background, visible in the registry
    /// until its record is in the store. The returned receiver gets its end (dropping it is
    /// fine). A name that a running or recorded execution has is not claimed.
    pub(super) fn spawn_express(&self, launch: Launch, slot: RunningSlot) -> Result<Ended, Claim> {
        let arn = launch.record.arn.clone();
        let registry = self.inner.express.clone();
        let mut map = registry.lock();
        if let Some(running) = map.get(&arn) {
            return Err(Claim::Taken(Box::new(running.launch.record.clone())));
        }
        // Under the lock: a running execution leaves the registry only after its record
        // is in the store, so one of the two places always has it.
        match self.store().execution(&arn) {
            Ok(Some(stored)) => return Err(Claim::Taken(Box::new(stored))),
            Ok(None) => {}
            Err(e) => return Err(Claim::Failed(e.into())),
        }
        let (done, ended) = oneshot::channel();
        let service = self.clone();
        let task_launch = launch.clone();
        let task_arn = arn.clone();
        let (stop_tx, stop_rx) = oneshot::channel::<Stop>();
        // Where the stop's reply goes once the run has ended (the stop future hands it over).
        let reply: Arc<Mutex<Option<oneshot::Sender<_>>>> = Arc::default();
        let reply_slot = Arc::clone(&reply);
        let stop: BoxFuture<'static, StopOrder> = Box::pin(async move {
            match stop_rx.await {
                Ok(stop) => {
                    *reply_slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(stop.reply);
                    stop.order
                }
                // The registry entry went without a stop: run to the end.
                Err(_) => futures::future::pending().await,
            }
        });
        tokio::spawn(async move {
            let _slot = slot;
            let result = service.run_express(task_launch, Some(stop)).await;
            // After the store has it, so it is never invisible.
            service.inner.express.lock().remove(&task_arn);
            let stopped = reply.lock().unwrap_or_else(|p| p.into_inner()).take();
            // A start-sync call waiting on it gets the same end as a stop does, and the
            // peak task memory for its billing details.
            let to_waiter = match &result {
                Ok(ran) => Ok(ran.clone()),
                Err(e) => Err(ServiceError::Internal {
                    detail: e.to_string(),
                }),
            };
            let result = result.map(|(record, _)| record);
            let waited = done.send(to_waiter).is_ok();
            match (stopped, result) {
                (Some(reply), result) => {
                    let _ = reply.send(result);
                }
                (None, Ok(_)) => {}
                (None, Err(e)) => {
                    if !waited {
                        eprintln!("stepwasm: express execution {task_arn} was not recorded: {e}");
                    }
                }
            }
        });
        map.insert(
            arn,
            Running {
                launch,
                stop: Some(stop_tx),
            },
        );
        Ok(ended)
    }

    /// Stops a running EXPRESS execution: the engine ends it ABORTED (with a
    /// `WaitStateAborted` for a Wait it is in) and it is recorded. `None` if it is not
    /// running here (or ended before the stop reached it).
    pub(super) async fn stop_express(
        &self,
        arn: &str,
        stop: &StopRequest,
    ) -> Option<Result<ExecutionRecord, ServiceError>> {
        let sender = self.inner.express.lock().get_mut(arn)?.stop.take()?;
        let (reply, answer) = oneshot::channel();
        let order = StopOrder {
            error: stop.error.clone(),
            cause: stop.cause.clone(),
        };
        sender.send(Stop { order, reply }).ok()?;
        let record = answer.await.ok()?;
        Some(record.map_err(|e| match e {
            // It ended and recorded itself just before the stop.
            ServiceError::AlreadyExists { name, .. } => ServiceError::NotRunning { name },
            other => other,
        }))
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
