//! Driving durable executions in this process: one driver task per RUNNING execution,
//! parking on long timers, waking from the store, resuming at start-up, and failing by
//! name an execution that can never run again. Every failure path here ends the
//! execution or retries it visibly; none is only logged.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tokio::task::JoinHandle;

use super::limits::RunningSlot;
use super::runtime::{Driven, Launch, RuntimeError};
use super::timers::Parked;
use super::{Resource, Service, ServiceError};
use crate::asl::error::ErrorName;
use crate::engine::callback::Inbox;
use crate::engine::execution::Ending;
use crate::engine::ports::Journal;
use crate::engine::resume::unresumable_commit;
use crate::store::{ExecutionRecord, StateMachineVersion, StoreError, now_ms};

/// How long a durable execution whose commit failed waits before it is resumed again.
const JOURNAL_RETRY_MS: i64 = 1000;

/// Executions paused by failed commits (a full disk pauses all of them, each retrying).
static LOG_PAUSED: crate::ratelog::Limiter =
    crate::ratelog::Limiter::new(std::time::Duration::from_secs(1));

/// What resuming a stored execution needs: its launch, committed frames and last event id.
type Resumable = (Launch, Vec<(u64, Vec<u8>)>, u64);

/// Why a RUNNING execution could not be loaded to run.
enum Unloadable {
    /// For now (a store read failed): try again later.
    Retry(ServiceError),
    /// For good (its state machine version is gone): fail it.
    Gone { last_event_id: u64, reason: String },
}

impl From<StoreError> for Unloadable {
    fn from(e: StoreError) -> Self {
        Unloadable::Retry(e.into())
    }
}

/// Driver tasks of RUNNING executions in this process, so stop can cancel them and
/// signals for callback tasks reach them.
#[derive(Clone, Default)]
pub(super) struct Drivers(Arc<Mutex<HashMap<String, Driving>>>);

/// One driver task.
pub(super) struct Driving {
    /// The task; a stop aborts it and waits for it to be gone, so the slot it holds is
    /// free when the stop returns.
    pub(super) task: JoinHandle<()>,
    /// Where signals for its callback tasks go.
    pub(super) inbox: Arc<Inbox>,
}

impl Drivers {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Driving>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Service {
    pub(super) fn spawn_driver(
        &self,
        launch: Launch,
        frames: Vec<(u64, Vec<u8>)>,
        last_event_id: u64,
        slot: RunningSlot,
        inbox: Arc<Inbox>,
    ) {
        let arn = launch.record.arn.clone();
        let runtime = self.runtime().clone();
        let journal: Arc<dyn Journal> = Arc::new(self.store().clone());
        let activities = self.activity_board();
        let service = self.clone();
        let mut map = self.inner.drivers.lock();
        let task_arn = arn.clone();
        let task_inbox = inbox.clone();
        let handle = tokio::spawn(async move {
            let inbox = task_inbox;
            let driven = runtime
                .drive(
                    launch,
                    frames,
                    last_event_id,
                    journal,
                    inbox.clone(),
                    activities,
                )
                .await;
            // Removed before parking, under the same lock, so a stop either aborts this
            // task or finds the entry in the timers, and a signal finds one or the other.
            // What needs the lock let go of (waking, failing) comes out of the block.
            let after = {
                let mut drivers = service.inner.drivers.lock();
                drivers.remove(&task_arn);
                match driven {
                    Ok(Driven::Ended) => {
                        drop(slot);
                        None
                    }
                    Ok(Driven::Parked { wake_at_ms }) if inbox.is_empty() => {
                        service.park(wake_at_ms, task_arn.clone(), slot);
                        None
                    }
                    // A signal came as it parked: drive it again, with that signal.
                    Ok(Driven::Parked { .. }) => Some(Ok(slot)),
                    // A failed commit leaves the execution RUNNING in the store: it keeps
                    // its slot and is retried from its committed frames (a stop meanwhile
                    // ends that).
                    Err(e @ RuntimeError::Journal { .. }) => {
                        LOG_PAUSED.log(|| format!("execution {task_arn} paused, retrying: {e}"));
                        service.park(now_ms() + JOURNAL_RETRY_MS, task_arn.clone(), slot);
                        None
                    }
                    Err(e) => Some(Err((e, slot))),
                }
            };
            match after {
                None => {}
                Some(Ok(slot)) => {
                    let parked = Parked {
                        arn: task_arn.into_boxed_str(),
                        slot,
                    };
                    service.wake(parked, inbox);
                }
                // Its definition or frames do not load: it can never move again.
                Some(Err((e, slot))) => {
                    service
                        .fail_unrunnable(task_arn, last_event_id, &e.to_string(), slot)
                        .await;
                }
            }
        });
        map.insert(
            arn,
            Driving {
                task: handle,
                inbox,
            },
        );
    }

    /// Ends an execution that cannot run with `States.Runtime` and the reason; if even that
    /// commit fails, it is retried like any failed commit.
    async fn fail_unrunnable(
        &self,
        arn: String,
        last_event_id: u64,
        reason: &str,
        slot: RunningSlot,
    ) {
        eprintln!("stepwasm: execution {arn} cannot run, failing it: {reason}");
        let ending = Ending::Failed {
            error: ErrorName::Runtime.as_str().to_owned(),
            cause: format!("The execution cannot be resumed: {reason}"),
        };
        let commit = unresumable_commit(&arn, last_event_id, SystemTime::now(), ending);
        match self.store().commit_step(commit).await {
            // Ended (by this commit or by a stop meanwhile).
            Ok(()) | Err(StoreError::NotRunning { .. }) => drop(slot),
            // It moved on since (another driver): its own run decides.
            Err(StoreError::HistoryOutOfOrder { .. }) => drop(slot),
            Err(e) => {
                eprintln!("stepwasm: cannot fail {arn}, retrying: {e}");
                self.park(now_ms() + JOURNAL_RETRY_MS, arn, slot);
            }
        }
    }

    /// Leaves a parked execution to the timers; the first park starts their task.
    pub(super) fn park(&self, wake_at_ms: i64, arn: String, slot: RunningSlot) {
        let entry = Parked {
            arn: arn.into_boxed_str(),
            slot,
        };
        if self.inner.timers.park(wake_at_ms, entry) {
            let service = self.clone();
            tokio::spawn(async move { service.run_timers().await });
        }
    }

    /// Sleeps until the earliest parked deadline, then resumes every execution due.
    async fn run_timers(self) {
        loop {
            let now = now_ms();
            let sleep = match self.inner.timers.next_due() {
                Some(t) if t <= now => {
                    for parked in self.inner.timers.take_due(now) {
                        self.wake(parked, Arc::default());
                    }
                    continue;
                }
                Some(t) => std::time::Duration::from_millis(u64::try_from(t - now).unwrap_or(0)),
                None => std::time::Duration::from_secs(3600),
            };
            tokio::select! {
                () = tokio::time::sleep(sleep) => {}
                () = self.inner.timers.changed() => {}
            }
        }
    }

    /// Reloads a parked execution from the store and drives it again. A read that fails is
    /// retried later (the execution stays parked, with its slot); a state machine version
    /// that is gone fails the execution. Signals queued in `inbox` go to its driver.
    pub(super) fn wake(&self, parked: Parked, inbox: Arc<Inbox>) {
        let service = self.clone();
        tokio::spawn(async move {
            let arn = parked.arn.to_string();
            let loaded = service.load_parked(&parked.arn);
            match loaded {
                // Gone from the RUNNING set: it was stopped meanwhile; dropping the entry
                // frees its slot.
                Ok(None) => {}
                Ok(Some((launch, frames, last_event_id))) => {
                    service.spawn_driver(launch, frames, last_event_id, parked.slot, inbox);
                }
                Err(Unloadable::Gone {
                    last_event_id,
                    reason,
                }) => {
                    service
                        .fail_unrunnable(arn, last_event_id, &reason, parked.slot)
                        .await;
                }
                Err(Unloadable::Retry(e)) => {
                    eprintln!("stepwasm: cannot resume {arn} now, retrying: {e}");
                    service.park(now_ms() + JOURNAL_RETRY_MS, arn, parked.slot);
                }
            }
        });
    }

    /// A parked execution's launch, frames and last event id; `None` once it is no longer
    /// RUNNING.
    fn load_parked(&self, arn: &str) -> Result<Option<Resumable>, Unloadable> {
        let Some(exec) = self.store().running_execution(arn)? else {
            return Ok(None);
        };
        let Some(tenant) = self.store().tenant(&exec.record.tenant)? else {
            return Ok(None);
        };
        let machine = match self.machine_version(&exec.record) {
            Ok(m) => m,
            Err(e @ ServiceError::NotFound { .. }) => {
                return Err(Unloadable::Gone {
                    last_event_id: exec.last_event_id,
                    reason: e.to_string(),
                });
            }
            Err(e) => return Err(Unloadable::Retry(e)),
        };
        let launch = Self::launch(&tenant, exec.record, machine);
        Ok(Some((launch, exec.frames, exec.last_event_id)))
    }

    /// The state machine revision an execution runs.
    pub(super) fn machine_version(
        &self,
        rec: &ExecutionRecord,
    ) -> Result<Arc<StateMachineVersion>, ServiceError> {
        self.revision(&rec.tenant, &rec.state_machine, rec.state_machine_version)
    }

    /// One revision of a state machine, cached (revisions are immutable, and their
    /// numbers are never reused for a name).
    pub(super) fn revision(
        &self,
        tenant: &str,
        name: &str,
        revision: u64,
    ) -> Result<Arc<StateMachineVersion>, ServiceError> {
        let key = (tenant.to_string(), name.to_string(), revision);
        if let Some(m) = self.inner.machines.get(&key) {
            return Ok(m);
        }
        let m = self
            .store()
            .state_machine(&key.0, &key.1, Some(key.2))?
            .ok_or_else(|| ServiceError::NotFound {
                what: Resource::StateMachine,
                name: format!("{}:{}", key.1, key.2),
            })?;
        let m = Arc::new(m);
        let weight = m.definition.len();
        self.inner.machines.insert(key, m.clone(), weight);
        Ok(m)
    }

    /// Resumes every RUNNING STANDARD execution from its committed frames. Call once at
    /// start-up, inside the runtime. Returns how many were resumed.
    pub fn resume_running(&self) -> Result<usize, ServiceError> {
        let running = self.store().running_executions()?;
        let mut resumed = 0;
        for exec in running {
            let rec = &exec.record;
            let Some(tenant) = self.store().tenant(&rec.tenant)? else {
                continue;
            };
            let slot = self.inner.limits.adopt_slot(&rec.tenant);
            let machine = match self.machine_version(rec) {
                Ok(m) => m,
                Err(e) => {
                    // Through the timers: retried, or failed when the version is gone.
                    eprintln!("stepwasm: cannot resume {} yet: {e}", rec.arn);
                    self.park(now_ms(), rec.arn.clone(), slot);
                    continue;
                }
            };
            let launch = Self::launch(&tenant, exec.record.clone(), machine);
            self.spawn_driver(
                launch,
                exec.frames,
                exec.last_event_id,
                slot,
                Arc::default(),
            );
            resumed += 1;
        }
        Ok(resumed)
    }
}
