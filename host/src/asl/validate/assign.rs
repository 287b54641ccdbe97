//! `Assign` (variables, both query languages): every `Assign` — of a state, of a top-level
//! Choice rule, of a Catcher — is an object of variable names to values, and each name is a
//! valid variable name (at most 80 characters, a Unicode identifier, not `states`). In a
//! JSONPath state the object is a payload template (`"x.$": "$.a"`), checked like
//! `Parameters`; in a JSONata state its `{% %}` strings are checked with the other JSONata
//! expressions.
//!
//! Scopes (developer guide, "Passing data between states with variables", variable scope):
//! the states of a Parallel branch or a Map's ItemProcessor run in an inner scope that can
//! read the variables of the outer scopes but cannot assign a variable with the same name as
//! one that an outer scope assigns; such a definition is rejected here. Sibling branches are
//! separate scopes and may reuse a name.

use std::collections::HashMap;

use serde_json::Value;
use unicode_ident::{is_xid_continue, is_xid_start};

use super::common::typed_states;
use super::paths::template;
use super::states;
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
    outer_scope_names(machines, out);
}

/// Every `Assign` of a machine's own states (not of its sub-machines): (location, object,
/// whether the state is JSONata).
fn assigns<'a>(machine: &MachineCtx<'a>) -> Vec<(String, &'a Value, bool)> {
    let mut all = Vec::new();
    for s in states(machine) {
        let jsonata = s.is_jsonata();
        if let Some(v) = &s.state.assign {
            all.push((s.at("Assign"), v, jsonata));
        }
        for (i, rule) in s.state.choices.iter().flatten().enumerate() {
            if let Some(v) = &rule.assign {
                all.push((format!("{}/Choices/{i}/Assign", s.location), v, jsonata));
            }
        }
        for (i, c) in s.state.catch.iter().flatten().enumerate() {
            if let Some(v) = &c.assign {
                all.push((format!("{}/Catch/{i}/Assign", s.location), v, jsonata));
            }
        }
    }
    all
}

/// The variable names an `Assign` object sets, with their keys.
fn assigned_names(value: &Value, jsonata: bool) -> impl Iterator<Item = (&str, &String)> {
    value
        .as_object()
        .into_iter()
        .flatten()
        .map(move |(key, _)| {
            let name = match key.strip_suffix(".$") {
                Some(name) if !jsonata => name,
                _ => key.as_str(),
            };
            (name, key)
        })
}

/// Rejects an inner-scope `Assign` of a name that an enclosing machine assigns.
fn outer_scope_names(machines: &[MachineCtx<'_>], out: &mut Vec<Diagnostic>) {
    // Name -> where it is first assigned, per machine location.
    let assigned: Vec<HashMap<String, String>> = machines
        .iter()
        .map(|m| {
            let mut names = HashMap::new();
            for (at, value, jsonata) in assigns(m) {
                for (name, key) in assigned_names(value, jsonata) {
                    names
                        .entry(name.to_owned())
                        .or_insert_with(|| format!("{at}/{}", pointer_segment(key)));
                }
            }
            names
        })
        .collect();
    for (inner, machine) in machines.iter().enumerate() {
        // The enclosing machines: those this one sits inside (their states' pointers prefix it).
        let enclosing: Vec<usize> = machines
            .iter()
            .enumerate()
            .filter(|(i, m)| {
                *i != inner
                    && machine
                        .location
                        .starts_with(&format!("{}/States/", m.location))
            })
            .map(|(i, _)| i)
            .collect();
        if enclosing.is_empty() {
            continue;
        }
        for (at, value, jsonata) in assigns(machine) {
            for (name, key) in assigned_names(value, jsonata) {
                if let Some(outer) = enclosing.iter().find_map(|o| assigned[*o].get(name)) {
                    out.push(Diagnostic::error(
                        Code::SchemaValidationFailed,
                        format!("{at}/{}", pointer_segment(key)),
                        format!(
                            "the variable '{name}' belongs to an outer scope (assigned at {outer}): states inside a Parallel branch or Map iteration can read it but cannot assign it"
                        ),
                    ));
                }
            }
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
    fn inner_scopes_cannot_assign_outer_variables() {
        use super::super::common::testing::diagnostics;
        let def = r#"{"StartAt":"Setup","States":{
            "Setup":{"Type":"Pass","Assign":{"total":0,"unit":"kg"},"Next":"Fan"},
            "Fan":{"Type":"Parallel","End":true,"Assign":{"done":true},"Branches":[
                {"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"total.$":"$.x","local":1},"End":true}}},
                {"StartAt":"B","States":{"B":{"Type":"Map","End":true,
                    "ItemProcessor":{"StartAt":"C","States":{"C":{"Type":"Choice","Default":"D",
                        "Choices":[{"Variable":"$.x","IsNull":true,"Next":"D","Assign":{"done":false}}]},
                        "D":{"Type":"Pass","Assign":{"b":1},"End":true}}}}}},
                {"StartAt":"E","States":{"E":{"Type":"Pass","Assign":{"b":2},"End":true}}}]}}}"#;
        assert_error(
            def,
            Code::SchemaValidationFailed,
            "/States/Fan/Branches/0/States/A/Assign/total.$",
        );
        assert_error(
            def,
            Code::SchemaValidationFailed,
            "/States/Fan/Branches/1/States/B/ItemProcessor/States/C/Choices/0/Assign/done",
        );
        let got = diagnostics(def);
        // Reading outer names, new local names and sibling scopes reusing a name are fine.
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(
            got[0].message.contains("/States/Setup/Assign/total"),
            "{}",
            got[0].message
        );
        // A JSONata inner state: plain keys.
        let jsonata = r#"{"QueryLanguage":"JSONata","StartAt":"S","States":{
            "S":{"Type":"Pass","Assign":{"n":1},"Next":"M"},
            "M":{"Type":"Map","Items":"{% [1] %}","End":true,"ItemProcessor":{"StartAt":"I","States":{
                "I":{"Type":"Pass","Assign":{"n":"{% $n + 1 %}"},"End":true}}}}}}"#;
        assert_error(
            jsonata,
            Code::SchemaValidationFailed,
            "/States/M/ItemProcessor/States/I/Assign/n",
        );
        assert_valid(&jsonata.replace(r#"{"n":"{% $n + 1 %}"}"#, r#"{"m":"{% $n + 1 %}"}"#));
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
