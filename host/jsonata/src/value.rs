//! The evaluator's value model: JSON values plus JSONata's extras (undefined, sequences,
//! functions, tuples), sharing data by `Rc` and borrowing the caller's `serde_json::Value`s.

use std::cell::Cell;
use std::ops::{Deref, DerefMut};
use std::rc::Rc;
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::Value as Json;

use crate::ast::{LambdaDef, Node};
use crate::eval::frame::Frame;
use crate::functions::Builtin;

/// An object's entries, in insertion order. Keys are short and not attacker-chosen in a
/// way that matters for one evaluation, so a fast non-cryptographic hash is used.
pub(crate) type Map<'a> = IndexMap<Arc<str>, Value<'a>, rustc_hash::FxBuildHasher>;

/// One JSONata value during evaluation.
#[derive(Clone)]
pub(crate) enum Value<'a> {
    /// JSONata's `undefined` (no value).
    Undefined,
    /// JSON `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A number (JavaScript double).
    Num(f64),
    /// A string.
    Str(Arc<str>),
    /// An array or object borrowed from the caller's input or bindings.
    Json(&'a Json),
    /// An owned array or sequence.
    Array(Rc<Array<'a>>),
    /// An owned object.
    Object(Rc<Obj<'a>>),
    /// A function (lambda, built-in, partial application, regex, ...).
    Func(Rc<Func<'a>>),
    /// One tuple of a tuple stream (the focus `@` plus variable bindings).
    Tuple(Rc<Tuple<'a>>),
}

/// An array with JSONata's sequence flags.
#[derive(Clone, Default)]
pub(crate) struct Array<'a> {
    pub items: Vec<Value<'a>>,
    /// A sequence (result of a path step), as opposed to an array value.
    pub seq: bool,
    /// Keep a one-item sequence as an array (the `[]` suffix).
    pub keep_singleton: Cell<bool>,
    /// Built by an array constructor: never flattened by a path step.
    pub cons: bool,
    /// The evaluation input, wrapped so that `$` still sees the whole array.
    pub outer: bool,
    /// A stream of tuples (focus and index bindings).
    pub tuple_stream: bool,
    /// How deep it nests, once known (see [`Value::depth`]).
    pub depth: DepthCache,
}

/// How deep a value nests and how many items it holds (see [`Value::shape`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Shape {
    /// Levels of arrays, objects and functions.
    pub depth: u32,
    /// Items (scalars, containers, functions) it holds written out as a tree: what
    /// converting, printing or comparing it walks, however much of it is shared.
    pub weight: u64,
}

/// A container's shape, computed at most once. Whoever mutates a container in place
/// resets it.
#[derive(Clone, Default)]
pub(crate) struct DepthCache(Cell<Option<Shape>>);

impl DepthCache {
    fn get_or(&self, compute: impl FnOnce() -> Shape) -> Shape {
        match self.0.get() {
            Some(s) => s,
            None => {
                let s = compute();
                self.0.set(Some(s));
                s
            }
        }
    }

    /// Forgets the shape (the container is being changed).
    pub fn reset(&self) {
        self.0.set(None);
    }
}

/// An owned object: its entries plus its cached depth. Reads go through `Deref`; a mutable
/// borrow forgets the depth.
#[derive(Clone, Default)]
pub(crate) struct Obj<'a> {
    map: Map<'a>,
    depth: DepthCache,
}

impl<'a> Deref for Obj<'a> {
    type Target = Map<'a>;
    fn deref(&self) -> &Map<'a> {
        &self.map
    }
}

impl<'a> DerefMut for Obj<'a> {
    fn deref_mut(&mut self) -> &mut Map<'a> {
        self.depth.reset();
        &mut self.map
    }
}

impl<'a> From<Map<'a>> for Obj<'a> {
    fn from(map: Map<'a>) -> Self {
        Obj {
            map,
            depth: DepthCache::default(),
        }
    }
}

impl<'a> FromIterator<(Arc<str>, Value<'a>)> for Obj<'a> {
    fn from_iter<I: IntoIterator<Item = (Arc<str>, Value<'a>)>>(iter: I) -> Self {
        Obj::from(iter.into_iter().collect::<Map<'a>>())
    }
}

/// The bindings carried along a tuple stream: `@` plus focus, index and ancestor variables.
#[derive(Clone)]
pub(crate) struct Tuple<'a> {
    pub focus: Value<'a>,
    pub vars: Vec<(&'a str, Value<'a>)>,
}

impl Default for Tuple<'_> {
    fn default() -> Self {
        Tuple {
            focus: Value::Undefined,
            vars: Vec::new(),
        }
    }
}

impl<'a> Tuple<'a> {
    pub fn set(&mut self, name: &'a str, value: Value<'a>) {
        if let Some(slot) = self.vars.iter_mut().find(|(n, _)| *n == name) {
            slot.1 = value;
        } else {
            self.vars.push((name, value));
        }
    }
    pub fn get(&self, name: &str) -> Option<&Value<'a>> {
        self.vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

/// Callable values.
pub(crate) enum Func<'a> {
    /// A user lambda (closure over its defining frame).
    Lambda {
        def: &'a LambdaDef,
        input: Value<'a>,
        env: Rc<Frame<'a>>,
        /// A tail call waiting to be made by the trampoline (body is a function call).
        thunk: bool,
    },
    /// A standard library function.
    Builtin(&'static Builtin),
    /// A partial application: `None` marks a `?` placeholder.
    Partial {
        target: Value<'a>,
        args: Vec<Option<Value<'a>>>,
        /// Its depth (see [`Value::depth`]), computed when it is made.
        depth: u32,
    },
    /// A compiled regex literal; calling it matches from a position.
    Regex(Arc<fancy_regex::Regex>),
    /// A transform `| pattern | update, delete |`.
    Transform { node: &'a Node, env: Rc<Frame<'a>> },
    /// `f ~> g` where both are functions: `$g($f(x))`; then its depth (see
    /// [`Value::depth`]), computed when it is made.
    Chain(Value<'a>, Value<'a>, u32),
    /// The `next` function of a regex match result.
    MatchNext {
        regex: Arc<fancy_regex::Regex>,
        text: Arc<str>,
        from: usize,
    },
}

impl<'a> Value<'a> {
    pub fn str(s: &str) -> Self {
        Value::Str(Arc::from(s))
    }

    /// Wraps a borrowed JSON value: scalars are copied, containers borrowed.
    pub fn from_json(j: &'a Json) -> Self {
        match j {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Num(n.as_f64().unwrap_or(f64::NAN)),
            Json::String(s) => Value::str(s),
            Json::Array(_) | Json::Object(_) => Value::Json(j),
        }
    }

    /// Converts an owned JSON value (deep copy into shared values).
    pub fn from_owned_json<'b>(j: &Json) -> Value<'b> {
        match j {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Num(n.as_f64().unwrap_or(f64::NAN)),
            Json::String(s) => Value::str(s),
            Json::Array(a) => Value::array(a.iter().map(Value::from_owned_json).collect()),
            Json::Object(o) => Value::Object(Rc::new(
                o.iter()
                    .map(|(k, v)| (Arc::from(k.as_str()), Value::from_owned_json(v)))
                    .collect(),
            )),
        }
    }

    pub fn array(items: Vec<Value<'a>>) -> Self {
        Value::Array(Rc::new(Array {
            items,
            ..Array::default()
        }))
    }

    pub fn seq(items: Vec<Value<'a>>) -> Self {
        Value::Array(Rc::new(Array {
            items,
            seq: true,
            ..Array::default()
        }))
    }

    pub fn with_flags(items: Vec<Value<'a>>, flags: &Array<'a>) -> Self {
        Value::Array(Rc::new(Array {
            items,
            seq: flags.seq,
            keep_singleton: Cell::new(flags.keep_singleton.get()),
            cons: flags.cons,
            outer: flags.outer,
            tuple_stream: flags.tuple_stream,
            depth: DepthCache::default(),
        }))
    }

    pub fn func(f: Func<'a>) -> Self {
        Value::Func(Rc::new(f))
    }

    pub fn object(map: Map<'a>) -> Self {
        Value::Object(Rc::new(Obj::from(map)))
    }

    /// How deep the value nests: 0 for a scalar, 1 + the deepest member for an array or
    /// object, and the same for what a function holds (its input, bound arguments, composed
    /// functions). JSON borrowed from the caller counts as 1: its depth is the caller's to
    /// bound.
    pub fn depth(&self) -> u32 {
        self.shape().depth
    }

    /// Its depth and weight. Computed once per container (borrowed JSON: once per
    /// evaluation), so checking every value the evaluator builds costs O(1) per member.
    pub fn shape(&self) -> Shape {
        let scalar = Shape {
            depth: 0,
            weight: 1,
        };
        let of = |items: &mut dyn Iterator<Item = Shape>| {
            let mut s = Shape {
                depth: 1,
                weight: 1,
            };
            for i in items {
                s.depth = s.depth.max(i.depth.saturating_add(1));
                s.weight = s.weight.saturating_add(i.weight);
            }
            s
        };
        match self {
            Value::Json(j) => Shape {
                depth: 1,
                weight: json_weight(j),
            },
            Value::Array(a) => a.depth.get_or(|| of(&mut a.items.iter().map(Value::shape))),
            Value::Object(o) => o.depth.get_or(|| of(&mut o.values().map(Value::shape))),
            Value::Func(f) => Shape {
                depth: match &**f {
                    Func::Lambda { input, .. } => 1 + input.depth(),
                    Func::Partial { depth, .. } | Func::Chain(_, _, depth) => *depth,
                    _ => 1,
                },
                // Written out (or compared) as a whole, a function is one item.
                weight: 1,
            },
            Value::Tuple(t) => of(&mut t
                .vars
                .iter()
                .map(|(_, v)| v.shape())
                .chain([t.focus.shape()])),
            Value::Undefined | Value::Null | Value::Bool(_) | Value::Num(_) | Value::Str(_) => {
                scalar
            }
        }
    }

    pub fn is_undefined(&self) -> bool {
        matches!(self, Value::Undefined)
    }
    pub fn is_array(&self) -> bool {
        matches!(self, Value::Array(_) | Value::Json(Json::Array(_)))
    }
    pub fn is_object(&self) -> bool {
        matches!(self, Value::Object(_) | Value::Json(Json::Object(_)))
    }
    pub fn is_function(&self) -> bool {
        matches!(self, Value::Func(_))
    }
    pub fn is_string(&self) -> bool {
        matches!(self, Value::Str(_))
    }
    pub fn is_number(&self) -> bool {
        matches!(self, Value::Num(_))
    }
    /// A sequence (as opposed to an array value).
    pub fn is_seq(&self) -> bool {
        matches!(self, Value::Array(a) if a.seq)
    }
    pub fn is_tuple_stream(&self) -> bool {
        matches!(self, Value::Array(a) if a.tuple_stream)
    }
    pub fn is_cons(&self) -> bool {
        matches!(self, Value::Array(a) if a.cons)
    }
    pub fn as_num(&self) -> Option<f64> {
        match self {
            Value::Num(n) => Some(*n),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Array length (0 for non-arrays).
    pub fn len(&self) -> usize {
        match self {
            Value::Array(a) => a.items.len(),
            Value::Json(Json::Array(a)) => a.len(),
            _ => 0,
        }
    }

    /// How many entries an object has (0 for anything else).
    pub fn entry_count(&self) -> usize {
        match self {
            Value::Object(o) => o.len(),
            Value::Json(Json::Object(o)) => o.len(),
            _ => 0,
        }
    }

    /// The items of an array (shallow copy); a non-array yields itself alone, undefined nothing.
    pub fn members(&self) -> Vec<Value<'a>> {
        match self {
            Value::Array(a) => a.items.clone(),
            Value::Json(Json::Array(a)) => a.iter().map(Value::from_json).collect(),
            Value::Undefined => Vec::new(),
            v => vec![v.clone()],
        }
    }

    /// Item `i` of an array.
    pub fn item(&self, i: usize) -> Value<'a> {
        match self {
            Value::Array(a) => a.items.get(i).cloned().unwrap_or(Value::Undefined),
            Value::Json(Json::Array(a)) => {
                a.get(i).map(Value::from_json).unwrap_or(Value::Undefined)
            }
            _ => Value::Undefined,
        }
    }

    /// Field lookup on an object (undefined otherwise).
    pub fn field(&self, key: &str) -> Value<'a> {
        match self {
            Value::Object(o) => o.get(key).cloned().unwrap_or(Value::Undefined),
            Value::Json(Json::Object(o)) => {
                o.get(key).map(Value::from_json).unwrap_or(Value::Undefined)
            }
            _ => Value::Undefined,
        }
    }

    /// An object's entries in order (empty for non-objects).
    /// Keys come in JavaScript's property order: array-index keys ("0", "17") first in
    /// numeric order, then the others in insertion order.
    pub fn entries(&self) -> Vec<(Arc<str>, Value<'a>)> {
        let mut out: Vec<(Arc<str>, Value<'a>)> = match self {
            Value::Object(o) => o.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Value::Json(Json::Object(o)) => o
                .iter()
                .map(|(k, v)| (Arc::from(k.as_str()), Value::from_json(v)))
                .collect(),
            _ => Vec::new(),
        };
        if out.iter().any(|(k, _)| array_index(k).is_some()) {
            // Stable: non-index keys keep their relative order.
            out.sort_by_key(|(k, _)| array_index(k).map_or(u64::MAX, u64::from));
        }
        out
    }

    /// JSONata's type name, as `$type` reports it.
    pub fn type_name(&self) -> Option<&'static str> {
        Some(match self {
            Value::Undefined => return None,
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Num(_) => "number",
            Value::Str(_) => "string",
            Value::Func(_) => "function",
            v if v.is_array() => "array",
            _ => "object",
        })
    }

    /// Deep copy into owned values with fresh identities (for transforms).
    pub fn deep_clone(&self) -> Value<'a> {
        match self {
            Value::Array(a) => {
                Value::with_flags(a.items.iter().map(Value::deep_clone).collect(), a)
            }
            Value::Object(o) => Value::Object(Rc::new(
                o.iter().map(|(k, v)| (k.clone(), v.deep_clone())).collect(),
            )),
            Value::Json(Json::Array(a)) => {
                Value::array(a.iter().map(|j| Value::from_json(j).deep_clone()).collect())
            }
            Value::Json(Json::Object(o)) => Value::Object(Rc::new(
                o.iter()
                    .map(|(k, v)| (Arc::from(k.as_str()), Value::from_json(v).deep_clone()))
                    .collect(),
            )),
            v => v.clone(),
        }
    }

    /// Converts to JSON for output; `None` for undefined. Functions become `""` as in
    /// `JSON.stringify` with JSONata's replacer; undefined array items become null.
    pub fn to_json(&self) -> Option<Json> {
        Some(match self {
            Value::Undefined => return None,
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Num(n) => num_to_json(*n),
            Value::Str(s) => Json::String(String::from(&**s)),
            Value::Json(j) => (*j).clone(),
            Value::Array(a) => Json::Array(
                a.items
                    .iter()
                    .map(|v| v.to_json().unwrap_or(Json::Null))
                    .collect(),
            ),
            Value::Object(o) => {
                // Sized up front: collecting from a filter would grow (and rehash) the map.
                let mut m = serde_json::Map::with_capacity(o.len());
                for (k, v) in o.iter() {
                    if let Some(j) = v.to_json() {
                        m.insert(String::from(&**k), j);
                    }
                }
                Json::Object(m)
            }
            Value::Func(_) => Json::String(String::new()),
            Value::Tuple(t) => return t.focus.to_json(),
        })
    }
}

thread_local! {
    /// Weights of the caller's JSON seen during the evaluations on this thread, by address
    /// (the same input or variable is often a member of many built values).
    static JSON_WEIGHTS: std::cell::RefCell<rustc_hash::FxHashMap<usize, u64>> =
        std::cell::RefCell::default();
}

/// Forgets the weights of borrowed JSON: called around each evaluation, since an address
/// may hold other JSON later.
pub(crate) fn forget_json_weights() {
    JSON_WEIGHTS.with(|m| m.borrow_mut().clear());
}

/// How many items `j` holds (itself included), walked without recursion.
fn json_weight(j: &Json) -> u64 {
    let key = std::ptr::from_ref(j) as usize;
    if let Some(w) = JSON_WEIGHTS.with(|m| m.borrow().get(&key).copied()) {
        return w;
    }
    let mut weight = 0u64;
    let mut stack = vec![j];
    while let Some(v) = stack.pop() {
        weight += 1;
        match v {
            Json::Array(a) => stack.extend(a.iter()),
            Json::Object(o) => stack.extend(o.values()),
            _ => {}
        }
    }
    JSON_WEIGHTS.with(|m| m.borrow_mut().insert(key, weight));
    weight
}

/// The array index a property key denotes in JavaScript (canonical decimal below 2^32 - 1).
pub(crate) fn array_index(key: &str) -> Option<u32> {
    let canonical = !key.is_empty()
        && key.bytes().all(|b| b.is_ascii_digit())
        && (key == "0" || !key.starts_with('0'));
    if !canonical {
        return None;
    }
    key.parse::<u32>().ok().filter(|&i| i != u32::MAX)
}

/// A number as JSON: integral values in the safe range as integers.
pub(crate) fn num_to_json(n: f64) -> Json {
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        Json::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Json::Null, Json::Number)
    }
}

/// JavaScript's `Number.prototype.toString()` for finite numbers.
pub(crate) fn js_number(n: f64) -> String {
    if n == 0.0 {
        return "0".into();
    }
    if n.is_nan() {
        return "NaN".into();
    }
    if n.is_infinite() {
        return if n > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let formatted = format!("{:e}", n.abs());
    let (mantissa, exp) = formatted.split_once('e').unwrap_or((&formatted, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let k = digits.len() as i32;
    let point = exp + 1;
    let mut out = String::new();
    if n < 0.0 {
        out.push('-');
    }
    if k <= point && point <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (point - k) as usize));
    } else if 0 < point && point <= 21 {
        out.push_str(&digits[..point as usize]);
        out.push('.');
        out.push_str(&digits[point as usize..]);
    } else if -6 < point && point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-point) as usize));
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if point > 0 { '+' } else { '-' });
        out.push_str(&(point - 1).abs().to_string());
    }
    out
}

/// `Number(n.toPrecision(15))`: how JSONata normalises numbers when stringifying.
pub(crate) fn to_precision_15(n: f64) -> f64 {
    format!("{n:.14e}").parse().unwrap_or(n)
}

/// JSONata's deep equality (`=`), numbers by value.
pub(crate) fn deep_equal<'a>(a: &Value<'a>, b: &Value<'a>) -> bool {
    match (a, b) {
        (Value::Undefined, Value::Undefined) | (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Num(x), Value::Num(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Func(x), Value::Func(y)) => Rc::ptr_eq(x, y),
        (x, y) if x.is_array() && y.is_array() => {
            x.len() == y.len() && (0..x.len()).all(|i| deep_equal(&x.item(i), &y.item(i)))
        }
        (x, y) if x.is_object() && y.is_object() => {
            let (ex, ey) = (x.entries(), y.entries());
            ex.len() == ey.len() && ex.iter().all(|(k, v)| deep_equal(v, &y.field(k)))
        }
        _ => false,
    }
}

/// JSON string escaping as `JSON.stringify` does it.
pub(crate) fn quote_into(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `JSON.stringify` with JSONata's replacer (numbers to 15 significant digits, functions as
/// `""`), optionally pretty-printed with two spaces.
pub(crate) fn stringify(v: &Value<'_>, pretty: bool) -> String {
    let mut out = String::new();
    write_json(&mut out, v, pretty, 0);
    out
}

fn newline(out: &mut String, pretty: bool, depth: usize) {
    if pretty {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', depth * 2));
    }
}

fn write_json(out: &mut String, v: &Value<'_>, pretty: bool, depth: usize) {
    match v {
        Value::Undefined | Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Num(n) => {
            if n.is_finite() && n.fract() == 0.0 {
                out.push_str(&js_number(*n))
            } else if n.is_finite() {
                out.push_str(&js_number(to_precision_15(*n)))
            } else {
                out.push_str("null")
            }
        }
        Value::Str(s) => quote_into(out, s),
        Value::Func(_) => out.push_str("\"\""),
        Value::Tuple(t) => write_json(out, &t.focus, pretty, depth),
        v if v.is_array() => {
            let items = v.members();
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, pretty, depth + 1);
                write_json(out, item, pretty, depth + 1);
            }
            newline(out, pretty, depth);
            out.push(']');
        }
        v => {
            let entries: Vec<_> = v
                .entries()
                .into_iter()
                .filter(|(_, v)| !v.is_undefined())
                .collect();
            if entries.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, (k, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, pretty, depth + 1);
                quote_into(out, k);
                out.push(':');
                if pretty {
                    out.push(' ');
                }
                write_json(out, item, pretty, depth + 1);
            }
            newline(out, pretty, depth);
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn js_number_formats_like_javascript() {
        assert_eq!(js_number(1e21), "1e+21");
        assert_eq!(js_number(1e20), "100000000000000000000");
        assert_eq!(js_number(0.000001), "0.000001");
        assert_eq!(js_number(1e-7), "1e-7");
        assert_eq!(js_number(-1.5), "-1.5");
        assert_eq!(js_number(123.456), "123.456");
        assert_eq!(js_number(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(js_number(to_precision_15(0.1 + 0.2)), "0.3");
    }
}
