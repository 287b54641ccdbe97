//! Execution operations: start (idempotent by name and input), start-sync for EXPRESS,
//! describe, list, history, stop, and resuming RUNNING executions at start-up.
//!
//! Tasks are at-least-once: a Task that was in flight when the server died is invoked again
//! on resume, because its result was never committed. Transitions are exactly-once: the store
//! refuses a history append that repeats or skips an event id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde_json::json;
use tokio::task::AbortHandle;

use super::limits::RunningSlot;
use super::names::{check_name, execution_arn};
use super::paging::{self, Page};
use super::runtime::{Driven, Launch, RuntimeError};
use super::timers::Parked;
use super::{MAX_PAYLOAD_BYTES, Resource, Service, ServiceError};
use crate::asl::error::ErrorName;
use crate::engine::driver::StopOrder;
use crate::engine::execution::Ending;
use crate::engine::history::HistoryEvent;
use crate::engine::ports::BoxFuture;
use crate::engine::ports::{ExecutionStatus, Journal};
use crate::engine::resume::unresumable_commit;
use crate::store::{
    ExecutionFilter, ExecutionRecord, MachineType, StartOutcome, StateMachineVersion, StoreError,
    TenantRecord, now_ms,
};

/// How long a durable execution whose commit failed waits before it is resumed again.
const JOURNAL_RETRY_MS: i64 = 1000;

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

/// Result of a start.
#[derive(Clone, Debug)]
pub struct Started {
    /// The execution.
    pub record: ExecutionRecord,
    /// False when an identical RUNNING execution already existed.
    pub created: bool,
}

/// Filters and paging for listing executions.
#[derive(Clone, Debug, Default)]
pub struct ListExecutionsQuery {
    /// Only this state machine's.
    pub state_machine: Option<String>,
    /// Only this status (`RUNNING`, `SUCCEEDED`, ...).
    pub status: Option<String>,
    /// Page size.
    pub max_results: Option<i64>,
    /// Token from the previous page.
    pub next_token: Option<String>,
}

/// Paging for history.
#[derive(Clone, Debug, Default)]
pub struct HistoryQuery {
    /// Page size.
    pub max_results: Option<i64>,
    /// Token from the previous page.
    pub next_token: Option<String>,
    /// Newest first.
    pub reverse_order: bool,
}

/// Error and cause recorded on a stopped execution.
#[derive(Clone, Debug, Default)]
pub struct StopRequest {
    /// Error name.
    pub error: Option<String>,
    /// Cause.
    pub cause: Option<String>,
}

/// Driver tasks of RUNNING executions in this process, so stop can cancel them.
#[derive(Clone, Default)]
pub(super) struct Drivers(Arc<Mutex<HashMap<String, AbortHandle>>>);

impl Drivers {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, AbortHandle>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn parse_status(text: &str) -> Result<ExecutionStatus, ServiceError> {
    serde_json::from_value(json!(text)).map_err(|_| ServiceError::Validation {
        message: format!(
            "statusFilter must be RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED, got '{text}'"
        ),
    })
}

/// A name for an execution started without one: a UUID (as AWS gives), time-ordered
/// (version 7), so new executions' keys land together at the end of the store's tables
/// instead of on a random page each.
fn generated_name() -> String {
    let random = uuid::Uuid::new_v4();
    let mut bytes = [0u8; 10];
    bytes.copy_from_slice(&random.as_bytes()[..10]);
    let ms = u64::try_from(now_ms()).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(ms, &bytes)
        .into_uuid()
        .to_string()
}

fn check_input(input: Option<String>) -> Result<String, ServiceError> {
    let input = input.unwrap_or_else(|| "{}".to_string());
    if input.len() > MAX_PAYLOAD_BYTES {
        return Err(ServiceError::InvalidInput {
            reason: format!(
                "input is {} bytes, over the limit of {MAX_PAYLOAD_BYTES}",
                input.len()
            ),
        });
    }
    serde_json::from_str::<serde_json::Value>(&input).map_err(|e| ServiceError::InvalidInput {
        reason: format!("input is not JSON: {e}"),
    })?;
    Ok(input)
}

fn runtime_error(e: super::RuntimeError) -> ServiceError {
    match e {
        super::RuntimeError::Unavailable { reason } => ServiceError::Unavailable { reason },
        other => ServiceError::Internal {
            detail: other.to_string(),
        },
    }
}

impl Service {
    fn new_record(
        tenant: &TenantRecord,
        machine: &StateMachineVersion,
        name: Option<String>,
        input: Option<String>,
    ) -> Result<ExecutionRecord, ServiceError> {
        let name = name.unwrap_or_else(generated_name);
        check_name(&name)?;
        let input = check_input(input)?;
        Ok(ExecutionRecord {
            arn: execution_arn(&tenant.id, &machine.name, &name),
            tenant: tenant.id.clone(),
            name,
            state_machine: machine.name.clone(),
            state_machine_version: machine.version,
            machine_type: machine.machine_type,
            status: ExecutionStatus::Running,
            input,
            output: None,
            error: None,
            cause: None,
            start_ms: now_ms(),
            stop_ms: None,
            seq: 0,
            redrive_count: 0,
            redrive_ms: None,
        })
    }

    pub(super) fn admit(&self, tenant: &TenantRecord) -> Result<RunningSlot, ServiceError> {
        let q = &tenant.quotas;
        self.inner
            .limits
            .try_start(&tenant.id, q.start_rate_per_second)
            .map_err(|retry_after| ServiceError::Throttled {
                rate: q.start_rate_per_second,
                retry_after,
            })?;
        self.inner
            .limits
            .try_take_slot(&tenant.id, q.max_concurrent_executions)
            .ok_or(ServiceError::ExecutionLimitExceeded {
                limit: q.max_concurrent_executions,
            })
    }

    pub(super) fn launch(
        tenant: &TenantRecord,
        record: ExecutionRecord,
        machine: Arc<StateMachineVersion>,
    ) -> Launch {
        Launch {
            record,
            machine,
            task_fuel: tenant.quotas.task_fuel,
            task_memory_bytes: tenant.quotas.task_memory_bytes,
        }
    }

    /// Starts an execution of the latest version of a state machine. The same name with the
    /// same input while it runs returns the existing execution; otherwise a reused name is
    /// `ExecutionAlreadyExists`. EXPRESS executions run in memory and are recorded at the end.
    pub async fn start_execution(
        &self,
        tenant: &TenantRecord,
        state_machine: &str,
        name: Option<String>,
        input: Option<String>,
    ) -> Result<Started, ServiceError> {
        let (state_machine, test_case) = super::split_test_case(state_machine);
        let machine = self.latest_machine(tenant, state_machine)?;
        let named = name.is_some();
        let record = Self::new_record(tenant, &machine, name, input)?;
        if let Some(case) = test_case {
            let mocks = self.mocks().ok_or_else(|| ServiceError::Validation {
                message: format!(
                    "test case '{case}' given, but the server has no mock configuration (serve --mock-config)"
                ),
            })?;
            mocks
                .register(&record.arn, state_machine, case)
                .map_err(|e| ServiceError::Validation {
                    message: e.to_string(),
                })?;
        }
        // A generated name is new; a caller's name may be an idempotent repeat.
        if named {
            if let Some(existing) = self.store().execution(&record.arn)? {
                return self.existing(existing, record);
            }
            if let Some(existing) = self.inner.express.get(&record.arn) {
                return self.existing(existing, record);
            }
        }
        let slot = self.admit(tenant)?;
        let launch = Self::launch(tenant, record, machine);
        if launch.machine.machine_type == MachineType::Express {
            let record = launch.record.clone();
            self.spawn_express(launch, slot);
            return Ok(Started {
                record,
                created: true,
            });
        }
        let (events, frames) = self.runtime().begin(&launch).map_err(runtime_error)?;
        // Event ids are dense from 1, so the first commit's last id is its event count.
        let last_event_id = events.len() as u64;
        let outcome = self
            .store()
            .start_execution(
                launch.record.clone(),
                events,
                frames.clone(),
                tenant.quotas.max_stored_bytes,
            )
            .await
            .map_err(|e| match e {
                StoreError::AlreadyExists { .. } => ServiceError::AlreadyExists {
                    what: Resource::Execution,
                    name: launch.record.name.clone(),
                    detail: " with a different input, or it has ended".into(),
                },
                other => other.into(),
            })?;
        match outcome {
            StartOutcome::Existing(record) => Ok(Started {
                record,
                created: false,
            }),
            StartOutcome::Created(record) => {
                let frames = frames
                    .into_iter()
                    .filter_map(|f| f.state.map(|s| (f.frame, s)))
                    .collect();
                let launch = Launch {
                    record: record.clone(),
                    ..launch
                };
                self.spawn_driver(launch, frames, last_event_id, slot);
                Ok(Started {
                    record,
                    created: true,
                })
            }
        }
    }

    fn existing(
        &self,
        existing: ExecutionRecord,
        wanted: ExecutionRecord,
    ) -> Result<Started, ServiceError> {
        if existing.status == ExecutionStatus::Running && existing.input == wanted.input {
            return Ok(Started {
                record: existing,
                created: false,
            });
        }
        Err(ServiceError::AlreadyExists {
            what: Resource::Execution,
            name: wanted.name,
            detail: if existing.input == wanted.input {
                " and has ended".into()
            } else {
                " with a different input".into()
            },
        })
    }

    pub(super) fn spawn_driver(
        &self,
        launch: Launch,
        frames: Vec<(u64, Vec<u8>)>,
        last_event_id: u64,
        slot: RunningSlot,
    ) {
        let arn = launch.record.arn.clone();
        let runtime = self.runtime().clone();
        let journal: Arc<dyn Journal> = Arc::new(self.store().clone());
        let service = self.clone();
        let mut map = self.inner.drivers.lock();
        let task_arn = arn.clone();
        let handle = tokio::spawn(async move {
            let driven = runtime.drive(launch, frames, last_event_id, journal).await;
            // Removed before parking, so a stop either aborts this task or finds the entry
            // in the timers.
            service.inner.drivers.lock().remove(&task_arn);
            match driven {
                Ok(Driven::Ended) => drop(slot),
                Ok(Driven::Parked { wake_at_ms }) => service.park(wake_at_ms, task_arn, slot),
                // A failed commit leaves the execution RUNNING in the store: it keeps its
                // slot and is retried from its committed frames (a stop meanwhile ends that).
                Err(e @ RuntimeError::Journal { .. }) => {
                    eprintln!("stepwasm: execution {task_arn} paused, retrying: {e}");
                    service.park(now_ms() + JOURNAL_RETRY_MS, task_arn, slot);
                }
                // Its definition or frames do not load: it can never move again.
                Err(e) => {
                    service
                        .fail_unrunnable(task_arn, last_event_id, &e.to_string(), slot)
                        .await;
                }
            }
        });
        map.insert(arn, handle.abort_handle());
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
    fn park(&self, wake_at_ms: i64, arn: String, slot: RunningSlot) {
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
                        self.wake(parked);
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
    /// that is gone fails the execution.
    fn wake(&self, parked: Parked) {
        let service = self.clone();
        tokio::spawn(async move {
            let arn = parked.arn.to_string();
            let loaded = service.load_parked(&parked.arn);
            match loaded {
                // Gone from the RUNNING set: it was stopped meanwhile; dropping the entry
                // frees its slot.
                Ok(None) => {}
                Ok(Some((launch, frames, last_event_id))) => {
                    service.spawn_driver(launch, frames, last_event_id, parked.slot);
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

    /// The state machine version an execution runs, cached (versions are immutable).
    pub(super) fn machine_version(
        &self,
        rec: &ExecutionRecord,
    ) -> Result<Arc<StateMachineVersion>, ServiceError> {
        let key = (
            rec.tenant.clone(),
            rec.state_machine.clone(),
            rec.state_machine_version,
        );
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

    pub(super) async fn run_express(
        &self,
        launch: Launch,
        stop: Option<BoxFuture<'static, StopOrder>>,
    ) -> Result<ExecutionRecord, ServiceError> {
        let mut record = launch.record.clone();
        let run = self
            .runtime()
            .run_express(launch, stop)
            .await
            .map_err(runtime_error)?;
        record.status = run.end.status;
        record.output = run.end.output.map(|v| v.to_string());
        record.error = run.end.error;
        record.cause = run.end.cause;
        record.stop_ms = Some(now_ms());
        let name = record.name.clone();
        self.store()
            .record_express(record, run.events)
            .await
            .map_err(|e| match e {
                StoreError::AlreadyExists { .. } => ServiceError::AlreadyExists {
                    what: Resource::Execution,
                    name,
                    detail: String::new(),
                },
                other => other.into(),
            })
    }

    /// Runs an EXPRESS execution to its end and returns its record (with output).
    pub async fn start_sync_execution(
        &self,
        tenant: &TenantRecord,
        state_machine: &str,
        name: Option<String>,
        input: Option<String>,
    ) -> Result<ExecutionRecord, ServiceError> {
        let machine = self.latest_machine(tenant, state_machine)?;
        if machine.machine_type != MachineType::Express {
            return Err(ServiceError::WrongMachineType {
                name: state_machine.to_string(),
            });
        }
        let record = Self::new_record(tenant, &machine, name, input)?;
        if self.store().execution(&record.arn)?.is_some() {
            return Err(ServiceError::AlreadyExists {
                what: Resource::Execution,
                name: record.name,
                detail: String::new(),
            });
        }
        let _slot = self.admit(tenant)?;
        self.run_express(Self::launch(tenant, record, machine), None)
            .await
    }

    /// One execution of one of the tenant's state machines.
    pub fn describe_execution(
        &self,
        tenant: &TenantRecord,
        state_machine: &str,
        name: &str,
    ) -> Result<ExecutionRecord, ServiceError> {
        let arn = execution_arn(&tenant.id, state_machine, name);
        match self.store().execution(&arn)? {
            Some(record) => Ok(record),
            None => self.running_express(&arn, name),
        }
    }

    /// A page of the tenant's executions, newest first.
    pub fn list_executions(
        &self,
        tenant: &TenantRecord,
        query: &ListExecutionsQuery,
    ) -> Result<Page<ExecutionRecord>, ServiceError> {
        let limit = paging::page_size(query.max_results)?;
        let status = query.status.as_deref().map(parse_status).transpose()?;
        if let Some(sm) = &query.state_machine {
            self.latest_machine(tenant, sm)?;
        }
        let list = format!(
            "executions:{}:{}",
            query.state_machine.as_deref().unwrap_or("*"),
            query.status.as_deref().unwrap_or("*")
        );
        let cursor = match query.next_token.as_deref() {
            None => ListCursor::Express(None),
            Some(t) => ListCursor::parse(&paging::decode(t, &list, &tenant.id)?)?,
        };
        let filter = ExecutionFilter {
            state_machine: query.state_machine.clone(),
            status,
        };
        // Running EXPRESS executions are not in the store yet. They are the newest, so the
        // listing walks them first, then the store.
        let mut items = Vec::new();
        let before = match cursor {
            ListCursor::Store(before) => Some(before),
            ListCursor::Express(after) => {
                if status.is_none_or(|s| s == ExecutionStatus::Running) {
                    let mut running = self
                        .inner
                        .express
                        .of_tenant(&tenant.id, query.state_machine.as_deref());
                    if let Some(after) = &after {
                        running.retain(|r| express_key(r) < (after.0, after.1.as_str()));
                    }
                    if running.len() > limit {
                        running.truncate(limit);
                        let last = running.last().map(express_key);
                        let next =
                            last.map(|(ms, arn)| ListCursor::Express(Some((ms, arn.into()))));
                        return Ok(Page {
                            items: running,
                            next_token: next.map(|c| paging::encode(&list, &tenant.id, &c.text())),
                        });
                    }
                    items = running;
                }
                None
            }
        };
        let (stored, next) = if items.len() == limit {
            (Vec::new(), Some(u64::MAX))
        } else {
            self.store()
                .list_executions(&tenant.id, &filter, before, limit - items.len())?
        };
        items.extend(stored);
        Ok(Page {
            items,
            next_token: next
                .map(|seq| paging::encode(&list, &tenant.id, &ListCursor::Store(seq).text())),
        })
    }

    /// A page of an execution's history.
    pub fn execution_history(
        &self,
        tenant: &TenantRecord,
        state_machine: &str,
        name: &str,
        query: &HistoryQuery,
    ) -> Result<Page<HistoryEvent>, ServiceError> {
        let record = self.describe_execution(tenant, state_machine, name)?;
        let limit = paging::page_size(query.max_results)?;
        let list = format!(
            "history:{}:{}",
            record.arn,
            if query.reverse_order { "desc" } else { "asc" }
        );
        let after = query
            .next_token
            .as_deref()
            .map(|t| paging::decode_u64(t, &list, &tenant.id))
            .transpose()?;
        let page = self
            .store()
            .history(&record.arn, after, limit, query.reverse_order)?;
        Ok(Page {
            items: page.events,
            next_token: page
                .next_after
                .map(|id| paging::encode(&list, &tenant.id, &id.to_string())),
        })
    }

    /// Stops a RUNNING execution: ABORTED with the given error/cause, an
    /// `ExecutionAborted` event, and its driver cancelled.
    pub async fn stop_execution(
        &self,
        tenant: &TenantRecord,
        state_machine: &str,
        name: &str,
        stop: StopRequest,
    ) -> Result<ExecutionRecord, ServiceError> {
        let record = self.describe_execution(tenant, state_machine, name)?;
        if record.status != ExecutionStatus::Running {
            return Err(ServiceError::NotRunning {
                name: name.to_string(),
            });
        }
        if record.machine_type == MachineType::Express {
            return match self.stop_express(&record.arn, &stop).await {
                Some(result) => result,
                // It was recorded (ended) between the describe and the stop.
                None => Err(ServiceError::NotRunning {
                    name: name.to_string(),
                }),
            };
        }
        self.stop_durable(&record.arn, name, stop).await
    }

    /// Stops a durable execution from its committed frames, with the engine's abort (so
    /// a Wait it is in gets its `WaitStateAborted`). Its driver or timer is cancelled
    /// first; a step that driver had already handed to the store may still land, which
    /// the history-order check catches, and the abort is rebuilt on top of it.
    async fn stop_durable(
        &self,
        arn: &str,
        name: &str,
        stop: StopRequest,
    ) -> Result<ExecutionRecord, ServiceError> {
        const ATTEMPTS: usize = 5;
        let not_running = || ServiceError::NotRunning {
            name: name.to_string(),
        };
        for _ in 0..ATTEMPTS {
            if let Some(handle) = self.inner.drivers.lock().remove(arn) {
                handle.abort();
            }
            self.inner.timers.remove(arn);
            let Some(exec) = self.store().running_execution(arn)? else {
                return Err(not_running());
            };
            let Some(tenant) = self.store().tenant(&exec.record.tenant)? else {
                return Err(not_running());
            };
            let machine = self.machine_version(&exec.record)?;
            let launch = Self::launch(&tenant, exec.record, machine);
            let commit = match self.runtime().abort(
                &launch,
                &exec.frames,
                exec.last_event_id,
                stop.error.clone(),
                stop.cause.clone(),
            ) {
                Ok(commit) => commit,
                // Its frames or definition do not load: it is stopped all the same.
                Err(RuntimeError::Resume { .. } | RuntimeError::Definition { .. }) => {
                    let ending = Ending::Aborted {
                        error: stop.error.clone(),
                        cause: stop.cause.clone(),
                    };
                    unresumable_commit(arn, exec.last_event_id, SystemTime::now(), ending)
                }
                Err(e) => return Err(runtime_error(e)),
            };
            match self.store().commit_step(commit).await {
                Ok(()) => {
                    return self.store().execution(arn)?.ok_or_else(not_running);
                }
                Err(StoreError::HistoryOutOfOrder { .. }) => {}
                Err(StoreError::NotRunning { .. }) => return Err(not_running()),
                Err(e) => {
                    // Still RUNNING in the store, and nothing drives it now: drive it again.
                    // The cancelled driver or timer entry gave its slot back: take a new one
                    // (adopting would give it back twice).
                    let slot = self.inner.limits.retake_slot(&tenant.id);
                    self.spawn_driver(launch, exec.frames, exec.last_event_id, slot);
                    return Err(e.into());
                }
            }
        }
        Err(ServiceError::Internal {
            detail: format!("{arn} kept moving while it was being stopped"),
        })
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
            self.spawn_driver(launch, exec.frames, exec.last_event_id, slot);
            resumed += 1;
        }
        Ok(resumed)
    }

    /// RUNNING executions the tenant has (as counted against its quota).
    pub fn running_count(&self, tenant: &str) -> u64 {
        self.inner.limits.running(tenant)
    }

    /// Number of execution drivers running in this process.
    pub fn active_drivers(&self) -> usize {
        self.inner.drivers.lock().len()
    }

    /// Number of durable executions parked on a timer (held only as a timer entry).
    pub fn parked_executions(&self) -> usize {
        self.inner.timers.len()
    }
}

/// Where a page of the executions listing starts: inside the running EXPRESS executions
/// (after the one with this start time and ARN, newest first), or in the store (before
/// this sequence number).
enum ListCursor {
    Express(Option<(i64, String)>),
    Store(u64),
}

impl ListCursor {
    /// Store positions are plain numbers (as tokens issued before EXPRESS paging were);
    /// EXPRESS positions are `x<start ms>:<arn>`.
    fn parse(position: &str) -> Result<Self, ServiceError> {
        let bad = || ServiceError::InvalidToken {
            reason: "the token's position is not one this server issues".into(),
        };
        match position.strip_prefix('x') {
            Some("") => Ok(Self::Express(None)),
            Some(rest) => {
                let (ms, arn) = rest.split_once(':').ok_or_else(bad)?;
                Ok(Self::Express(Some((
                    ms.parse().map_err(|_| bad())?,
                    arn.to_string(),
                ))))
            }
            None => position.parse().map(Self::Store).map_err(|_| bad()),
        }
    }

    fn text(&self) -> String {
        match self {
            Self::Express(Some((ms, arn))) => format!("x{ms}:{arn}"),
            Self::Express(None) => "x".into(),
            Self::Store(seq) => seq.to_string(),
        }
    }
}

/// A running EXPRESS execution's place in the newest-first listing.
fn express_key(r: &ExecutionRecord) -> (i64, &str) {
    (r.start_ms, r.arn.as_str())
}
