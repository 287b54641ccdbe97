//! JSONata expressions of JSONata states: finds every `{% ... %}` string in the fields that
//! JSONata evaluates (`Arguments`, `Output`, `Assign`, `Items`, `ItemSelector`, `Condition`,
//! the number fields, `Timestamp`, `Error`/`Cause`, Catcher `Output`/`Assign`, ...), walking
//! nested objects and arrays, and reports an expression that is empty. A string that is not a
//! whole `{% ... %}` is a literal and never an error. Each expression is parsed, and a syntax
//! error is reported with JSONata's code and its character position in the expression.

use serde_json::Value;

use super::common::{jsonata_expr, typed_states};
use super::{Code, Diagnostic, MachineCtx, StateCtx, pointer_segment};

pub(super) fn check(machines: &[MachineCtx<'_>], out: &mut Vec<Diagnostic>) {
    for s in typed_states(machines) {
        if !s.is_jsonata() {
            continue;
        }
        let mut found = Vec::new();
        fields(&s, &mut found);
        for (at, expr) in found {
            if let Err(message) = syntax(expr) {
                out.push(Diagnostic::error(Code::InvalidJsonata, at, message));
            }
        }
    }
}

/// Checks one expression (the text between `{%` and `%}`).
fn syntax(expr: &str) -> Result<(), String> {
    if expr.trim().is_empty() {
        return Err("the JSONata expression {% %} is empty".into());
    }
    stepwasm_jsonata::Expression::parse(expr)
        .map(drop)
        .map_err(|e| syntax_message(expr, &e))
}

/// The text of a JSONata syntax error: code, message, and where in the expression.
pub(crate) fn syntax_message(expr: &str, e: &stepwasm_jsonata::Error) -> String {
    match e.position {
        Some(p) => format!(
            "invalid JSONata expression {{%{expr}%}}: {e} (at character {p})"
        ),
        None => format!("invalid JSONata expression {{%{expr}%}}: {e}"),
    }
}

/// Every JSONata expression in a state's fields, with its location.
fn fields<'a>(s: &StateCtx<'a>, found: &mut Vec<(String, &'a str)>) {
    let st = s.state;
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
            walk(v, s.at(name), found);
        }
    }
    for (name, text) in [("Error", &st.error), ("Cause", &st.cause)] {
        if let Some(t) = text
            && let Some(expr) = jsonata_expr(t)
        {
            found.push((s.at(name), expr));
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
                walk(v, format!("{at}/{name}"), found);
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
                walk(v, format!("{at}/{name}"), found);
            }
        }
    }
    for (i, c) in st.catch.iter().flatten().enumerate() {
        let at = format!("{}/Catch/{i}", s.location);
        for (name, value) in [("Assign", &c.assign), ("Output", &c.output)] {
            if let Some(v) = value {
                walk(v, format!("{at}/{name}"), found);
            }
        }
    }
}

/// Collects the expressions in a value, descending into objects and arrays.
fn walk<'a>(value: &'a Value, at: String, found: &mut Vec<(String, &'a str)>) {
    match value {
        Value::String(text) => {
            if let Some(expr) = jsonata_expr(text) {
                found.push((at, expr));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, format!("{at}/{i}"), found);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                walk(item, format!("{at}/{}", pointer_segment(key)), found);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::super::Code;
    use super::super::common::testing::{assert_error, assert_valid, one_jsonata_state, one_state};

    #[test]
    fn expressions_and_literals_are_accepted() {
        assert_valid(&one_jsonata_state(
            r#"{"Type":"Pass","Next":"Done","Output":{"a":"{% 1 + 1 %}","b":"$.x","c":"{not}","d":["{% $x %}"]}}"#,
        ));
    }

    #[test]
    fn empty_expressions_are_reported_where_they_are() {
        let def = one_jsonata_state(
            r#"{"Type":"Task","Resource":"r","Next":"Done","Arguments":{"a":[1,"{%  %}"]},"TimeoutSeconds":"{%%}",
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
    fn syntax_errors_are_reported_with_their_position() {
        let def = one_jsonata_state(
            r#"{"Type":"Pass","Next":"Done","Output":{"a":"{% $states.input.x + %}"}}"#,
        );
        assert_error(&def, Code::InvalidJsonata, "/States/S/Output/a");
        let diags = super::super::validate(
            &crate::asl::raw::RawStateMachine::from_json(&def).unwrap(),
        );
        let d = diags
            .iter()
            .find(|d| d.location == "/States/S/Output/a")
            .unwrap();
        assert!(d.message.contains("S0"), "{}", d.message);
        assert!(d.message.contains("at character"), "{}", d.message);
    }

    #[test]
    fn jsonpath_states_keep_braces_as_text() {
        assert_valid(&one_state(r#"{"Type":"Fail","Error":"{% %}"}"#));
    }
}
