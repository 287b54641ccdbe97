//! `Assign` (variables, both query languages): every `Assign` — of a state, of a top-level
//! Choice rule, of a Catcher — is an object of variable names to values, and each name is a
//! valid variable name (at most 80 characters, a Unicode identifier, not `states`). In a JSONPath state the object is
//! a payload template (`"x.$": "$.a"`), checked like `Parameters`; in a JSONata state its
//! `{% %}` strings are checked with the other JSONata expressions.

use serde_json::Value;
use unicode_ident::{is_xid_continue, is_xid_start};

use super::common::typed_states;
use super::paths::template;
use super::{Code, Diagnostic, MachineCtx, pointer_segment};

/// The longest variable name AWS accepts.
pub const MAX_VARIABLE_NAME_LEN: usize = 80;

pub(super) fn check(machines: &[MachineCtx<'_>], out: &mut Vec<Diagnostic>) {
    for s in typed_states(machines) {
        let jsonata = s.is_jsonata();
        let mut all: Vec<(String, &Value)> = Vec::new();
        if let Some(v) = &s.state.assign {
            all.push((s.at("Assign"), v));
        }
        for (i, rule) in s.state.choices.iter().flatten().enumerate() {
            if let Some(v) = &rule.assign {
                all.push((format!("{}/Choices/{i}/Assign", s.location), v));
            }
        }
        for (i, c) in s.state.catch.iter().flatten().enumerate() {
            if let Some(v) = &c.assign {
                all.push((format!("{}/Catch/{i}/Assign", s.location), v));
            }
        }
        for (at, value) in all {
            assign(value, &at, jsonata, out);
        }
    }
}

fn assign(value: &Value, at: &str, jsonata: bool, out: &mut Vec<Diagnostic>) {
    let Value::Object(fields) = value else {
        out.push(Diagnostic::error(
            Code::SchemaValidationFailed,
            at,
            format!("Assign must be an object of variable names to values, not {value}"),
        ));
        return;
    };
    for key in fields.keys() {
        let name = match key.strip_suffix(".$") {
            Some(name) if !jsonata => name,
            _ => key.as_str(),
        };
        if let Err(why) = variable_name(name) {
            out.push(Diagnostic::error(
                Code::SchemaValidationFailed,
                format!("{at}/{}", pointer_segment(key)),
                format!("{name:?} is not a valid variable name: {why}"),
            ));
        }
    }
    if !jsonata {
        template(value, at, out);
    }
}

/// A variable name as the spec defines it: at most 80 characters, a Unicode identifier
/// (UAX #31: an ID_Start character, then ID_Continue characters), and not the reserved
/// `states`.
fn variable_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Err("it is empty".into());
    };
    if name.chars().count() > MAX_VARIABLE_NAME_LEN {
        return Err(format!(
            "it is longer than {MAX_VARIABLE_NAME_LEN} characters"
        ));
    }
    if !is_xid_start(first) {
        return Err(format!(
            "it must start with a letter (a Unicode ID_Start character), not {first:?}"
        ));
    }
    if let Some(bad) = chars.find(|c| !is_xid_continue(*c)) {
        return Err(format!(
            "{bad:?} is not a letter, digit or other Unicode ID_Continue character"
        ));
    }
    if name == "states" {
        return Err("the variable \"states\" is reserved".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::Code;
    use super::super::common::testing::{assert_error, assert_valid, one_jsonata_state, one_state};

    #[test]
    fn assign_is_an_object_everywhere() {
        let def = one_state(
            r#"{"Type":"Task","Resource":"wasm:r","Next":"Done","Assign":[1],
                "Catch":[{"ErrorEquals":["X"],"Next":"Done","Assign":"x"}]}"#,
        );
        assert_error(&def, Code::SchemaValidationFailed, "/States/S/Assign");
        assert_error(
            &def,
            Code::SchemaValidationFailed,
            "/States/S/Catch/0/Assign",
        );
        let choice = one_state(
            r#"{"Type":"Choice","Choices":[{"Variable":"$.x","IsNull":true,"Next":"Done","Assign":3}]}"#,
        );
        assert_error(
            &choice,
            Code::SchemaValidationFailed,
            "/States/S/Choices/0/Assign",
        );
    }

    #[test]
    fn jsonpath_assign_is_a_template() {
        assert_valid(&one_state(
            r#"{"Type":"Pass","Next":"Done","Assign":{"a.$":"$.x","b":1,"c.$":"States.MathAdd($a, 1)","d_2":{"e.$":"$$.State.Name"},"größe":1}}"#,
        ));
        let def =
            one_state(r#"{"Type":"Pass","Next":"Done","Assign":{"a.$":"$.x[","b":1,"b.$":"$.b"}}"#);
        assert_error(&def, Code::InvalidJsonPath, "/States/S/Assign/a.$");
        assert_error(&def, Code::InvalidJsonPath, "/States/S/Assign");
    }

    #[test]
    fn variable_names() {
        let def = one_state(
            r#"{"Type":"Pass","Next":"Done","Assign":{"1a":1,"a-b":2,"ok_1":3,"states":4,"":5,"_x":6}}"#,
        );
        assert_error(&def, Code::SchemaValidationFailed, "/States/S/Assign/1a");
        // `_` is ID_Continue but not ID_Start.
        assert_error(&def, Code::SchemaValidationFailed, "/States/S/Assign/_x");
        assert_error(&def, Code::SchemaValidationFailed, "/States/S/Assign/a-b");
        assert_error(
            &def,
            Code::SchemaValidationFailed,
            "/States/S/Assign/states",
        );
        assert_error(&def, Code::SchemaValidationFailed, "/States/S/Assign/");
        let long = format!(
            r#"{{"Type":"Pass","Next":"Done","Assign":{{"{}":1}}}}"#,
            "v".repeat(81)
        );
        assert_error(
            &one_state(&long),
            Code::SchemaValidationFailed,
            &format!("/States/S/Assign/{}", "v".repeat(81)),
        );
    }

    #[test]
    fn jsonata_assign_keys_are_plain_names() {
        assert_valid(&one_jsonata_state(
            r#"{"Type":"Pass","Next":"Done","Assign":{"total":"{% $states.input.a + 1 %}","lit":"$.x"}}"#,
        ));
        let def = one_jsonata_state(r#"{"Type":"Pass","Next":"Done","Assign":{"x.$":"$.a"}}"#);
        assert_error(&def, Code::SchemaValidationFailed, "/States/S/Assign/x.$");
    }
}
