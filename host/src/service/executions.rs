//! Execution operations: start (idempotent by name and input), start-sync for EXPRESS,
//! describe, list, history, stop, and resuming RUNNING executions at start-up.
//!
//! Tasks are at-least-once: a Task that was in flight when the server died is invoked again
//! on resume, because its result was never committed. Transitions are exactly-once: the store
//! refuses a history append that repeats or skips an event id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::task::AbortHandle;

use super::limits::RunningSlot;
use super::names::{check_name, execution_arn};
use super::paging::{self, Page};
use super::runtime::Launch;
use super::timefmt::rfc3339_ms;
use super::{MAX_PAYLOAD_BYTES, Resource, Service, ServiceError};
use crate::engine::history::HistoryEvent;
use crate::engine::ports::{ExecutionStatus, Journal};
use crate::store::{
    ExecutionFilter, ExecutionRecord, MachineType, StartOutcome, StateMachineVersion, StoreError,
    TenantRecord, now_ms,
};

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
        let name = name.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
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
        })
    }

    fn admit(&self, tenant: &TenantRecord) -> Result<RunningSlot, ServiceError> {
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

    fn launch(
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
        let machine = Arc::new(self.latest_machine(tenant, state_machine)?);
        let record = Self::new_record(tenant, &machine, name, input)?;
        if let Some(existing) = self.store().execution(&record.arn)? {
            return self.existing(existing, record);
        }
        let slot = self.admit(tenant)?;
        let launch = Self::launch(tenant, record, machine);
        if launch.machine.machine_type == MachineType::Express {
            let record = launch.record.clone();
            let service = self.clone();
            tokio::spawn(async move {
                let _slot = slot;
                if let Err(e) = service.run_express(launch).await {
                    eprintln!("stepwasm: express execution failed to run: {e}");
                }
            });
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

    fn spawn_driver(
        &self,
        launch: Launch,
        frames: Vec<(u64, Vec<u8>)>,
        last_event_id: u64,
        slot: RunningSlot,
    ) {
        let arn = launch.record.arn.clone();
        let runtime = self.runtime().clone();
        let journal: Arc<dyn Journal> = Arc::new(self.store().clone());
        let drivers = self.inner.drivers.clone();
        let mut map = drivers.lock();
        let task_drivers = drivers.clone();
        let task_arn = arn.clone();
        let handle = tokio::spawn(async move {
            let _slot = slot;
            if let Err(e) = runtime.drive(launch, frames, last_event_id, journal).await {
                eprintln!("stepwasm: execution {task_arn} paused: {e}");
            }
            task_drivers.lock().remove(&task_arn);
        });
        map.insert(arn, handle.abort_handle());
    }

    async fn run_express(&self, launch: Launch) -> Result<ExecutionRecord, ServiceError> {
        let mut record = launch.record.clone();
        let run = self
            .runtime()
            .run_express(launch)
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
        let machine = Arc::new(self.latest_machine(tenant, state_machine)?);
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
        self.run_express(Self::launch(tenant, record, machine))
            .await
    }

    /// One execution of one of the tenant's state machines.
    pub fn describe_execution(
        &self,
        tenant: &TenantRecord,
        state_machine: &str,
        name: &str,
    ) -> Result<ExecutionRecord, ServiceError> {
        self.store()
            .execution(&execution_arn(&tenant.id, state_machine, name))?
            .ok_or_else(|| ServiceError::NotFound {
                what: Resource::Execution,
                name: name.to_string(),
            })
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
        let before = query
            .next_token
            .as_deref()
            .map(|t| paging::decode_u64(t, &list, &tenant.id))
            .transpose()?;
        let filter = ExecutionFilter {
            state_machine: query.state_machine.clone(),
            status,
        };
        let (items, next) = self
            .store()
            .list_executions(&tenant.id, &filter, before, limit)?;
        Ok(Page {
            items,
            next_token: next.map(|seq| paging::encode(&list, &tenant.id, &seq.to_string())),
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
        let details = json!({
            "error": stop.error.clone(),
            "cause": stop.cause.clone(),
        });
        let result = self
            .store()
            .abort_execution(&record.arn, stop.error, stop.cause, move |id| {
                HistoryEvent {
                    id,
                    previous_event_id: id - 1,
                    timestamp: rfc3339_ms(now_ms()),
                    event_type: "ExecutionAborted".into(),
                    details: [("executionAbortedEventDetails".to_string(), details)]
                        .into_iter()
                        .collect(),
                }
            })
            .await
            .map_err(|e| match e {
                StoreError::NotRunning { .. } => ServiceError::NotRunning {
                    name: name.to_string(),
                },
                other => other.into(),
            })?;
        if let Some(handle) = self.inner.drivers.lock().remove(&record.arn) {
            handle.abort();
        }
        Ok(result)
    }

    /// Resumes every RUNNING STANDARD execution from its committed frames. Call once at
    /// start-up, inside the runtime. Returns how many were resumed.
    pub fn resume_running(&self) -> Result<usize, ServiceError> {
        let running = self.store().running_executions()?;
        let mut machines: HashMap<(String, String, u64), Arc<StateMachineVersion>> = HashMap::new();
        let mut resumed = 0;
        for exec in running {
            let rec = &exec.record;
            let key = (
                rec.tenant.clone(),
                rec.state_machine.clone(),
                rec.state_machine_version,
            );
            let machine = match machines.get(&key) {
                Some(m) => m.clone(),
                None => {
                    let Some(m) = self.store().state_machine(&key.0, &key.1, Some(key.2))? else {
                        eprintln!(
                            "stepwasm: cannot resume {}: its state machine version is gone",
                            rec.arn
                        );
                        continue;
                    };
                    let m = Arc::new(m);
                    machines.insert(key, m.clone());
                    m
                }
            };
            let Some(tenant) = self.store().tenant(&rec.tenant)? else {
                continue;
            };
            let slot = self.inner.limits.adopt_slot(&rec.tenant);
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
}
