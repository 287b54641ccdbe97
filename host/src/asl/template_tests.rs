//! Unit tests for payload templates.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::*;
use crate::asl::error::ErrorName;
use crate::asl::scope::NoVariables;

fn run(template: Value, input: Value) -> Result<Value, StatesError> {
    let context = json!({"State": {"Name": "S"}, "Map": {"Item": {"Index": 1, "Value": "y"}}});
    let compiled = Template::compile(&template).expect("template compiles");
    compiled.evaluate(&Scope::new(&input, &context, &NoVariables))
}

#[test]
fn paths_intrinsics_and_constants() {
    let out = run(
        json!({
            "n.$": "$.n",
            "tag": "x",
            "step": 3,
            "prev.$": "$.last.step",
            "plain": "$.not.a.path",
            "ctx.$": "$$.State.Name",
            "label.$": "States.Format('{}#{}', $$.Map.Item.Index, $$.Map.Item.Value)",
            "nested": {"deep.$": "$.n", "const": [1, {"k": "v"}]},
            "list": [{"a.$": "$.n"}, 2, "$.n", [{"b.$": "$.last"}]],
            "all.$": "$",
            "many.$": "$.xs[*].v"
        }),
        json!({"n": 42, "last": {"step": 99}, "xs": [{"v": 1}, {"v": 2}]}),
    )
    .unwrap();
    assert_eq!(
        out,
        json!({
            "n": 42,
            "tag": "x",
            "step": 3,
            "prev": 99,
            "plain": "$.not.a.path",
            "ctx": "S",
            "label": "1#y",
            "nested": {"deep": 42, "const": [1, {"k": "v"}]},
            "list": [{"a": 42}, 2, "$.n", [{"b": {"step": 99}}]],
            "all": {"n": 42, "last": {"step": 99}, "xs": [{"v": 1}, {"v": 2}]},
            "many": [1, 2]
        })
    );
    // Field order follows the template.
    let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
    assert_eq!(keys[..4], ["n", "tag", "step", "prev"]);
}

#[test]
fn bracket_paths_and_variables() {
    let input = json!({"first name": "Ada", "data": {"x-y": 3}});
    let context = json!({});
    let mut vars = HashMap::new();
    vars.insert("factor".to_owned(), json!(3));
    let template = Template::compile(&json!({
        "full.$": "$['first name']",
        "dash.$": "$.data['x-y']",
        "v.$": "$factor",
        "sum.$": "States.MathAdd($.data['x-y'], $factor)"
    }))
    .unwrap();
    let out = template
        .evaluate(&Scope::new(&input, &context, &vars))
        .unwrap();
    assert_eq!(out, json!({"full": "Ada", "dash": 3, "v": 3, "sum": 6}));
}

#[test]
fn constant_templates_are_detected() {
    for constant in [
        json!({"a": 1, "b": [1, {"c": "$.x"}]}),
        json!([1, 2]),
        json!("s"),
        json!({}),
    ] {
        let template = Template::compile(&constant).unwrap();
        assert!(template.is_constant(), "{constant}");
        assert_eq!(run(constant.clone(), json!({})).unwrap(), constant);
    }
    for dynamic in [
        json!({"a.$": "$"}),
        json!([{"a.$": "$"}]),
        json!({"x": {"y": [[{"z.$": "$"}]]}}),
    ] {
        assert!(
            !Template::compile(&dynamic).unwrap().is_constant(),
            "{dynamic}"
        );
    }
}

#[test]
fn missing_path_is_states_runtime_with_aws_cause() {
    let error = run(
        json!({"address.$": "$.application.address"}),
        json!({"flagged": false}),
    )
    .unwrap_err();
    assert_eq!(error.name, ErrorName::Runtime);
    assert_eq!(
        error.cause,
        "The JSONPath '$.application.address' specified for the field 'address.$' could not be found in the input '{\"flagged\":false}'"
    );
    // Deep inside arrays and objects too.
    let error = run(json!({"a": [{"b": {"c.$": "$.nope"}}]}), json!({})).unwrap_err();
    assert!(error.cause.contains("field 'c.$'"), "{}", error.cause);
}

#[test]
fn intrinsic_failure_propagates() {
    let error = run(
        json!({"x.$": "States.StringToJson($.bad)"}),
        json!({"bad": "{oops"}),
    )
    .unwrap_err();
    assert_eq!(error.name, ErrorName::IntrinsicFailure);
}

#[test]
fn compile_reports_every_error_with_locations() {
    let errors = Template::compile(&json!({
        "a": 1,
        "a.$": "$.x",
        "bad.$": "$.items[?(@.price > ]",
        "num.$": 5,
        "lit.$": "hello",
        "fn.$": "States.Bogus($.a)",
        "count.$": "States.MathAdd(1)",
        "nested": {"list": [0, {"x/y~.$": "nope"}]},
        "ok.$": "$.fine"
    }))
    .unwrap_err();
    let located: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| {
            let kind = match e {
                TemplateError::DuplicateKey { .. } => "duplicate",
                TemplateError::Path { .. } => "path",
                TemplateError::NotAString { .. } => "not-a-string",
                TemplateError::NotPathOrIntrinsic { .. } => "neither",
                TemplateError::Intrinsic { .. } => "intrinsic",
            };
            (e.location(), kind)
        })
        .collect();
    assert_eq!(
        located,
        [
            ("/", "duplicate"),
            ("/bad.$", "path"),
            ("/num.$", "not-a-string"),
            ("/lit.$", "neither"),
            ("/fn.$", "intrinsic"),
            ("/count.$", "intrinsic"),
            ("/nested/list/1/x~1y~0.$", "neither"),
        ]
    );
    let message = errors[0].to_string();
    assert!(message.contains("\"a\" appears twice"), "{message}");
    let nested = Template::compile(&json!({"o": {"k.$": "$.a", "k": 1}})).unwrap_err();
    assert_eq!(nested[0].location(), "/o");
}

#[test]
fn conformance_templates_compile() {
    let Some(dir) = crate::asl::shared_or_skip("conformance/cases", "conformance cases") else {
        return;
    };
    let mut compiled = 0;
    for entry in std::fs::read_dir(&dir).expect("conformance cases") {
        let case = entry.unwrap().path();
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(case.join("definition.json")).unwrap();
        let definition: Value = serde_json::from_str(&text).unwrap();
        let jsonata = text.contains("JSONata");
        let mut templates = Vec::new();
        collect_templates(&definition, &mut templates);
        for template in templates {
            let result = Template::compile(template);
            let must_fail = name == "validation-bad-jsonpath-parameters-01"
                || name == "validation-intrinsic-unknown-01";
            if must_fail {
                assert!(result.is_err(), "{name} must be rejected");
            } else if !jsonata {
                assert!(result.is_ok(), "{name}: {result:?}");
            }
            compiled += 1;
        }
    }
    assert!(compiled > 50, "only {compiled} templates");
}

fn collect_templates<'v>(value: &'v Value, out: &mut Vec<&'v Value>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if matches!(
                    key.as_str(),
                    "Parameters" | "ResultSelector" | "ItemSelector" | "Assign"
                ) {
                    out.push(child);
                }
                collect_templates(child, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_templates(item, out)),
        _ => {}
    }
}

fn read_json(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Runs a chain of Pass states (Parameters + ResultPath only) from StartAt to End, the way
/// the engine's pipeline combines these two pieces.
fn run_pass_chain(definition: &Value, input: Value) -> Result<Value, StatesError> {
    let context = json!({});
    let states = definition["States"].as_object().unwrap();
    let mut name = definition["StartAt"].as_str().unwrap().to_owned();
    let mut state_value = input;
    loop {
        let state = &states[&name];
        assert_eq!(state["Type"], "Pass", "{name}");
        let template = Template::compile(&state["Parameters"]).unwrap();
        let result_path =
            crate::asl::path::ReferencePath::parse(state["ResultPath"].as_str().unwrap_or("$"))
                .unwrap();
        let result = template.evaluate(&Scope::new(&state_value, &context, &NoVariables))?;
        state_value = result_path.set(state_value, result)?;
        match state["Next"].as_str() {
            Some(next) => name = next.to_owned(),
            None => return Ok(state_value),
        }
    }
}

#[test]
fn bench_workloads_give_the_expected_outputs() {
    let Some(dir) = crate::asl::shared_or_skip("bench/workloads", "bench workloads") else {
        return;
    };
    for workload in ["intrinsics-heavy", "pass-chain-100"] {
        let definition = read_json(&dir.join(format!("{workload}.json")));
        let input = read_json(&dir.join(format!("{workload}.input.json")));
        let expected = read_json(&dir.join(format!("{workload}.expected.json")));
        let output = run_pass_chain(&definition, input).unwrap();
        assert!(
            crate::asl::compare::json_equal(&output, &expected),
            "{workload}: {output:#}"
        );
    }
}

/// Every conformance case that is a single Pass state with Parameters (most intrinsic and
/// io cases) must give its expected output or error.
#[test]
fn single_pass_conformance_cases_hold() {
    let Some(dir) = crate::asl::shared_or_skip("conformance/cases", "conformance cases") else {
        return;
    };
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let case = entry.unwrap().path();
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let definition = read_json(&case.join("definition.json"));
        let states = definition["States"].as_object().unwrap();
        let only = states.values().next().unwrap();
        let simple = states.len() == 1
            && only["Type"] == "Pass"
            && only.get("Parameters").is_some()
            && only.get("Result").is_none()
            && only.get("InputPath").is_none()
            && only.get("OutputPath").is_none()
            && definition.get("QueryLanguage").is_none();
        if !simple {
            continue;
        }
        let expected = read_json(&case.join("expected.json"));
        // Rejected definitions are covered by `conformance_templates_compile`.
        if expected["status"] == "INVALID" {
            continue;
        }
        let outcome = run_pass_chain(&definition, read_json(&case.join("input.json")));
        match expected["status"].as_str().unwrap() {
            "SUCCEEDED" => {
                let output = outcome.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(
                    crate::asl::compare::json_equal(&output, &expected["output"]),
                    "{name}: got {output}"
                );
            }
            "FAILED" => {
                let error = outcome.expect_err(&name);
                assert_eq!(error.name.as_str(), expected["error"], "{name}");
            }
            other => panic!("{name}: unexpected status {other}"),
        }
        checked.push(name);
    }
    assert!(checked.len() >= 25, "{checked:?}");
}
