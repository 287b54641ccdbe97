//! JSONata expressions of JSONata states: finds every `{% ... %}` string in the fields that
//! JSONata evaluates (`Arguments`, `Output`, `Assign`, `Items`, `ItemSelector`, `Condition`,
//! the number fields, `Timestamp`, `Error`/`Cause`, Catcher `Output`/`Assign`, ...), walking
//! nested objects and arrays, and reports an expression that is empty or does not parse, with
//! JSONata's error code and position, that uses `$$` (the spec gives JSONata no input
//! document), or that reads `$states.result` or `$states.errorOutput` where the spec does not
//! make it available (the result only in a Task, Map or Parallel state's own
//! `Output`/`Assign`, the error output only in a Catcher's). A string that is not a whole
//! `{% ... %}` is a literal and never an error.

use std::sync::Arc;

use serde_json::Value;

use super::common::{OPENING, jsonata_expr, typed_states};
use super::{Code, Diagnostic, MachineCtx, StateCtx, pointer_segment};
use crate::asl::model::jsonata::{JsonataExpr, ParsedExpressions};

/// Checks every expression and keeps each one that parses in `parsed`, under its pointer.
pub(super) fn check(
    machines: &[MachineCtx<'_>],
    out: &mut Vec<Diagnostic>,
    parsed: &mut ParsedExpressions,
) {
    for s in typed_states(machines) {
        if !s.is_jsonata() {
            continue;
        }
        let mut found = Vec::new();
        fields(&s, &mut found);
        for f in found {
            match syntax(f.expr) {
                Ok(expr) => {
                    parsed.insert(f.at.clone(), Arc::new(expr));
                }
                Err(message) => {
                    out.push(Diagnostic::error(Code::InvalidJsonata, f.at, message));
                    continue;
                }
            }
            if code_only(f.expr).contains("$$") {
                out.push(Diagnostic::error(
                    Code::InvalidJsonata,
                    f.at.clone(),
                    "a JSONata expression cannot use $$: there is no input document; read the input through $states.input",
                ));
            }
            for (field, allowed) in [("result", f.result), ("errorOutput", f.error_output)] {
                if !allowed && references_states_field(f.expr, field) {
                    out.push(Diagnostic::error(
                        Code::InvalidJsonata,
                        f.at.clone(),
                        format!(
                            "$states.{field} is not available here: {}",
                            where_available(field)
                        ),
                    ));
                }
            }
        }
    }
}

/// Where the spec makes a `$states` field available.
fn where_available(field: &str) -> &'static str {
    if field == "result" {
        "only a Task, Map or Parallel state's own Output and Assign can read the result"
    } else {
        "only a Catcher's Output and Assign can read the error output"
    }
}

/// One JSONata expression found in a state, with what `$states` offers where it is.
struct Found<'a> {
    at: String,
    expr: &'a str,
    /// `$states.result` is available.
    result: bool,
    /// `$states.errorOutput` is available.
    error_output: bool,
}

/// Whether an expression reads `$states.<field>`, outside string literals and comments.
fn references_states_field(expr: &str, field: &str) -> bool {
    let code = code_only(expr);
    let mut rest = code.as_str();
    while let Some(i) = rest.find("$states") {
        let after = rest[i + "$states".len()..].trim_start();
        rest = &rest[i + "$states".len()..];
        let Some(member) = after.strip_prefix('.') else {
            continue;
        };
        let member = member.trim_start();
        let name: String = member
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name == field {
            return true;
        }
    }
    false
}

/// The expression with string literals, backquoted names and comments blanked out, so a
/// scan for variable references sees only code.
fn code_only(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut chars = expr.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' | '`' => {
                out.push(' ');
                while let Some(d) = chars.next() {
                    if d == '\\' && c != '`' {
                        chars.next();
                    } else if d == c {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut previous = ' ';
                for d in chars.by_ref() {
                    if previous == '*' && d == '/' {
                        break;
                    }
                    previous = d;
                }
                out.push(' ');
            }
            other => out.push(other),
        }
    }
    out
}

/// Checks one expression (the text between `{%` and `%}`) with the JSONata parser the engine
/// evaluates with. Positions count characters from the start of the whole `{% ... %}` string.
fn syntax(expr: &str) -> Result<JsonataExpr, String> {
    if expr.trim().is_empty() {
        return Err("the JSONata expression {% %} is empty".into());
    }
    JsonataExpr::parse(expr).map_err(|e| {
        let at = e
            .position
            .map(|p| format!(" at position {}", p + OPENING.chars().count()))
            .unwrap_or_default();
        format!("JSONata syntax error {e}{at}")
    })
}

/// Every JSONata expression in a state's fields, with its location.
fn fields<'a>(s: &StateCtx<'a>, found: &mut Vec<Found<'a>>) {
    let st = s.state;
    let has_result = matches!(st.state_type.as_deref(), Some("Task" | "Map" | "Parallel"));
    let values: [(&str, Option<&'a Value>); 15] = [
        ("Arguments", st.arguments.as_ref()),
        ("Output", st.output.as_ref()),
        ("Assign", st.assign.as_ref()),
        ("Items", st.items.as_ref()),
        ("ItemSelector", st.item_selector.as_ref()),
        ("Credentials", st.credentials.as_ref()),
        ("TimeoutSeconds", st.timeout_seconds.as_ref()),
        ("HeartbeatSeconds", st.heartbeat_seconds.as_ref()),
        ("Seconds", st.seconds.as_ref()),
        ("Timestamp", st.timestamp.as_ref()),
        ("MaxConcurrency", st.max_concurrency.as_ref()),
        ("ToleratedFailureCount", st.tolerated_failure_count.as_ref()),
        (
            "ToleratedFailurePercentage",
            st.tolerated_failure_percentage.as_ref(),
        ),
        ("ItemReader", st.item_reader.as_ref()),
        ("ResultWriter", st.result_writer.as_ref()),
    ];
    for (name, value) in values {
        if let Some(v) = value {
            let result = has_result && matches!(name, "Output" | "Assign");
            walk(v, s.at(name), (result, false), found);
        }
    }
    for (name, text) in [("Error", &st.error), ("Cause", &st.cause)] {
        if let Some(t) = text
            && let Some(expr) = jsonata_expr(t)
        {
            found.push(Found {
                at: s.at(name),
                expr,
                result: false,
                error_output: false,
            });
        }
    }
    if let Some(b) = &st.item_batcher {
        let at = s.at("ItemBatcher");
        for (name, value) in [
            ("MaxItemsPerBatch", &b.max_items_per_batch),
            ("MaxInputBytesPerBatch", &b.max_input_bytes_per_batch),
            ("BatchInput", &b.batch_input),
        ] {
            if let Some(v) = value {
                walk(v, format!("{at}/{name}"), (false, false), found);
            }
        }
    }
    for (i, rule) in st.choices.iter().flatten().enumerate() {
        let at = format!("{}/Choices/{i}", s.location);
        for (name, value) in [
            ("Condition", &rule.condition),
            ("Assign", &rule.assign),
            ("Output", &rule.output),
        ] {
            if let Some(v) = value {
                walk(v, format!("{at}/{name}"), (false, false), found);
            }
        }
    }
    for (i, c) in st.catch.iter().flatten().enumerate() {
        let at = format!("{}/Catch/{i}", s.location);
        for (name, value) in [("Assign", &c.assign), ("Output", &c.output)] {
            if let Some(v) = value {
                walk(v, format!("{at}/{name}"), (false, true), found);
            }
        }
    }
}

/// Collects the expressions in a value, descending into objects and arrays; `available`
/// says whether `$states.result` and `$states.errorOutput` may be read there.
fn walk<'a>(value: &'a Value, at: String, available: (bool, bool), found: &mut Vec<Found<'a>>) {
    match value {
        Value::String(text) => {
            if let Some(expr) = jsonata_expr(text) {
                found.push(Found {
                    at,
                    expr,
                    result: available.0,
                    error_output: available.1,
                });
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, format!("{at}/{i}"), available, found);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                walk(
                    item,
                    format!("{at}/{}", pointer_segment(key)),
                    available,
                    found,
                );
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::super::Code;
    use super::super::common::testing::{
        assert_error, assert_valid, diagnostics, one_jsonata_state, one_state,
    };

    #[test]
    fn expressions_and_literals_are_accepted() {
        assert_valid(&one_jsonata_state(
            r#"{"Type":"Pass","Next":"Done","Output":{"a":"{% 1 + 1 %}","b":"$.x","c":"{not}","d":["{% $x %}"]}}"#,
        ));
    }

    #[test]
    fn empty_expressions_are_reported_where_they_are() {
        let def = one_jsonata_state(
            r#"{"Type":"Task","Resource":"wasm:r","Next":"Done","Arguments":{"a":[1,"{%  %}"]},"TimeoutSeconds":"{%%}",
                "Catch":[{"ErrorEquals":["X"],"Next":"Done","Output":"{% %}"}]}"#,
        );
        assert_error(&def, Code::InvalidJsonata, "/States/S/Arguments/a/1");
        assert_error(&def, Code::InvalidJsonata, "/States/S/TimeoutSeconds");
        assert_error(&def, Code::InvalidJsonata, "/States/S/Catch/0/Output");
        let choice = one_jsonata_state(
            r#"{"Type":"Choice","Choices":[{"Condition":"{% %}","Next":"Done"}]}"#,
        );
        assert_error(
            &choice,
            Code::InvalidJsonata,
            "/States/S/Choices/0/Condition",
        );
        let fail = one_jsonata_state(r#"{"Type":"Fail","Error":"{% %}","Cause":"plain"}"#);
        assert_error(&fail, Code::InvalidJsonata, "/States/S/Error");
    }

    #[test]
    fn syntax_errors_carry_code_and_position() {
        let def = one_jsonata_state(
            r#"{"Type":"Pass","Next":"Done","Output":{"ok":"{% $sum([1,2]) %}","bad":"{% $states.input.( %}"},
                "Assign":{"v":"{% 1 + %}"}}"#,
        );
        assert_error(&def, Code::InvalidJsonata, "/States/S/Output/bad");
        assert_error(&def, Code::InvalidJsonata, "/States/S/Assign/v");
        let got = diagnostics(&def);
        assert_eq!(
            got.iter()
                .filter(|d| d.code == Code::InvalidJsonata)
                .count(),
            2,
            "{got:?}"
        );
        let bad = got
            .iter()
            .find(|d| d.location == "/States/S/Output/bad")
            .expect("diagnostic");
        assert!(
            bad.message.contains("S0") && bad.message.contains("position"),
            "{}",
            bad.message
        );
        let wait = one_jsonata_state(r#"{"Type":"Wait","Next":"Done","Seconds":"{% ) %}"}"#);
        assert_error(&wait, Code::InvalidJsonata, "/States/S/Seconds");
    }

    #[test]
    fn states_result_and_error_output_only_where_available() {
        assert_valid(&one_jsonata_state(
            r#"{"Type":"Task","Resource":"wasm:r","Next":"Done","Arguments":{"i":"{% $states.input %}"},
                "Output":"{% $states.result %}","Assign":{"r":"{% $states.result.x %}"},
                "Catch":[{"ErrorEquals":["X"],"Next":"Done","Output":"{% $states.errorOutput %}",
                          "Assign":{"e":"{% $states . errorOutput.Error %}"}}]}"#,
        ));
        let def = one_jsonata_state(
            r#"{"Type":"Task","Resource":"wasm:r","Next":"Done","Arguments":{"r":"{% $states.result %}"},
                "Output":"{% $states.errorOutput %}",
                "Catch":[{"ErrorEquals":["X"],"Next":"Done","Output":"{% $states.result %}"}]}"#,
        );
        assert_error(&def, Code::InvalidJsonata, "/States/S/Arguments/r");
        assert_error(&def, Code::InvalidJsonata, "/States/S/Output");
        assert_error(&def, Code::InvalidJsonata, "/States/S/Catch/0/Output");
        let pass =
            one_jsonata_state(r#"{"Type":"Pass","Next":"Done","Output":"{% $states.result %}"}"#);
        assert_error(&pass, Code::InvalidJsonata, "/States/S/Output");
    }

    #[test]
    fn no_double_dollar() {
        let def = one_jsonata_state(
            r#"{"Type":"Pass","Next":"Done","Output":{"a":"{% $$.x %}","b":"{% '$$' & $states.input.x %}"}}"#,
        );
        assert_error(&def, Code::InvalidJsonata, "/States/S/Output/a");
        let got = diagnostics(&def);
        assert!(
            !got.iter().any(|d| d.location == "/States/S/Output/b"),
            "{got:?}"
        );
    }

    #[test]
    fn references_inside_strings_and_comments_do_not_count() {
        assert!(!super::references_states_field(
            r#" '$states.result' & "$states.result" & /* $states.result */ $states.resultant "#,
            "result"
        ));
        assert!(super::references_states_field(
            " 'it''s' & $states.result ",
            "result"
        ));
    }

    #[test]
    fn jsonpath_states_keep_braces_as_text() {
        assert_valid(&one_state(r#"{"Type":"Fail","Error":"{% %}"}"#));
    }
}
