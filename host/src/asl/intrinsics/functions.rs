//! The intrinsic functions themselves, with AWS's input rules (developer guide,
//! "Intrinsic functions for JSONPath states"). Every rule broken is
//! `States.IntrinsicFailure` with a cause naming the function.

use std::borrow::Cow;
use std::collections::HashSet;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use rand::Rng as _;
use serde_json::{Map, Number, Value};
use sha1::Digest as _;

use super::parse::format_pieces;
use super::{Func, Piece};
use crate::asl::compare::{canonical_key, json_equal};
use crate::asl::error::{ErrorName, StatesError};

/// Longest string Base64Encode, Base64Decode and Hash accept, in characters.
pub const MAX_CODEC_INPUT_CHARS: usize = 10_000;
/// Most elements States.ArrayRange may produce.
pub const MAX_RANGE_ELEMENTS: i64 = 1_000;

type Args<'a, 'v> = &'a [Cow<'v, Value>];

fn failure(func: Func, message: impl std::fmt::Display) -> StatesError {
    StatesError::new(
        ErrorName::IntrinsicFailure,
        format!("Invalid arguments in States.{}: {message}", func.name()),
    )
}

/// Runs one function on evaluated arguments (the parser has checked their count).
pub(super) fn call(
    func: Func,
    format: Option<&[Piece]>,
    args: Args<'_, '_>,
) -> Result<Value, StatesError> {
    match func {
        Func::Format => format_string(format, args),
        Func::StringToJson => {
            let text = string(func, args, 0)?.trim();
            // An empty (or blank) string parses to null, as AWS does (per LocalStack's
            // AWS-recorded behaviour) rather than failing.
            if text.is_empty() {
                return Ok(Value::Null);
            }
            serde_json::from_str(text)
                .map_err(|e| failure(func, format_args!("the string is not valid JSON: {e}")))
        }
        Func::JsonToString => Ok(Value::String(args[0].to_string())),
        Func::Array => Ok(Value::Array(args.iter().map(|a| (**a).clone()).collect())),
        Func::ArrayPartition => array_partition(args),
        Func::ArrayContains => {
            let items = array(func, args, 0)?;
            Ok(Value::Bool(
                items.iter().any(|item| json_equal(item, &args[1])),
            ))
        }
        Func::ArrayRange => array_range(args),
        Func::ArrayGetItem => array_get_item(args),
        Func::ArrayLength => Ok(Value::from(array(func, args, 0)?.len())),
        Func::ArrayUnique => array_unique(args),
        Func::Base64Encode => {
            let text = limited_string(func, args, 0)?;
            Ok(Value::String(
                base64::engine::general_purpose::STANDARD.encode(text),
            ))
        }
        Func::Base64Decode => base64_decode(args),
        Func::Hash => hash(args),
        Func::JsonMerge => json_merge(args),
        Func::MathRandom => math_random(args),
        Func::MathAdd => {
            let a = int32(func, args, 0)?;
            let b = int32(func, args, 1)?;
            let sum = a + b;
            if sum < i64::from(i32::MIN) || sum > i64::from(i32::MAX) {
                return Err(failure(
                    func,
                    format_args!("the sum {sum} is outside the 32-bit integer range"),
                ));
            }
            Ok(Value::from(sum))
        }
        Func::StringSplit => {
            let text = string(func, args, 0)?;
            let delimiters = string(func, args, 1)?;
            // Like Java's StringTokenizer: every character of the second argument is a
            // delimiter, and empty tokens are dropped.
            Ok(Value::Array(
                text.split(|c| delimiters.contains(c))
                    .filter(|token| !token.is_empty())
                    .map(|token| Value::String(token.to_owned()))
                    .collect(),
            ))
        }
        Func::Uuid => Ok(Value::String(uuid::Uuid::new_v4().to_string())),
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn ordinal(index: usize) -> &'static str {
    ["first", "second", "third"]
        .get(index)
        .copied()
        .unwrap_or("later")
}

fn string<'a>(func: Func, args: Args<'a, '_>, index: usize) -> Result<&'a str, StatesError> {
    match &*args[index] {
        Value::String(text) => Ok(text),
        other => Err(failure(
            func,
            format_args!(
                "the {} argument must be a string, got {}",
                ordinal(index),
                type_name(other)
            ),
        )),
    }
}

fn limited_string<'a>(
    func: Func,
    args: Args<'a, '_>,
    index: usize,
) -> Result<&'a str, StatesError> {
    let text = string(func, args, index)?;
    // Byte length bounds the character count from above: skip counting for short strings.
    if text.len() > MAX_CODEC_INPUT_CHARS && text.chars().count() > MAX_CODEC_INPUT_CHARS {
        return Err(failure(
            func,
            format_args!("the input string is longer than {MAX_CODEC_INPUT_CHARS} characters"),
        ));
    }
    Ok(text)
}

fn array<'a>(func: Func, args: Args<'a, '_>, index: usize) -> Result<&'a Vec<Value>, StatesError> {
    match &*args[index] {
        Value::Array(items) => Ok(items),
        other => Err(failure(
            func,
            format_args!(
                "the {} argument must be an array, got {}",
                ordinal(index),
                type_name(other)
            ),
        )),
    }
}

fn number(func: Func, args: Args<'_, '_>, index: usize) -> Result<Number, StatesError> {
    match &*args[index] {
        Value::Number(n) => Ok(n.clone()),
        other => Err(failure(
            func,
            format_args!(
                "the {} argument must be a number, got {}",
                ordinal(index),
                type_name(other)
            ),
        )),
    }
}

/// A number rounded to the nearest integer (halves up, like Java's `Math.round`).
fn rounded(func: Func, args: Args<'_, '_>, index: usize) -> Result<i64, StatesError> {
    let n = number(func, args, index)?;
    if let Some(i) = n.as_i64() {
        return Ok(i);
    }
    let f = n.as_f64().unwrap_or(f64::INFINITY);
    let r = (f + 0.5).floor();
    if r.is_finite() && r >= i64::MIN as f64 && r <= i64::MAX as f64 {
        Ok(r as i64)
    } else {
        Err(failure(
            func,
            format_args!("the {} argument {n} is out of range", ordinal(index)),
        ))
    }
}

/// A number rounded to an integer that must fit in 32 bits.
fn int32(func: Func, args: Args<'_, '_>, index: usize) -> Result<i64, StatesError> {
    let value = rounded(func, args, index)?;
    if value < i64::from(i32::MIN) || value > i64::from(i32::MAX) {
        return Err(failure(
            func,
            format_args!(
                "the {} argument {value} is outside the range -2147483648 to 2147483647",
                ordinal(index)
            ),
        ));
    }
    Ok(value)
}

fn format_string(literal: Option<&[Piece]>, args: Args<'_, '_>) -> Result<Value, StatesError> {
    let func = Func::Format;
    let dynamic;
    let pieces = match literal {
        Some(pieces) => pieces,
        None => {
            let template = string(func, args, 0)?;
            dynamic = format_pieces(template).map_err(|offset| {
                failure(
                    func,
                    format_args!("invalid escape at position {offset} of the template"),
                )
            })?;
            &dynamic
        }
    };
    let holes = pieces.iter().filter(|p| **p == Piece::Hole).count();
    if holes != args.len() - 1 {
        return Err(failure(
            func,
            format_args!(
                "the template has {holes} '{{}}' placeholder(s) but {} argument(s) follow it",
                args.len() - 1
            ),
        ));
    }
    let mut out = String::new();
    let mut values = args[1..].iter();
    for piece in pieces {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Hole => match values.next() {
                Some(value) => push_format_value(value, &mut out),
                None => unreachable!("holes were counted"),
            },
        }
    }
    Ok(Value::String(out))
}

/// Appends a value as AWS's (Java) Format renders it: strings without quotes, scalars as
/// JSON, arrays as `[a, b]` and objects as `{k=v, k2=v2}` (the spec forbids arrays and
/// objects, but AWS renders them this way; LocalStack's AWS-recorded snapshots agree).
fn push_format_value(value: &Value, out: &mut String) {
    match value {
        Value::String(text) => out.push_str(text),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                push_format_value(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(key);
                out.push('=');
                push_format_value(item, out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn array_partition(args: Args<'_, '_>) -> Result<Value, StatesError> {
    let func = Func::ArrayPartition;
    let items = array(func, args, 0)?;
    let size = rounded(func, args, 1)?;
    if size < 1 {
        return Err(failure(
            func,
            format_args!("the chunk size must be a positive integer, got {size}"),
        ));
    }
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    Ok(Value::Array(
        items
            .chunks(size)
            .map(|chunk| Value::Array(chunk.to_vec()))
            .collect(),
    ))
}

fn array_range(args: Args<'_, '_>) -> Result<Value, StatesError> {
    let func = Func::ArrayRange;
    let first = rounded(func, args, 0)?;
    let last = rounded(func, args, 1)?;
    let step = rounded(func, args, 2)?;
    if step == 0 {
        return Err(failure(func, "the step (third argument) must not be 0"));
    }
    let (first, last, step) = (i128::from(first), i128::from(last), i128::from(step));
    let span = last - first;
    let count = if span == 0 || (span > 0) == (step > 0) {
        span / step + 1
    } else {
        0
    };
    if count > i128::from(MAX_RANGE_ELEMENTS) {
        return Err(failure(
            func,
            format_args!(
                "the range would have {count} elements; at most {MAX_RANGE_ELEMENTS} are allowed"
            ),
        ));
    }
    Ok(Value::Array(
        (0..count)
            .map(|k| Value::from((first + k * step) as i64))
            .collect(),
    ))
}

fn array_get_item(args: Args<'_, '_>) -> Result<Value, StatesError> {
    let func = Func::ArrayGetItem;
    let items = array(func, args, 0)?;
    let n = number(func, args, 1)?;
    let index = n
        .as_u64()
        .or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 1.8e19)
                .map(|f| f as u64)
        })
        .ok_or_else(|| {
            failure(
                func,
                format_args!("the index must be a non-negative integer, got {n}"),
            )
        })?;
    usize::try_from(index)
        .ok()
        .and_then(|i| items.get(i))
        .cloned()
        .ok_or_else(|| {
            failure(
                func,
                format_args!(
                    "index {index} is out of bounds for an array of {} elements",
                    items.len()
                ),
            )
        })
}

fn array_unique(args: Args<'_, '_>) -> Result<Value, StatesError> {
    let items = array(Func::ArrayUnique, args, 0)?;
    let mut seen = HashSet::with_capacity(items.len());
    let mut out = Vec::with_capacity(items.len());
    let mut key = String::new();
    for item in items {
        key.clear();
        canonical_key(item, &mut key);
        if !seen.contains(key.as_str()) {
            seen.insert(key.clone());
            out.push(item.clone());
        }
    }
    Ok(Value::Array(out))
}

fn base64_decode(args: Args<'_, '_>) -> Result<Value, StatesError> {
    let func = Func::Base64Decode;
    let text = limited_string(func, args, 0)?;
    // MIME Base64: padding optional, line breaks ignored.
    let engine = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let compact: String = text.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
    let bytes = engine
        .decode(compact)
        .map_err(|e| failure(func, format_args!("the string is not valid Base64: {e}")))?;
    String::from_utf8(bytes)
        .map(Value::String)
        .map_err(|_| failure(func, "the decoded data is not UTF-8 text"))
}

fn hash(args: Args<'_, '_>) -> Result<Value, StatesError> {
    let func = Func::Hash;
    let data = limited_string(func, args, 0)?.as_bytes();
    let algorithm = string(func, args, 1)?;
    let digest = match algorithm {
        "MD5" => format!("{:x}", md5::Md5::digest(data)),
        "SHA-1" => format!("{:x}", sha1::Sha1::digest(data)),
        "SHA-256" => format!("{:x}", sha2::Sha256::digest(data)),
        "SHA-384" => format!("{:x}", sha2::Sha384::digest(data)),
        "SHA-512" => format!("{:x}", sha2::Sha512::digest(data)),
        other => {
            return Err(failure(
                func,
                format_args!(
                    "unknown algorithm {other:?}; use MD5, SHA-1, SHA-256, SHA-384 or SHA-512"
                ),
            ));
        }
    };
    Ok(Value::String(digest))
}

fn json_merge(args: Args<'_, '_>) -> Result<Value, StatesError> {
    let func = Func::JsonMerge;
    let object = |index: usize| -> Result<&Map<String, Value>, StatesError> {
        match &*args[index] {
            Value::Object(map) => Ok(map),
            other => Err(failure(
                func,
                format_args!(
                    "the {} argument must be an object, got {}",
                    ordinal(index),
                    type_name(other)
                ),
            )),
        }
    };
    let (first, second) = (object(0)?, object(1)?);
    match &*args[2] {
        Value::Bool(false) => {}
        Value::Bool(true) => {
            return Err(failure(
                func,
                "deep merging is not supported; the third argument must be false",
            ));
        }
        other => {
            return Err(failure(
                func,
                format_args!(
                    "the third argument must be the boolean false, got {}",
                    type_name(other)
                ),
            ));
        }
    }
    let mut merged = first.clone();
    for (key, value) in second {
        merged.insert(key.clone(), value.clone());
    }
    Ok(Value::Object(merged))
}

fn math_random(args: Args<'_, '_>) -> Result<Value, StatesError> {
    let func = Func::MathRandom;
    let start = int32(func, args, 0)?;
    let end = int32(func, args, 1)?;
    if end <= start {
        return Err(failure(
            func,
            format_args!("the end ({end}) must be greater than the start ({start})"),
        ));
    }
    let value = if args.len() == 3 {
        let seed = rounded(func, args, 2)?;
        start + JavaRandom::new(seed).next_below(end - start)
    } else {
        rand::rng().random_range(start..end)
    };
    Ok(Value::from(value))
}

/// `java.util.Random`'s 48-bit linear congruential generator: a seeded MathRandom gives the
/// same number on every run and every platform.
struct JavaRandom {
    state: u64,
}

impl JavaRandom {
    const MULTIPLIER: u64 = 0x5_DEEC_E66D;
    const MASK: u64 = (1 << 48) - 1;

    fn new(seed: i64) -> Self {
        JavaRandom {
            state: (seed as u64 ^ Self::MULTIPLIER) & Self::MASK,
        }
    }

    fn next_bits(&mut self, bits: u32) -> i64 {
        self.state = (self.state.wrapping_mul(Self::MULTIPLIER).wrapping_add(0xB)) & Self::MASK;
        (self.state >> (48 - bits)) as i64
    }

    /// `nextInt(bound)` for `0 < bound < 2^32`, extended to i64 bounds by rejection.
    fn next_below(&mut self, bound: i64) -> i64 {
        if bound <= i64::from(i32::MAX) {
            if bound & (bound - 1) == 0 {
                return (bound * self.next_bits(31)) >> 31;
            }
            loop {
                let bits = self.next_bits(31);
                let value = bits % bound;
                if bits - value + (bound - 1) <= i64::from(i32::MAX) {
                    return value;
                }
            }
        }
        // Wider than Java's int (e.g. MathRandom(-2^31, 2^31 - 1)): 48 random bits suffice.
        loop {
            let bits = self.next_bits(48);
            let limit = (1i64 << 48) - ((1i64 << 48) % bound);
            if bits < limit {
                return bits % bound;
            }
        }
    }
}

#[cfg(test)]
mod java_random_tests {
    use super::JavaRandom;

    #[test]
    fn matches_java_util_random() {
        // Reference values printed by OpenJDK: `new Random(42).nextInt(100)` five times,
        // `new Random(7).nextInt(16)` (power-of-two path), `new Random(1234).nextInt(999)`.
        let mut random = JavaRandom::new(42);
        let got: Vec<i64> = (0..5).map(|_| random.next_below(100)).collect();
        assert_eq!(got, [30, 63, 48, 84, 70]);
        assert_eq!(JavaRandom::new(7).next_below(16), 11);
        assert_eq!(JavaRandom::new(1234).next_below(999), 542);
        let wide = JavaRandom::new(5).next_below(1 << 40);
        assert!((0..1 << 40).contains(&wide));
    }
}
