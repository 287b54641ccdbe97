//! `stepwasm bench-store`: durable throughput through the service, the engine and the redb
//! store, without HTTP. Starts `--executions` STANDARD executions of a chain of
//! `--states` Pass states at once, waits until every one has ended, and prints one JSON
//! line: transitions committed per second, group-commit batching, peak RSS. With
//! `--waiting N` (or `--wait-seconds S`) the machine is one long Wait instead: it starts N
//! executions, waits until every one is parked on its timer, and reports the memory each
//! waiting execution holds (VmRSS growth divided by the number waiting). With `--callbacks`
//! too, each waits on a task token (`.waitForTaskToken`) instead of a timer, and then
//! `--signals` of them are completed one after another with SendTaskSuccess: the line adds
//! that call's latency (it returns once the completion and the exit from the Task state are
//! durable; the next state is entered by the same driver right after).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use serde_json::{Value, json};

use crate::service::{BasicInspector, EngineRuntime, Service};
use crate::store::{Durability, Quotas, Store};

/// Arguments of `bench-store`.
#[derive(Debug, Args)]
pub struct BenchStoreArgs {
    /// Directory for the database (a fresh one is best; it is written to).
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Executions started at once.
    #[arg(short = 'n', long, default_value_t = 2000)]
    pub executions: u64,
    /// Pass states per execution (each is one transition).
    #[arg(long, default_value_t = 50)]
    pub states: u64,
    /// Instead of Pass states: one Wait of this many seconds; measures memory per waiting
    /// execution.
    #[arg(long)]
    pub wait_seconds: Option<u64>,
    /// Memory mode: start this many executions of a one-hour Wait (sets `-n`).
    #[arg(long)]
    pub waiting: Option<u64>,
    /// With `--waiting`: park on a task token instead of a timer, then time SendTaskSuccess.
    #[arg(long)]
    pub callbacks: bool,
    /// With `--callbacks`: how many SendTaskSuccess calls to time.
    #[arg(long, default_value_t = 1000)]
    pub signals: usize,
    /// Starts in flight at once (a server sees a bounded number of concurrent requests).
    #[arg(long, default_value_t = 4096)]
    pub concurrency: usize,
    /// redb page cache in MiB (the server's default); a smaller cache keeps more of the
    /// store's pages out of the memory-per-execution figure.
    #[arg(long, default_value_t = crate::store::DEFAULT_CACHE_BYTES / (1024 * 1024))]
    pub cache_mb: usize,
    /// `immediate` (fsync every group commit, the server's setting) or `none`.
    #[arg(long, default_value = "immediate")]
    pub durability: String,
}

/// Runs `bench-store`; returns the exit code.
pub fn main(args: BenchStoreArgs) -> i32 {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("stepwasm: {e}");
            return super::EXIT_INVALID;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(line) => {
            println!("{line}");
            super::EXIT_OK
        }
        Err(e) => {
            eprintln!("stepwasm: {e:#}");
            super::EXIT_INVALID
        }
    }
}

fn pass_chain(states: u64) -> Value {
    let mut map = serde_json::Map::new();
    for i in 0..states {
        let mut s = json!({"Type": "Pass", "Parameters": {"n.$": "$.n", "step": i}});
        if i + 1 == states {
            s["End"] = json!(true);
        } else {
            s["Next"] = json!(format!("S{}", i + 1));
        }
        map.insert(format!("S{i}"), s);
    }
    json!({"StartAt": "S0", "States": map})
}

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

async fn run(mut args: BenchStoreArgs) -> anyhow::Result<Value> {
    if let Some(n) = args.waiting {
        args.executions = n;
        args.wait_seconds.get_or_insert(3600);
    }
    let durability = match args.durability.as_str() {
        "immediate" => Durability::Immediate,
        "none" => Durability::None,
        other => anyhow::bail!("--durability must be immediate or none, got {other}"),
    };
    std::fs::create_dir_all(&args.data_dir)?;
    let path = args.data_dir.join(crate::store::DB_FILE_NAME);
    let _ = std::fs::remove_file(&path);
    let store = Store::open_with_cache(&path, durability, args.cache_mb * 1024 * 1024)
        .context("opening the store")?;
    let tokens = Arc::new(TokenSink::default());
    let runner = args
        .callbacks
        .then(|| tokens.clone() as Arc<dyn crate::engine::ports::TaskRunner>);
    let service = Service::new(
        store.clone(),
        Arc::new(EngineRuntime::new(runner)),
        Arc::new(BasicInspector),
    )?;
    let quotas = Quotas {
        max_concurrent_executions: u64::MAX,
        start_rate_per_second: u64::MAX / 2,
        ..Quotas::default()
    };
    let (tenant, _) = service.create_tenant("bench", Some(quotas)).await?;
    let (definition, transitions_per_exec) = match args.wait_seconds {
        Some(s) if args.callbacks => (
            json!({"StartAt": "T", "States": {
                // A function chosen at run time: no component needs to exist (the token
                // sink stands in for the sandbox).
                "T": {"Type": "Task",
                      "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                      "Parameters": {"FunctionName.$": "$$.Execution.Name",
                                     "Payload": {"token.$": "$$.Task.Token"}},
                      "TimeoutSeconds": s, "Next": "Done"},
                "Done": {"Type": "Pass", "End": true}}}),
            2,
        ),
        Some(s) => (
            json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": s, "End": true}}}),
            1,
        ),
        None => (pass_chain(args.states), args.states),
    };
    service
        .create_state_machine(
            &tenant,
            crate::service::NewStateMachine {
                name: "bench".into(),
                definition: definition.to_string(),
                ..Default::default()
            },
        )
        .await?;
    let bench = crate::service::MachineRef::latest("bench");
    let rss_before = rss_bytes();
    let (tx_before, jobs_before) = store.commit_stats();
    let started = Instant::now();
    let gate = Arc::new(tokio::sync::Semaphore::new(args.concurrency.max(1)));
    let mut starts = tokio::task::JoinSet::new();
    for i in 0..args.executions {
        let service = service.clone();
        let tenant = tenant.clone();
        let bench = bench.clone();
        let permit = gate.clone().acquire_owned().await?;
        starts.spawn(async move {
            let _permit = permit;
            service
                .start_execution(
                    &tenant,
                    &bench,
                    Some(format!("e{i}")),
                    Some(format!("{{\"n\":{i}}}")),
                )
                .await
                .map(|_| ())
        });
        while let Some(r) = starts.try_join_next() {
            r??;
        }
    }
    while let Some(r) = starts.join_next().await {
        r??;
    }
    let start_secs = started.elapsed().as_secs_f64();
    if args.wait_seconds.is_some() {
        // Every execution commits its Wait, then parks: wait for all of them.
        let settle = Instant::now();
        while (service.parked_executions() as u64) < args.executions
            && settle.elapsed() < Duration::from_secs(120)
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Let the allocator hand back what the start-up bursts used.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let rss_after = rss_bytes();
        let waiting = service.parked_executions() as u64;
        let signals = if args.callbacks {
            time_signals(&service, &tenant, &tokens, args.signals).await?
        } else {
            Value::Null
        };
        return Ok(json!({
            "callbacks": args.callbacks,
            "send_task_success": signals,
            "bench": "waiting-executions",
            "cache_mb": args.cache_mb,
            "executions": args.executions,
            "waiting": waiting,
            "drivers_in_memory": service.active_drivers(),
            "start_s": start_secs,
            "starts_per_s": args.executions as f64 / start_secs,
            "rss_before_bytes": rss_before,
            "rss_after_bytes": rss_after,
            "bytes_per_waiting_execution": (rss_after.saturating_sub(rss_before)) as f64 / waiting.max(1) as f64,
        }));
    }
    while service.active_drivers() > 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    let (tx_after, jobs_after) = store.commit_stats();
    let succeeded = store
        .list_executions(
            &tenant.id,
            &crate::store::ExecutionFilter {
                status: Some(crate::engine::ports::ExecutionStatus::Succeeded),
                ..Default::default()
            },
            None,
            usize::MAX,
        )?
        .records
        .len() as u64;
    let transitions = succeeded * transitions_per_exec;
    Ok(json!({
        "bench": "durable-transitions",
        "durability": args.durability,
        "executions": args.executions,
        "succeeded": succeeded,
        "states_per_execution": transitions_per_exec,
        "wall_s": secs,
        "transitions": transitions,
        "transitions_per_s": transitions as f64 / secs,
        "write_transactions": tx_after - tx_before,
        "commits": jobs_after - jobs_before,
        "commits_per_transaction": (jobs_after - jobs_before) as f64 / (tx_after - tx_before).max(1) as f64,
        "peak_rss_bytes": rss_bytes(),
    }))
}

/// The bench's task runner for callback tasks: records each token and returns at once (the
/// invocation is not what is measured; the parked wait and the completion are).
#[derive(Default)]
struct TokenSink(std::sync::Mutex<Vec<String>>);

impl crate::engine::ports::TaskRunner for TokenSink {
    fn invoke(
        &self,
        request: crate::engine::ports::TaskRequest,
    ) -> crate::engine::ports::BoxFuture<'_, crate::engine::ports::TaskOutcome> {
        if let Some(token) = request.context.task_token {
            self.0.lock().unwrap_or_else(|p| p.into_inner()).push(token);
        }
        Box::pin(async {
            crate::engine::ports::TaskOutcome {
                result: Ok(Value::Null),
                logs: Vec::new(),
                logs_truncated: false,
                memory_bytes: 0,
                mocked: false,
            }
        })
    }
}

/// Completes `n` parked callback tasks one after another; returns the latency figures.
async fn time_signals(
    service: &Service,
    tenant: &crate::store::TenantRecord,
    tokens: &TokenSink,
    n: usize,
) -> anyhow::Result<Value> {
    let sample: Vec<String> = {
        let all = tokens.0.lock().unwrap_or_else(|p| p.into_inner());
        all.iter().take(n).cloned().collect()
    };
    let mut micros = Vec::with_capacity(sample.len());
    for token in &sample {
        let t = Instant::now();
        service
            .send_task_success(tenant, token, "{\"ok\":true}")
            .await?;
        micros.push(t.elapsed().as_micros() as u64);
    }
    micros.sort_unstable();
    let at = |q: f64| {
        micros
            .get(((micros.len() as f64 * q) as usize).min(micros.len().saturating_sub(1)))
            .map_or(0.0, |us| *us as f64 / 1000.0)
    };
    Ok(json!({"calls": micros.len(), "p50_ms": at(0.5), "p99_ms": at(0.99), "max_ms": at(1.0)}))
}
