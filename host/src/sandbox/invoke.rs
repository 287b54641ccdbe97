//! One attempt of one task: resolve, load, set up a fresh store with its limits, run
//! `run` under the deadlines, and turn what happened into a `TaskOutcome`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmtime::{Store, StoreContextMut, Trap, UpdateDeadline};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use super::SandboxRunner;
use super::bindings::stepwasm::task::types::TaskError;
use super::component::ResourceName;
use super::fault::TaskFault;
use super::limits::{ScratchGrant, TaskPolicy};
use super::scratch::{self, Scratch};
use super::state::{Capture, HostState, Limiter, LogSink, Pulse, lock};
use crate::engine::ports::{TaskFailure, TaskOutcome, TaskRequest};

/// Epoch ticks between two measurements of a scratch directory.
const SCRATCH_CHECK_TICKS: u32 = 5;

pub(crate) async fn invoke(runner: &SandboxRunner, request: TaskRequest) -> TaskOutcome {
    let sink = Arc::new(Mutex::new(LogSink::new(
        runner.config.default_policy.limits.log_bytes,
    )));
    let result = attempt(runner, &request, &sink).await;
    let logs = match Arc::try_unwrap(sink) {
        Ok(sink) => sink
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .finish(),
        // A WASI stream may outlive the store by a moment; copy what it holds.
        Err(shared) => std::mem::replace(&mut *lock(&shared), LogSink::new(0)).finish(),
    };
    TaskOutcome { result, logs }
}

async fn attempt(
    runner: &SandboxRunner,
    request: &TaskRequest,
    sink: &Arc<Mutex<LogSink>>,
) -> Result<serde_json::Value, TaskFailure> {
    let tenant = request.tenant.as_deref();
    let resource = ResourceName::parse(&request.resource)
        .map_err(|source| TaskFault::InvalidResource { source })?;
    let bytes = runner
        .source
        .resolve(tenant, &resource)
        .await
        .map_err(|source| TaskFault::ComponentNotFound { source })?;
    let loaded = runner
        .loader
        .get(&bytes)
        .await
        .map_err(|source| TaskFault::InvalidComponent { source })?;
    let policy = runner.policy(tenant, &resource.name);
    *lock(sink) = LogSink::new(policy.limits.log_bytes);
    let input = request.input.to_string();

    let scratch = match &policy.scratch {
        Some(grant) => Some((
            Scratch::create(&runner.config.scratch_root).map_err(|e| TaskFault::Internal {
                reason: format!("cannot create a scratch directory: {e}"),
            })?,
            grant.clone(),
        )),
        None => None,
    };
    // Wait for a pool slot rather than fail when the pool is busy.
    let _slot = runner
        .slots
        .acquire()
        .await
        .map_err(|e| TaskFault::Internal {
            reason: e.to_string(),
        })?;

    let started = Instant::now();
    let pulse = Pulse::default();
    let deadline = request.timeout.map(|t| started + t);
    let heartbeat = request.heartbeat;
    let mut store = new_store(
        runner,
        request,
        &policy,
        sink,
        scratch.as_ref(),
        &pulse,
        started,
        deadline,
    )?;

    let run = async {
        let task = loaded.pre.instantiate_async(&mut store).await?;
        task.call_run(&mut store, &input).await
    };
    let outcome = tokio::select! {
        biased;
        done = run => done,
        stop = watchdog(started, deadline, heartbeat, pulse.clone()) => Err(stop.into()),
    };
    drop(store);

    let scratch_over = scratch.as_ref().and_then(|(dir, grant)| {
        let used = scratch::used_bytes(dir.path());
        (used > grant.max_bytes).then_some(TaskFault::ScratchLimitExceeded {
            used,
            limit: grant.max_bytes,
        })
    });
    drop(scratch);

    match outcome {
        Ok(Ok(text)) => {
            if let Some(fault) = scratch_over {
                return Err(fault.into());
            }
            parse_output(&text, policy.limits.output_bytes)
        }
        Ok(Err(TaskError { name, cause })) => Err(TaskFailure { error: name, cause }),
        Err(error) => Err(classify(error, policy.limits.fuel, sink).into()),
    }
}

#[allow(clippy::too_many_arguments)]
fn new_store(
    runner: &SandboxRunner,
    request: &TaskRequest,
    policy: &TaskPolicy,
    sink: &Arc<Mutex<LogSink>>,
    scratch: Option<&(Scratch, ScratchGrant)>,
    pulse: &Pulse,
    started: Instant,
    deadline: Option<Instant>,
) -> Result<Store<HostState>, TaskFault> {
    // Deny by default: no args, no env, no preopens, no network, empty stdin.
    let mut wasi = WasiCtxBuilder::new();
    wasi.stdout(Capture::stdout(sink))
        .stderr(Capture::stderr(sink));
    if let Some((dir, _)) = scratch {
        wasi.preopened_dir(dir.path(), ScratchGrant::GUEST_PATH, FsPerms::ReadWrite)
            .map_err(|e| TaskFault::Internal {
                reason: format!("cannot open the scratch directory: {e:#}"),
            })?;
    }
    let pool = &runner.config.pool;
    let state = HostState {
        wasi: wasi.build(),
        table: Default::default(),
        limiter: Limiter::new(&policy.limits, pool.memory_bytes, pool.table_elements),
        logs: sink.clone(),
        context: request.context.clone(),
        pulse: pulse.clone(),
        started,
        deadline,
        heartbeat_ms: request.heartbeat.map(|h| h.as_millis() as u64),
        scratch: scratch.map(|(dir, grant)| (dir.path().to_owned(), grant.max_bytes)),
        ticks: 0,
    };
    let mut store = Store::new(runner.loader.engine(), state);
    store.limiter(|state| &mut state.limiter);
    store
        .set_fuel(policy.limits.fuel)
        .map_err(|e| TaskFault::Internal {
            reason: format!("{e:#}"),
        })?;
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(on_tick);
    Ok(store)
}

/// Runs at every epoch tick while the guest computes: stops it past a deadline, else
/// yields to the async runtime so other executions run.
fn on_tick(mut ctx: StoreContextMut<'_, HostState>) -> wasmtime::Result<UpdateDeadline> {
    let state = ctx.data_mut();
    if let Some(fault) = overdue(
        state.started,
        state.deadline,
        state.heartbeat_ms.map(Duration::from_millis),
        &state.pulse,
    ) {
        return Err(fault.into());
    }
    state.ticks += 1;
    if state.ticks.is_multiple_of(SCRATCH_CHECK_TICKS)
        && let Some((dir, limit)) = &state.scratch
    {
        let used = scratch::used_bytes(dir);
        if used > *limit {
            return Err(TaskFault::ScratchLimitExceeded {
                used,
                limit: *limit,
            }
            .into());
        }
    }
    Ok(UpdateDeadline::Yield(1))
}

/// The deadline that has passed, if any.
fn overdue(
    started: Instant,
    deadline: Option<Instant>,
    heartbeat: Option<Duration>,
    pulse: &Pulse,
) -> Option<TaskFault> {
    let now = Instant::now();
    if let Some(deadline) = deadline
        && now >= deadline
    {
        return Some(TaskFault::Timeout {
            limit_ms: (deadline - started).as_millis(),
        });
    }
    if let Some(heartbeat) = heartbeat {
        let last = started + Duration::from_millis(pulse.last_ms());
        if now >= last + heartbeat {
            return Some(TaskFault::HeartbeatTimeout {
                limit_ms: heartbeat.as_millis(),
            });
        }
    }
    None
}

/// Completes when a deadline passes, for guests waiting in the host (e.g. sleeping),
/// where no epoch check runs.
async fn watchdog(
    started: Instant,
    deadline: Option<Instant>,
    heartbeat: Option<Duration>,
    pulse: Pulse,
) -> TaskFault {
    loop {
        let heartbeat_at = heartbeat.map(|h| started + Duration::from_millis(pulse.last_ms()) + h);
        let next = match (deadline, heartbeat_at) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => return std::future::pending().await,
        };
        tokio::time::sleep_until(next.into()).await;
        if let Some(fault) = overdue(started, deadline, heartbeat, &pulse) {
            return fault;
        }
    }
}

fn parse_output(text: &str, limit: usize) -> Result<serde_json::Value, TaskFailure> {
    if text.len() > limit {
        return Err(TaskFault::DataLimitExceeded {
            bytes: text.len(),
            limit,
        }
        .into());
    }
    serde_json::from_str(text).map_err(|e| {
        let start: String = text.chars().take(60).collect();
        TaskFault::OutputNotJson {
            reason: format!("{e} (output starts with {start:?})"),
        }
        .into()
    })
}

/// Names a failed call: one of our own stops, a known trap, or another trap.
fn classify(error: wasmtime::Error, fuel: u64, sink: &Mutex<LogSink>) -> TaskFault {
    if let Some(fault) = error.downcast_ref::<TaskFault>() {
        return match fault {
            TaskFault::Timeout { limit_ms } => TaskFault::Timeout {
                limit_ms: *limit_ms,
            },
            TaskFault::HeartbeatTimeout { limit_ms } => TaskFault::HeartbeatTimeout {
                limit_ms: *limit_ms,
            },
            TaskFault::MemoryLimitExceeded { desired, limit } => TaskFault::MemoryLimitExceeded {
                desired: *desired,
                limit: *limit,
            },
            TaskFault::ScratchLimitExceeded { used, limit } => TaskFault::ScratchLimitExceeded {
                used: *used,
                limit: *limit,
            },
            other => TaskFault::Internal {
                reason: other.to_string(),
            },
        };
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => TaskFault::FuelExhausted { fuel },
        Some(Trap::StackOverflow) => TaskFault::StackOverflow,
        Some(trap) => {
            let stderr = lock(sink).stderr_tail();
            let message = if stderr.is_empty() {
                format!("wasm trap: {trap}")
            } else {
                format!("wasm trap: {trap}; guest stderr: {stderr}")
            };
            TaskFault::Trap { message }
        }
        None => TaskFault::Trap {
            message: format!("{error:#}"),
        },
    }
}
