//! Definitions (raw parse, validation, compilation and a run of what compiles), JSONPath
//! and reference paths, intrinsic functions.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::{config, from_pieces, json_value};
use crate::asl::intrinsics::Intrinsic;
use crate::asl::path::{JsonPath, ReferencePath};
use crate::asl::raw::RawStateMachine;
use crate::asl::scope::Scope;
use crate::asl::validate::validate_definition;

const STATE_KEYS: &[&str] = &[
    "Type",
    "Next",
    "End",
    "Comment",
    "InputPath",
    "OutputPath",
    "ResultPath",
    "Parameters",
    "ResultSelector",
    "Result",
    "Resource",
    "Choices",
    "Default",
    "Variable",
    "StringEquals",
    "NumericGreaterThan",
    "IsPresent",
    "And",
    "Or",
    "Not",
    "Seconds",
    "SecondsPath",
    "Timestamp",
    "Branches",
    "ItemProcessor",
    "Iterator",
    "ItemsPath",
    "ItemSelector",
    "MaxConcurrency",
    "Retry",
    "Catch",
    "ErrorEquals",
    "IntervalSeconds",
    "MaxAttempts",
    "BackoffRate",
    "Error",
    "Cause",
    "QueryLanguage",
    "Output",
    "Arguments",
    "Assign",
    "Condition",
    "Items",
    "TimeoutSeconds",
    "HeartbeatSeconds",
    "StartAt",
    "States",
    "ProcessorConfig",
    "ToleratedFailureCount",
    "a",
    "b.$",
    "v.$",
];
const WORDS: &[&str] = &[
    "Pass",
    "Task",
    "Choice",
    "Wait",
    "Succeed",
    "Fail",
    "Parallel",
    "Map",
    "A",
    "B",
    "C",
    "$",
    "$.a",
    "$.a[0]",
    "$$.Execution.Id",
    "$.b.c",
    "$[*]",
    "$..a",
    "$.a[?(@.b > 1)]",
    "$$.Map.Item.Value",
    "States.ALL",
    "States.Timeout",
    "States.Format('{}', $.a)",
    "States.Array($, 1)",
    "States.StringToJson($.s)",
    "States.MathAdd(1, $.n)",
    "States.ArrayRange(1, 9, 2)",
    "{% $states.input %}",
    "{% 1 + 'a' %}",
    "{% $x %}",
    "{% $reduce([1..200], function($a, $x){ [[$a]] }, 0) %}",
    "JSONata",
    "JSONPath",
    "wasm:task",
    "arn:aws:states:::lambda:invoke",
    "2016-03-14T01:59:00Z",
    "INLINE",
];

/// A definition: a few states of random shape, named A, B and C.
fn definition() -> impl Strategy<Value = Value> {
    let state = json_value(STATE_KEYS, WORDS, 4);
    (
        proptest::sample::select(&["A", "B", "C", "D"][..]),
        proptest::collection::vec(
            (proptest::sample::select(&["A", "B", "C"][..]), state),
            1..4,
        ),
        proptest::option::of(proptest::sample::select(&["JSONata", "JSONPath", "X"][..])),
    )
        .prop_map(|(start, states, language)| {
            let mut def = json!({"StartAt": start, "States": {}});
            for (name, state) in states {
                def["States"][name] = state;
            }
            if let Some(l) = language {
                def["QueryLanguage"] = json!(l);
            }
            def
        })
}

/// The same, but each state starts from a valid shape (so compilation and runs are reached).
fn mostly_valid_definition() -> impl Strategy<Value = Value> {
    const TYPES: &[&str] = &[
        "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map",
    ];
    (
        proptest::collection::vec(
            (
                proptest::sample::select(TYPES),
                json_value(STATE_KEYS, WORDS, 2),
            ),
            1..4,
        ),
        any::<bool>(),
    )
        .prop_map(|(states, jsonata)| {
            let names = ["A", "B", "C"];
            let mut def = json!({"StartAt": "A", "States": {}});
            if jsonata {
                def["QueryLanguage"] = json!("JSONata");
            }
            let n = states.len();
            for (i, (ty, extra)) in states.into_iter().enumerate() {
                let mut s = json!({"Type": ty});
                if !matches!(ty, "Choice" | "Succeed" | "Fail") {
                    if i + 1 < n {
                        s["Next"] = json!(names[i + 1]);
                    } else {
                        s["End"] = json!(true);
                    }
                }
                match ty {
                    "Choice" => {
                        s["Choices"] = json!([{"Variable": "$.a", "IsPresent": true, "Next": "A"}]);
                        s["Default"] = json!(names[(i + 1).min(n - 1)]);
                    }
                    "Wait" => s["Seconds"] = json!(0),
                    "Parallel" => {
                        s["Branches"] = json!([{"StartAt": "X", "States": {"X": {"Type": "Pass", "End": true}}}]);
                    }
                    "Map" => {
                        s["ItemProcessor"] = json!({"StartAt": "X", "States": {"X": {"Type": "Pass", "End": true}}});
                    }
                    _ => {}
                }
                if let (Value::Object(extra), Value::Object(s)) = (extra, &mut s) {
                    for (k, v) in extra {
                        if k != "Type" {
                            s.insert(k, v);
                        }
                    }
                }
                def["States"][names[i]] = s;
            }
            def
        })
}

/// Raw parse, validation, compilation; a definition that compiles runs on `input`.
fn check_definition(def: Value, input: Value, run: bool) {
    let Ok(raw) = RawStateMachine::from_value(def.clone()) else {
        return;
    };
    let _ = validate_definition(&raw);
    if crate::asl::model::StateMachine::compile(&raw).is_ok() && run {
        let _ = crate::engine::testkit::run(&def, input);
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_definitions(def in definition()) {
        check_definition(def, json!({}), false);
    }

    #[test]
    fn fuzz_definitions_that_run(def in mostly_valid_definition(), input in json_value(&["a", "b", "s", "n"], WORDS, 3)) {
        check_definition(def, input, true);
    }

    #[test]
    fn fuzz_jsonpath(src in from_pieces(&["$", "$$", "@", ".", "..", "a", "b", "['a']", "[0]", "[-1]", "[*]", "[1:3]", "[?(@.a > 1)]", "[?(@.b == 'x')]", "[?(@.a)]", "[", "]", "(", ")", "'", "\"", ",", ":", "?", "*", "<", ">=", "==", "!=", "&&", "||", " ", "length", "0", "99999999999999999999"], 16)) {
        let doc = json!({"a": [1, {"a": 2, "b": "x"}, [3]], "b": {"a": null}});
        if let Ok(p) = JsonPath::parse(&src) {
            let _ = p.select(&doc);
            let _ = p.normalized();
        }
        if let Ok(r) = ReferencePath::parse(&src) {
            let _ = r.set(doc.clone(), json!(1));
        }
    }

    #[test]
    fn fuzz_intrinsics(src in from_pieces(&["States.Format(", "States.Array(", "States.StringToJson(", "States.JsonToString(", "States.JsonMerge(", "States.MathAdd(", "States.MathRandom(", "States.ArrayRange(", "States.ArrayPartition(", "States.ArrayContains(", "States.ArrayGetItem(", "States.ArrayLength(", "States.ArrayUnique(", "States.Base64Encode(", "States.Base64Decode(", "States.Hash(", "States.UUID(", "States.StringSplit(", ")", ",", " ", "'{}'", "'a,b'", "'SHA-1'", "'\\\\'", "'\\''", "$", "$.a", "$.s", "$.n", "$$", "$.a[0]", "1", "-1", "0.5", "1e308", "9007199254740993", "null", "true", "'x'"], 14)) {
        let input = json!({"a": [1, 2, 2], "s": "{\"k\": [1]}", "n": 3});
        let context = json!({"Execution": {"Id": "x"}});
        let vars = serde_json::Map::new();
        if let Ok(i) = Intrinsic::parse(&src) {
            let _ = i.evaluate(&Scope::new(&input, &context, &vars));
        }
    }
}
