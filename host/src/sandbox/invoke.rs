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
use super::scratch_fs::ScratchBudget;
use super::state::{Capture, HostState, Limiter, LogSink, Pulse, lock};
use crate::engine::ports::{TaskFailure, TaskOutcome, TaskRequest};

/// Runs one attempt. `started` is when the engine asked for it, i.e. when it recorded
/// TaskStarted: TimeoutSeconds and HeartbeatSeconds count from there, so resolving,
/// compiling, waiting for a pool slot and instantiating all count against them, as AWS
/// counts a cold start.
pub(crate) async fn invoke(
    runner: &SandboxRunner,
    request: TaskRequest,
    started: Instant,
) -> TaskOutcome {
    let sink = Arc::new(Mutex::new(LogSink::new(
        runner.config.default_policy.limits.log_bytes,
    )));
    let clock = Deadlines {
        started,
        deadline: request.timeout.map(|t| started + t),
        heartbeat: request.heartbeat,
        pulse: Pulse::default(),
    };
    // The watchdog stops the whole attempt, wherever it is: a guest waiting in the host
    // (sleeping), or the attempt still loading or waiting for a slot. A guest computing is
    // also stopped by the epoch callback, which checks the same deadlines at every tick.
    let mut memory_bytes = 0;
    let result = tokio::select! {
        biased;
        done = attempt(runner, &request, &sink, &clock, &mut memory_bytes) => done,
        stop = watchdog(&clock) => Err(stop.into()),
    };
    let (logs, logs_truncated) = match Arc::try_unwrap(sink) {
        Ok(sink) => sink
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .finish(),
        // A WASI stream may outlive the store by a moment; copy what it holds.
        Err(shared) => std::mem::replace(&mut *lock(&shared), LogSink::new(0)).finish(),
    };
    TaskOutcome {
        result,
        logs,
        logs_truncated,
        memory_bytes,
    }
}

/// An attempt's clock: when it started, its deadlines, and the guest's last heartbeat.
#[derive(Clone, Debug)]
pub(crate) struct Deadlines {
    pub(crate) started: Instant,
    /// TimeoutSeconds, as an instant.
    pub(crate) deadline: Option<Instant>,
    /// HeartbeatSeconds.
    pub(crate) heartbeat: Option<Duration>,
    pub(crate) pulse: Pulse,
}

impl Deadlines {
    /// The deadline that has passed, if any.
    fn overdue(&self) -> Option<TaskFault> {
        let now = Instant::now();
        if let Some(deadline) = self.deadline
            && now >= deadline
        {
            return Some(TaskFault::Timeout {
                limit_ms: (deadline - self.started).as_millis(),
            });
        }
        if let Some(at) = self.heartbeat_at()
            && now >= at
        {
            return Some(TaskFault::HeartbeatTimeout {
                limit_ms: self.heartbeat.unwrap_or_default().as_millis(),
            });
        }
        None
    }

    /// When the heartbeat runs out, counting from the last beat (or the start).
    fn heartbeat_at(&self) -> Option<Instant> {
        self.heartbeat
            .map(|h| self.started + Duration::from_millis(self.pulse.last_ms()) + h)
    }
}

async fn attempt(
    runner: &SandboxRunner,
    request: &TaskRequest,
    sink: &Arc<Mutex<LogSink>>,
    clock: &Deadlines,
    memory_bytes: &mut u64,
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

    let mut store = new_store(runner, request, &policy, sink, scratch.as_ref(), clock)?;
    let outcome = async {
        let task = loaded.pre.instantiate_async(&mut store).await?;
        task.call_run(&mut store, &input).await
    }
    .await;
    *memory_bytes = store.data().limiter.peak_bytes();
    drop(store);

    let scratch_over = scratch.as_ref().and_then(|(dir, grant)| {
        let used = scratch::used_bytes(dir.path());
        (used > grant.max_bytes).then_some(TaskFault::ScratchLimitExceeded {
            used,
            refused: 0,
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

fn new_store(
    runner: &SandboxRunner,
    request: &TaskRequest,
    policy: &TaskPolicy,
    sink: &Arc<Mutex<LogSink>>,
    scratch: Option<&(Scratch, ScratchGrant)>,
    clock: &Deadlines,
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
        clock: clock.clone(),
        scratch: scratch
            .map(|(dir, grant)| ScratchBudget::new(dir.path().to_owned(), grant.max_bytes)),
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
    if let Some(fault) = state.clock.overdue() {
        return Err(fault.into());
    }
    Ok(UpdateDeadline::Yield(1))
}

/// Completes when a deadline passes, for guests waiting in the host (e.g. sleeping),
/// where no epoch check runs, and for attempts not yet running.
async fn watchdog(clock: &Deadlines) -> TaskFault {
    loop {
        let next = match (clock.deadline, clock.heartbeat_at()) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => return std::future::pending().await,
        };
        tokio::time::sleep_until(next.into()).await;
        if let Some(fault) = clock.overdue() {
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
            TaskFault::ScratchLimitExceeded {
                used,
                refused,
                limit,
            } => TaskFault::ScratchLimitExceeded {
                used: *used,
                refused: *refused,
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
