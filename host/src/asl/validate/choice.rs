//! Choice rules: a Choice state has a non-empty `Choices`; every JSONPath rule holds exactly
//! one of `And`/`Or`/`Not` or one comparison operator, with a `Variable` exactly when it is a
//! comparison; `And`/`Or` are non-empty; operands have the operator's type (`*Path` forms a
//! path, `Is*` a boolean, `Timestamp*` an RFC 3339 string, `StringMatches` a valid pattern);
//! `Next` and `Assign` appear only at the top level of a rule, where `Next` is required.
//! A JSONata rule is a `Condition` (required) and nothing of the JSONPath forms; `Condition`
//! and `Output` do not belong in JSONPath rules. (Whether `Next`/`Default` name a state is
//! structural.)

use serde_json::Value;

use super::common::{is_jsonata_expr, state_type, typed_states};
use super::{Code, Diagnostic, MachineCtx, StateCtx, pointer_segment};
use crate::asl::compare::{parse_timestamp, validate_string_matches_pattern};
use crate::asl::model::{CmpKind, Operator, operator};
use crate::asl::path::JsonPath;
use crate::asl::raw::RawChoiceRule;

pub(super) fn check(machines: &[MachineCtx<'_>], out: &mut Vec<Diagnostic>) {
    for s in typed_states(machines) {
        if state_type(&s) == "Choice" {
            choice_state(&s, out);
        }
    }
}

fn choice_state(s: &StateCtx<'_>, out: &mut Vec<Diagnostic>) {
    let Some(rules) = &s.state.choices else {
        out.push(Diagnostic::error(
            Code::SchemaValidationFailed,
            s.at("Choices"),
            "a Choice state needs Choices",
        ));
        return;
    };
    if rules.is_empty() {
        out.push(Diagnostic::error(
            Code::InvalidChoiceRule,
            s.at("Choices"),
            "Choices needs at least one rule",
        ));
    }
    for (i, rule) in rules.iter().enumerate() {
        let at = format!("{}/Choices/{i}", s.location);
        if rule.next.is_none() {
            out.push(Diagnostic::error(
                Code::InvalidChoiceRule,
                format!("{at}/Next"),
                "a top-level Choice rule needs Next",
            ));
        }
        if s.is_jsonata() {
            jsonata_rule(rule, &at, out);
        } else {
            jsonpath_rule(rule, &at, true, out);
        }
    }
}

fn misplaced(out: &mut Vec<Diagnostic>, at: &str, field: &str, why: &str) {
    out.push(Diagnostic::error(
        Code::InvalidChoiceRule,
        format!("{at}/{}", pointer_segment(field)),
        format!("field {field} {why}"),
    ));
}

/// A JSONata rule: `Condition`, `Next`, `Assign`, `Output`, `Comment` and nothing else.
fn jsonata_rule(rule: &RawChoiceRule, at: &str, out: &mut Vec<Diagnostic>) {
    const WHY: &str = "is not allowed in a JSONata Choice rule (use Condition)";
    for (field, present) in [
        ("Variable", rule.variable.is_some()),
        ("And", rule.and.is_some()),
        ("Or", rule.or.is_some()),
        ("Not", rule.not.is_some()),
    ] {
        if present {
            misplaced(out, at, field, WHY);
        }
    }
    for key in rule.operators.keys() {
        misplaced(out, at, key, WHY);
    }
    match &rule.condition {
        None => out.push(Diagnostic::error(
            Code::InvalidChoiceRule,
            format!("{at}/Condition"),
            "a JSONata Choice rule needs a Condition",
        )),
        Some(c) if c.is_boolean() || is_jsonata_expr(c) => {}
        Some(other) => out.push(Diagnostic::error(
            Code::InvalidChoiceRule,
            format!("{at}/Condition"),
            format!(
                "Condition must be true, false or a JSONata expression {{% ... %}}, not {other}"
            ),
        )),
    }
}

/// A JSONPath rule at any depth; `top` for the rules directly in `Choices`.
fn jsonpath_rule(rule: &RawChoiceRule, at: &str, top: bool, out: &mut Vec<Diagnostic>) {
    if rule.condition.is_some() {
        misplaced(
            out,
            at,
            "Condition",
            "is only allowed in a JSONata Choice rule",
        );
    }
    if rule.output.is_some() {
        misplaced(out, at, "Output", "is only allowed in a JSONata state");
    }
    if !top {
        for (field, present) in [
            ("Next", rule.next.is_some()),
            ("Assign", rule.assign.is_some()),
        ] {
            if present {
                out.push(Diagnostic::error(
                    Code::InvalidChoiceRule,
                    format!("{at}/{field}"),
                    format!("{field} is only allowed at the top level of a Choice rule, not inside And/Or/Not"),
                ));
            }
        }
    }
    let mut operators: Vec<(&str, &Value, Operator)> = Vec::new();
    for (key, value) in &rule.operators {
        match operator(key) {
            Some(op) => operators.push((key, value, op)),
            None => out.push(Diagnostic::error(
                Code::InvalidChoiceRule,
                format!("{at}/{}", pointer_segment(key)),
                format!("{key:?} is not a Choice rule field or comparison operator"),
            )),
        }
    }
    let combinators = [
        ("And", rule.and.is_some()),
        ("Or", rule.or.is_some()),
        ("Not", rule.not.is_some()),
    ];
    let mut found: Vec<&str> = combinators
        .iter()
        .filter_map(|(name, present)| present.then_some(*name))
        .collect();
    let has_combinator = !found.is_empty();
    found.extend(operators.iter().map(|(name, _, _)| *name));
    if found.len() != 1 {
        let what = if found.is_empty() {
            "none".to_owned()
        } else {
            found.join(", ")
        };
        out.push(Diagnostic::error(
            Code::InvalidChoiceRule,
            at.to_owned(),
            format!(
                "a Choice rule needs exactly one of And, Or, Not or a comparison operator; found {what}"
            ),
        ));
    }
    for (name, list) in [("And", &rule.and), ("Or", &rule.or)] {
        let Some(list) = list else { continue };
        if list.is_empty() {
            out.push(Diagnostic::error(
                Code::InvalidChoiceRule,
                format!("{at}/{name}"),
                format!("{name} needs at least one rule"),
            ));
        }
        for (i, inner) in list.iter().enumerate() {
            jsonpath_rule(inner, &format!("{at}/{name}/{i}"), false, out);
        }
    }
    if let Some(inner) = &rule.not {
        jsonpath_rule(inner, &format!("{at}/Not"), false, out);
    }
    variable(rule, at, has_combinator, !operators.is_empty(), out);
    for (name, value, op) in operators {
        operand(
            name,
            value,
            op,
            &format!("{at}/{}", pointer_segment(name)),
            out,
        );
    }
}

/// `Variable`: required beside a comparison, not allowed beside And/Or/Not, and a path.
fn variable(
    rule: &RawChoiceRule,
    at: &str,
    has_combinator: bool,
    has_operator: bool,
    out: &mut Vec<Diagnostic>,
) {
    let here = format!("{at}/Variable");
    match &rule.variable {
        None if has_operator => out.push(Diagnostic::error(
            Code::InvalidChoiceRule,
            here,
            "a comparison needs a Variable",
        )),
        None => {}
        Some(_) if has_combinator && !has_operator => out.push(Diagnostic::error(
            Code::InvalidChoiceRule,
            here,
            "Variable is not allowed beside And, Or or Not",
        )),
        Some(path) => {
            if let Err(e) = JsonPath::parse(path) {
                out.push(Diagnostic::error(
                    Code::InvalidJsonPath,
                    here,
                    e.to_string(),
                ));
            }
        }
    }
}

/// An operator's value has the operator's type.
fn operand(name: &str, value: &Value, op: Operator, at: &str, out: &mut Vec<Diagnostic>) {
    let wrong = |out: &mut Vec<Diagnostic>, want: &str| {
        out.push(Diagnostic::error(
            Code::InvalidChoiceRule,
            at.to_owned(),
            format!("{name} must be {want}, not {value}"),
        ));
    };
    match op {
        Operator::Test(_) if !value.is_boolean() => wrong(out, "true or false"),
        Operator::Test(_) => {}
        Operator::Matches => match value.as_str() {
            None => wrong(out, "a string pattern"),
            Some(pattern) => {
                if let Err(e) = validate_string_matches_pattern(pattern) {
                    out.push(Diagnostic::error(
                        Code::InvalidChoiceRule,
                        at.to_owned(),
                        e.to_string(),
                    ));
                }
            }
        },
        Operator::Compare { path: true, .. } => match value.as_str() {
            None => wrong(out, "a path string"),
            Some(path) => {
                if let Err(e) = JsonPath::parse(path) {
                    out.push(Diagnostic::error(
                        Code::InvalidJsonPath,
                        at.to_owned(),
                        e.to_string(),
                    ));
                }
            }
        },
        Operator::Compare { kind, .. } => {
            let (ok, want) = match kind {
                CmpKind::String => (value.is_string(), "a string"),
                CmpKind::Numeric => (value.is_number(), "a number"),
                CmpKind::Boolean => (value.is_boolean(), "true or false"),
                CmpKind::Timestamp => (
                    value.as_str().and_then(parse_timestamp).is_some(),
                    "an RFC 3339 timestamp string such as 2026-01-01T00:00:00Z",
                ),
            };
            if !ok {
                wrong(out, want);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Code;
    use super::super::common::testing::{
        assert_error, assert_valid, errors, one_jsonata_state, one_state,
    };

    fn choice(rules: &str) -> String {
        one_state(&format!(
            r#"{{"Type":"Choice","Choices":{rules},"Default":"Done"}}"#
        ))
    }

    #[test]
    fn every_operator_family_is_accepted() {
        assert_valid(&choice(
            r#"[{"Variable":"$.a","StringEquals":"x","Next":"Done"},
                {"Variable":"$.a","NumericLessThanEqualsPath":"$.b","Next":"Done"},
                {"Variable":"$.a","BooleanEquals":true,"Next":"Done"},
                {"Variable":"$.a","TimestampGreaterThan":"2024-01-01T00:00:00Z","Next":"Done"},
                {"Variable":"$.a","StringMatches":"a*\\*","Next":"Done"},
                {"Variable":"$$.State.Name","IsPresent":false,"Next":"Done"},
                {"Not":{"Or":[{"Variable":"$.a","IsNull":true},{"And":[{"Variable":"$.b","IsTimestamp":true}]}]},"Next":"Done"}]"#,
        ));
    }

    #[test]
    fn choices_must_be_present_and_non_empty() {
        assert_error(
            &one_state(r#"{"Type":"Choice","Default":"Done"}"#),
            Code::SchemaValidationFailed,
            "/States/S/Choices",
        );
        assert_error(&choice("[]"), Code::InvalidChoiceRule, "/States/S/Choices");
    }

    #[test]
    fn exactly_one_operator_per_rule() {
        let two = choice(
            r#"[{"Variable":"$.x","NumericEquals":1,"NumericGreaterThan":0,"Next":"Done"}]"#,
        );
        assert_error(&two, Code::InvalidChoiceRule, "/States/S/Choices/0");
        let none = choice(r#"[{"Variable":"$.x","Next":"Done"}]"#);
        assert_error(&none, Code::InvalidChoiceRule, "/States/S/Choices/0");
        let mixed = choice(
            r#"[{"Not":{"Variable":"$.x","IsNull":true},"Variable":"$.y","IsNull":true,"Next":"Done"}]"#,
        );
        assert_error(&mixed, Code::InvalidChoiceRule, "/States/S/Choices/0");
    }

    #[test]
    fn unknown_operators_are_reported() {
        let def = choice(r#"[{"Variable":"$.x","StringEqual":"a","Next":"Done"}]"#);
        assert_error(
            &def,
            Code::InvalidChoiceRule,
            "/States/S/Choices/0/StringEqual",
        );
        let boolean_order = choice(r#"[{"Variable":"$.x","BooleanLessThan":true,"Next":"Done"}]"#);
        assert_error(
            &boolean_order,
            Code::InvalidChoiceRule,
            "/States/S/Choices/0/BooleanLessThan",
        );
    }

    #[test]
    fn and_or_must_be_non_empty_and_nested_rules_are_checked() {
        let def = choice(
            r#"[{"And":[],"Next":"Done"},{"Or":[{"Variable":"$.x","IsNull":"yes"}],"Next":"Done"}]"#,
        );
        assert_error(&def, Code::InvalidChoiceRule, "/States/S/Choices/0/And");
        assert_error(
            &def,
            Code::InvalidChoiceRule,
            "/States/S/Choices/1/Or/0/IsNull",
        );
    }

    #[test]
    fn next_and_assign_only_at_the_top_level() {
        let def = choice(
            r#"[{"And":[{"Variable":"$.x","IsPresent":true,"Next":"Done","Assign":{}}],"Next":"Done"},
                {"Variable":"$.x","IsPresent":true}]"#,
        );
        assert_error(
            &def,
            Code::InvalidChoiceRule,
            "/States/S/Choices/0/And/0/Next",
        );
        assert_error(
            &def,
            Code::InvalidChoiceRule,
            "/States/S/Choices/0/And/0/Assign",
        );
        assert_error(&def, Code::InvalidChoiceRule, "/States/S/Choices/1/Next");
    }

    #[test]
    fn variable_rules() {
        let def = choice(
            r#"[{"NumericEquals":1,"Next":"Done"},
                {"Variable":"$.x","Not":{"Variable":"$.y","IsNull":true},"Next":"Done"},
                {"Variable":"$.x[","IsNull":true,"Next":"Done"}]"#,
        );
        assert_error(
            &def,
            Code::InvalidChoiceRule,
            "/States/S/Choices/0/Variable",
        );
        assert_error(
            &def,
            Code::InvalidChoiceRule,
            "/States/S/Choices/1/Variable",
        );
        assert_error(&def, Code::InvalidJsonPath, "/States/S/Choices/2/Variable");
    }

    #[test]
    fn operand_types() {
        let def = choice(
            r#"[{"Variable":"$.x","StringEquals":1,"Next":"Done"},
                {"Variable":"$.x","NumericEquals":"1","Next":"Done"},
                {"Variable":"$.x","BooleanEquals":"true","Next":"Done"},
                {"Variable":"$.x","TimestampEquals":"2024-01-01","Next":"Done"},
                {"Variable":"$.x","StringEqualsPath":"x.y","Next":"Done"},
                {"Variable":"$.x","StringMatches":"a\\b","Next":"Done"},
                {"Variable":"$.x","IsString":1,"Next":"Done"}]"#,
        );
        let got = errors(&def);
        for (i, field, code) in [
            (0, "StringEquals", Code::InvalidChoiceRule),
            (1, "NumericEquals", Code::InvalidChoiceRule),
            (2, "BooleanEquals", Code::InvalidChoiceRule),
            (3, "TimestampEquals", Code::InvalidChoiceRule),
            (4, "StringEqualsPath", Code::InvalidJsonPath),
            (5, "StringMatches", Code::InvalidChoiceRule),
            (6, "IsString", Code::InvalidChoiceRule),
        ] {
            let at = format!("/States/S/Choices/{i}/{field}");
            assert!(got.contains(&(code, at.clone())), "{at} in {got:?}");
        }
    }

    #[test]
    fn condition_belongs_to_jsonata() {
        let def = choice(r#"[{"Condition":"{% true %}","Next":"Done"}]"#);
        assert_error(
            &def,
            Code::InvalidChoiceRule,
            "/States/S/Choices/0/Condition",
        );
        assert_error(&def, Code::InvalidChoiceRule, "/States/S/Choices/0");
        let output = choice(r#"[{"Variable":"$.x","IsNull":true,"Next":"Done","Output":{}}]"#);
        assert_error(
            &output,
            Code::InvalidChoiceRule,
            "/States/S/Choices/0/Output",
        );
    }

    #[test]
    fn jsonata_rules() {
        assert_valid(&one_jsonata_state(
            r#"{"Type":"Choice","Choices":[{"Condition":"{% $states.input.x > 1 %}","Next":"Done","Assign":{"a":1},"Output":{}},
                {"Condition":true,"Next":"Done"}],"Default":"Done"}"#,
        ));
        let def = one_jsonata_state(
            r#"{"Type":"Choice","Choices":[{"Variable":"$.x","IsNull":true,"Next":"Done"},{"Condition":"x > 1","Next":"Done"}]}"#,
        );
        assert_error(
            &def,
            Code::InvalidChoiceRule,
            "/States/S/Choices/0/Variable",
        );
        assert_error(&def, Code::InvalidChoiceRule, "/States/S/Choices/0/IsNull");
        assert_error(
            &def,
            Code::InvalidChoiceRule,
            "/States/S/Choices/0/Condition",
        );
        assert_error(
            &def,
            Code::InvalidChoiceRule,
            "/States/S/Choices/1/Condition",
        );
    }
}
