//! Numeric and aggregation functions: `$sum`, `$count`, `$max`, `$min`, `$average`,
//! `$number`, `$floor`, `$ceil`, `$round` (half to even), `$abs`, `$sqrt`, `$power`, `$random`.

use super::{Call, arg};
use crate::Error;
use crate::value::Value;

type R<'a> = Result<Value<'a>, Error>;

fn nums(v: &Value<'_>) -> Vec<f64> {
    v.members().iter().filter_map(Value::as_num).collect()
}

pub(super) fn sum<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let v = arg(&args, 0);
    if v.is_undefined() {
        return Ok(Value::Undefined);
    }
    Ok(Value::Num(nums(&v).iter().sum()))
}

pub(super) fn count<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let v = arg(&args, 0);
    Ok(Value::Num(if v.is_undefined() {
        0.0
    } else {
        v.len() as f64
    }))
}

pub(super) fn max<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let n = nums(&arg(&args, 0));
    Ok(if n.is_empty() {
        Value::Undefined
    } else {
        Value::Num(n.iter().copied().fold(f64::NEG_INFINITY, f64::max))
    })
}

pub(super) fn min<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let n = nums(&arg(&args, 0));
    Ok(if n.is_empty() {
        Value::Undefined
    } else {
        Value::Num(n.iter().copied().fold(f64::INFINITY, f64::min))
    })
}

pub(super) fn average<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let n = nums(&arg(&args, 0));
    Ok(if n.is_empty() {
        Value::Undefined
    } else {
        Value::Num(n.iter().sum::<f64>() / n.len() as f64)
    })
}

/// `$number`'s string forms: decimal JSON numbers and 0x/0o/0b integers.
fn parse_number(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let radix = |p: &str| {
        let digits = &s[2..];
        let r = match p {
            "x" | "X" => 16,
            "o" | "O" => 8,
            _ => 2,
        };
        (!digits.is_empty())
            .then(|| u64::from_str_radix(digits, r).ok().map(|v| v as f64))
            .flatten()
    };
    if b.len() > 2 && b[0] == b'0' && matches!(b[1], b'x' | b'X' | b'o' | b'O' | b'b' | b'B') {
        return radix(&s[1..2]);
    }
    let body = s.strip_prefix('-').unwrap_or(s);
    let mut parts = body.splitn(2, ['e', 'E']);
    let mantissa = parts.next()?;
    let exp = parts.next();
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return None;
    }
    if let Some(e) = exp {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        if !digits(e) {
            return None;
        }
    }
    let v: f64 = s.parse().ok()?;
    v.is_finite().then_some(v)
}

pub(super) fn number<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let v = arg(&args, 0);
    Ok(match &v {
        Value::Undefined => Value::Undefined,
        Value::Num(n) => Value::Num(*n),
        Value::Bool(b) => Value::Num(if *b { 1.0 } else { 0.0 }),
        Value::Str(s) => match parse_number(s) {
            Some(n) => Value::Num(n),
            None => return Err(Error::new("D3030").with_value_of(&v)),
        },
        _ => return Err(Error::new("D3030").with_value_of(&v)),
    })
}

fn unary<'a>(args: &[Value<'a>], f: fn(f64) -> f64) -> R<'a> {
    Ok(match arg(args, 0) {
        Value::Num(n) => Value::Num(f(n)),
        _ => Value::Undefined,
    })
}

pub(super) fn floor<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    unary(&args, f64::floor)
}

pub(super) fn ceil<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    unary(&args, f64::ceil)
}

pub(super) fn abs<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    unary(&args, f64::abs)
}

/// JavaScript's `Math.round` (half up, towards +infinity).
pub(crate) fn js_round(x: f64) -> f64 {
    let f = x.floor();
    if x - f >= 0.5 { f + 1.0 } else { f }
}

/// Shifts the decimal point by `by` places through the decimal text (exact, as jsonata-js).
fn shift(x: f64, by: i32) -> f64 {
    let text = crate::value::js_number(x);
    let (mantissa, exp) = match text.split_once('e') {
        Some((m, e)) => (m.to_string(), e.parse::<i32>().unwrap_or(0)),
        None => (text, 0),
    };
    format!("{mantissa}e{}", exp + by).parse().unwrap_or(x)
}

/// `$round`: half to even, at `precision` decimal places.
pub(crate) fn round_half_even(x: f64, precision: i32) -> f64 {
    let mut v = if precision != 0 {
        shift(x, precision)
    } else {
        x
    };
    let r = js_round(v);
    let diff = r - v;
    v = if diff.abs() == 0.5 && (r % 2.0).abs() == 1.0 {
        r - 1.0
    } else {
        r
    };
    if precision != 0 {
        v = shift(v, -precision);
    }
    if v == 0.0 { 0.0 } else { v }
}

pub(super) fn round<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let Value::Num(x) = arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let p = arg(&args, 1).as_num().unwrap_or(0.0) as i32;
    Ok(Value::Num(round_half_even(x, p)))
}

pub(super) fn sqrt<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    match arg(&args, 0) {
        Value::Num(n) if n < 0.0 => {
            Err(Error::new("D3060").with_value(&crate::value::js_number(n)))
        }
        Value::Num(n) => Ok(Value::Num(n.sqrt())),
        _ => Ok(Value::Undefined),
    }
}

pub(super) fn power<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let Value::Num(b) = arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let e = arg(&args, 1).as_num().unwrap_or(f64::NAN);
    let r = b.powf(e);
    if !r.is_finite() {
        return Err(Error::new("D3061").with_value(&crate::value::js_number(b)));
    }
    Ok(Value::Num(r))
}

pub(super) fn random<'a>(_: &Call<'_, 'a>, _: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Num(rand::random::<f64>()))
}
