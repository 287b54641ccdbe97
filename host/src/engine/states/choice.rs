//! The Choice state: the first rule that holds picks the next state, else `Default`, else
//! `States.NoChoiceMatched`. Rules compare with AWS's semantics: a type mismatch is no match,
//! strings order like Java's `String.compareTo`, a missing `Variable` is `States.Runtime`
//! (except for `IsPresent`).

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::Value;

use super::super::execution::{Cx, Work};
use super::super::frame::Attempt;
use super::super::pipeline::{self, Env};
use super::super::variables::{checked_assignment, merge};
use crate::asl::compare::{compare_numbers, compare_strings, parse_timestamp, string_matches};
use crate::asl::error::{ErrorName, StatesError};
use crate::asl::model::{
    ChoiceBranch, Cmp, CmpKind, Operand, Payload, Rule, State, StateId, TypeTest,
};
use crate::asl::path::{JsonPath, Selected};
use crate::asl::scope::select_in;

pub(crate) fn run(
    cx: &mut Cx<'_>,
    state: &State,
    branches: &[ChoiceBranch],
    default: Option<StateId>,
    input: Value,
    attempt: &Attempt,
) -> Work {
    let ctx = cx.context(state, attempt);
    let env = cx.env(&ctx);
    let decided = decide(state, branches, default, &input, env).and_then(|(next, output, a)| {
        let (state_assign, rule_assign) = a;
        let state_assign = state_assign
            .map(|v| checked_assignment(v, cx.vars))
            .transpose()?;
        let rule_assign = rule_assign
            .map(|v| checked_assignment(v, cx.vars))
            .transpose()?;
        Ok((next, output, merge(state_assign, rule_assign)))
    });
    match decided {
        Ok((next, output, assigned)) => {
            cx.assigned = assigned;
            Work::Goto(next, output)
        }
        Err(e) => super::raised(e, attempt),
    }
}

/// The state's and the matched rule's `Assign` objects, evaluated on the effective input.
type Assigns = (Option<Value>, Option<Value>);

fn decide(
    state: &State,
    branches: &[ChoiceBranch],
    default: Option<StateId>,
    input: &Value,
    env: Env<'_>,
) -> Result<(StateId, Value, Assigns), StatesError> {
    let effective = pipeline::state_input_path(&state.io.input_path, input, env)?;
    let mut chosen = None;
    for branch in branches {
        if holds(&branch.rule, &effective, env)? {
            chosen = Some(branch);
            break;
        }
    }
    // The state's Assign always applies; a matched rule's Assign wins for shared names.
    let eval = |p: Option<&Payload>| p.map(|p| pipeline::payload(p, &effective, env)).transpose();
    let assigns = (
        eval(state.assign.as_ref())?,
        eval(chosen.and_then(|b| b.assign.as_ref()))?,
    );
    let Some(next) = chosen.map(|b| b.next).or(default) else {
        return Err(StatesError::new(
            ErrorName::NoChoiceMatched,
            format!(
                "No Choice rule matched and there is no Default in state '{}'",
                state.name
            ),
        ));
    };
    let output = pipeline::output_path(&state.io.output_path, effective.into_owned(), env)?;
    Ok((next, output, assigns))
}

/// Evaluates one rule against `input`.
pub(crate) fn holds<'v>(rule: &Rule, input: &'v Value, env: Env<'v>) -> Result<bool, StatesError> {
    match rule {
        Rule::And(rules) => {
            for r in rules {
                if !holds(r, input, env)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Rule::Or(rules) => {
            for r in rules {
                if holds(r, input, env)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Rule::Not(r) => Ok(!holds(r, input, env)?),
        Rule::Condition(_) => Err(StatesError::new(
            ErrorName::Runtime,
            "a JSONata Condition reached JSONPath evaluation",
        )),
        Rule::Test {
            variable,
            test,
            expected,
        } => {
            let value = lookup(variable, input, env);
            let outcome = match (test, value) {
                (TypeTest::Present, v) => v.is_some(),
                (_, None) => false,
                (TypeTest::Null, Some(v)) => v.is_null(),
                (TypeTest::Numeric, Some(v)) => v.is_number(),
                (TypeTest::String, Some(v)) => v.is_string(),
                (TypeTest::Boolean, Some(v)) => v.is_boolean(),
                (TypeTest::Timestamp, Some(v)) => v.as_str().and_then(parse_timestamp).is_some(),
            };
            Ok(outcome == *expected)
        }
        Rule::Matches { variable, pattern } => {
            let v = require(variable, input, env)?;
            Ok(v.as_str().is_some_and(|s| string_matches(pattern, s)))
        }
        Rule::Compare {
            variable,
            kind,
            cmp,
            operand,
        } => {
            let left = require(variable, input, env)?;
            let right = match operand {
                Operand::Literal(v) => Cow::Borrowed(v),
                Operand::Path(p) => require(p, input, env)?,
            };
            Ok(compare(&left, &right, *kind).is_some_and(|o| cmp_holds(*cmp, o)))
        }
    }
}

fn cmp_holds(cmp: Cmp, o: Ordering) -> bool {
    match cmp {
        Cmp::Eq => o == Ordering::Equal,
        Cmp::Lt => o == Ordering::Less,
        Cmp::Gt => o == Ordering::Greater,
        Cmp::Le => o != Ordering::Greater,
        Cmp::Ge => o != Ordering::Less,
    }
}

/// Orders two values of the operator's type; `None` when either is of another type.
fn compare(a: &Value, b: &Value, kind: CmpKind) -> Option<Ordering> {
    match kind {
        CmpKind::String => Some(compare_strings(a.as_str()?, b.as_str()?)),
        CmpKind::Numeric => match (a, b) {
            (Value::Number(x), Value::Number(y)) => Some(compare_numbers(x, y)),
            _ => None,
        },
        CmpKind::Boolean => match (a, b) {
            (Value::Bool(x), Value::Bool(y)) if x == y => Some(Ordering::Equal),
            (Value::Bool(_), Value::Bool(_)) => Some(Ordering::Less),
            _ => None,
        },
        CmpKind::Timestamp => {
            let x = parse_timestamp(a.as_str()?)?;
            let y = parse_timestamp(b.as_str()?)?;
            Some(x.cmp(&y))
        }
    }
}

/// The value a path selects, if any (an indefinite path gives an array).
fn lookup<'v>(path: &JsonPath, input: &'v Value, env: Env<'v>) -> Option<Cow<'v, Value>> {
    match select_in(path, &env.scope(input)) {
        Selected::Nothing => None,
        Selected::One(v) => Some(Cow::Borrowed(v)),
        Selected::Many(vs) => Some(Cow::Owned(Value::Array(vs.into_iter().cloned().collect()))),
    }
}

fn require<'v>(
    path: &JsonPath,
    input: &'v Value,
    env: Env<'v>,
) -> Result<Cow<'v, Value>, StatesError> {
    lookup(path, input, env).ok_or_else(|| {
        StatesError::new(
            ErrorName::Runtime,
            format!(
                "Invalid path '{}': The choice state's condition path references an invalid value.",
                path.as_str()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use crate::engine::testkit::run;
    use serde_json::{Value, json};

    /// Runs one rule against `input`: Ok(true) when it matched, Ok(false) for Default.
    fn matches(rule: Value, input: Value) -> Result<bool, (String, String)> {
        let mut rule = rule;
        rule["Next"] = json!("Yes");
        let def = json!({"StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [rule], "Default": "No"},
            "Yes": {"Type": "Pass", "Result": true, "End": true},
            "No": {"Type": "Pass", "Result": false, "End": true}}});
        run(&def, input).map(|v| v == json!(true))
    }

    fn check(op: &str, left: Value, right: Value, expected: bool) {
        let input = json!({"l": left, "r": right});
        let literal = matches(json!({"Variable": "$.l", op: right}), input.clone()).unwrap();
        assert_eq!(literal, expected, "{op} {left} {right}");
        let path = matches(
            json!({"Variable": "$.l", format!("{op}Path"): "$.r"}),
            input,
        )
        .unwrap();
        assert_eq!(path, expected, "{op}Path {left} {right}");
    }

    #[test]
    fn string_operators_use_java_order() {
        check("StringEquals", json!("a"), json!("a"), true);
        check("StringEquals", json!("a"), json!("A"), false);
        check("StringLessThan", json!("B"), json!("a"), true);
        check("StringLessThan", json!("ab"), json!("abc"), true);
        check("StringGreaterThan", json!("b"), json!("abc"), true);
        check("StringLessThanEquals", json!("x"), json!("x"), true);
        check("StringGreaterThanEquals", json!(""), json!("a"), false);
        // U+FFFF sorts after U+1F600 in UTF-16 code units (surrogates are 0xD83D...).
        check(
            "StringGreaterThan",
            json!("\u{FFFF}"),
            json!("\u{1F600}"),
            true,
        );
    }

    #[test]
    fn numeric_operators_compare_values_not_spellings() {
        check("NumericEquals", json!(1), json!(1.0), true);
        check("NumericEquals", json!(100), json!(1e2), true);
        check("NumericLessThan", json!(-1.5e3), json!(-1499), true);
        check("NumericGreaterThan", json!(2.5), json!(2.49), true);
        check("NumericLessThanEquals", json!(3), json!(3), true);
        check("NumericGreaterThanEquals", json!(2), json!(3), false);
    }

    #[test]
    fn boolean_and_timestamp_operators() {
        check("BooleanEquals", json!(true), json!(true), true);
        check("BooleanEquals", json!(false), json!(true), false);
        check(
            "TimestampEquals",
            json!("2024-01-01T00:00:00Z"),
            json!("2024-01-01T01:00:00+01:00"),
            true,
        );
        check(
            "TimestampLessThan",
            json!("2024-01-01T00:00:00Z"),
            json!("2024-01-01T00:00:00.001Z"),
            true,
        );
        check(
            "TimestampGreaterThan",
            json!("2025-01-01T00:00:00Z"),
            json!("2024-12-31T23:59:59Z"),
            true,
        );
        check(
            "TimestampLessThanEquals",
            json!("2024-01-01T00:00:00Z"),
            json!("2024-01-01T00:00:00Z"),
            true,
        );
        check(
            "TimestampGreaterThanEquals",
            json!("2023-01-01T00:00:00Z"),
            json!("2024-01-01T00:00:00Z"),
            false,
        );
    }

    #[test]
    fn a_type_mismatch_is_no_match() {
        assert!(
            !matches(
                json!({"Variable": "$.l", "NumericEquals": 1}),
                json!({"l": "1"})
            )
            .unwrap()
        );
        assert!(
            !matches(
                json!({"Variable": "$.l", "StringEquals": "1"}),
                json!({"l": 1})
            )
            .unwrap()
        );
        assert!(
            !matches(
                json!({"Variable": "$.l", "NumericLessThan": 1}),
                json!({"l": null})
            )
            .unwrap()
        );
        assert!(
            !matches(
                json!({"Variable": "$.l", "TimestampEquals": "2024-01-01T00:00:00Z"}),
                json!({"l": "today"})
            )
            .unwrap()
        );
    }

    #[test]
    fn string_matches_with_wildcards_and_escapes() {
        let m = |p: &str, s: &str| {
            matches(
                json!({"Variable": "$.s", "StringMatches": p}),
                json!({"s": s}),
            )
            .unwrap()
        };
        assert!(m("log-*.txt", "log-2024.txt"));
        assert!(!m("log-*.txt", "log-2024.csv"));
        assert!(m("*", ""));
        assert!(m(r"a\*b", "a*b"));
        assert!(!m(r"a\*b", "axb"));
        assert!(m("[x].", "[x]."));
    }

    #[test]
    fn type_tests_true_and_false() {
        let input = json!({"n": null, "z": 0, "s": "", "b": false, "t": "2024-01-01T00:00:00Z"});
        let t = |op: &str, var: &str, want: bool| {
            matches(json!({"Variable": var, op: want}), input.clone()).unwrap()
        };
        assert!(t("IsNull", "$.n", true));
        assert!(t("IsNull", "$.z", false));
        assert!(t("IsNumeric", "$.z", true));
        assert!(t("IsString", "$.s", true));
        assert!(t("IsString", "$.n", false));
        assert!(t("IsBoolean", "$.b", true));
        assert!(t("IsTimestamp", "$.t", true));
        assert!(t("IsTimestamp", "$.s", false));
        assert!(t("IsPresent", "$.n", true));
        assert!(t("IsPresent", "$.missing", false));
    }

    #[test]
    fn and_or_not_nest() {
        let rule = json!({"Not": {"Or": [
            {"Variable": "$.a", "NumericEquals": 1},
            {"And": [{"Variable": "$.b", "IsPresent": true}, {"Not": {"Variable": "$.b", "BooleanEquals": false}}]}]}});
        assert!(matches(rule.clone(), json!({"a": 2})).unwrap());
        assert!(!matches(rule.clone(), json!({"a": 1})).unwrap());
        assert!(!matches(rule.clone(), json!({"a": 2, "b": true})).unwrap());
        assert!(matches(rule, json!({"a": 2, "b": false})).unwrap());
    }

    #[test]
    fn a_missing_variable_is_a_runtime_error() {
        let err =
            matches(json!({"Variable": "$.nope", "NumericEquals": 1}), json!({})).unwrap_err();
        assert_eq!(err.0, "States.Runtime");
    }

    #[test]
    fn no_match_without_default_fails() {
        let def = json!({"StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericEquals": 1, "Next": "D"}]},
            "D": {"Type": "Succeed"}}});
        assert_eq!(run(&def, json!(2)).unwrap_err().0, "States.NoChoiceMatched");
        assert_eq!(run(&def, json!(1)).unwrap(), json!(1));
    }

    #[test]
    fn input_and_output_paths_apply() {
        let def = json!({"StartAt": "C", "States": {
            "C": {"Type": "Choice", "InputPath": "$.x", "OutputPath": "$.y",
                  "Choices": [{"Variable": "$.y", "NumericEquals": 1, "Next": "D"}]},
            "D": {"Type": "Succeed"}}});
        assert_eq!(run(&def, json!({"x": {"y": 1}})).unwrap(), json!(1));
    }
}
