//! Object constructors with grouping (`{key: value}` over a sequence, reducing tuple streams)
//! and the order-by operator `^(...)`.

use std::cmp::Ordering;
use std::rc::Rc;
use std::sync::Arc;

use indexmap::IndexMap;

use crate::Error;
use crate::ast::{Kind, Node, Pairs};
use crate::value::{Array, Map, Tuple, Value};

use super::Ctx;
use super::frame::Frame;
pub(crate) use super::ops::cmp_utf16;

/// `fn.append`: concatenates, wrapping non-arrays (the result is a plain array).
pub(crate) fn append<'a>(a: Value<'a>, b: Value<'a>) -> Value<'a> {
    if a.is_undefined() {
        return b;
    }
    if b.is_undefined() {
        return a;
    }
    let mut items = a.members();
    items.extend(b.members());
    Value::array(items)
}

/// Merges a group's tuples into one: every binding becomes the sequence of its values.
fn reduce_tuples<'a>(data: &Value<'a>) -> Tuple<'a> {
    match data {
        Value::Tuple(t) => (**t).clone(),
        v => {
            let tuples: Vec<Rc<Tuple<'a>>> = v
                .members()
                .into_iter()
                .filter_map(|t| match t {
                    Value::Tuple(t) => Some(t),
                    _ => None,
                })
                .collect();
            let Some(first) = tuples.first() else {
                return Tuple::default();
            };
            let mut result = (**first).clone();
            for t in &tuples[1..] {
                result.focus = append(result.focus.clone(), t.focus.clone());
                for (name, value) in &t.vars {
                    let merged = append(
                        result.get(name).cloned().unwrap_or(Value::Undefined),
                        value.clone(),
                    );
                    result.set(name, merged);
                }
            }
            result
        }
    }
}

impl<'a> Ctx<'a> {
    pub(super) fn eval_group(
        &self,
        pairs: &'a Pairs,
        pos: usize,
        input: &Value<'a>,
        env: &Rc<Frame<'a>>,
    ) -> Result<Value<'a>, Box<Error>> {
        let reduce = input.is_tuple_stream();
        if !reduce && !input.is_array() {
            return self.construct_one(pairs, pos, input, env);
        }
        let mut items = if input.is_array() {
            input.members()
        } else {
            vec![input.clone()]
        };
        if items.is_empty() {
            items.push(Value::Undefined);
        }
        let mut groups: IndexMap<Arc<str>, (Value<'a>, usize), rustc_hash::FxBuildHasher> =
            IndexMap::default();
        for item in &items {
            let (context, item_env) = match item {
                Value::Tuple(t) if reduce => (t.focus.clone(), self.frame_from_tuple(env, t)),
                _ => (item.clone(), env.clone()),
            };
            for (index, (key_expr, _)) in pairs.iter().enumerate() {
                let key = self.eval(key_expr, &context, &item_env)?;
                let key = match key {
                    Value::Undefined => continue,
                    Value::Str(s) => s,
                    other => {
                        return Err(Error::at("T1003", pos, None).with_value_of(&other).into());
                    }
                };
                match groups.get_mut(&key) {
                    Some((data, existing)) => {
                        if *existing != index {
                            return Err(Error::at("D1009", pos, None).with_value(&key).into());
                        }
                        *data = append(std::mem::replace(data, Value::Undefined), item.clone());
                    }
                    None => {
                        groups.insert(key, (item.clone(), index));
                    }
                }
            }
        }
        let mut result: Map<'a> = Map::with_capacity_and_hasher(groups.len(), Default::default());
        for (key, (data, index)) in groups {
            let (context, group_env) = if reduce {
                let tuple = reduce_tuples(&data);
                let f = self.frame_from_tuple(env, &tuple);
                (tuple.focus, f)
            } else {
                (data, env.clone())
            };
            let value = self.eval(&pairs[index].1, &context, &group_env)?;
            if !value.is_undefined() {
                result.insert(key, value);
            }
        }
        Ok(Value::object(result))
    }

    /// An object constructor over a single (non-array) input: no grouping needed.
    fn construct_one(
        &self,
        pairs: &'a Pairs,
        pos: usize,
        input: &Value<'a>,
        env: &Rc<Frame<'a>>,
    ) -> Result<Value<'a>, Box<Error>> {
        let mut result: Map<'a> = Map::with_capacity_and_hasher(pairs.len(), Default::default());
        // The commonest form, `{"a": x, "b": y}`: distinct string literal keys need no
        // evaluation or duplicate check, so the values go straight in.
        if pairs.literal_keys {
            for (key_expr, value_expr) in pairs.iter() {
                let Kind::Str(key) = &key_expr.kind else {
                    unreachable!("checked above");
                };
                let value = self.eval(value_expr, input, env)?;
                if !value.is_undefined() {
                    result.insert(key.clone(), value);
                }
            }
            return Ok(Value::object(result));
        }
        let mut key_source: Vec<(Arc<str>, usize)> = Vec::with_capacity(pairs.len());
        for (index, (key_expr, _)) in pairs.iter().enumerate() {
            let key = match self.eval(key_expr, input, env)? {
                Value::Undefined => continue,
                Value::Str(s) => s,
                other => return Err(Error::at("T1003", pos, None).with_value_of(&other).into()),
            };
            if let Some((_, existing)) = key_source.iter().find(|(k, _)| *k == key) {
                if *existing != index {
                    return Err(Error::at("D1009", pos, None).with_value(&key).into());
                }
                continue;
            }
            key_source.push((key, index));
        }
        // All keys first, then the values (jsonata-js's order of evaluation).
        for (key, index) in key_source {
            let value = self.eval(&pairs[index].1, input, env)?;
            if !value.is_undefined() {
                result.insert(key, value);
            }
        }
        Ok(Value::object(result))
    }

    pub(super) fn eval_sort(
        &self,
        node: &'a Node,
        input: &Value<'a>,
        env: &Rc<Frame<'a>>,
    ) -> Result<Value<'a>, Box<Error>> {
        self.sort(node, input, env)
    }

    /// Sorts a sequence (or tuple stream) by the sort step's terms; stable.
    pub(super) fn sort(
        &self,
        node: &'a Node,
        input: &Value<'a>,
        env: &Rc<Frame<'a>>,
    ) -> Result<Value<'a>, Box<Error>> {
        let Kind::Sort(terms) = &node.kind else {
            unreachable!("sort node");
        };
        let is_tuple = input.is_tuple_stream();
        let items = if input.is_array() {
            input.members()
        } else {
            vec![input.clone()]
        };
        if items.len() <= 1 {
            return Ok(input.clone());
        }
        let mut keyed = Vec::with_capacity(items.len());
        for item in items {
            let (context, item_env) = match &item {
                Value::Tuple(t) if is_tuple => (t.focus.clone(), self.frame_from_tuple(env, t)),
                _ => (item.clone(), env.clone()),
            };
            let mut keys = Vec::with_capacity(terms.len());
            for term in terms {
                let k = self.eval(&term.expr, &context, &item_env)?;
                if !matches!(k, Value::Undefined | Value::Str(_) | Value::Num(_)) {
                    return Err(Error::at("T2008", node.pos, None).with_value_of(&k).into());
                }
                keys.push(k);
            }
            keyed.push((keys, item));
        }
        for t in 0..terms.len() {
            let has_str = keyed.iter().any(|(k, _)| k[t].is_string());
            let has_num = keyed.iter().any(|(k, _)| k[t].is_number());
            if has_str && has_num {
                return Err(Error::at("T2007", node.pos, None).into());
            }
        }
        keyed.sort_by(|(a, _), (b, _)| {
            for (t, term) in terms.iter().enumerate() {
                let ord = match (&a[t], &b[t]) {
                    (Value::Undefined, Value::Undefined) => Ordering::Equal,
                    (Value::Undefined, _) => return Ordering::Greater,
                    (_, Value::Undefined) => return Ordering::Less,
                    (Value::Num(x), Value::Num(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
                    (Value::Str(x), Value::Str(y)) => cmp_utf16(x, y),
                    _ => Ordering::Equal,
                };
                let ord = if term.descending { ord.reverse() } else { ord };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            Ordering::Equal
        });
        Ok(Value::Array(Rc::new(Array {
            items: keyed.into_iter().map(|(_, v)| v).collect(),
            seq: true,
            tuple_stream: is_tuple,
            ..Array::default()
        })))
    }
}
