//! Criterion benches for the engine's hot path: whole executions of the shared bench
//! workloads (`../shared/bench/workloads`), in memory, without history (the fast path), and
//! one with history recorded to show what event building costs.

use std::hint::black_box;
use std::sync::Arc;
use std::time::SystemTime;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::Value;
use stepwasm::asl::model::StateMachine;
use stepwasm::asl::raw::RawStateMachine;
use stepwasm::engine::context::ExecutionInfo;
use stepwasm::engine::driver::{self, Runtime, SystemClock};
use stepwasm::engine::execution::Execution;
use stepwasm::engine::limits::Limits;

fn workload(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/bench/workloads")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn model(name: &str) -> Arc<StateMachine> {
    let raw = RawStateMachine::from_json(&workload(&format!("{name}.json"))).expect("raw");
    StateMachine::compile(&raw).expect("valid workload")
}

fn runtime(record_history: bool) -> Runtime {
    Runtime {
        activities: None,
        clock: Arc::new(SystemClock),
        tasks: None,
        journal: None,
        limits: Limits {
            max_history_events: None,
            ..Limits::default()
        },
        record_history,
    }
}

/// One execution from input text to output text, as `stepwasm bench` runs it.
fn execute(
    model: &Arc<StateMachine>,
    rt: &Runtime,
    tokio: &tokio::runtime::Runtime,
    input: &str,
) -> String {
    let input: Value = serde_json::from_str(input).expect("input");
    let now = SystemTime::now();
    let info = ExecutionInfo::local("bench", "bench", Arc::new(input), now);
    let mut exec = Execution::new(
        model.clone(),
        Arc::new(info),
        rt.limits.clone(),
        rt.record_history,
        now,
    );
    let finished = tokio
        .block_on(driver::run(&mut exec, rt))
        .expect("no journal");
    serde_json::to_string(&finished.end.output).expect("output")
}

fn workloads(c: &mut Criterion) {
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio");
    let fast = runtime(false);
    for name in [
        "pass-chain-100",
        "parallel-fanout",
        "intrinsics-heavy",
        "map-10k",
    ] {
        let model = model(name);
        let input = workload(&format!("{name}.input.json"));
        let mut group = c.benchmark_group("execution");
        if name == "map-10k" {
            group.sample_size(10);
        }
        group.bench_function(name, |b| {
            b.iter(|| execute(&model, &fast, &tokio, black_box(&input)))
        });
        group.finish();
    }
    let model = model("pass-chain-100");
    let input = workload("pass-chain-100.input.json");
    let recorded = runtime(true);
    c.bench_function("execution_with_history/pass-chain-100", |b| {
        b.iter(|| execute(&model, &recorded, &tokio, black_box(&input)))
    });
}

criterion_group!(benches, workloads);
criterion_main!(benches);
