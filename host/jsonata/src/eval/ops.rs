//! Operators: arithmetic, comparison, equality, boolean, string concatenation, ranges,
//! membership and negation, with jsonata-js's type rules and error codes.

use std::rc::Rc;

use crate::Error;
use crate::ast::{BinOp, Node};
use crate::functions::{string_of, truthy};
use crate::value::{Value, deep_equal};

use super::Ctx;
use super::frame::Frame;

/// The largest range `[a..b]` may allocate (JSONata's own limit).
const MAX_RANGE: f64 = 10_000_000.0;

/// A number that may take part in arithmetic (`isNumeric`); infinities are D1001.
fn numeric(v: &Value<'_>) -> Result<Option<f64>, Error> {
    match v {
        Value::Num(n) if n.is_nan() => Ok(None),
        Value::Num(n) if !n.is_finite() => Err(Error::new("D1001").with_value_of(v)),
        Value::Num(n) => Ok(Some(*n)),
        _ => Ok(None),
    }
}

impl<'a> Ctx<'a> {
    pub(super) fn eval_binary(
        &self,
        op: BinOp,
        lhs: &'a Node,
        rhs: &'a Node,
        pos: usize,
        input: &Value<'a>,
        env: &Rc<Frame<'a>>,
    ) -> Result<Value<'a>, Box<Error>> {
        let l = self.eval(lhs, input, env)?;
        let locate = |e: Box<Error>| e.locate_boxed(pos, Some(op.symbol()));
        match op {
            BinOp::And => {
                return Ok(Value::Bool(
                    truthy(&l) && truthy(&self.eval(rhs, input, env)?),
                ));
            }
            BinOp::Or => {
                return Ok(Value::Bool(
                    truthy(&l) || truthy(&self.eval(rhs, input, env)?),
                ));
            }
            _ => {}
        }
        let r = self.eval(rhs, input, env)?;
        match op {
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => {
                arithmetic(op, &l, &r).map_err(locate)
            }
            BinOp::Eq | BinOp::Ne => {
                if l.is_undefined() || r.is_undefined() {
                    return Ok(Value::Bool(false));
                }
                let eq = deep_equal(&l, &r);
                Ok(Value::Bool(if op == BinOp::Eq { eq } else { !eq }))
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => compare(op, &l, &r).map_err(locate),
            BinOp::Concat => {
                let ls = if l.is_undefined() {
                    String::new()
                } else {
                    string_of(&l).map_err(|e| locate(Box::new(e)))?
                };
                let rs = if r.is_undefined() {
                    String::new()
                } else {
                    string_of(&r).map_err(|e| locate(Box::new(e)))?
                };
                crate::functions::check_len(ls.len() + rs.len())
                    .map_err(|e| locate(Box::new(e)))?;
                Ok(Value::str(&(ls + &rs)))
            }
            BinOp::Range => range(&l, &r).map_err(locate),
            BinOp::In => {
                if l.is_undefined() || r.is_undefined() {
                    return Ok(Value::Bool(false));
                }
                let items = if r.is_array() { r.members() } else { vec![r] };
                Ok(Value::Bool(items.iter().any(|v| strict_equal(v, &l))))
            }
            BinOp::And | BinOp::Or => unreachable!("handled above"),
        }
    }

    pub(super) fn eval_negate(
        &self,
        e: &'a Node,
        pos: usize,
        input: &Value<'a>,
        env: &Rc<Frame<'a>>,
    ) -> Result<Value<'a>, Box<Error>> {
        let v = self.eval(e, input, env)?;
        match v {
            Value::Undefined => Ok(Value::Undefined),
            Value::Num(n) => {
                numeric(&v)?;
                Ok(Value::Num(-n))
            }
            v => Err(Error::new("D1002")
                .with_value_of(&v)
                .locate(pos, Some("-"))
                .into()),
        }
    }
}

/// JavaScript `===` (arrays and objects by identity).
fn strict_equal<'a>(a: &Value<'a>, b: &Value<'a>) -> bool {
    match (a, b) {
        (Value::Num(x), Value::Num(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Null, Value::Null) => true,
        (Value::Json(x), Value::Json(y)) => std::ptr::eq(*x, *y),
        (Value::Array(x), Value::Array(y)) => Rc::ptr_eq(x, y),
        (Value::Object(x), Value::Object(y)) => Rc::ptr_eq(x, y),
        (Value::Func(x), Value::Func(y)) => Rc::ptr_eq(x, y),
        _ => false,
    }
}

fn arithmetic<'a>(op: BinOp, l: &Value<'a>, r: &Value<'a>) -> Result<Value<'a>, Box<Error>> {
    let ln = numeric(l)?;
    if !l.is_undefined() && ln.is_none() {
        return Err(Error::new("T2001").with_value_of(l).into());
    }
    let rn = numeric(r)?;
    if !r.is_undefined() && rn.is_none() {
        return Err(Error::new("T2002").with_value_of(r).into());
    }
    let (Some(a), Some(b)) = (ln, rn) else {
        return Ok(Value::Undefined);
    };
    Ok(Value::Num(match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        BinOp::Div => a / b,
        _ => a % b,
    }))
}

fn compare<'a>(op: BinOp, l: &Value<'a>, r: &Value<'a>) -> Result<Value<'a>, Box<Error>> {
    let comparable = |v: &Value<'_>| matches!(v, Value::Undefined | Value::Str(_) | Value::Num(_));
    if !comparable(l) || !comparable(r) {
        let bad = if comparable(l) { r } else { l };
        return Err(Error::new("T2010").with_value_of(bad).into());
    }
    if l.is_undefined() || r.is_undefined() {
        return Ok(Value::Undefined);
    }
    let ord = match (l, r) {
        (Value::Num(a), Value::Num(b)) => a.partial_cmp(b),
        (Value::Str(a), Value::Str(b)) => Some(cmp_utf16(a, b)),
        _ => {
            return Err(Error::new("T2009")
                .with_value_of(l)
                .with_value2(&crate::value::stringify(r, false))
                .into());
        }
    };
    let Some(ord) = ord else {
        return Ok(Value::Bool(false));
    };
    use std::cmp::Ordering::*;
    Ok(Value::Bool(match op {
        BinOp::Lt => ord == Less,
        BinOp::Le => ord != Greater,
        BinOp::Gt => ord == Greater,
        _ => ord != Less,
    }))
}

/// Compares strings by UTF-16 code units, as JavaScript does.
pub(crate) fn cmp_utf16(a: &str, b: &str) -> std::cmp::Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

fn range<'a>(l: &Value<'a>, r: &Value<'a>) -> Result<Value<'a>, Box<Error>> {
    let int = |v: &Value<'_>| matches!(v, Value::Num(n) if n.fract() == 0.0 && n.is_finite());
    if !l.is_undefined() && !int(l) {
        return Err(Error::new("T2003").with_value_of(l).into());
    }
    if !r.is_undefined() && !int(r) {
        return Err(Error::new("T2004").with_value_of(r).into());
    }
    let (Value::Num(a), Value::Num(b)) = (l, r) else {
        return Ok(Value::Undefined);
    };
    if a > b {
        return Ok(Value::Undefined);
    }
    let size = b - a + 1.0;
    if size > MAX_RANGE {
        return Err(Error::new("D2014")
            .with_value(&crate::value::js_number(size))
            .into());
    }
    let (a, size) = (*a as i64, size as i64);
    Ok(Value::seq(
        (0..size).map(|i| Value::Num((a + i) as f64)).collect(),
    ))
}
