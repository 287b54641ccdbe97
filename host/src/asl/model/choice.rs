//! Choice rules, compiled: boolean combinators over comparisons of a `Variable` with a literal
//! or another path, type tests and `StringMatches`. The engine evaluates them.

use serde_json::Value;

use super::StateId;
use super::fields::Payload;
use crate::asl::compare::{parse_timestamp, validate_string_matches_pattern};
use crate::asl::path::JsonPath;
use crate::asl::raw::RawChoiceRule;
use crate::asl::validate::{Code, Diagnostic};

/// A top-level Choice rule: a condition and where it leads.
#[derive(Debug)]
pub struct ChoiceBranch {
    /// The condition.
    pub rule: Rule,
    /// `Next`.
    pub next: StateId,
    /// `Assign`.
    pub assign: Option<Payload>,
    /// JSONata `Output`.
    pub output: Option<Payload>,
}

/// A condition.
#[derive(Debug)]
pub enum Rule {
    /// `And`: all hold.
    And(Vec<Rule>),
    /// `Or`: any holds.
    Or(Vec<Rule>),
    /// `Not`.
    Not(Box<Rule>),
    /// A comparison such as `NumericLessThanPath`.
    Compare {
        /// `Variable`.
        variable: JsonPath,
        /// The type compared.
        kind: CmpKind,
        /// The relation.
        cmp: Cmp,
        /// The other side: a literal or a path.
        operand: Operand,
    },
    /// `StringMatches`.
    Matches {
        /// `Variable`.
        variable: JsonPath,
        /// The pattern with `*` wildcards and `\` escapes.
        pattern: String,
    },
    /// A JSONata `Condition` (must evaluate to a boolean).
    Condition(super::jsonata::JsonataTemplate),
    /// `IsNull`, `IsPresent`, `IsNumeric`, `IsString`, `IsBoolean`, `IsTimestamp`.
    Test {
        /// `Variable`.
        variable: JsonPath,
        /// Which test.
        test: TypeTest,
        /// The expected outcome (`true` or `false`).
        expected: bool,
    },
}

/// The type a comparison operator works on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpKind {
    /// `String*`.
    String,
    /// `Numeric*`.
    Numeric,
    /// `Boolean*`.
    Boolean,
    /// `Timestamp*`.
    Timestamp,
}

/// A relation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    /// `*Equals`.
    Eq,
    /// `*LessThan`.
    Lt,
    /// `*GreaterThan`.
    Gt,
    /// `*LessThanEquals`.
    Le,
    /// `*GreaterThanEquals`.
    Ge,
}

/// The right-hand side of a comparison.
#[derive(Debug)]
pub enum Operand {
    /// A literal of the operator's type.
    Literal(Value),
    /// A `*Path` operator's path.
    Path(JsonPath),
}

/// A type test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeTest {
    /// `IsNull`.
    Null,
    /// `IsPresent`.
    Present,
    /// `IsNumeric`.
    Numeric,
    /// `IsString`.
    String,
    /// `IsBoolean`.
    Boolean,
    /// `IsTimestamp`.
    Timestamp,
}

/// What an operator name means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    /// A comparison, `path` when it is the `*Path` form.
    Compare {
        /// Type.
        kind: CmpKind,
        /// Relation.
        cmp: Cmp,
        /// `*Path` form.
        path: bool,
    },
    /// `StringMatches`.
    Matches,
    /// `Is*`.
    Test(TypeTest),
}

/// Looks up a comparison operator by its ASL name.
pub fn operator(name: &str) -> Option<Operator> {
    let tests = [
        ("IsNull", TypeTest::Null),
        ("IsPresent", TypeTest::Present),
        ("IsNumeric", TypeTest::Numeric),
        ("IsString", TypeTest::String),
        ("IsBoolean", TypeTest::Boolean),
        ("IsTimestamp", TypeTest::Timestamp),
    ];
    if let Some((_, t)) = tests.iter().find(|(n, _)| *n == name) {
        return Some(Operator::Test(*t));
    }
    if name == "StringMatches" {
        return Some(Operator::Matches);
    }
    let (name, path) = match name.strip_suffix("Path") {
        Some(rest) => (rest, true),
        None => (name, false),
    };
    let (kind, rest) = [
        ("String", CmpKind::String),
        ("Numeric", CmpKind::Numeric),
        ("Boolean", CmpKind::Boolean),
        ("Timestamp", CmpKind::Timestamp),
    ]
    .into_iter()
    .find_map(|(prefix, kind)| name.strip_prefix(prefix).map(|rest| (kind, rest)))?;
    let cmp = match rest {
        "Equals" => Cmp::Eq,
        "LessThan" => Cmp::Lt,
        "GreaterThan" => Cmp::Gt,
        "LessThanEquals" => Cmp::Le,
        "GreaterThanEquals" => Cmp::Ge,
        _ => return None,
    };
    if kind == CmpKind::Boolean && cmp != Cmp::Eq {
        return None;
    }
    Some(Operator::Compare { kind, cmp, path })
}

/// Compiles one rule (top-level when `top_level`), reporting problems at `location`.
pub(super) fn compile_rule(
    raw: &RawChoiceRule,
    location: &str,
    top_level: bool,
    out: &mut Vec<Diagnostic>,
) -> Option<Rule> {
    let err = |out: &mut Vec<Diagnostic>, at: String, msg: String| {
        out.push(Diagnostic::error(Code::InvalidChoiceRule, at, msg));
    };
    if !top_level && raw.next.is_some() {
        err(
            out,
            format!("{location}/Next"),
            "a nested Choice rule cannot have Next".into(),
        );
    }
    if !top_level && raw.assign.is_some() {
        err(
            out,
            format!("{location}/Assign"),
            "a nested Choice rule cannot have Assign".into(),
        );
    }
    if raw.condition.is_some() {
        err(
            out,
            format!("{location}/Condition"),
            "Condition is only allowed in JSONata states".into(),
        );
    }
    if raw.output.is_some() {
        err(
            out,
            format!("{location}/Output"),
            "Output is only allowed in JSONata states".into(),
        );
    }
    let mut ops: Vec<(&str, &Value, Operator)> = Vec::new();
    for (key, value) in &raw.operators {
        match operator(key) {
            Some(op) => ops.push((key, value, op)),
            None => err(
                out,
                format!("{location}/{key}"),
                format!("unknown field {key:?} in a Choice rule"),
            ),
        }
    }
    let combinators =
        raw.and.is_some() as usize + raw.or.is_some() as usize + raw.not.is_some() as usize;
    if combinators + ops.len() != 1 {
        err(
            out,
            location.to_owned(),
            format!(
                "a Choice rule needs exactly one of And, Or, Not or a comparison operator; found {}",
                combinators + ops.len()
            ),
        );
        return None;
    }
    let nested = |list: &Vec<RawChoiceRule>, name: &str, out: &mut Vec<Diagnostic>| {
        if list.is_empty() {
            out.push(Diagnostic::error(
                Code::InvalidChoiceRule,
                format!("{location}/{name}"),
                format!("{name} needs at least one rule"),
            ));
            return None;
        }
        let rules: Vec<Option<Rule>> = list
            .iter()
            .enumerate()
            .map(|(i, r)| compile_rule(r, &format!("{location}/{name}/{i}"), false, out))
            .collect();
        rules.into_iter().collect::<Option<Vec<Rule>>>()
    };
    if let Some(list) = &raw.and {
        return nested(list, "And", out).map(Rule::And);
    }
    if let Some(list) = &raw.or {
        return nested(list, "Or", out).map(Rule::Or);
    }
    if let Some(inner) = &raw.not {
        return compile_rule(inner, &format!("{location}/Not"), false, out)
            .map(|r| Rule::Not(Box::new(r)));
    }
    if raw.variable.is_some() && combinators > 0 {
        err(
            out,
            format!("{location}/Variable"),
            "Variable is not allowed beside And/Or/Not".into(),
        );
    }
    let (name, value, op) = ops[0];
    let at = format!("{location}/{name}");
    let Some(var_src) = &raw.variable else {
        err(
            out,
            format!("{location}/Variable"),
            format!("{name} needs a Variable"),
        );
        return None;
    };
    let variable = match JsonPath::parse(var_src) {
        Ok(p) => p,
        Err(e) => {
            out.push(Diagnostic::error(
                Code::InvalidJsonPath,
                format!("{location}/Variable"),
                e.to_string(),
            ));
            return None;
        }
    };
    match op {
        Operator::Test(test) => match value {
            Value::Bool(expected) => Some(Rule::Test {
                variable,
                test,
                expected: *expected,
            }),
            _ => {
                err(out, at, format!("{name} must be true or false"));
                None
            }
        },
        Operator::Matches => match value {
            Value::String(pattern) => {
                if let Err(e) = validate_string_matches_pattern(pattern) {
                    err(out, at, e.to_string());
                    return None;
                }
                Some(Rule::Matches {
                    variable,
                    pattern: pattern.clone(),
                })
            }
            _ => {
                err(out, at, format!("{name} must be a string"));
                None
            }
        },
        Operator::Compare {
            kind,
            cmp,
            path: true,
        } => match value.as_str().map(JsonPath::parse) {
            Some(Ok(p)) => Some(Rule::Compare {
                variable,
                kind,
                cmp,
                operand: Operand::Path(p),
            }),
            Some(Err(e)) => {
                out.push(Diagnostic::error(Code::InvalidJsonPath, at, e.to_string()));
                None
            }
            None => {
                err(out, at, format!("{name} must be a path string"));
                None
            }
        },
        Operator::Compare {
            kind,
            cmp,
            path: false,
        } => {
            let ok = match kind {
                CmpKind::String => value.is_string(),
                CmpKind::Numeric => value.is_number(),
                CmpKind::Boolean => value.is_boolean(),
                CmpKind::Timestamp => value.as_str().and_then(parse_timestamp).is_some(),
            };
            if !ok {
                let want = match kind {
                    CmpKind::String => "a string",
                    CmpKind::Numeric => "a number",
                    CmpKind::Boolean => "true or false",
                    CmpKind::Timestamp => "an RFC 3339 timestamp string",
                };
                err(out, at, format!("{name} must be {want}"));
                return None;
            }
            Some(Rule::Compare {
                variable,
                kind,
                cmp,
                operand: Operand::Literal(value.clone()),
            })
        }
    }
}

/// Whether a rule's paths read the context object.
pub(super) fn rule_reads_context(rule: &Rule) -> bool {
    use crate::asl::path::PathRoot;
    let ctx = |p: &JsonPath| *p.root() == PathRoot::Context;
    match rule {
        Rule::And(rules) | Rule::Or(rules) => rules.iter().any(rule_reads_context),
        Rule::Not(rule) => rule_reads_context(rule),
        Rule::Compare {
            variable, operand, ..
        } => ctx(variable) || matches!(operand, Operand::Path(p) if ctx(p)),
        Rule::Matches { variable, .. } | Rule::Test { variable, .. } => ctx(variable),
        Rule::Condition(_) => false,
    }
}
