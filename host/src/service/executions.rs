//! Execution operations: start (idempotent by name and input), start-sync for EXPRESS,
//! describe, list, history, stop, and resuming RUNNING executions at start-up.
//!
//! Tasks are at-least-once: a Task that was in flight when the server died is invoked again
//! on resume, because its result was never committed. Transitions are exactly-once: the store
//! refuses a history append that repeats or skips an event id.

use std::sync::Arc;
use std::time::SystemTime;

use serde_json::json;

use super::express::Claim;
use super::limits::RunningSlot;
use super::names::{MachineRef, Qualifier, check_name, execution_arn};
use super::paging::{self, Damaged, Page};
use super::runtime::{Launch, RuntimeError};
use super::versions::StartTarget;
use super::{MAX_PAYLOAD_BYTES, Resource, Service, ServiceError};
use crate::engine::execution::Ending;
use crate::engine::history::HistoryEvent;
use crate::engine::limits::{MAX_VALUE_DEPTH, depth_within};
use crate::engine::ports::ExecutionStatus;
use crate::engine::resume::unresumable_commit;
use crate::store::{
    ExecutionFilter, ExecutionRecord, ExecutionsPage, MachineType, StartOutcome,
    StateMachineVersion, StoreError, TenantRecord, now_ms,
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
    /// Only this state machine's (a version: only the executions that ran it; an alias:
    /// only those started on it).
    pub state_machine: Option<MachineRef>,
    /// Only this status (`RUNNING`, `SUCCEEDED`, ...).
    pub status: Option<String>,
    /// AWS's `redriveFilter`: `REDRIVEN` or `NOT_REDRIVEN`.
    pub redrive_filter: Option<String>,
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
    let value = serde_json::from_str::<serde_json::Value>(&input).map_err(|e| {
        ServiceError::InvalidInput {
            reason: format!("input is not JSON: {e}"),
        }
    })?;
    // The same bound every state's output meets, so an accepted input can always be stored
    // with its frames and read back.
    if !depth_within(&value, MAX_VALUE_DEPTH) {
        return Err(ServiceError::InvalidInput {
            reason: format!(
                "input nests deeper than the maximum of {MAX_VALUE_DEPTH} levels of arrays and objects"
            ),
        });
    }
    Ok(input)
}

pub(super) fn runtime_error(e: super::RuntimeError) -> ServiceError {
    match e {
        super::RuntimeError::Unavailable { reason } => ServiceError::Unavailable { reason },
        other => ServiceError::Internal {
            detail: other.to_string(),
        },
    }
}

impl Service {
    /// A new RUNNING record for an execution of `target` (its revision picked already).
    pub(super) fn new_record(
        tenant: &TenantRecord,
        target: &StartTarget,
        name: String,
        input: Option<String>,
    ) -> Result<ExecutionRecord, ServiceError> {
        let input = check_input(input)?;
        let machine = &target.revision;
        Ok(ExecutionRecord {
            arn: execution_arn(&tenant.id, &machine.name, &name),
            tenant: tenant.id.clone(),
            name,
            state_machine: machine.name.clone(),
            state_machine_version: machine.version,
            published_version: target.version,
            alias: target.alias.clone(),
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
            components: Vec::new(),
        })
    }

    /// The latest version of each component a STANDARD machine names without a version
    /// (`wasm:NAME`, a Lambda function name or ARN without a qualifier), to pin for an
    /// execution of it: one store read per such component. Which components those are is
    /// read from the definition once per revision, not at every start.
    fn component_pins(
        &self,
        tenant: &TenantRecord,
        machine: &StateMachineVersion,
    ) -> Result<Vec<(String, u64)>, ServiceError> {
        if machine.machine_type != MachineType::Standard {
            return Ok(Vec::new());
        }
        let key = (tenant.id.clone(), machine.name.clone(), machine.version);
        let names = match self.inner.pin_names.get(&key) {
            Some(names) => names,
            None => {
                let names: Arc<[String]> = unpinned_components(&machine.definition).into();
                let bytes = 64 + names.iter().map(|n| n.len() + 24).sum::<usize>();
                self.inner.pin_names.insert(key, names.clone(), bytes);
                names
            }
        };
        let mut pins = Vec::with_capacity(names.len());
        for name in names.iter() {
            // A component not uploaded (yet) is not pinned: the task names it as missing.
            if let Some(c) = self.store().component(&tenant.id, name, None)? {
                pins.push((name.clone(), c.version));
            }
        }
        Ok(pins)
    }

    /// The name (given or generated, checked) and the target of a start.
    pub(super) fn prepare_start(
        &self,
        tenant: &TenantRecord,
        target: &MachineRef,
        name: Option<String>,
    ) -> Result<(String, StartTarget), ServiceError> {
        let name = name.unwrap_or_else(generated_name);
        check_name(&name)?;
        let arn = execution_arn(&tenant.id, &target.name, &name);
        Ok((name, self.start_target(tenant, target, &arn)?))
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

    /// Starts an execution of a state machine's latest revision, of a published version,
    /// or of the version an alias picks (by weight). The same name with the same input
    /// while it runs returns the existing execution; otherwise a reused name is
    /// `ExecutionAlreadyExists`. EXPRESS executions run in memory and are recorded at the end.
    pub async fn start_execution(
        &self,
        tenant: &TenantRecord,
        target: &MachineRef,
        name: Option<String>,
        input: Option<String>,
    ) -> Result<Started, ServiceError> {
        self.start_execution_case(tenant, target, None, name, input)
            .await
    }

    /// [`Service::start_execution`] under a test case of the server's mock configuration
    /// (Step Functions Local's `NAME#TestCase`, split off by [`super::split_test_case`]).
    pub async fn start_execution_case(
        &self,
        tenant: &TenantRecord,
        target: &MachineRef,
        test_case: Option<&str>,
        name: Option<String>,
        input: Option<String>,
    ) -> Result<Started, ServiceError> {
        let named = name.is_some();
        let (name, start) = self.prepare_start(tenant, target, name)?;
        let machine = start.revision.clone();
        let mut record = Self::new_record(tenant, &start, name, input)?;
        record.components = self.component_pins(tenant, &machine)?;
        if let Some(case) = test_case {
            let mocks = self.mocks().ok_or_else(|| ServiceError::Validation {
                message: format!(
                    "test case '{case}' given, but the server has no mock configuration (serve --mock-config)"
                ),
            })?;
            mocks
                .register(&record.arn, &target.name, case)
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
            return match self.spawn_express(launch, slot) {
                Ok(_) => Ok(Started {
                    record,
                    created: true,
                }),
                Err(Claim::Taken(existing)) => self.existing(*existing, record),
                Err(Claim::Failed(e)) => Err(e),
            };
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
                self.spawn_driver(launch, frames, last_event_id, slot, Arc::default());
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

    /// DescribeStateMachineForExecution: the execution and the revision it runs.
    pub fn describe_state_machine_for_execution(
        &self,
        tenant: &TenantRecord,
        state_machine: &str,
        name: &str,
    ) -> Result<(ExecutionRecord, Arc<StateMachineVersion>), ServiceError> {
        let record = self.describe_execution(tenant, state_machine, name)?;
        let revision = self.machine_version(&record)?;
        Ok((record, revision))
    }

    /// A page of the tenant's executions, newest first.
    pub fn list_executions(
        &self,
        tenant: &TenantRecord,
        query: &ListExecutionsQuery,
    ) -> Result<Page<ExecutionRecord>, ServiceError> {
        let limit = paging::page_size(query.max_results)?;
        let status = query.status.as_deref().map(parse_status).transpose()?;
        let redriven = match query.redrive_filter.as_deref() {
            None => None,
            Some("REDRIVEN") => Some(true),
            Some("NOT_REDRIVEN") => Some(false),
            Some(other) => {
                return Err(ServiceError::Validation {
                    message: format!(
                        "redriveFilter must be REDRIVEN or NOT_REDRIVEN, got '{}'",
                        other.chars().take(64).collect::<String>()
                    ),
                });
            }
        };
        let (mut version, mut alias) = (None, None);
        if let Some(sm) = &query.state_machine {
            self.latest_machine(tenant, &sm.name)?;
            match &sm.qualifier {
                None => {}
                Some(Qualifier::Version(v)) => {
                    self.published_version(tenant, &sm.name, *v)?;
                    version = Some(*v);
                }
                Some(Qualifier::Alias(a)) => {
                    self.describe_state_machine_alias(tenant, &sm.name, a)?;
                    alias = Some(a.clone());
                }
            }
        }
        let list = format!(
            "executions:{}:{}{}",
            query
                .state_machine
                .as_ref()
                .map_or_else(|| "*".to_string(), ToString::to_string),
            query.status.as_deref().unwrap_or("*"),
            match redriven {
                None => "",
                Some(true) => ":redriven",
                Some(false) => ":not-redriven",
            }
        );
        let cursor = match query.next_token.as_deref() {
            None => ListCursor::Express(None),
            Some(t) => ListCursor::parse(&paging::decode(t, &list, &tenant.id)?)?,
        };
        let filter = ExecutionFilter {
            state_machine: query.state_machine.as_ref().map(|m| m.name.clone()),
            status,
            redriven,
            version,
            alias,
        };
        // Running EXPRESS executions are not in the store yet. They are the newest, so the
        // listing walks them first, then the store.
        let mut items = Vec::new();
        let before = match cursor {
            ListCursor::Store(before) => Some(before),
            ListCursor::Express(after) => {
                // A running EXPRESS execution is never a redriven one.
                if status.is_none_or(|s| s == ExecutionStatus::Running) && redriven != Some(true) {
                    let mut running = self
                        .inner
                        .express
                        .of_tenant(&tenant.id, filter.state_machine.as_deref());
                    running.retain(|r| filter.matches(r));
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
                            damaged: Vec::new(),
                        });
                    }
                    items = running;
                }
                None
            }
        };
        let stored = if items.len() == limit {
            ExecutionsPage {
                records: Vec::new(),
                damaged: Vec::new(),
                next: Some(u64::MAX),
            }
        } else {
            self.store()
                .list_executions(&tenant.id, &filter, before, limit - items.len())?
        };
        items.extend(stored.records);
        Ok(Page {
            items,
            next_token: stored
                .next
                .map(|seq| paging::encode(&list, &tenant.id, &ListCursor::Store(seq).text())),
            damaged: stored.damaged.into_iter().map(Damaged::from).collect(),
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
            damaged: Vec::new(),
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
            let driving = self.inner.drivers.lock().remove(arn);
            if let Some(driving) = driving {
                driving.task.abort();
                // Its slot goes with the task: gone before this stop answers, so a start
                // right after it counts the freed slot.
                let _ = driving.task.await;
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
                    self.spawn_driver(
                        launch,
                        exec.frames,
                        exec.last_event_id,
                        slot,
                        Arc::default(),
                    );
                    return Err(e.into());
                }
            }
        }
        Err(ServiceError::Internal {
            detail: format!("{arn} kept moving while it was being stopped"),
        })
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

/// The components a definition's tasks name without a version, each once (a `lambda:invoke`
/// with a computed FunctionName is resolved when it runs).
fn unpinned_components(definition: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for task in super::machines::task_resources(definition) {
        let super::machines::ComponentUse::Named(r) = task.component else {
            continue;
        };
        if r.version.is_none() && !names.contains(&r.name) {
            names.push(r.name);
        }
    }
    names
}
