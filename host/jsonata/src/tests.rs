//! Unit tests for the parser and the evaluator's trickier semantics (the reference suite in
//! `tests/suite.rs` is the main measure; these pin behaviour the engine relies on).

use std::time::Duration;

use serde_json::{Value, json};

use crate::{Environment, Error, Expression};

fn eval_in(
    expr: &str,
    input: Option<Value>,
    env: &Environment<'_>,
) -> Result<Option<Value>, Error> {
    Expression::parse(expr)?.evaluate(input.as_ref(), env)
}

fn eval(expr: &str, input: Value) -> Option<Value> {
    eval_in(expr, Some(input), &Environment::new()).unwrap()
}

fn code(expr: &str, input: Value) -> &'static str {
    eval_in(expr, Some(input), &Environment::new())
        .unwrap_err()
        .code
}

#[test]
fn paths_and_predicates() {
    let data = json!({"a": [{"b": 1}, {"b": 2}, {"b": 3}]});
    assert_eq!(eval("a.b", data.clone()), Some(json!([1, 2, 3])));
    assert_eq!(eval("a[b > 1].b", data.clone()), Some(json!([2, 3])));
    assert_eq!(eval("a[0].b", data.clone()), Some(json!(1)));
    assert_eq!(eval("a[-1]", data.clone()), Some(json!({"b": 3})));
    assert_eq!(eval("a[b > 5]", data), None);
}

#[test]
fn singleton_sequences_and_keep_array() {
    let data = json!({"a": [{"b": 1}, {"b": 2}]});
    assert_eq!(eval("a[0].b", data.clone()), Some(json!(1)));
    assert_eq!(eval("a[0].b[]", data.clone()), Some(json!([1])));
    assert_eq!(eval("a.b[]", data.clone()), Some(json!([1, 2])));
    assert_eq!(eval("$count(a[b=9])", data), Some(json!(0)));
}

#[test]
fn syntax_errors_have_codes_and_positions() {
    let e = Expression::parse("a.(b").unwrap_err();
    assert_eq!(e.code, "S0203");
    let e = Expression::parse("[1,2").unwrap_err();
    assert_eq!(e.code, "S0203");
    let e = Expression::parse("a b").unwrap_err();
    assert_eq!(e.code, "S0201");
    assert_eq!(e.position, Some(3));
    assert_eq!(Expression::parse("\"abc").unwrap_err().code, "S0101");
    assert_eq!(Expression::parse("1 := 2").unwrap_err().code, "S0212");
    assert_eq!(Expression::parse("/*x").unwrap_err().code, "S0106");
    assert_eq!(Expression::parse("%.a").unwrap_err().code, "S0217");
    let e = Expression::parse("$x +").unwrap_err();
    assert_eq!(e.to_string(), "S0207: Unexpected end of expression");
}

#[test]
fn operators_and_type_errors() {
    assert_eq!(eval("1 + 2 * 3", json!(null)), Some(json!(7)));
    assert_eq!(eval("'a' & 1 & true", json!(null)), Some(json!("a1true")));
    assert_eq!(code("'a' + 1", json!(null)), "T2001");
    assert_eq!(code("{'x': [1 / 0]}", json!(null)), "D1001");
    assert_eq!(code("1 < 'a'", json!(null)), "T2009");
    assert_eq!(eval("nothing + 1", json!({})), None);
    assert_eq!(eval("x ?: 'dflt'", json!({"x": ""})), Some(json!("dflt")));
    assert_eq!(eval("x ?? 'dflt'", json!({"x": ""})), Some(json!("")));
    assert_eq!(eval("3 in [1,2,3]", json!(null)), Some(json!(true)));
}

#[test]
fn ranges_are_capped() {
    assert_eq!(eval("[1..3]", json!(null)), Some(json!([1, 2, 3])));
    assert_eq!(code("[1..20000000]", json!(null)), "D2014");
    assert_eq!(code("[1.5..3]", json!(null)), "T2003");
}

#[test]
fn lambdas_closures_partials_and_chains() {
    let n = json!(null);
    assert_eq!(
        eval("($f := function($x){$x * 2}; $f(4))", n.clone()),
        Some(json!(8))
    );
    assert_eq!(
        eval(
            "($add := λ($a,$b){$a+$b}; $inc := $add(1, ?); $inc(41))",
            n.clone()
        ),
        Some(json!(42))
    );
    assert_eq!(
        eval("'hello' ~> $uppercase ~> $substring(0, 3)", n.clone()),
        Some(json!("HEL"))
    );
    assert_eq!(
        eval("($f := $uppercase ~> $trim; $f('  ab '))", n.clone()),
        Some(json!("AB"))
    );
    assert_eq!(
        eval(
            "($c := function(){ ($n := 5; function(){ $n }) }; $c()())",
            n
        ),
        Some(json!(5))
    );
}

#[test]
fn signature_violations_are_type_errors() {
    assert_eq!(code("λ($s)<s:s>{$s}(1)", json!(null)), "T0410");
    assert_eq!(code("$uppercase(1)", json!(null)), "T0410");
    assert_eq!(code("$substring(1, 2)", json!(null)), "T0411");
    assert_eq!(code("$sum(['a'])", json!(null)), "T0412");
}

#[test]
fn tail_recursion_runs_deep_but_plain_recursion_is_limited() {
    let tail =
        "($loop := function($n, $acc){ $n = 0 ? $acc : $loop($n - 1, $acc + 1) }; $loop(5000, 0))";
    assert_eq!(eval(tail, json!(null)), Some(json!(5000)));
    let deep = "($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(100000))";
    assert_eq!(code(deep, json!(null)), "U1001");
}

#[test]
fn time_limit_stops_runaway_loops() {
    let mut env = Environment::new();
    env.set_time_limit(Some(Duration::from_millis(50)));
    let forever = "($f := function($n){ $f($n + 1) }; $f(0))";
    assert_eq!(eval_in(forever, None, &env).unwrap_err().code, "U1001");
}

#[test]
fn parent_focus_index_and_grouping() {
    let data = json!({"orders": [
        {"id": "a", "items": [{"sku": "x", "qty": 2}, {"sku": "y", "qty": 1}]},
        {"id": "b", "items": [{"sku": "x", "qty": 5}]}
    ]});
    assert_eq!(
        eval("orders.items.{'sku': sku, 'order': %.id}", data.clone()),
        Some(json!([
            {"sku": "x", "order": "a"}, {"sku": "y", "order": "a"}, {"sku": "x", "order": "b"}
        ]))
    );
    assert_eq!(
        eval("orders.items{sku: $sum(qty)}", data.clone()),
        Some(json!({"x": 7, "y": 1}))
    );
    assert_eq!(
        eval("orders#$i.(id & $string($i))", data.clone()),
        Some(json!(["a0", "b1"]))
    );
    assert_eq!(
        eval("orders@$o.$o.items[qty > 1].($o.id & sku)", data.clone()),
        Some(json!(["ax", "bx"]))
    );
    assert_eq!(
        eval("orders.items^(>qty).sku", data),
        Some(json!(["x", "x", "y"]))
    );
}

#[test]
fn transform_copies_and_leaves_the_input_alone() {
    let data = json!({"a": {"t": 1, "b": 1, "c": 2}, "d": [{"t": 1, "b": 3}]});
    let out = eval("$ ~> |**[t = 1]|{'b': b * 10}, ['c', 't']|", data.clone());
    assert_eq!(out, Some(json!({"a": {"b": 10}, "d": [{"b": 30}]})));
    assert_eq!(eval("$", data.clone()), Some(data));
}

#[test]
fn bindings_are_borrowed_and_shadow_builtins() {
    let big = json!({"items": [1, 2, 3]});
    let mut env = Environment::new();
    env.bind("states", &big)
        .bind_owned("sum", json!("not a function"));
    assert_eq!(
        eval_in("$states.items[1]", None, &env).unwrap(),
        Some(json!(2))
    );
    assert_eq!(
        eval_in("$sum", None, &env).unwrap(),
        Some(json!("not a function"))
    );
}

#[test]
fn huge_strings_are_refused() {
    assert_eq!(code("$pad('', 1e12)", json!(null)), "U1002");
    assert_eq!(
        code(
            "$join([$pad('', 1e6, 'x')], $pad('', 7e7, 'y'))",
            json!(null)
        ),
        "U1002"
    );
}

#[test]
fn numbers_format_like_javascript() {
    assert_eq!(eval("$string(0.1 + 0.2)", json!(null)), Some(json!("0.3")));
    assert_eq!(eval("$string(1e21)", json!(null)), Some(json!("1e+21")));
    assert_eq!(
        eval("$string([1, 'a', {'b': true}])", json!(null)),
        Some(json!("[1,\"a\",{\"b\":true}]"))
    );
    assert_eq!(
        eval("$round(2.5) & $round(3.5) & $round(-0.5)", json!(null)),
        Some(json!("240"))
    );
    assert_eq!(
        eval("$formatNumber(1234.5, '#,##0.00')", json!(null)),
        Some(json!("1,234.50"))
    );
    assert_eq!(
        eval("$formatInteger(1999, 'I')", json!(null)),
        Some(json!("MCMXCIX"))
    );
}

#[test]
fn dates_round_trip_and_now_is_stable() {
    let n = json!(null);
    assert_eq!(
        eval("$fromMillis(0)", n.clone()),
        Some(json!("1970-01-01T00:00:00.000Z"))
    );
    assert_eq!(
        eval("$toMillis('2018-03-23T10:33:36.617Z')", n.clone()),
        Some(json!(1521801216617i64))
    );
    assert_eq!(
        eval(
            "$fromMillis(1521801216617, '[D1o] [MNn] [Y]', '-0500')",
            n.clone()
        ),
        Some(json!("23rd March 2018"))
    );
    assert_eq!(
        eval("$now() = $now() and $millis() = $millis()", n),
        Some(json!(true))
    );
}

#[test]
fn expressions_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Expression>();
    let expr = std::sync::Arc::new(Expression::parse("$sum(x)").unwrap());
    let handles: Vec<_> = (0..2)
        .map(|i| {
            let e = expr.clone();
            std::thread::spawn(move || {
                e.evaluate(Some(&json!({"x": [i, 1]})), &Environment::new())
                    .unwrap()
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results, vec![Some(json!(1)), Some(json!(2))]);
}

#[test]
fn regex_classes_are_ascii_like_javascript() {
    let n = json!(null);
    assert_eq!(
        eval("$match('a1٣', /\\d/).match", n.clone()),
        Some(json!("1"))
    );
    assert_eq!(
        eval("$replace('é-x_1', /\\w/, '.')", n.clone()),
        Some(json!("é-..."))
    );
    assert_eq!(
        eval("$split('a1b2', /[\\d]/)", n.clone()),
        Some(json!(["a", "b", ""]))
    );
    assert_eq!(eval("$contains('abc', /B/i)", n), Some(json!(true)));
}

#[test]
fn error_messages_have_no_placeholders() {
    let e = eval_in("λ($s)<s:s>{$s}(1)", None, &Environment::new()).unwrap_err();
    assert!(!e.message.contains("{{"), "{}", e.message);
    assert_eq!(e.code, "T0410");
}

#[test]
fn object_keys_follow_javascript_property_order() {
    let data = json!({"b": 1, "10": 2, "a": 3, "2": 4, "01": 5});
    assert_eq!(
        eval("$keys($)", data.clone()),
        Some(json!(["2", "10", "b", "a", "01"]))
    );
    assert_eq!(
        eval("$string({'x': 1, '3': 2})", json!(null)),
        Some(json!("{\"3\":2,\"x\":1}"))
    );
}

#[test]
fn regexes_support_lookaround_and_backreferences() {
    let n = json!(null);
    assert_eq!(
        eval(
            "$contains('password1', /^(?=.*\\d)(?=.*[a-z]).{8,}$/)",
            n.clone()
        ),
        Some(json!(true))
    );
    assert_eq!(
        eval("$contains('password', /^(?=.*\\d).{8,}$/)", n.clone()),
        Some(json!(false))
    );
    assert_eq!(
        eval("$replace('aa bb cd', /(\\w)\\1/, '<$1>')", n.clone()),
        Some(json!("<a> <b> cd"))
    );
    assert_eq!(
        eval("$match('price: 42 EUR', /(?<=price: )\\d+/).match", n),
        Some(json!("42"))
    );
}

#[test]
fn positions_count_characters() {
    let e = Expression::parse("'é' é é").unwrap_err();
    assert_eq!(e.code, "S0201");
    assert_eq!(e.position, Some(5));
}
