//! The standard function library: the table of built-ins with their signatures, and the
//! helpers every family shares (`$boolean` and `$string` semantics, regex matching).

mod array;
mod datetime;
mod format;
mod hof;
mod numeric;
mod object;
mod picture;
mod string;

use std::rc::Rc;
use std::sync::{Arc, OnceLock};

use crate::Error;
use crate::eval::Ctx;
use crate::eval::frame::Frame;
use crate::signature::Signature;
use crate::value::{Func, Map, Value, stringify};

/// What a built-in receives besides its arguments.
pub(crate) struct Call<'c, 'a> {
    pub ctx: &'c Ctx<'a>,
    pub input: &'c Value<'a>,
    pub env: &'c Rc<Frame<'a>>,
}

impl<'a> Call<'_, 'a> {
    /// Calls a function argument.
    pub fn apply(&self, f: &Value<'a>, args: Vec<Value<'a>>) -> Result<Value<'a>, Error> {
        Ok(self.ctx.apply(f, args, &Value::Null, self.env)?)
    }

    /// Calls a callback of a higher-order function with as many of (value, index/key, whole)
    /// as it declares.
    pub fn apply_hof(
        &self,
        f: &Value<'a>,
        a: Value<'a>,
        b: Value<'a>,
        c: Value<'a>,
    ) -> Result<Value<'a>, Error> {
        let n = crate::eval::arity(f);
        let mut args = vec![a];
        if n >= 2 {
            args.push(b);
        }
        if n >= 3 {
            args.push(c);
        }
        self.apply(f, args)
    }
}

/// A built-in's implementation.
pub(crate) type NativeFn =
    for<'c, 'a> fn(&Call<'c, 'a>, Vec<Value<'a>>) -> Result<Value<'a>, Error>;

/// A built-in function.
pub(crate) struct Builtin {
    pub name: &'static str,
    sig: &'static str,
    /// Declared parameter count (decides the arguments `$map` and friends pass).
    pub arity: usize,
    pub imp: NativeFn,
    index: usize,
}

impl std::fmt::Debug for Builtin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "${}", self.name)
    }
}

impl Builtin {
    /// The parsed signature (parsed once per process).
    pub fn signature(&self) -> &'static Signature {
        static SIGS: OnceLock<Vec<Signature>> = OnceLock::new();
        let sigs = SIGS.get_or_init(|| {
            all()
                .iter()
                .map(|b| Signature::parse(b.sig).expect("built-in signatures are valid"))
                .collect()
        });
        &sigs[self.index]
    }
}

macro_rules! builtins {
    ($($name:literal $sig:literal $arity:literal $imp:path),* $(,)?) => {
        fn all() -> &'static [Builtin] {
            static TABLE: OnceLock<Vec<Builtin>> = OnceLock::new();
            TABLE.get_or_init(|| {
                let entries: Vec<(&'static str, &'static str, usize, NativeFn)> = vec![$(($name, $sig, $arity, $imp)),*];
                entries
                    .into_iter()
                    .enumerate()
                    .map(|(index, (name, sig, arity, imp))| Builtin { name, sig, arity, imp, index })
                    .collect()
            })
        }
    };
}

builtins! {
    "sum" "<a<n>:n>" 1 numeric::sum,
    "count" "<a:n>" 1 numeric::count,
    "max" "<a<n>:n>" 1 numeric::max,
    "min" "<a<n>:n>" 1 numeric::min,
    "average" "<a<n>:n>" 1 numeric::average,
    "string" "<x-b?:s>" 1 string::string,
    "substring" "<s-nn?:s>" 3 string::substring,
    "substringBefore" "<s-s:s>" 2 string::substring_before,
    "substringAfter" "<s-s:s>" 2 string::substring_after,
    "lowercase" "<s-:s>" 1 string::lowercase,
    "uppercase" "<s-:s>" 1 string::uppercase,
    "length" "<s-:n>" 1 string::length,
    "trim" "<s-:s>" 1 string::trim,
    "pad" "<s-ns?:s>" 3 string::pad,
    "match" "<s-f<s:o>n?:a<o>>" 3 string::match_,
    "contains" "<s-(sf):b>" 2 string::contains,
    "replace" "<s-(sf)(sf)n?:s>" 4 string::replace,
    "split" "<s-(sf)n?:a<s>>" 3 string::split,
    "join" "<a<s>s?:s>" 2 string::join,
    "formatNumber" "<n-so?:s>" 3 format::format_number,
    "formatBase" "<n-n?:s>" 2 format::format_base,
    "formatInteger" "<n-s:s>" 2 format::format_integer,
    "parseInteger" "<s-s:n>" 2 format::parse_integer,
    "number" "<(nsb)-:n>" 1 numeric::number,
    "floor" "<n-:n>" 1 numeric::floor,
    "ceil" "<n-:n>" 1 numeric::ceil,
    "round" "<n-n?:n>" 2 numeric::round,
    "abs" "<n-:n>" 1 numeric::abs,
    "sqrt" "<n-:n>" 1 numeric::sqrt,
    "power" "<n-n:n>" 2 numeric::power,
    "random" "<:n>" 0 numeric::random,
    "boolean" "<x-:b>" 1 object::boolean,
    "not" "<x-:b>" 1 object::not,
    "map" "<af>" 2 hof::map,
    "zip" "<a+>" 1 array::zip,
    "filter" "<af>" 2 hof::filter,
    "single" "<af?>" 2 hof::single,
    "reduce" "<afj?:j>" 3 hof::reduce,
    "sift" "<o-f?:o>" 2 hof::sift,
    "keys" "<x-:a<s>>" 1 object::keys,
    "lookup" "<x-s:x>" 2 object::lookup,
    "append" "<xx:a>" 2 array::append,
    "exists" "<x:b>" 1 object::exists,
    "spread" "<x-:a<o>>" 1 object::spread,
    "merge" "<a<o>:o>" 1 object::merge,
    "reverse" "<a:a>" 1 array::reverse,
    "each" "<o-f:a>" 2 hof::each,
    "error" "<s?:x>" 1 object::error,
    "assert" "<bs?:x>" 2 object::assert,
    "type" "<x:s>" 1 object::type_of,
    "sort" "<af?:a>" 2 hof::sort,
    "shuffle" "<a:a>" 1 array::shuffle,
    "distinct" "<x:x>" 1 array::distinct,
    "base64encode" "<s-:s>" 1 string::base64encode,
    "base64decode" "<s-:s>" 1 string::base64decode,
    "encodeUrlComponent" "<s-:s>" 1 string::encode_url_component,
    "encodeUrl" "<s-:s>" 1 string::encode_url,
    "decodeUrlComponent" "<s-:s>" 1 string::decode_url_component,
    "decodeUrl" "<s-:s>" 1 string::decode_url,
    "eval" "<sx?:x>" 2 object::eval,
    "toMillis" "<s-s?:n>" 2 datetime::to_millis,
    "fromMillis" "<n-s?s?:s>" 3 datetime::from_millis,
    "clone" "<(oa)-:o>" 1 object::clone,
    "now" "<s?s?:s>" 2 datetime::now,
    "millis" "<:n>" 0 datetime::millis,
    // Step Functions mode only (after this point in the table).
    "partition" "<an:a>" 2 crate::stepfunctions::partition,
    "range" "<nnn?:a<n>>" 3 crate::stepfunctions::range,
    "hash" "<ss?:s>" 2 crate::stepfunctions::hash,
    "uuid" "<:s>" 0 crate::stepfunctions::uuid,
    "parse" "<s:j>" 1 crate::stepfunctions::parse,
    "random" "<n?:n>" 1 crate::stepfunctions::random,
}

/// How many table entries are standard JSONata; the rest are Step Functions additions.
const STANDARD: usize = 65;

/// Finds a built-in by name for the given mode (Step Functions' entries take precedence
/// there, and `$eval` is absent).
pub(crate) fn lookup(name: &str, step_functions: bool) -> Option<&'static Builtin> {
    let table = all();
    if step_functions {
        if name == "eval" {
            return None;
        }
        return table.iter().rev().find(|b| b.name == name);
    }
    table[..STANDARD].iter().find(|b| b.name == name)
}

/// JSONata's truthiness (`$boolean`), with undefined as false.
pub(crate) fn truthy(v: &Value<'_>) -> bool {
    boolean(v).unwrap_or(false)
}

/// `$boolean`: `None` for undefined.
pub(crate) fn boolean(v: &Value<'_>) -> Option<bool> {
    Some(match v {
        Value::Undefined => return None,
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Num(n) => *n != 0.0 && !n.is_nan(),
        Value::Str(s) => !s.is_empty(),
        Value::Func(_) => false,
        Value::Tuple(t) => return boolean(&t.focus),
        v if v.is_array() => match v.len() {
            0 => false,
            1 => boolean(&v.item(0)).unwrap_or(false),
            _ => v.members().iter().any(truthy),
        },
        v => !v.entries().is_empty(),
    })
}

/// `$string` for a defined value.
pub(crate) fn string_of(v: &Value<'_>) -> Result<String, Error> {
    string_pretty(v, false)
}

pub(crate) fn string_pretty(v: &Value<'_>, pretty: bool) -> Result<String, Error> {
    Ok(match v {
        Value::Str(s) => s.to_string(),
        Value::Func(_) => String::new(),
        Value::Num(n) if !n.is_finite() => return Err(Error::new("D3001").with_value_of(v)),
        v if has_infinity(v) => return Err(Error::new("D1001")),
        Value::Array(a) if a.outer && !a.items.is_empty() => stringify(&a.items[0], pretty),
        v => stringify(v, pretty),
    })
}

/// Does the value hold a number JSON cannot represent (infinite or NaN)?
pub(crate) fn has_infinity(v: &Value<'_>) -> bool {
    match v {
        Value::Num(n) => !n.is_finite(),
        Value::Array(a) => a.items.iter().any(has_infinity),
        Value::Object(o) => o.values().any(has_infinity),
        _ => false,
    }
}

/// The longest string an evaluation may build (bytes): a guard against hostile expressions
/// such as `$pad('', 1e12)`; far above any Step Functions payload (256 KiB).
pub(crate) const MAX_STRING: usize = 64 * 1024 * 1024;

/// Checks a length about to be built against [`MAX_STRING`] (error U1002).
pub(crate) fn check_len(len: usize) -> Result<(), Error> {
    if len > MAX_STRING {
        return Err(Error::new("U1002").with_value(&len.to_string()));
    }
    Ok(())
}

/// Converts a byte offset to a UTF-16 offset (JavaScript string indexes).
pub(crate) fn utf16_index(s: &str, byte: usize) -> usize {
    s[..byte].encode_utf16().count()
}

/// Runs a regex from byte offset `from`, giving jsonata-js's match object
/// `{match, start, end, groups, next}` or undefined.
pub(crate) fn regex_match<'a>(
    re: &Arc<fancy_regex::Regex>,
    text: &Arc<str>,
    from: usize,
) -> Result<Value<'a>, Error> {
    if from > text.len() {
        return Ok(Value::Undefined);
    }
    let caps = re.captures_from_pos(&**text, from).map_err(|e| {
        Error::new("U1001").with_message(&format!("Regular expression evaluation failed: {e}"))
    })?;
    let Some(caps) = caps else {
        return Ok(Value::Undefined);
    };
    let m = caps.get(0).expect("group 0");
    let mut obj: Map<'a> = Map::default();
    obj.insert(Arc::from("match"), Value::str(m.as_str()));
    obj.insert(
        Arc::from("start"),
        Value::Num(utf16_index(text, m.start()) as f64),
    );
    obj.insert(
        Arc::from("end"),
        Value::Num(utf16_index(text, m.end()) as f64),
    );
    let groups = (1..caps.len())
        .map(|i| {
            caps.get(i)
                .map_or(Value::str(""), |g| Value::str(g.as_str()))
        })
        .collect();
    obj.insert(Arc::from("groups"), Value::array(groups));
    // The next search starts where this match ended (an empty match then repeats: D1004).
    obj.insert(
        Arc::from("next"),
        Value::func(Func::MatchNext {
            regex: re.clone(),
            text: text.clone(),
            from: m.end(),
        }),
    );
    Ok(Value::object(obj))
}

/// One match from a matcher function (regex or user function), as plain data.
pub(crate) struct Match<'a> {
    pub text: String,
    pub start: usize,
    pub end: usize,
    pub groups: Vec<Value<'a>>,
    next: Value<'a>,
}

/// Calls a matcher on `text` (first match).
pub(crate) fn first_match<'a>(
    call: &Call<'_, 'a>,
    matcher: &Value<'a>,
    text: &str,
) -> Result<Option<Match<'a>>, Error> {
    let r = call.apply(matcher, vec![Value::str(text)])?;
    to_match(r)
}

/// The match after `m` (D1004 for an empty match, which would never advance).
pub(crate) fn next_match<'a>(
    call: &Call<'_, 'a>,
    m: &Match<'a>,
    text_len: usize,
) -> Result<Option<Match<'a>>, Error> {
    if !m.next.is_function() {
        return Ok(None);
    }
    if let Value::Func(f) = &m.next
        && let Func::MatchNext { from, .. } = &**f
        && *from >= text_len
    {
        return Ok(None);
    }
    let r = call.apply(&m.next, vec![])?;
    let next = to_match(r)?;
    if let Some(n) = &next
        && n.text.is_empty()
    {
        return Err(Error::new("D1004"));
    }
    Ok(next)
}

fn to_match<'a>(r: Value<'a>) -> Result<Option<Match<'a>>, Error> {
    if r.is_undefined() {
        return Ok(None);
    }
    let start = r.field("start");
    let end = r.field("end");
    let groups = r.field("groups");
    let next = r.field("next");
    if !(start.is_number() || end.is_number() || groups.is_array() || next.is_function()) {
        return Err(Error::new("T1010"));
    }
    Ok(Some(Match {
        text: r.field("match").as_str().unwrap_or("").to_string(),
        start: start.as_num().unwrap_or(0.0) as usize,
        end: end.as_num().unwrap_or(0.0) as usize,
        groups: groups.members(),
        next,
    }))
}

/// A substring by UTF-16 offsets.
pub(crate) fn utf16_slice(s: &str, start: usize, end: usize) -> String {
    let units: Vec<u16> = s.encode_utf16().collect();
    let end = end.min(units.len());
    let start = start.min(end);
    String::from_utf16_lossy(&units[start..end])
}

/// Is this value an array whose items are all numbers?
pub(crate) fn is_array_of_numbers(v: &Value<'_>) -> bool {
    v.is_array() && v.members().iter().all(Value::is_number)
}

/// Is this value an array whose items are all strings?
pub(crate) fn is_array_of_strings(v: &Value<'_>) -> bool {
    v.is_array() && v.members().iter().all(Value::is_string)
}

/// The first argument, or undefined.
pub(crate) fn arg<'a>(args: &[Value<'a>], i: usize) -> Value<'a> {
    args.get(i).cloned().unwrap_or(Value::Undefined)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_split_and_signatures() {
        assert_eq!(all()[STANDARD - 1].name, "millis");
        assert_eq!(all()[STANDARD].name, "partition");
        for b in all() {
            let _ = b.signature();
        }
        assert!(lookup("uuid", false).is_none());
        assert_eq!(lookup("random", true).map(|b| b.sig), Some("<n?:n>"));
        assert_eq!(lookup("random", false).map(|b| b.sig), Some("<:n>"));
    }
}
