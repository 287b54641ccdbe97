//! Paths and payload templates of JSONPath states parse: `InputPath`/`OutputPath` (a path or
//! `null`), `ResultPath` (a reference path into the input or `null`, also in Catchers),
//! `ItemsPath` and every `*Path` field (reference paths: names and indexes only),
//! `ErrorPath`/`CausePath` (a reference path or an intrinsic), and the templates `Parameters`,
//! `ResultSelector`, `ItemSelector` and `BatchInput` (JSON objects; `.$` values, intrinsics
//! with their names and arities, keys that collide once `.$` is removed). Parsing uses the same `asl::path`, `asl::template` and `asl::intrinsics`
//! code the model compiles with, so what passes here compiles there. JSONata states have none
//! of these fields (the structural rules reject them), so only JSONPath states are checked.

use serde_json::Value;

use super::common::typed_states;
use super::{Code, Diagnostic, MachineCtx, StateCtx};
use crate::asl::intrinsics::Intrinsic;
use crate::asl::path::{JsonPath, ReferencePath};
use crate::asl::template::{Template, TemplateError};

pub(super) fn check(machines: &[MachineCtx<'_>], out: &mut Vec<Diagnostic>) {
    for s in typed_states(machines) {
        if !s.is_jsonata() {
            state(&s, out);
        }
    }
}

fn state(s: &StateCtx<'_>, out: &mut Vec<Diagnostic>) {
    let st = s.state;
    for (name, value) in [
        ("InputPath", &st.input_path),
        ("OutputPath", &st.output_path),
    ] {
        if let Some(v) = value {
            nullable_path(v, &s.at(name), name, out);
        }
    }
    if let Some(v) = &st.result_path {
        result_path(v, &s.at("ResultPath"), out);
    }
    for (i, c) in st.catch.iter().flatten().enumerate() {
        if let Some(v) = &c.result_path {
            result_path(v, &format!("{}/Catch/{i}/ResultPath", s.location), out);
        }
    }
    if let Some(v) = &st.items_path {
        items_path(v, &s.at("ItemsPath"), out);
    }
    let plain_paths = [
        ("SecondsPath", &st.seconds_path),
        ("TimestampPath", &st.timestamp_path),
        ("TimeoutSecondsPath", &st.timeout_seconds_path),
        ("HeartbeatSecondsPath", &st.heartbeat_seconds_path),
        ("MaxConcurrencyPath", &st.max_concurrency_path),
        (
            "ToleratedFailureCountPath",
            &st.tolerated_failure_count_path,
        ),
        (
            "ToleratedFailurePercentagePath",
            &st.tolerated_failure_percentage_path,
        ),
    ];
    for (name, value) in plain_paths {
        if let Some(p) = value {
            reference_path(p, name, s.at(name), out);
        }
    }
    for (name, value) in [("ErrorPath", &st.error_path), ("CausePath", &st.cause_path)] {
        if let Some(p) = value {
            path_or_intrinsic(p, name, s.at(name), out);
        }
    }
    let templates = [
        ("Parameters", &st.parameters),
        ("ResultSelector", &st.result_selector),
        ("ItemSelector", &st.item_selector),
    ];
    for (name, value) in templates {
        match value {
            // AWS takes any JSON value as Parameters (an array, a string, ...; its `.$` keys
            // inside are still paths): aws/amazon-states-language-service#83 "updated to match
            // the constraints applied in the service" (aws/aws-toolkit-vscode#2459).
            Some(v) if name == "Parameters" => template_of_any_type(v, &s.at(name), out),
            Some(v) => template(v, &s.at(name), out),
            None => {}
        }
    }
    if let Some(b) = &st.item_batcher {
        let at = s.at("ItemBatcher");
        for (name, value) in [
            ("MaxItemsPerBatchPath", &b.max_items_per_batch_path),
            (
                "MaxInputBytesPerBatchPath",
                &b.max_input_bytes_per_batch_path,
            ),
        ] {
            if let Some(p) = value {
                reference_path(p, name, format!("{at}/{name}"), out);
            }
        }
        if let Some(v) = &b.batch_input {
            template(v, &format!("{at}/BatchInput"), out);
        }
    }
}

/// A JSONPath path.
fn path(src: &str, at: String, out: &mut Vec<Diagnostic>) -> Option<JsonPath> {
    match JsonPath::parse(src) {
        Ok(p) => Some(p),
        Err(e) => {
            out.push(Diagnostic::error(Code::InvalidJsonPath, at, e.to_string()));
            None
        }
    }
}

/// `InputPath` / `OutputPath`: a path, or `null` for `{}`.
fn nullable_path(v: &Value, at: &str, name: &str, out: &mut Vec<Diagnostic>) {
    match v {
        Value::Null => {}
        Value::String(src) => {
            path(src, at.to_owned(), out);
        }
        other => out.push(Diagnostic::error(
            Code::SchemaValidationFailed,
            at,
            format!("{name} must be a path string or null, not {other}"),
        )),
    }
}

/// `ResultPath`: a reference path into the state input, or `null` to discard the result.
fn result_path(v: &Value, at: &str, out: &mut Vec<Diagnostic>) {
    match v {
        Value::Null => {}
        Value::String(src) => {
            if let Err(e) = ReferencePath::parse(src) {
                out.push(Diagnostic::error(Code::InvalidJsonPath, at, e.to_string()));
            }
        }
        other => out.push(Diagnostic::error(
            Code::SchemaValidationFailed,
            at,
            format!("ResultPath must be a reference path string or null, not {other}"),
        )),
    }
}

/// `ItemsPath`: a reference path string.
fn items_path(v: &Value, at: &str, out: &mut Vec<Diagnostic>) {
    match v {
        Value::String(src) => reference_path(src, "ItemsPath", at.to_owned(), out),
        other => out.push(Diagnostic::error(
            Code::SchemaValidationFailed,
            at,
            format!("ItemsPath must be a reference path string, not {other}"),
        )),
    }
}

/// A reference path: a path that selects one node (field names and indexes only: no filter,
/// wildcard, slice, union or descendant). It may start from the input, the context object or
/// a variable.
fn reference_path(src: &str, name: &str, at: String, out: &mut Vec<Diagnostic>) {
    let Some(p) = path(src, at.clone(), out) else {
        return;
    };
    if let Some((position, found)) = p.first_non_reference() {
        out.push(Diagnostic::error(
            Code::InvalidJsonPath,
            at,
            format!(
                "{name} {src:?} must be a reference path (field names and array indexes only), found {found} at position {position}"
            ),
        ));
    }
}

/// `ErrorPath` / `CausePath`: a reference path or an intrinsic function.
fn path_or_intrinsic(src: &str, name: &str, at: String, out: &mut Vec<Diagnostic>) {
    if Intrinsic::looks_like(src) {
        if let Err(e) = Intrinsic::parse(src) {
            out.push(Diagnostic::error(Code::InvalidJsonPath, at, e.to_string()));
        }
    } else {
        reference_path(src, name, at, out);
    }
}

/// A payload template: a JSON object; each problem is located inside it (e.g.
/// `/States/S/Parameters/a.$`).
pub(super) fn template(v: &Value, at: &str, out: &mut Vec<Diagnostic>) {
    if !v.is_object() {
        out.push(Diagnostic::error(
            Code::SchemaValidationFailed,
            at,
            format!("a payload template must be a JSON object, not {v}"),
        ));
        return;
    }
    template_of_any_type(v, at, out);
}

/// A payload template of any JSON type (`Parameters`).
fn template_of_any_type(v: &Value, at: &str, out: &mut Vec<Diagnostic>) {
    if let Err(errors) = Template::compile(v) {
        out.extend(template_diagnostics(&errors, at));
    }
}

/// A template's errors as diagnostics, each at its own field under `at` (the validator and
/// the compiler report a template the same way, so one pass can tell they agree).
pub(crate) fn template_diagnostics(errors: &[TemplateError], at: &str) -> Vec<Diagnostic> {
    errors
        .iter()
        .map(|e| {
            let inner = e.location();
            let location = if inner == "/" {
                at.to_owned()
            } else {
                format!("{at}{inner}")
            };
            // The template's message starts with its own relative location; the diagnostic
            // carries the absolute one.
            let text = e.to_string();
            let message = text
                .strip_prefix(inner)
                .and_then(|m| m.strip_prefix(": "))
                .unwrap_or(&text)
                .to_owned();
            Diagnostic::error(Code::InvalidJsonPath, location, message)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::Code;
    use super::super::common::testing::{assert_error, assert_valid, diagnostics, one_state};

    fn pass(fields: &str) -> String {
        one_state(&format!(r#"{{"Type":"Pass","Next":"Done",{fields}}}"#))
    }

    #[test]
    fn good_paths_pass() {
        assert_valid(&pass(
            r#""InputPath":"$.a[0]","OutputPath":null,"ResultPath":"$.r.s[1]","Parameters":{"a.$":"$.x[?(@.y > 1)]","b":"$.lit","c.$":"$$.Execution.Id","d.$":"States.Format('{}', $.a)"}"#,
        ));
        assert_valid(&pass(r#""ResultPath":null,"InputPath":"$""#));
    }

    #[test]
    fn input_and_output_paths_must_parse() {
        let def = pass(r#""InputPath":"$.a[","OutputPath":"items""#);
        assert_error(&def, Code::InvalidJsonPath, "/States/S/InputPath");
        assert_error(&def, Code::InvalidJsonPath, "/States/S/OutputPath");
        assert_error(
            &pass(r#""OutputPath":3"#),
            Code::SchemaValidationFailed,
            "/States/S/OutputPath",
        );
    }

    #[test]
    fn result_path_is_a_reference_path() {
        assert_error(
            &pass(r#""ResultPath":"$.a[*]""#),
            Code::InvalidJsonPath,
            "/States/S/ResultPath",
        );
        assert_error(
            &pass(r#""ResultPath":"$$.Execution""#),
            Code::InvalidJsonPath,
            "/States/S/ResultPath",
        );
        let catcher = one_state(
            r#"{"Type":"Task","Resource":"wasm:r","Next":"Done","Catch":[{"ErrorEquals":["X"],"Next":"Done","ResultPath":"$..e"}]}"#,
        );
        assert_error(
            &catcher,
            Code::InvalidJsonPath,
            "/States/S/Catch/0/ResultPath",
        );
    }

    #[test]
    fn items_path_has_no_filter() {
        let map = |items: &str| {
            one_state(&format!(
                r#"{{"Type":"Map","Next":"Done","ItemsPath":{items},"ItemProcessor":{{"StartAt":"E","States":{{"E":{{"Type":"Succeed"}}}}}}}}"#
            ))
        };
        assert_error(
            &map(r#""$.items[?(@.ok == true)]""#),
            Code::InvalidJsonPath,
            "/States/S/ItemsPath",
        );
        assert_error(
            &map("7"),
            Code::SchemaValidationFailed,
            "/States/S/ItemsPath",
        );
        assert_valid(&map(r#""$$.Execution.Input.items[0]""#));
    }

    #[test]
    fn star_path_fields_must_parse() {
        let wait = one_state(r#"{"Type":"Wait","Next":"Done","SecondsPath":"$.a b"}"#);
        assert_error(&wait, Code::InvalidJsonPath, "/States/S/SecondsPath");
        let map = one_state(
            r#"{"Type":"Map","Next":"Done","MaxConcurrencyPath":"n","ItemBatcher":{"MaxItemsPerBatchPath":"$["},
                "ItemProcessor":{"StartAt":"E","States":{"E":{"Type":"Succeed"}}}}"#,
        );
        assert_error(&map, Code::InvalidJsonPath, "/States/S/MaxConcurrencyPath");
        assert_error(
            &map,
            Code::InvalidJsonPath,
            "/States/S/ItemBatcher/MaxItemsPerBatchPath",
        );
    }

    #[test]
    fn star_path_fields_are_reference_paths() {
        let wait = one_state(r#"{"Type":"Wait","Next":"Done","TimestampPath":"$.t[*]"}"#);
        assert_error(&wait, Code::InvalidJsonPath, "/States/S/TimestampPath");
        let task = one_state(
            r#"{"Type":"Task","Resource":"wasm:r","Next":"Done","TimeoutSecondsPath":"$..t","HeartbeatSecondsPath":"$.h[0:1]"}"#,
        );
        assert_error(&task, Code::InvalidJsonPath, "/States/S/TimeoutSecondsPath");
        assert_error(
            &task,
            Code::InvalidJsonPath,
            "/States/S/HeartbeatSecondsPath",
        );
        let fail = one_state(r#"{"Type":"Fail","ErrorPath":"$.e[?(@.x)]"}"#);
        assert_error(&fail, Code::InvalidJsonPath, "/States/S/ErrorPath");
        assert_valid(&one_state(
            r#"{"Type":"Wait","Next":"Done","SecondsPath":"$$.Execution.Input.delays[0]"}"#,
        ));
    }

    /// AWS accepts Parameters of any JSON type (aws/amazon-states-language-service#83, "updated
    /// to match the constraints applied in the service"; aws/aws-toolkit-vscode#2459); `.$`
    /// keys inside an array are still checked.
    #[test]
    fn parameters_may_be_any_json_value() {
        for v in [r#""$.x""#, "[1, {\"a.$\": \"$.b\"}]", "5", "true"] {
            assert_valid(&pass(&format!(r#""Parameters":{v}"#)));
        }
        let def = pass(r#""Parameters":[{"a.$":"nope"}]"#);
        assert_error(&def, Code::InvalidJsonPath, "/States/S/Parameters/0/a.$");
    }

    #[test]
    fn templates_are_objects() {
        let task =
            one_state(r#"{"Type":"Task","Resource":"wasm:r","Next":"Done","ResultSelector":[1]}"#);
        assert_error(
            &task,
            Code::SchemaValidationFailed,
            "/States/S/ResultSelector",
        );
    }

    #[test]
    fn error_and_cause_paths_take_paths_or_intrinsics() {
        let def =
            one_state(r#"{"Type":"Fail","ErrorPath":"States.Format('{}'","CausePath":"$.c["}"#);
        assert_error(&def, Code::InvalidJsonPath, "/States/S/ErrorPath");
        assert_error(&def, Code::InvalidJsonPath, "/States/S/CausePath");
        assert_valid(&one_state(
            r#"{"Type":"Fail","ErrorPath":"States.Format('E{}', $.n)","CausePath":"$.c"}"#,
        ));
    }

    #[test]
    fn template_problems_are_located_inside_the_template() {
        let def = pass(
            r#""Parameters":{"cheap.$":"$.items[?(@.price > ]","v.$":"States.Bogus($.a)","n":{"x.$":5},"k":1,"k.$":"$.k","l.$":"nope"}"#,
        );
        assert_error(&def, Code::InvalidJsonPath, "/States/S/Parameters/cheap.$");
        assert_error(&def, Code::InvalidJsonPath, "/States/S/Parameters/v.$");
        assert_error(&def, Code::InvalidJsonPath, "/States/S/Parameters/n/x.$");
        assert_error(&def, Code::InvalidJsonPath, "/States/S/Parameters");
        assert_error(&def, Code::InvalidJsonPath, "/States/S/Parameters/l.$");
        let unknown = diagnostics(&def)
            .into_iter()
            .find(|d| d.location == "/States/S/Parameters/v.$")
            .expect("diagnostic for the unknown intrinsic");
        assert!(unknown.message.contains("Bogus"), "{}", unknown.message);
        assert!(!unknown.message.starts_with('/'), "{}", unknown.message);
    }

    #[test]
    fn intrinsic_arity_is_checked() {
        let def = pass(r#""ResultSelector":{"a.$":"States.ArrayLength($.a, $.b)"}"#);
        assert_error(&def, Code::InvalidJsonPath, "/States/S/ResultSelector/a.$");
    }

    #[test]
    fn batch_input_and_item_selector_are_templates() {
        let def = one_state(
            r#"{"Type":"Map","Next":"Done","ItemSelector":{"a.$":"$["},"ItemBatcher":{"MaxItemsPerBatch":2,"BatchInput":{"b.$":"$["}},
                "ItemProcessor":{"StartAt":"E","States":{"E":{"Type":"Succeed"}}}}"#,
        );
        assert_error(&def, Code::InvalidJsonPath, "/States/S/ItemSelector/a.$");
        assert_error(
            &def,
            Code::InvalidJsonPath,
            "/States/S/ItemBatcher/BatchInput/b.$",
        );
    }
}
