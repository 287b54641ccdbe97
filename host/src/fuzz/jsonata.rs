//! JSONata: parsing and evaluation (Step Functions mode, the engine's value depth bound, a
//! short time limit), through the engine's own evaluation of a JSONata Pass state too.

use std::time::Duration;

use proptest::prelude::*;
use serde_json::json;
use stepwasm_jsonata::{Environment, Expression};

use super::{config, from_pieces};
use crate::engine::limits::MAX_VALUE_DEPTH;

const TOKENS: &[&str] = &[
    "$",
    "$$",
    "$x",
    "$a",
    "$f",
    "a",
    "b",
    "`a b`",
    ".",
    "..",
    "*",
    "**",
    "%",
    "#$i",
    "@$v",
    "[",
    "]",
    "{",
    "}",
    "(",
    ")",
    ",",
    ";",
    ":",
    "?",
    "?:",
    "??",
    ":=",
    "~>",
    "&",
    "+",
    "-",
    "*",
    "/",
    "%",
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    " and ",
    " or ",
    " in ",
    "^(",
    "<a",
    ">b",
    "|",
    "0",
    "1",
    "2.5",
    "1e308",
    "-0",
    "'s'",
    "\"t\"",
    "null",
    "true",
    "false",
    "function($a, $x){",
    "}",
    "λ($a){",
    "$reduce(",
    "$map(",
    "$filter(",
    "$sort(",
    "$string(",
    "$merge(",
    "$append(",
    "$keys(",
    "$lookup(",
    "$spread(",
    "$sum(",
    "$count(",
    "$distinct(",
    "$zip(",
    "$split(",
    "$join(",
    "$replace(",
    "$match(",
    "$contains(",
    "$number(",
    "$formatNumber(",
    "$formatInteger(",
    "$parse(",
    "$toMillis(",
    "$now(",
    "$fromMillis(",
    "$partition(",
    "$range(",
    "$hash(",
    "$uuid(",
    "$random(",
    "$each(",
    "$sift(",
    "$single(",
    "$type(",
    "$substring(",
    "$pad(",
    "$trim(",
    "$base64encode(",
    "$states",
    "$states.input",
    "/a+/",
    "/(a)\\1/i",
    "[1..5]",
    "[1..200]",
    "?",
    " ",
    "$f($f)",
    "$x := ",
    "[[$a]]",
    "{'a': $a}",
    " ~> |a|{'b':1}|",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_jsonata(src in from_pieces(TOKENS, 24)) {
        let Ok(expr) = Expression::parse(&src) else { return Ok(()) };
        let input = json!({"a": [1, {"b": "x"}, [2, 3]], "b": {"a": null}, "s": "abc"});
        let mut env = Environment::new();
        env.set_step_functions(true)
            .set_time_limit(Some(Duration::from_millis(50)))
            .set_max_value_depth(MAX_VALUE_DEPTH);
        let _ = expr.evaluate(Some(&input), &env);
        let mut plain = Environment::new();
        plain.set_time_limit(Some(Duration::from_millis(50)));
        let _ = expr.evaluate(Some(&input), &plain);
    }

    #[test]
    fn fuzz_jsonata_states(src in from_pieces(TOKENS, 16)) {
        // Through the engine: validation, compilation and a run of a Pass state's Output.
        let def = json!({
            "QueryLanguage": "JSONata",
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "Output": format!("{{% {src} %}}"), "End": true}}
        });
        let Ok(raw) = crate::asl::raw::RawStateMachine::from_value(def.clone()) else {
            return Ok(());
        };
        if crate::asl::model::StateMachine::compile(&raw).is_ok() {
            let _ = crate::engine::testkit::run(&def, json!({"a": [1, 2]}));
        }
    }
}
