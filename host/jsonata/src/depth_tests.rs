//! Nesting bounds: every way an expression can nest is refused past [`MAX_NESTING`] with
//! U1003 at parse time, and everything within it parses, evaluates and is dropped on a small
//! thread stack.

use serde_json::{Value, json};

use crate::parser::MAX_NESTING;
use crate::{Environment, Expression};

/// Every syntactic form that nests, as `(name, expression of n levels, its value)`.
fn shapes(n: usize) -> Vec<(&'static str, String, Value)> {
    // Built only when small: dropping a very deep serde_json value overflows a stack too.
    let small = n <= MAX_NESTING;
    let nested_array = (0..n * usize::from(small)).fold(json!(1), |v, _| json!([v]));
    let nested_object = (0..n * usize::from(small)).fold(json!(1), |v, _| json!({ "a": v }));
    vec![
        ("sum", format!("1{}", "+1".repeat(n - 1)), json!(n)),
        (
            "parentheses",
            format!("{}1{}", "(".repeat(n), ")".repeat(n)),
            json!(1),
        ),
        (
            "arrays",
            format!("{}1{}", "[".repeat(n), "]".repeat(n)),
            nested_array,
        ),
        (
            "objects",
            format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n)),
            nested_object,
        ),
        (
            "unary minus",
            format!("{}1", "-".repeat(n)),
            json!(if n.is_multiple_of(2) { 1 } else { -1 }),
        ),
        ("path", format!("a{}", ".a".repeat(n - 1)), Value::Null),
        (
            "predicates",
            format!("[1]{}", "[0]".repeat(n - 1)),
            json!(1),
        ),
        ("elvis", format!("{}1", "0?:".repeat(n)), json!(1)),
        ("condition", format!("{}1", "true ? ".repeat(n)), json!(1)),
        (
            "calls",
            format!("{}1{}", "$abs(".repeat(n), ")".repeat(n)),
            json!(1),
        ),
        (
            "and",
            format!("true{}", " and true".repeat(n - 1)),
            json!(true),
        ),
        (
            "blocks",
            format!("{}1{}", "(0;".repeat(n), ")".repeat(n)),
            json!(1),
        ),
        (
            // A call of a lambda is two levels (the call and the lambda).
            "lambdas",
            format!("{}1{}", "function($x){".repeat(n / 2), "}(0)".repeat(n / 2)),
            json!(1),
        ),
    ]
}

/// Runs `f` on a thread with a stack of `kib` KiB (a tokio worker has 2 MiB).
fn on_stack<R: Send + 'static>(kib: usize, f: impl FnOnce() -> R + Send + 'static) -> R {
    std::thread::Builder::new()
        .stack_size(kib * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .expect("the thread overflowed its stack or panicked")
}

#[test]
fn every_nesting_shape_past_the_bound_is_refused_by_name() {
    on_stack(256, || {
        for n in [MAX_NESTING + 1, 20_000, 300_000] {
            for (name, expr, _) in shapes(n) {
                let e = Expression::parse(&expr).expect_err(name);
                assert_eq!(e.code, "U1003", "{name} at {n}: {e}");
                assert_eq!(
                    e.message,
                    format!("Expression nests deeper than {MAX_NESTING} levels")
                );
                assert!(e.position.is_some(), "{name}");
            }
        }
    });
}

#[test]
fn nesting_within_the_bound_parses_evaluates_and_drops_on_a_small_stack() {
    // Half a tokio worker's stack: a serde_json value this deep (the expected results)
    // needs more than 256 KiB to drop.
    on_stack(1024, || {
        let n = MAX_NESTING - 10;
        for (name, expr, expected) in shapes(n) {
            let parsed = Expression::parse(&expr).unwrap_or_else(|e| panic!("{name}: {e}"));
            let input = json!({"a": {"a": null}});
            let out = parsed.evaluate(Some(&input), &Environment::new());
            match (name, out) {
                // `a.a.a...` past the input's depth is undefined.
                ("path", Ok(out)) => assert_eq!(out, None),
                (_, Ok(out)) => assert_eq!(out, Some(expected), "{name}"),
                (_, Err(e)) => panic!("{name}: {e}"),
            }
        }
    });
}
