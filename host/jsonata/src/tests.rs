//! Unit tests for the parser and tricky evaluator semantics.

use serde_json::json;

use crate::{Environment, Expression};

fn eval(expr: &str, input: serde_json::Value) -> Option<serde_json::Value> {
    Expression::parse(expr).unwrap().evaluate(Some(&input), &Environment::new()).unwrap()
}

#[test]
fn paths_and_predicates() {
    let data = json!({"a": [{"b": 1}, {"b": 2}, {"b": 3}]});
    assert_eq!(eval("a.b", data.clone()), Some(json!([1, 2, 3])));
    assert_eq!(eval("a[b > 1].b", data.clone()), Some(json!([2, 3])));
    assert_eq!(eval("a[0].b", data.clone()), Some(json!(1)));
    assert_eq!(eval("a[-1]", data), Some(json!({"b": 3})));
}
