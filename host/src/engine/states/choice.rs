//! The Choice state: the first rule that holds picks the next state, else `Default`, else
//! `States.NoChoiceMatched`. Rules compare with AWS's semantics: a type mismatch is no match,
//! strings order like Java's `String.compareTo`, a missing `Variable` is `States.Runtime`
//! (except for `IsPresent`).

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::Value;

use super::super::execution::{Cx, Work};
use super::super::frame::{Attempt, Outcome};
use super::super::pipeline::{self, Env};
use crate::asl::compare::{compare_numbers, compare_strings, parse_timestamp, string_matches};
use crate::asl::error::{ErrorName, StatesError};
use super::super::variables::{checked_assignment, merge};
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
        let state_assign = state_assign.map(|v| checked_assignment(v, cx.vars)).transpose()?;
        let rule_assign = rule_assign.map(|v| checked_assignment(v, cx.vars)).transpose()?;
        Ok((next, output, merge(state_assign, rule_assign)))
    });
    match decided {
        Ok((next, output, assigned)) => {
            cx.assigned = assigned;
            Work::Goto(next, output)
        }
        Err(e) => Work::End(Outcome::failed(e)),
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
    let effective = pipeline::input_path(&state.io.input_path, "InputPath", input, env)?;
    let mut chosen = None;
    for branch in branches {
        if holds(&branch.rule, &effective, env)? {
            chosen = Some(branch);
            break;
        }
    }
    // The state's Assign always applies; a matched rule's Assign wins for shared names.
    let eval = |p: Option<&Payload>| {
        p.map(|p| pipeline::payload(p, &effective, env))
            .transpose()
    };
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
