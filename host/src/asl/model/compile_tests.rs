//! Tests of the compiler: what it rejects (with the location), that it builds JSONata
//! templates from the validator's parsed expressions, and which query language the states of
//! branches and processors get.

use super::*;
use serde_json::json;

/// The (code, location) of every error compiling a one-state machine whose state is `s`.
fn errors(s: Value) -> Vec<(Code, String)> {
    // `Z` is reachable through a `Next` or a Catcher of `S`; otherwise it is left out (an
    // unreachable state is an error).
    let mut def = json!({"StartAt": "S", "States": {"S": s, "Z": {"Type": "Succeed"}}});
    if !def["States"]["S"].to_string().contains(r#""Z""#) {
        def["States"].as_object_mut().unwrap().remove("Z");
    }
    let raw = RawStateMachine::from_value(def).unwrap();
    match compile(&raw) {
        Ok(_) => Vec::new(),
        Err(d) => d.into_iter().map(|d| (d.code, d.location)).collect(),
    }
}

fn has(s: Value, code: Code, location: &str) {
    let got = errors(s);
    assert!(
        got.iter().any(|(c, l)| *c == code && l == location),
        "expected {code} at {location}, got {got:?}"
    );
}

#[test]
fn valid_states_compile() {
    let ok = [
        json!({"Type": "Pass", "Parameters": {"a.$": "$.b", "c": [1, {"d.$": "$$.State.Name"}]}, "End": true}),
        json!({"Type": "Wait", "SecondsPath": "$.s", "Next": "Z"}),
        json!({"Type": "Task", "Resource": "wasm:x", "TimeoutSeconds": 5, "HeartbeatSeconds": 2, "End": true,
               "Retry": [{"ErrorEquals": ["A"], "MaxAttempts": 0}, {"ErrorEquals": ["States.ALL"], "JitterStrategy": "FULL"}],
               "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Z", "ResultPath": "$.e"}]}),
        json!({"Type": "Fail", "ErrorPath": "States.Format('{}', $.x)", "CausePath": "$.c"}),
    ];
    for s in ok {
        assert_eq!(errors(s.clone()), vec![], "{s}");
    }
}

#[test]
fn wait_needs_exactly_one_valid_duration() {
    has(
        json!({"Type": "Wait", "Next": "Z"}),
        Code::FieldConflict,
        "/States/S",
    );
    has(
        json!({"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "Next": "Z"}),
        Code::FieldConflict,
        "/States/S",
    );
    has(
        json!({"Type": "Wait", "Seconds": -1, "Next": "Z"}),
        Code::InvalidValue,
        "/States/S/Seconds",
    );
    has(
        json!({"Type": "Wait", "Seconds": 100000000, "Next": "Z"}),
        Code::InvalidValue,
        "/States/S/Seconds",
    );
    has(
        json!({"Type": "Wait", "Timestamp": "2024-01-01 00:00:00", "Next": "Z"}),
        Code::InvalidValue,
        "/States/S/Timestamp",
    );
}

#[test]
fn paths_templates_and_intrinsics_are_checked() {
    has(
        json!({"Type": "Pass", "OutputPath": "$.a[", "End": true}),
        Code::InvalidJsonPath,
        "/States/S/OutputPath",
    );
    has(
        json!({"Type": "Pass", "ResultPath": "$.a[*]", "End": true}),
        Code::InvalidJsonPath,
        "/States/S/ResultPath",
    );
    has(
        json!({"Type": "Pass", "Parameters": {"a.$": "States.Nope($.x)"}, "End": true}),
        Code::InvalidJsonPath,
        "/States/S/Parameters/a.$",
    );
    has(
        json!({"Type": "Pass", "Parameters": {"a.$": "$.x", "a": 1}, "End": true}),
        Code::InvalidJsonPath,
        "/States/S/Parameters",
    );
}

#[test]
fn retry_and_catch_rules() {
    let task = |retry: Value, catch: Value| json!({"Type": "Task", "Resource": "wasm:x", "End": true, "Retry": retry, "Catch": catch});
    has(
        task(json!([{"ErrorEquals": []}]), json!([])),
        Code::InvalidErrorHandler,
        "/States/S/Retry/0/ErrorEquals",
    );
    has(
        task(
            json!([{"ErrorEquals": ["A"], "BackoffRate": 0.5}]),
            json!([]),
        ),
        Code::InvalidErrorHandler,
        "/States/S/Retry/0/BackoffRate",
    );
    has(
        task(
            json!([{"ErrorEquals": ["A"], "MaxDelaySeconds": 0}]),
            json!([]),
        ),
        Code::InvalidErrorHandler,
        "/States/S/Retry/0/MaxDelaySeconds",
    );
    has(
        task(
            json!([{"ErrorEquals": ["A"], "JitterStrategy": "SOME"}]),
            json!([]),
        ),
        Code::InvalidErrorHandler,
        "/States/S/Retry/0/JitterStrategy",
    );
    has(
        task(
            json!([{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["A"]}]),
            json!([]),
        ),
        Code::InvalidErrorHandler,
        "/States/S/Retry/0/ErrorEquals",
    );
    has(
        task(json!([{"ErrorEquals": ["States.ALL", "A"]}]), json!([])),
        Code::InvalidErrorHandler,
        "/States/S/Retry/0/ErrorEquals",
    );
    has(
        task(json!([]), json!([{"ErrorEquals": ["A"]}])),
        Code::InvalidErrorHandler,
        "/States/S/Catch/0/Next",
    );
    has(
        task(json!([]), json!([{"ErrorEquals": ["A"], "Next": "Nope"}])),
        Code::MissingTransitionTarget,
        "/States/S/Catch/0/Next",
    );
}

#[test]
fn task_limits() {
    has(
        json!({"Type": "Task", "Resource": "wasm:x", "TimeoutSeconds": 5, "HeartbeatSeconds": 5, "End": true}),
        Code::InvalidValue,
        "/States/S/HeartbeatSeconds",
    );
    has(
        json!({"Type": "Task", "Resource": "wasm:x", "TimeoutSeconds": 5, "TimeoutSecondsPath": "$.t", "End": true}),
        Code::FieldConflict,
        "/States/S/TimeoutSecondsPath",
    );
}

#[test]
fn choice_rules_are_checked() {
    let choice = |rule: Value| json!({"Type": "Choice", "Choices": [rule], "Default": "Z"});
    has(
        choice(json!({"Variable": "$.a", "StringEquals": "x", "NumericEquals": 1, "Next": "Z"})),
        Code::InvalidChoiceRule,
        "/States/S/Choices/0",
    );
    has(
        choice(json!({"And": [], "Next": "Z"})),
        Code::InvalidChoiceRule,
        "/States/S/Choices/0/And",
    );
    has(
        choice(json!({"Not": {"Variable": "$.a", "IsNull": true, "Next": "Z"}, "Next": "Z"})),
        Code::InvalidChoiceRule,
        "/States/S/Choices/0/Not/Next",
    );
    has(
        choice(json!({"Variable": "$.a", "NumericEquals": "1", "Next": "Z"})),
        Code::InvalidChoiceRule,
        "/States/S/Choices/0/NumericEquals",
    );
    has(
        choice(json!({"Variable": "$.a", "IsNull": "yes", "Next": "Z"})),
        Code::InvalidChoiceRule,
        "/States/S/Choices/0/IsNull",
    );
    has(
        choice(json!({"Variable": "$.a", "StringEqualz": "x", "Next": "Z"})),
        Code::InvalidChoiceRule,
        "/States/S/Choices/0/StringEqualz",
    );
    has(
        choice(json!({"Condition": true, "Next": "Z"})),
        Code::InvalidChoiceRule,
        "/States/S/Choices/0/Condition",
    );
    has(
        json!({"Type": "Choice", "Choices": []}),
        Code::InvalidChoiceRule,
        "/States/S/Choices",
    );
}

#[test]
fn map_fields_are_checked() {
    let map = |extra: Value| {
        let mut m = json!({"Type": "Map", "End": true,
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}});
        for (k, v) in extra.as_object().unwrap() {
            m[k] = v.clone();
        }
        m
    };
    has(
        map(json!({"MaxConcurrency": 1, "MaxConcurrencyPath": "$.m"})),
        Code::FieldConflict,
        "/States/S/MaxConcurrencyPath",
    );
    has(
        map(json!({"ToleratedFailurePercentage": 101})),
        Code::InvalidValue,
        "/States/S/ToleratedFailurePercentage",
    );
    has(
        map(json!({"ItemsPath": "$.a[?(@.x)]"})),
        Code::InvalidJsonPath,
        "/States/S/ItemsPath",
    );
    has(
        map(json!({"ItemBatcher": {"MaxItemsPerBatch": 2, "MaxItemsPerBatchPath": "$.n"}})),
        Code::FieldConflict,
        "/States/S/ItemBatcher/MaxItemsPerBatchPath",
    );
    has(
        json!({"Type": "Map", "End": true}),
        Code::SchemaValidationFailed,
        "/States/S",
    );
}

#[test]
fn fail_fields_exclude_their_path_forms() {
    has(
        json!({"Type": "Fail", "Error": "E", "ErrorPath": "$.e"}),
        Code::FieldConflict,
        "/States/S/ErrorPath",
    );
    has(
        json!({"Type": "Fail", "Cause": "C", "CausePath": "$.c"}),
        Code::FieldConflict,
        "/States/S/CausePath",
    );
}

/// The data pointer of every expression source in a compiled model (each expression is
/// shared with the validator's parse, so equal pointers mean the same parse).
fn expression_sources(model: &StateMachine) -> Vec<*const u8> {
    let mut out = Vec::new();
    for m in &model.machines {
        for s in &m.states {
            for p in [&s.io.parameters, &s.io.output, &s.assign]
                .into_iter()
                .flatten()
            {
                if let Payload::Jsonata(t) = p {
                    let mut src = Vec::new();
                    t.sources(&mut src);
                    out.extend(src.iter().map(|s| s.as_ptr()));
                }
            }
            if let StateKind::Map(map) = &s.kind
                && let Some(t) = &map.items
            {
                let mut src = Vec::new();
                t.sources(&mut src);
                out.extend(src.iter().map(|s| s.as_ptr()));
            }
        }
    }
    out
}

#[test]
fn jsonata_expressions_are_parsed_once_by_the_validator() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
        "P": {"Type": "Pass", "Output": {"a": "{% $states.input.x + 1 %}", "b": "lit"},
              "Assign": {"v": "{% 2 %}"}, "Next": "M"},
        "M": {"Type": "Map", "Items": "{% [1, 2] %}", "End": true,
              "ItemProcessor": {"StartAt": "I", "States": {
                  "I": {"Type": "Pass", "Output": "{% $states.input * $v %}", "End": true}}}}}});
    let raw = RawStateMachine::from_value(def).unwrap();
    let validated = validate_definition(&raw);
    let parsed: Vec<*const u8> = validated
        .expressions
        .values()
        .map(|e| e.source.as_ptr())
        .collect();
    assert_eq!(parsed.len(), 4, "{:?}", validated.expressions.keys());
    let model = compile_validated(&raw, validated.expressions, true).unwrap();
    let used = expression_sources(&model);
    assert_eq!(used.len(), 4);
    for p in &used {
        assert!(
            parsed.contains(p),
            "an expression of the model was parsed again"
        );
    }
}

#[test]
fn the_compiler_never_parses_on_its_own() {
    // Without the validator's expressions the compiler has nothing to build from: it reports
    // the gap instead of parsing.
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
        "P": {"Type": "Pass", "Output": {"a": ["{% 1 %}"]}, "End": true}}});
    let raw = RawStateMachine::from_value(def).unwrap();
    let mut validated = validate_definition(&raw);
    assert!(validated.diagnostics.is_empty());
    validated.expressions.clear();
    let errors = compile_validated(&raw, validated.expressions, true).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].code, Code::InvalidJsonata);
    assert_eq!(errors[0].location, "/States/P/Output/a/0");
}

/// The query language of every state of a compiled definition, by machine.
fn languages(def: Value) -> Vec<Vec<QueryLanguage>> {
    let raw = RawStateMachine::from_value(def).unwrap();
    let model = compile(&raw).unwrap_or_else(|d| panic!("{d:?}"));
    model
        .machines
        .iter()
        .map(|m| m.states.iter().map(|s| s.query_language).collect())
        .collect()
}

#[test]
fn sub_machines_default_to_the_top_level_query_language() {
    use QueryLanguage::{JsonPath, Jsonata};
    // A JSONata Map in a JSONPath machine: its processor's states are JSONPath.
    let got = languages(json!({"StartAt": "M", "States": {
        "M": {"Type": "Map", "QueryLanguage": "JSONata", "Items": "{% [1] %}", "End": true,
              "ItemProcessor": {"StartAt": "I", "States": {
                  "I": {"Type": "Pass", "Parameters": {"x.$": "$"}, "Next": "J"},
                  "J": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% 1 %}", "End": true}}}}}}));
    assert_eq!(got, vec![vec![Jsonata], vec![JsonPath, Jsonata]]);
    // The validator agrees: a JSONata-only field in such a processor state is rejected
    // (a JSONata machine cannot contain JSONPath states, so the other direction cannot occur).
    let def = json!({"StartAt": "M", "States": {
        "M": {"Type": "Map", "QueryLanguage": "JSONata", "Items": "{% [1] %}", "End": true,
              "ItemProcessor": {"StartAt": "I", "States": {
                  "I": {"Type": "Pass", "Output": "{% 1 %}", "End": true}}}}}});
    let raw = RawStateMachine::from_value(def).unwrap();
    let got: Vec<(Code, String)> = compile(&raw)
        .unwrap_err()
        .into_iter()
        .map(|d| (d.code, d.location))
        .collect();
    assert_eq!(
        got,
        vec![(
            Code::SchemaValidationFailed,
            "/States/M/ItemProcessor/States/I/Output".to_owned()
        )]
    );
}

/// Every diagnostic in one pass: what only the compiler finds is reported beside the
/// validator's errors, not once they are fixed; a field the validator reported is not
/// reported twice.
#[test]
fn validator_and_compiler_findings_come_together() {
    let def = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Parameters": {"x.$": "States.Format('{}', $.a"}, "Next": "B"},
        "B": {"Type": "Wait", "Timestamp": "tomorrow", "Next": "C"},
        "C": {"Type": "Succeed", "InputPath": "$.[bad"},
        "D": {"Type": "Succeed"}}});
    let raw = RawStateMachine::from_value(def).unwrap();
    let (diagnostics, model) = StateMachine::check(&raw);
    assert!(model.is_none());
    let at: Vec<&str> = diagnostics.iter().map(|d| d.location.as_str()).collect();
    for field in [
        "/States/A/Parameters/x.$",
        "/States/B/Timestamp",
        "/States/C/InputPath",
        "/States/D",
    ] {
        assert_eq!(
            at.iter().filter(|l| **l == field).count(),
            1,
            "{field} once in {diagnostics:#?}"
        );
    }
}
