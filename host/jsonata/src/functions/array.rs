//! Array functions: `$append`, `$reverse`, `$shuffle`, `$distinct`, `$zip`.

use rand::seq::SliceRandom;

use super::{Call, arg};
use crate::Error;
use crate::value::{Value, deep_equal};

type R<'a> = Result<Value<'a>, Error>;

pub(super) fn append<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    Ok(crate::eval::append(arg(&args, 0), arg(&args, 1)))
}

pub(super) fn reverse<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let v = arg(&args, 0);
    if v.is_undefined() {
        return Ok(v);
    }
    let mut items = v.members();
    items.reverse();
    Ok(Value::array(items))
}

pub(super) fn shuffle<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let v = arg(&args, 0);
    if v.is_undefined() {
        return Ok(v);
    }
    let mut items = v.members();
    items.shuffle(&mut rand::rng());
    Ok(Value::array(items))
}

pub(super) fn distinct<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let v = arg(&args, 0);
    if !v.is_array() || v.len() <= 1 {
        return Ok(v);
    }
    let mut out: Vec<Value<'a>> = Vec::new();
    for item in v.members() {
        if !out.iter().any(|o| deep_equal(o, &item)) {
            out.push(item);
        }
    }
    Ok(if v.is_seq() {
        Value::seq(out)
    } else {
        Value::array(out)
    })
}

pub(super) fn zip<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let arrays: Vec<Vec<Value<'a>>> = args.iter().map(Value::members).collect();
    let len = arrays.iter().map(Vec::len).min().unwrap_or(0);
    Ok(Value::array(
        (0..len)
            .map(|i| Value::array(arrays.iter().map(|a| a[i].clone()).collect()))
            .collect(),
    ))
}
