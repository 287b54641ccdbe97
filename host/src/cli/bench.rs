//! `stepwasm bench DEFINITION.json --input FILE -n N [--concurrent C]`: loads the definition
//! once, runs N executions in-process (each from the input's JSON text to its output's JSON
//! text, as an API boundary would) and prints one JSON line in the format of
//! `shared/bench/peer-run.js` (wall_s, transitions_per_exec, peak_rss_mb, cpu_ms_per_exec, ...).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

use clap::Args;
use serde_json::{Value, json};

use super::{
    EXIT_FAILED, EXIT_INVALID, EXIT_OK, load_definition, machine_name, parse_input,
    read_input_text, report_load_error,
};
use crate::asl::model::StateMachine;
use crate::engine::context::ExecutionInfo;
use crate::engine::driver::{self, Runtime, SystemClock};
use crate::engine::execution::Execution;
use crate::engine::limits::Limits;
use crate::engine::ports::ExecutionStatus;

/// Arguments of `bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The state machine definition (ASL JSON).
    pub definition: PathBuf,
    /// The execution input (JSON file).
    #[arg(long)]
    pub input: PathBuf,
    /// How many executions to time.
    #[arg(short = 'n', long = "executions", default_value_t = 1000)]
    pub n: u64,
    /// How many executions in flight at once.
    #[arg(long, default_value_t = 1)]
    pub concurrent: u64,
}

/// Counters shared by the workers.
#[derive(Default)]
struct Tally {
    transitions: AtomicU64,
    failures: AtomicU64,
    next: AtomicU64,
}

/// Runs `bench`.
pub fn main(args: BenchArgs) -> i32 {
    let model = match load_definition(&args.definition) {
        Ok(m) => m,
        Err(e) => return report_load_error(&e),
    };
    let input_text = match read_input_text(Some(&args.input)) {
        Ok(t) => t,
        Err(e) => return report_load_error(&e),
    };
    if let Err(e) = parse_input(&input_text, &args.input.display().to_string()) {
        return report_load_error(&e);
    }
    let concurrency = args.concurrent.max(1);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_time()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("stepwasm: cannot start the async runtime: {e}");
            return EXIT_INVALID;
        }
    };
    let runtime = Runtime {
        activities: None,
        clock: Arc::new(SystemClock),
        tasks: None,
        journal: None,
        // Express-like: no history kept, so no history limit; AWS's payload limit applies.
        limits: Limits {
            max_history_events: None,
            ..Limits::default()
        },
        record_history: false,
    };
    let name = machine_name(&args.definition);
    let input_text: Arc<str> = Arc::from(input_text);
    // One untimed execution first (warms allocator and caches; its output is not checked here,
    // bench.py checks `run`).
    let warm = rt.block_on(one(&model, &runtime, &name, &input_text, 0));
    let Some((_, transitions_per_exec, _)) = warm else {
        eprintln!("stepwasm: the warm-up execution could not run");
        return EXIT_FAILED;
    };
    let tally = Arc::new(Tally::default());
    let cpu_before = process_cpu_ns();
    let start = Instant::now();
    rt.block_on(async {
        let mut workers = Vec::new();
        for _ in 0..concurrency {
            let (model, runtime, name, input_text, tally) = (
                Arc::clone(&model),
                runtime.clone(),
                name.clone(),
                Arc::clone(&input_text),
                Arc::clone(&tally),
            );
            let n = args.n;
            workers.push(tokio::spawn(async move {
                loop {
                    let i = tally.next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    match one(&model, &runtime, &name, &input_text, i + 1).await {
                        Some((true, t, _)) => {
                            tally.transitions.fetch_add(t, Ordering::Relaxed);
                        }
                        _ => {
                            tally.failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }));
        }
        for w in workers {
            let _ = w.await;
        }
    });
    let wall = start.elapsed().as_secs_f64();
    let cpu_s = process_cpu_ns().saturating_sub(cpu_before) as f64 / 1e9;
    let n = args.n.max(1) as f64;
    let failures = tally.failures.load(Ordering::Relaxed);
    let line = json!({
        "workload": name,
        "engine": concat!("stepwasm@", env!("CARGO_PKG_VERSION")),
        "executions": args.n,
        "concurrency": concurrency,
        "transitions_per_exec": transitions_per_exec,
        "transitions_source": "engine",
        "wall_s": wall,
        "exec_per_s": args.n as f64 / wall,
        "transitions_per_s": tally.transitions.load(Ordering::Relaxed) as f64 / wall,
        "mean_exec_ms": wall * 1000.0 / n * concurrency as f64,
        "timed_cpu_s": cpu_s,
        "cpu_ms_per_exec": cpu_s * 1000.0 / n,
        "peak_rss_mb": peak_rss_mb(),
        "failures": failures,
        "json_io": true,
        "durability": "none",
        "commits_per_exec": 0,
        "history_recorded": false,
        "wasm_pool_warm": Value::Null,
    });
    println!("{line}");
    if failures == 0 { EXIT_OK } else { EXIT_FAILED }
}

/// One execution from input text to output text: (succeeded, transitions, output text).
async fn one(
    model: &Arc<StateMachine>,
    runtime: &Runtime,
    name: &str,
    input_text: &str,
    i: u64,
) -> Option<(bool, u64, String)> {
    let input: Value = serde_json::from_str(input_text).ok()?;
    let now = SystemTime::now();
    let info = ExecutionInfo::local(&format!("bench-{i}"), name, Arc::new(input), now);
    let mut exec = Execution::new(
        Arc::clone(model),
        Arc::new(info),
        runtime.limits.clone(),
        false,
        now,
    );
    let finished = driver::run(&mut exec, runtime).await.ok()?;
    let ok = finished.end.status == ExecutionStatus::Succeeded;
    let text = serde_json::to_string(&finished.end.output.unwrap_or(Value::Null)).ok()?;
    Some((ok, exec.transitions(), text))
}

/// CPU time of every thread of this process so far, in nanoseconds (Linux schedstat).
fn process_cpu_ns() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    dir.filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// Peak resident set size in MB (Linux VmHWM), or null elsewhere.
fn peak_rss_mb() -> Value {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(Value::Null, |kb| json!(kb / 1024.0))
}
