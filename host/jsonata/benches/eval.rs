//! Evaluation speed of a typical Step Functions expression: filter 100 items from
//! `$states.input` and build an object per match. Parsing happens once, outside the loop;
//! `$states` is bound by reference each iteration, as the engine does.

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use stepwasm_jsonata::{Environment, Expression};

fn states() -> Value {
    let items: Vec<Value> = (0..100)
        .map(|i| json!({"id": format!("item-{i}"), "price": (i % 20) as f64 + 0.5, "qty": i % 7 + 1, "name": "widget"}))
        .collect();
    json!({"input": {"items": items}, "context": {"Execution": {"Id": "x"}}})
}

fn bench(c: &mut Criterion) {
    let expr =
        Expression::parse(r#"$states.input.items[price > 10].{"id": id, "total": price * qty}"#)
            .expect("expression parses");
    let states = states();
    let mut group = c.benchmark_group("jsonata");
    group.bench_function("filter_map_100_items", |b| {
        b.iter(|| {
            let mut env = Environment::new();
            env.set_step_functions(true);
            env.bind("states", &states);
            let out = expr.evaluate(None, &env).expect("evaluates");
            std::hint::black_box(out)
        })
    });
    group.bench_function("parse_only", |b| {
        b.iter(|| {
            Expression::parse(r#"$states.input.items[price > 10].{"id": id, "total": price * qty}"#)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
