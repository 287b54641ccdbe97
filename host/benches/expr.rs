//! Criterion benches for the JSONPath expression layer's hot paths: the payload template
//! and ResultPath of a pass-chain step (`../shared/bench/workloads/pass-chain-100.json`),
//! path selection, and an intrinsic-heavy template.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use stepwasm::asl::path::{JsonPath, ReferencePath};
use stepwasm::asl::scope::{NoVariables, Scope};
use stepwasm::asl::template::Template;

fn workload(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/bench/workloads")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("workload JSON")
}

fn pass_chain(c: &mut Criterion) {
    let definition = workload("pass-chain-100.json");
    let input = workload("pass-chain-100.input.json");
    let state = &definition["States"]["Step050"];
    let template = Template::compile(&state["Parameters"]).expect("template");
    let result_path = ReferencePath::parse(state["ResultPath"].as_str().expect("ResultPath"))
        .expect("ResultPath");
    let context = json!({});
    let scope = Scope::new(&input, &context, &NoVariables);
    let result = template.evaluate(&scope).expect("evaluate");

    c.bench_function("template_evaluate/pass_chain_step", |b| {
        b.iter(|| template.evaluate(black_box(&scope)).expect("evaluate"))
    });
    c.bench_function("result_path_set/pass_chain_step", |b| {
        b.iter_batched(
            || (input.clone(), result.clone()),
            |(target, value)| result_path.set(target, value).expect("set"),
            BatchSize::SmallInput,
        )
    });
    // One whole transition's data flow: evaluate Parameters on the state value, then set
    // the result at ResultPath, moving the state value along (as the engine does).
    c.bench_function("pass_chain_step/evaluate_and_set", |b| {
        b.iter_batched(
            || input.clone(),
            |state_value| {
                let result = template
                    .evaluate(&Scope::new(&state_value, &context, &NoVariables))
                    .expect("evaluate");
                result_path.set(state_value, result).expect("set")
            },
            BatchSize::SmallInput,
        )
    });
    c.bench_function("input_clone/pass_chain", |b| {
        b.iter(|| black_box(&input).clone())
    });
}

fn paths(c: &mut Criterion) {
    let input = workload("pass-chain-100.input.json");
    let definite = JsonPath::parse("$.last.step").expect("path");
    let wildcard = JsonPath::parse("$.payload.c[*]").expect("path");
    c.bench_function("path_select/definite", |b| {
        b.iter(|| definite.select(black_box(&input)))
    });
    c.bench_function("path_select/wildcard", |b| {
        b.iter(|| wildcard.select(black_box(&input)))
    });
    c.bench_function("path_parse/filter", |b| {
        b.iter(|| JsonPath::parse(black_box("$.items[?(@.price > 10 && @.ok == true)].id")))
    });
}

fn intrinsics(c: &mut Criterion) {
    let input = workload("intrinsics-heavy.input.json");
    let context = json!({});
    let scope = Scope::new(&input, &context, &NoVariables);
    let format = Template::compile(&json!({
        "greeting.$": "States.Format('Hello, {}! Order {} has {} items.', $.user.name, $.order.id, $.order.qty)"
    }))
    .expect("template");
    let hash = Template::compile(&json!({
        "sha512.$": "States.Hash(States.Format('{}-{}', $.user.name, $.order.id), 'SHA-512')"
    }))
    .expect("template");
    c.bench_function("intrinsic/format", |b| {
        b.iter(|| format.evaluate(black_box(&scope)).expect("evaluate"))
    });
    c.bench_function("intrinsic/hash_of_format", |b| {
        b.iter(|| hash.evaluate(black_box(&scope)).expect("evaluate"))
    });
}

criterion_group!(benches, pass_chain, paths, intrinsics);
criterion_main!(benches);
