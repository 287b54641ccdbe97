//! Value depth at run time: an expression that builds a value (or a chain of functions)
//! deeper than [`crate::Environment::set_max_value_depth`] fails with U1004 where it builds
//! it, so no conversion, comparison or drop ever recurses past the bound; within the bound
//! everything works on a small thread stack.

use serde_json::json;

use crate::{DEFAULT_MAX_VALUE_DEPTH, Environment, Expression, VALUE_TOO_DEEP};

/// Runs `f` on a thread with a stack of `kib` KiB (a tokio worker has 2 MiB).
fn on_stack<R: Send + 'static>(kib: usize, f: impl FnOnce() -> R + Send + 'static) -> R {
    std::thread::Builder::new()
        .stack_size(kib * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .expect("the thread overflowed its stack or panicked")
}

/// Expressions that build something `n` levels deep, at run time.
fn builders(n: usize) -> Vec<String> {
    let obj = format!("$reduce([1..{n}], function($a, $x){{ {{'a': $a}} }}, 0)");
    let arr = format!("$reduce([1..{n}], function($a, $x){{ [[$a]] }}, 0)");
    vec![
        obj.clone(),
        arr.clone(),
        format!("$string({obj})"),
        format!("($d := {arr}; $d = $d)"),
        format!("$count($distinct([{obj}, {obj}, {arr}]))"),
        format!("$merge([{obj}, {{'b': 1}}])"),
        format!("$keys({obj})"),
        format!("{arr}[0]"),
        format!("$map([1, 2], function($x){{ {obj} }})"),
        format!(
            "($f := function($n, $acc){{ $n = 0 ? $acc : $f($n - 1, {{'a': $acc}}) }}; $f({n}, 0))"
        ),
        format!(
            "$type($reduce([1..{n}], function($a, $x){{ $x = 1 ? $string : $a ~> $string }}, 0))"
        ),
        format!("$type($reduce([1..{n}], function($a, $x){{ $append(?, $a) }}, 0))"),
        format!("$reduce([1..{n}], function($a, $x){{ {{'a': $a}} }}, 0) ~> | a | {{'b': 1}} |"),
    ]
}

#[test]
fn values_built_past_the_bound_fail_with_u1004_on_a_small_stack() {
    on_stack(512, || {
        for n in [DEFAULT_MAX_VALUE_DEPTH + 1, 200_000] {
            for expr in builders(n) {
                let e = Expression::parse(&expr)
                    .unwrap()
                    .evaluate(None, &Environment::new())
                    .expect_err(&expr);
                assert_eq!(e.code, VALUE_TOO_DEEP, "{expr}: {e}");
                assert_eq!(
                    e.message,
                    format!(
                        "Value nests deeper than {DEFAULT_MAX_VALUE_DEPTH} levels of arrays, objects and functions"
                    ),
                    "{expr}"
                );
            }
        }
    });
}

#[test]
fn values_within_the_bound_work_on_a_small_stack() {
    on_stack(1024, || {
        let n = DEFAULT_MAX_VALUE_DEPTH - 5;
        for expr in builders(n) {
            let out = Expression::parse(&expr)
                .unwrap()
                .evaluate(None, &Environment::new());
            assert!(out.is_ok(), "{expr}: {out:?}");
        }
    });
}

#[test]
fn the_bound_is_set_per_environment_and_counts_borrowed_data_as_one_level() {
    let mut env = Environment::new();
    env.set_max_value_depth(3);
    let input = json!({"a": {"b": {"c": {"d": 1}}}});
    let eval = |src: &str| Expression::parse(src).unwrap().evaluate(Some(&input), &env);
    assert_eq!(eval("[[{'x': 1}]]").unwrap(), Some(json!([[{"x": 1}]])));
    assert_eq!(eval("[[[[1]]]]").unwrap_err().code, VALUE_TOO_DEEP);
    // The input is the caller's to bound: wrapping it adds one level per constructor.
    assert_eq!(eval("[[$]]").unwrap(), Some(json!([[input.clone()]])));
    assert_eq!(eval("[[[$]]]").unwrap_err().code, VALUE_TOO_DEEP);
}

#[test]
fn values_that_share_members_are_bounded_by_what_they_hold_written_out() {
    // 2^60 items written out, a few hundred in memory.
    let dag = "$reduce([1..60], function($a, $x){ [[$a], [$a]] }, 0)";
    let with_input = "$reduce([1..40], function($a, $x){ [[$a], [$a]] }, $$)";
    for expr in [
        dag.to_string(),
        format!("$string({dag})"),
        format!("($d := {dag}; $e := {dag}; $d = $e)"),
        format!("{{'a': {dag}}}"),
        with_input.to_string(),
    ] {
        let input = json!({"k": [1, 2, 3]});
        let e = Expression::parse(&expr)
            .unwrap()
            .evaluate(Some(&input), &Environment::new())
            .expect_err(&expr);
        assert_eq!(e.code, "U1005", "{expr}: {e}");
        assert_eq!(
            e.message,
            format!(
                "Value holds more than {} items written out",
                crate::MAX_VALUE_ITEMS
            ),
            "{expr}"
        );
    }
    // The largest range and a value built around it are within the bound.
    let out = Expression::parse("$count({'a': [1..10000000]}.a)")
        .unwrap()
        .evaluate(None, &Environment::new())
        .unwrap();
    assert_eq!(out, Some(json!(10_000_000)));
}
