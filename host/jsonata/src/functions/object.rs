//! Object and general functions: `$keys`, `$lookup`, `$spread`, `$merge`, `$exists`,
//! `$type`, `$boolean`, `$not`, `$error`, `$assert`, `$clone`, `$eval`.

use std::sync::Arc;

use indexmap::IndexMap;

use super::{Call, arg};
use crate::Error;
use crate::value::{Map, Value};

type R<'a> = Result<Value<'a>, Error>;

fn keys_of<'a>(v: &Value<'a>, out: &mut IndexMap<Arc<str>, ()>) {
    if v.is_array() {
        for item in v.members() {
            keys_of(&item, out);
        }
    } else if v.is_object() {
        for (k, _) in v.entries() {
            out.insert(k, ());
        }
    }
}

pub(super) fn keys<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let mut out = IndexMap::default();
    keys_of(&arg(&args, 0), &mut out);
    Ok(Value::seq(out.into_keys().map(Value::Str).collect()))
}

pub(super) fn lookup<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let key = arg(&args, 1);
    Ok(crate::eval::lookup_field(
        &arg(&args, 0),
        key.as_str().unwrap_or(""),
    ))
}

fn spread_into<'a>(v: &Value<'a>, out: &mut Vec<Value<'a>>) {
    if v.is_array() {
        for item in v.members() {
            spread_into(&item, out);
        }
    } else if v.is_object() {
        for (k, val) in v.entries() {
            let mut m: Map<'a> = Map::default();
            m.insert(k, val);
            out.push(Value::object(m));
        }
    } else if !v.is_undefined() {
        out.push(v.clone());
    }
}

pub(super) fn spread<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let v = arg(&args, 0);
    if !v.is_array() && !v.is_object() {
        return Ok(v);
    }
    let mut out = Vec::new();
    spread_into(&v, &mut out);
    Ok(Value::seq(out))
}

pub(super) fn merge<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let v = arg(&args, 0);
    if v.is_undefined() {
        return Ok(v);
    }
    let objects = v.members();
    let size = objects.iter().map(Value::entry_count).sum();
    let mut m: Map<'a> = Map::with_capacity_and_hasher(size, Default::default());
    for obj in objects {
        match &obj {
            // Without array-index keys an owned object's order is its property order: share
            // its keys instead of collecting (and possibly sorting) its entries.
            Value::Object(o) if !o.keys().any(|k| crate::value::array_index(k).is_some()) => {
                for (k, val) in o.iter() {
                    m.insert(k.clone(), val.clone());
                }
            }
            _ => {
                for (k, val) in obj.entries() {
                    m.insert(k, val);
                }
            }
        }
    }
    Ok(Value::object(m))
}

pub(super) fn exists<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Bool(!arg(&args, 0).is_undefined()))
}

pub(super) fn type_of<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    Ok(arg(&args, 0)
        .type_name()
        .map_or(Value::Undefined, Value::str))
}

pub(super) fn boolean<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    Ok(super::boolean(&arg(&args, 0)).map_or(Value::Undefined, Value::Bool))
}

pub(super) fn not<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    Ok(super::boolean(&arg(&args, 0)).map_or(Value::Undefined, |b| Value::Bool(!b)))
}

pub(super) fn error<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let msg = arg(&args, 0)
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| "$error() function evaluated".into());
    Err(Error::new("D3137").with_message(&msg))
}

pub(super) fn assert<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    if matches!(arg(&args, 0), Value::Bool(true)) {
        return Ok(Value::Undefined);
    }
    let msg = arg(&args, 1)
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| "$assert() statement failed".into());
    Err(Error::new("D3141").with_message(&msg))
}

pub(super) fn clone<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    Ok(arg(&args, 0).deep_clone())
}

pub(super) fn eval<'a>(call: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let Value::Str(src) = arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let expr =
        crate::Expression::parse(&src).map_err(|e| Error::new("D3120").with_value(&e.message))?;
    let focus = match args.get(1) {
        Some(v) if !v.is_undefined() => v.clone(),
        _ => call.input.clone(),
    };
    let input = focus.to_json();
    let out = expr
        .evaluate(input.as_ref(), call.ctx.env)
        .map_err(|e| Error::new("D3121").with_value(&e.message))?;
    Ok(out
        .as_ref()
        .map_or(Value::Undefined, Value::from_owned_json))
}
