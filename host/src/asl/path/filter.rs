//! JSONPath filter expressions (`[?(...)]`): comparisons of `@`/`$` fields against
//! literals or other fields, existence tests, `!`, `&&`, `||` and parentheses.
//! Semantics follow Jayway JsonPath, which AWS uses: a missing field makes every
//! comparison false except `!=`; ordering compares numbers with numbers and strings with
//! strings only.

use std::cmp::Ordering;

use serde_json::Value;

use super::parse::{Cursor, member_name};
use super::{PathError, Step};
use crate::asl::compare::{compare_numbers, compare_strings, json_equal};

/// A compiled filter predicate.
#[derive(Clone, Debug)]
pub(crate) enum Filter {
    Or(Vec<Filter>),
    And(Vec<Filter>),
    Not(Box<Filter>),
    Exists(Operand),
    Compare {
        left: Operand,
        op: Op,
        right: Operand,
    },
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// One side of a comparison.
#[derive(Clone, Debug)]
pub(crate) enum Operand {
    /// `@...`: relative to the node under test.
    Current(Vec<Step>),
    /// `$...`: relative to the root the whole path is evaluated against.
    Root(Vec<Step>),
    Literal(Value),
}

impl Operand {
    fn resolve<'v>(&'v self, current: &'v Value, root: &'v Value) -> Option<&'v Value> {
        let (start, steps) = match self {
            Operand::Current(steps) => (current, steps),
            Operand::Root(steps) => (root, steps),
            Operand::Literal(value) => return Some(value),
        };
        steps.iter().try_fold(start, |node, step| step.get(node))
    }
}

impl Filter {
    /// Does `current` (an array element, or the object under test) satisfy the filter?
    pub(crate) fn matches(&self, current: &Value, root: &Value) -> bool {
        match self {
            Filter::Or(parts) => parts.iter().any(|part| part.matches(current, root)),
            Filter::And(parts) => parts.iter().all(|part| part.matches(current, root)),
            Filter::Not(inner) => !inner.matches(current, root),
            Filter::Exists(operand) => match operand {
                Operand::Literal(value) => !matches!(value, Value::Null | Value::Bool(false)),
                _ => operand.resolve(current, root).is_some(),
            },
            Filter::Compare { left, op, right } => {
                let (Some(a), Some(b)) =
                    (left.resolve(current, root), right.resolve(current, root))
                else {
                    return *op == Op::Ne;
                };
                match op {
                    Op::Eq => json_equal(a, b),
                    Op::Ne => !json_equal(a, b),
                    Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                        let ordering = match (a, b) {
                            (Value::Number(x), Value::Number(y)) => compare_numbers(x, y),
                            (Value::String(x), Value::String(y)) => compare_strings(x, y),
                            _ => return false,
                        };
                        match op {
                            Op::Lt => ordering == Ordering::Less,
                            Op::Le => ordering != Ordering::Greater,
                            Op::Gt => ordering == Ordering::Greater,
                            _ => ordering != Ordering::Less,
                        }
                    }
                }
            }
        }
    }
}

/// Parses the expression between `[?(` and `)]`.
/// Deepest nesting of `(` and `!` in a filter: bounds the parser's recursion, so a
/// hostile path cannot overflow the stack.
const MAX_FILTER_DEPTH: usize = 32;

pub(super) fn parse(cursor: &mut Cursor<'_>) -> Result<Filter, PathError> {
    or(cursor, 0)
}

fn or(cursor: &mut Cursor<'_>, depth: usize) -> Result<Filter, PathError> {
    let mut parts = vec![and(cursor, depth)?];
    loop {
        cursor.skip_spaces();
        if !cursor.eat_str("||") {
            break;
        }
        parts.push(and(cursor, depth)?);
    }
    Ok(if parts.len() == 1 {
        parts.remove(0)
    } else {
        Filter::Or(parts)
    })
}

fn and(cursor: &mut Cursor<'_>, depth: usize) -> Result<Filter, PathError> {
    let mut parts = vec![unary(cursor, depth)?];
    loop {
        cursor.skip_spaces();
        if !cursor.eat_str("&&") {
            break;
        }
        parts.push(unary(cursor, depth)?);
    }
    Ok(if parts.len() == 1 {
        parts.remove(0)
    } else {
        Filter::And(parts)
    })
}

fn unary(cursor: &mut Cursor<'_>, depth: usize) -> Result<Filter, PathError> {
    cursor.skip_spaces();
    if depth > MAX_FILTER_DEPTH {
        return Err(cursor.error(format!(
            "filter nests deeper than {MAX_FILTER_DEPTH} levels"
        )));
    }
    if cursor.peek() == Some(b'!') && cursor.peek_at(1) != Some(b'=') {
        cursor.pos += 1;
        return Ok(Filter::Not(Box::new(unary(cursor, depth + 1)?)));
    }
    if cursor.eat(b'(') {
        let inner = or(cursor, depth + 1)?;
        cursor.skip_spaces();
        cursor.expect(b')', "')'")?;
        return Ok(inner);
    }
    let left = operand(cursor)?;
    cursor.skip_spaces();
    let op = if cursor.eat_str("==") {
        Op::Eq
    } else if cursor.eat_str("!=") {
        Op::Ne
    } else if cursor.eat_str("<=") {
        Op::Le
    } else if cursor.eat_str(">=") {
        Op::Ge
    } else if cursor.eat(b'<') {
        Op::Lt
    } else if cursor.eat(b'>') {
        Op::Gt
    } else {
        return Ok(Filter::Exists(left));
    };
    let right = operand(cursor)?;
    Ok(Filter::Compare { left, op, right })
}

fn operand(cursor: &mut Cursor<'_>) -> Result<Operand, PathError> {
    cursor.skip_spaces();
    match cursor.peek() {
        Some(b'@') => {
            cursor.pos += 1;
            Ok(Operand::Current(steps(cursor)?))
        }
        Some(b'$') => {
            cursor.pos += 1;
            Ok(Operand::Root(steps(cursor)?))
        }
        Some(b'\'' | b'"') => Ok(Operand::Literal(Value::String(cursor.quoted()?))),
        Some(b'-' | b'0'..=b'9') => Ok(Operand::Literal(Value::Number(cursor.number()?))),
        _ if cursor.eat_str("true") => Ok(Operand::Literal(Value::Bool(true))),
        _ if cursor.eat_str("false") => Ok(Operand::Literal(Value::Bool(false))),
        _ if cursor.eat_str("null") => Ok(Operand::Literal(Value::Null)),
        _ => Err(cursor.unexpected("'@', '$' or a literal (number, 'string', true, false, null)")),
    }
}

/// The `.name`, `['name']` and `[0]` steps after `@` or `$` inside a filter.
fn steps(cursor: &mut Cursor<'_>) -> Result<Vec<Step>, PathError> {
    let mut steps = Vec::new();
    loop {
        match cursor.peek() {
            Some(b'.') => {
                cursor.pos += 1;
                steps.push(Step::Name(member_name(cursor)?));
            }
            Some(b'[') => {
                cursor.pos += 1;
                cursor.skip_spaces();
                let step = if matches!(cursor.peek(), Some(b'\'' | b'"')) {
                    Step::Name(cursor.quoted()?.into())
                } else {
                    Step::Index(cursor.integer()?)
                };
                cursor.skip_spaces();
                cursor.expect(b']', "']'")?;
                steps.push(step);
            }
            _ => return Ok(steps),
        }
    }
}
