//! Task invocations per second: the host's `SandboxRunner` (resolve, limits, fuel, epoch
//! deadlines, deny-by-default WASI, log capture, JSON in and out) against bare wasmtime
//! doing the same instantiate + call of the same trivial guest (`examples/echo`) with an
//! `InstancePre` and the pooling allocator, in the same run.
//!
//! `cargo bench -p stepwasm --bench task_invoke` (builds the example guests first). Both
//! run BATCH invocations at a time on a 2-worker tokio runtime, up to IN_FLIGHT at once,
//! spread over SHARDS spawned tasks so both workers run invocations.
//! Criterion's `thrpt` is invocations per second; the ratio host/bare is the overhead.
//! On a shared machine, wall-clock figures measure the neighbours too: with
//! `STEPWASM_BENCH_CPU=200000` the bench instead runs that many invocations each way and
//! prints the process CPU time per invocation (and the rate two idle cores would give).
//! `STEPWASM_BARE_*` variables vary the bare configuration for experiments.

#[path = "../../tests/guests/mod.rs"]
mod guests;

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt;
use serde_json::json;
use stepwasm::engine::ports::{TaskContext, TaskRequest, TaskRunner};
use stepwasm::sandbox::{FileSource, PoolConfig, SandboxConfig, SandboxRunner};
use wasmtime::component::{ComponentType, InstancePre, Lift, Linker, Lower, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

const BATCH: u64 = 2_000;
const IN_FLIGHT: usize = 64;
const SHARDS: u64 = 4;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `one(i)` for `i in 0..n` in SHARDS spawned tasks, IN_FLIGHT at once in all, so
/// both runtime workers take part (one task's futures all run on one thread).
async fn sharded<F, Fut>(n: u64, one: F) -> Duration
where
    F: Fn(u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let started = Instant::now();
    let shards: Vec<_> = (0..SHARDS)
        .map(|s| {
            let one = one.clone();
            tokio::spawn(async move {
                futures::stream::iter((s..n).step_by(SHARDS as usize))
                    .map(one)
                    .buffer_unordered(IN_FLIGHT / SHARDS as usize)
                    .collect::<()>()
                    .await
            })
        })
        .collect();
    for shard in shards {
        shard.await.unwrap();
    }
    started.elapsed()
}

/// The host path: one `TaskRequest` per invocation through the `TaskRunner` port.
async fn host_batch(runner: &Arc<SandboxRunner>, n: u64) -> Duration {
    let runner = runner.clone();
    sharded(n, move |i| {
        let runner = runner.clone();
        async move {
            let request = TaskRequest {
                tenant: None,
                resource: "wasm:echo".into(),
                input: json!({"n": i}),
                timeout: Some(Duration::from_secs(10)),
                heartbeat: None,
                context: TaskContext::default(),
            };
            let outcome = runner.invoke(request).await;
            assert!(outcome.result.is_ok(), "{:?}", outcome.result);
        }
    })
    .await
}

/// Bare wasmtime: what any embedder must do at least to call `run` on a fresh instance.
struct Bare {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Bare {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

#[derive(ComponentType, Lift, Lower, Debug)]
#[component(record)]
struct TaskError {
    name: String,
    cause: String,
}

/// An experiment knob: `STEPWASM_BARE_<NAME>` from the environment, else `default`.
fn knob(name: &str, default: usize) -> usize {
    std::env::var(format!("STEPWASM_BARE_{name}"))
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn bare_pre(bytes: &[u8]) -> (Engine, InstancePre<Bare>) {
    let mut pooling = PoolingAllocationConfig::new();
    pooling
        .total_component_instances(1000)
        .total_core_instances(8000)
        .total_memories(2000)
        .total_tables(8000)
        .total_stacks(1000)
        .max_core_instances_per_component(32)
        .max_tables_per_component(16)
        .max_memory_size(256 << 20)
        // Reset small instances' memory and tables with memset rather than madvise: the
        // common task touches little, and madvise dominated instantiation.
        .linear_memory_keep_resident(knob("KEEP_RESIDENT", 2 << 20))
        .table_keep_resident(knob("TABLE_KEEP_RESIDENT", 64 << 10));
    if knob("PAGEMAP", 1) == 1 {
        pooling.pagemap_scan(wasmtime::Enabled::Auto);
    }
    let mut config = Config::new();
    if let Some(bytes) = std::env::var("STEPWASM_BARE_RESERVATION")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        config
            .memory_reservation(bytes)
            .memory_guard_size(knob("GUARD", 64 << 10) as u64);
    }
    config.memory_init_cow(knob("COW", 1) == 1);
    config
        .wasm_component_model(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    let engine = Engine::new(&config).unwrap();
    let component = wasmtime::component::Component::new(&engine, bytes).unwrap();
    let mut linker = Linker::<Bare>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
    // Echo imports no host function, only the world's types-only interface.
    linker.instance("stepwasm:task/types@0.1.0").unwrap();
    let pre = linker.instantiate_pre(&component).unwrap();
    (engine, pre)
}

async fn bare_batch(bare: &Arc<(Engine, InstancePre<Bare>)>, n: u64) -> Duration {
    let bare = bare.clone();
    sharded(n, move |i| {
        let bare = bare.clone();
        async move {
            let (engine, pre) = &*bare;
            let mut store = Store::new(
                engine,
                Bare {
                    wasi: WasiCtx::builder().build(),
                    table: ResourceTable::new(),
                },
            );
            let instance = pre.instantiate_async(&mut store).await.unwrap();
            let run = instance
                .get_typed_func::<(String,), (Result<String, TaskError>,)>(&mut store, "run")
                .unwrap();
            let input = json!({"n": i}).to_string();
            let (out,) = run.call_async(&mut store, (input,)).await.unwrap();
            let value: serde_json::Value = serde_json::from_str(&out.unwrap()).unwrap();
            assert_eq!(value["n"], i);
        }
    })
    .await
}

fn task_invoke(c: &mut Criterion) {
    let path = guests::guest("echo");
    let bytes = std::fs::read(&path).unwrap();
    let rt = runtime();

    let mut source = FileSource::new();
    source.add_bytes("echo", bytes.clone());
    let runner = Arc::new(
        SandboxRunner::new(
            Arc::new(source),
            SandboxConfig {
                pool: PoolConfig::default(),
                ..SandboxConfig::default()
            },
        )
        .unwrap(),
    );
    rt.block_on(host_batch(&runner, 10)); // compile before measuring
    let bare = Arc::new(bare_pre(&bytes));

    // `STEPWASM_BENCH_CPU=N`: instead of criterion's wall-clock figures (meaningless on
    // a shared machine), N invocations each way and the process CPU time they took.
    if let Some(n) = std::env::var("STEPWASM_BENCH_CPU")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        let cpu = |label: &str, run: &dyn Fn() -> Duration| {
            let before = cpu_seconds();
            let wall = run();
            let used = cpu_seconds() - before;
            println!(
                "{label}: {n} invocations, {:.3} s CPU = {:.1} us CPU each (2 cores: {:.0}/s), wall {:.3} s = {:.0}/s",
                used,
                used * 1e6 / n as f64,
                2.0 * n as f64 / used,
                wall.as_secs_f64(),
                n as f64 / wall.as_secs_f64()
            );
        };
        cpu("bare_wasmtime", &|| rt.block_on(bare_batch(&bare, n)));
        cpu("host_runner", &|| rt.block_on(host_batch(&runner, n)));
        return;
    }

    let mut group = c.benchmark_group("task_invoke");
    group.throughput(Throughput::Elements(BATCH));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("bare_wasmtime", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| rt.block_on(bare_batch(&bare, BATCH)))
                .sum()
        })
    });
    group.bench_function("host_runner", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| rt.block_on(host_batch(&runner, BATCH)))
                .sum()
        })
    });
    group.finish();
}

/// User + system CPU time of this process so far, from `/proc/self/stat` (Linux).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may contain spaces): utime is the 12th, stime
    // the 13th, in clock ticks (100 per second on Linux).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

criterion_group!(benches, task_invoke);
criterion_main!(benches);
