//! Higher-order functions: `$map`, `$filter`, `$single`, `$reduce`, `$sift`, `$each`, `$sort`.

use super::{Call, arg, is_array_of_numbers, is_array_of_strings, truthy};
use crate::Error;
use crate::value::{Map, Value};

type R<'a> = Result<Value<'a>, Error>;

pub(super) fn map<'a>(call: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let arr = arg(&args, 0);
    if arr.is_undefined() {
        return Ok(arr);
    }
    let f = arg(&args, 1);
    let mut out = Vec::new();
    for (i, item) in arr.members().into_iter().enumerate() {
        let r = call.apply_hof(&f, item, Value::Num(i as f64), arr.clone())?;
        if !r.is_undefined() {
            out.push(r);
        }
    }
    Ok(Value::seq(out))
}

pub(super) fn filter<'a>(call: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let arr = arg(&args, 0);
    if arr.is_undefined() {
        return Ok(arr);
    }
    let f = arg(&args, 1);
    let mut out = Vec::new();
    for (i, item) in arr.members().into_iter().enumerate() {
        if truthy(&call.apply_hof(&f, item.clone(), Value::Num(i as f64), arr.clone())?) {
            out.push(item);
        }
    }
    Ok(Value::seq(out))
}

pub(super) fn single<'a>(call: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let arr = arg(&args, 0);
    if arr.is_undefined() {
        return Ok(arr);
    }
    let f = arg(&args, 1);
    let mut found = None;
    for (i, item) in arr.members().into_iter().enumerate() {
        let pass = f.is_undefined()
            || truthy(&call.apply_hof(&f, item.clone(), Value::Num(i as f64), arr.clone())?);
        if pass {
            if found.is_some() {
                return Err(Error::new("D3138"));
            }
            found = Some(item);
        }
    }
    found.ok_or_else(|| Error::new("D3139"))
}

pub(super) fn reduce<'a>(call: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let arr = arg(&args, 0);
    if arr.is_undefined() {
        return Ok(arr);
    }
    let f = arg(&args, 1);
    let n = crate::eval::arity(&f);
    if n < 2 {
        return Err(Error::new("D3050"));
    }
    let items = arr.members();
    let init = arg(&args, 2);
    let (mut acc, start) = if init.is_undefined() && !items.is_empty() {
        (items[0].clone(), 1)
    } else {
        (init, 0)
    };
    for (i, item) in items.iter().enumerate().skip(start) {
        let mut a = vec![acc, item.clone()];
        if n >= 3 {
            a.push(Value::Num(i as f64));
        }
        if n >= 4 {
            a.push(arr.clone());
        }
        acc = call.apply(&f, a)?;
    }
    Ok(acc)
}

pub(super) fn sift<'a>(call: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let obj = arg(&args, 0);
    if obj.is_undefined() {
        return Ok(obj);
    }
    let f = arg(&args, 1);
    let mut out: Map<'a> = Map::default();
    for (k, v) in obj.entries() {
        if truthy(&call.apply_hof(&f, v.clone(), Value::Str(k.clone()), obj.clone())?) {
            out.insert(k, v);
        }
    }
    Ok(if out.is_empty() {
        Value::Undefined
    } else {
        Value::object(out)
    })
}

pub(super) fn each<'a>(call: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let obj = arg(&args, 0);
    if obj.is_undefined() {
        return Ok(obj);
    }
    let f = arg(&args, 1);
    let mut out = Vec::new();
    for (k, v) in obj.entries() {
        let r = call.apply_hof(&f, v, Value::Str(k), obj.clone())?;
        if !r.is_undefined() {
            out.push(r);
        }
    }
    Ok(Value::seq(out))
}

/// Stable merge sort with a fallible "should a come after b" comparator.
fn merge_sort<'a>(
    items: Vec<Value<'a>>,
    after: &mut dyn FnMut(&Value<'a>, &Value<'a>) -> Result<bool, Error>,
) -> Result<Vec<Value<'a>>, Error> {
    if items.len() <= 1 {
        return Ok(items);
    }
    let mut left = items;
    let right = left.split_off(left.len() / 2);
    let left = merge_sort(left, after)?;
    let right = merge_sort(right, after)?;
    let mut out = Vec::with_capacity(left.len() + right.len());
    let (mut l, mut r) = (left.into_iter().peekable(), right.into_iter().peekable());
    while let (Some(a), Some(b)) = (l.peek(), r.peek()) {
        if after(a, b)? {
            out.push(r.next().expect("peeked"));
        } else {
            out.push(l.next().expect("peeked"));
        }
    }
    out.extend(l);
    out.extend(r);
    Ok(out)
}

pub(super) fn sort<'a>(call: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let arr = arg(&args, 0);
    if arr.is_undefined() || arr.len() <= 1 {
        return Ok(arr);
    }
    let f = arg(&args, 1);
    let items = arr.members();
    let sorted = if f.is_undefined() {
        if !is_array_of_numbers(&arr) && !is_array_of_strings(&arr) {
            return Err(Error::new("D3070"));
        }
        merge_sort(items, &mut |a, b| {
            Ok(match (a, b) {
                (Value::Num(x), Value::Num(y)) => x > y,
                (Value::Str(x), Value::Str(y)) => crate::eval::cmp_utf16(x, y).is_gt(),
                _ => false,
            })
        })?
    } else {
        merge_sort(items, &mut |a, b| {
            Ok(truthy(&call.apply(&f, vec![a.clone(), b.clone()])?))
        })?
    };
    Ok(Value::array(sorted))
}
