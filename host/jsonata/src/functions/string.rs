//! String functions: `$string`, `$substring*`, case, `$length`, `$trim`, `$pad`, the
//! regex-aware `$match`/`$contains`/`$replace`/`$split`, `$join`, base64 and URL coding.

use base64::Engine;

use super::{Call, arg, first_match, next_match, string_pretty, utf16_slice};
use crate::Error;
use crate::value::Value;

type R<'a> = Result<Value<'a>, Error>;

fn s<'a>(args: &[Value<'a>], i: usize) -> Option<String> {
    args.get(i).and_then(|v| v.as_str()).map(str::to_string)
}

fn n(args: &[Value<'_>], i: usize) -> Option<f64> {
    args.get(i).and_then(Value::as_num)
}

pub(super) fn string<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let v = arg(&args, 0);
    if v.is_undefined() {
        return Ok(Value::Undefined);
    }
    let pretty = matches!(arg(&args, 1), Value::Bool(true));
    Ok(Value::str(&string_pretty(&v, pretty)?))
}

/// JavaScript's `ToIntegerOrInfinity` clamp for slice indexes.
fn slice_index(i: f64, len: usize) -> usize {
    let len = len as f64;
    let i = if i.is_nan() { 0.0 } else { i.trunc() };
    let i = if i < 0.0 {
        (len + i).max(0.0)
    } else {
        i.min(len)
    };
    i as usize
}

pub(super) fn substring<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let Some(text) = s(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let chars: Vec<char> = text.chars().collect();
    let len = chars.len();
    let mut start = n(&args, 1).unwrap_or(0.0);
    if len as f64 + start < 0.0 {
        start = 0.0;
    }
    let out: String = match n(&args, 2) {
        Some(length) => {
            if length <= 0.0 {
                return Ok(Value::str(""));
            }
            let end = if start >= 0.0 {
                start + length
            } else {
                len as f64 + start + length
            };
            let (a, b) = (slice_index(start, len), slice_index(end, len));
            if a >= b {
                String::new()
            } else {
                chars[a..b].iter().collect()
            }
        }
        None => chars[slice_index(start, len)..].iter().collect(),
    };
    Ok(Value::str(&out))
}

pub(super) fn substring_before<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let Some(text) = s(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let Some(chars) = s(&args, 1) else {
        return Ok(Value::str(&text));
    };
    Ok(Value::str(match text.find(&chars) {
        Some(i) => &text[..i],
        None => &text,
    }))
}

pub(super) fn substring_after<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let Some(text) = s(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let Some(chars) = s(&args, 1) else {
        return Ok(Value::str(&text));
    };
    Ok(Value::str(match text.find(&chars) {
        Some(i) => &text[i + chars.len()..],
        None => &text,
    }))
}

pub(super) fn lowercase<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    Ok(s(&args, 0).map_or(Value::Undefined, |t| Value::str(&t.to_lowercase())))
}

pub(super) fn uppercase<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    Ok(s(&args, 0).map_or(Value::Undefined, |t| Value::str(&t.to_uppercase())))
}

pub(super) fn length<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    Ok(s(&args, 0).map_or(Value::Undefined, |t| Value::Num(t.chars().count() as f64)))
}

pub(super) fn trim<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let Some(text) = s(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let mut out = String::with_capacity(text.len());
    let mut in_space = false;
    for c in text.chars() {
        if matches!(c, ' ' | '\t' | '\n' | '\r') {
            if !in_space {
                out.push(' ');
            }
            in_space = true;
        } else {
            out.push(c);
            in_space = false;
        }
    }
    Ok(Value::str(out.trim_matches(' ')))
}

pub(super) fn pad<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let Some(text) = s(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let width = n(&args, 1).unwrap_or(0.0);
    let ch = s(&args, 2)
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| " ".into());
    let pad_len = width.abs().trunc() as i64 - text.chars().count() as i64;
    if pad_len <= 0 {
        return Ok(Value::str(&text));
    }
    super::check_len(text.len() + (pad_len as usize).saturating_mul(ch.len()))?;
    let padding: String = ch.chars().cycle().take(pad_len as usize).collect();
    Ok(Value::str(&if width > 0.0 {
        text + &padding
    } else {
        padding + &text
    }))
}

pub(super) fn contains<'a>(call: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let Some(text) = s(&args, 0) else {
        return Ok(Value::Undefined);
    };
    Ok(Value::Bool(match arg(&args, 1) {
        Value::Undefined => return Ok(Value::Undefined),
        Value::Str(token) => text.contains(&*token),
        f => first_match(call, &f, &text)?.is_some(),
    }))
}

pub(super) fn match_<'a>(call: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let Some(text) = s(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let limit = n(&args, 2);
    if limit.is_some_and(|l| l < 0.0) {
        return Err(Error::new("D3040").with_value_of(&arg(&args, 2)));
    }
    let mut out = Vec::new();
    let mut m = first_match(call, &arg(&args, 1), &text)?;
    while let Some(cur) = m {
        if limit.is_some_and(|l| out.len() as f64 >= l) {
            break;
        }
        let mut obj = super::Map::default();
        obj.insert("match".into(), Value::str(&cur.text));
        obj.insert("index".into(), Value::Num(cur.start as f64));
        obj.insert("groups".into(), Value::array(cur.groups.clone()));
        out.push(Value::object(obj));
        m = next_match(call, &cur, text.len())?;
    }
    Ok(Value::seq(out))
}

/// Expands `$0`, `$1`... and `$$` in a replacement string (jsonata-js's rules).
fn expand(replacement: &str, matched: &str, groups: &[Value<'_>]) -> String {
    let mut out = String::new();
    let b = replacement;
    let mut pos = 0;
    while let Some(rel) = b[pos..].find('$') {
        let index = pos + rel;
        out.push_str(&b[pos..index]);
        pos = index + 1;
        let rest = &b[pos..];
        if rest.starts_with('$') {
            out.push('$');
            pos += 1;
        } else if rest.starts_with('0') {
            out.push_str(matched);
            pos += 1;
        } else {
            let max_digits = if groups.is_empty() {
                1
            } else {
                (groups.len() as f64).log10().floor() as usize + 1
            };
            let digits: String = rest
                .chars()
                .take(max_digits)
                .take_while(char::is_ascii_digit)
                .collect();
            let mut idx: Option<usize> = digits.parse().ok();
            if max_digits > 1 && idx.is_some_and(|i| i > groups.len()) {
                let shorter: String = digits.chars().take(max_digits - 1).collect();
                idx = shorter.parse().ok();
            }
            match idx {
                Some(i) => {
                    if !groups.is_empty()
                        && i >= 1
                        && let Some(Value::Str(g)) = groups.get(i - 1)
                    {
                        out.push_str(g);
                    }
                    pos += i.to_string().len();
                }
                None => out.push('$'),
            }
        }
        if pos >= b.len() {
            break;
        }
    }
    if pos < b.len() {
        out.push_str(&b[pos..]);
    }
    out
}

pub(super) fn replace<'a>(call: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let Some(text) = s(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let pattern = arg(&args, 1);
    let replacement = arg(&args, 2);
    if pattern.as_str() == Some("") {
        return Err(Error::new("D3010"));
    }
    let limit = n(&args, 3);
    if limit.is_some_and(|l| l < 0.0) {
        return Err(Error::new("D3011"));
    }
    if limit.is_some_and(|l| l == 0.0) {
        return Ok(Value::str(&text));
    }
    let under_limit = |count: usize| limit.is_none_or(|l| (count as f64) < l);
    let mut out = String::new();
    let mut count = 0;
    if let Value::Str(p) = &pattern {
        let rep = replacement.as_str().unwrap_or("").to_string();
        let mut pos = 0;
        while let Some(rel) = text[pos..].find(&**p) {
            if !under_limit(count) {
                break;
            }
            out.push_str(&text[pos..pos + rel]);
            super::check_len(out.len() + rep.len())?;
            out.push_str(&rep);
            pos += rel + p.len();
            count += 1;
        }
        out.push_str(&text[pos..]);
        return Ok(Value::str(&out));
    }
    let mut m = first_match(call, &pattern, &text)?;
    if m.is_none() {
        return Ok(Value::str(&text));
    }
    let mut pos = 0;
    while let Some(cur) = m {
        if !under_limit(count) {
            break;
        }
        out.push_str(&utf16_slice(&text, pos, cur.start));
        let replaced = match &replacement {
            Value::Str(r) => expand(r, &cur.text, &cur.groups),
            f => {
                let mut obj = super::Map::default();
                obj.insert("match".into(), Value::str(&cur.text));
                obj.insert("index".into(), Value::Num(cur.start as f64));
                obj.insert("groups".into(), Value::array(cur.groups.clone()));
                match call.apply(f, vec![Value::object(obj)])? {
                    Value::Str(s) => s.to_string(),
                    other => return Err(Error::new("D3012").with_value_of(&other)),
                }
            }
        };
        super::check_len(out.len() + replaced.len())?;
        out.push_str(&replaced);
        pos = cur.start + cur.text.encode_utf16().count();
        count += 1;
        m = next_match(call, &cur, text.len())?;
    }
    out.push_str(&utf16_slice(&text, pos, usize::MAX));
    Ok(Value::str(&out))
}

pub(super) fn split<'a>(call: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let Some(text) = s(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let limit = n(&args, 2);
    if limit.is_some_and(|l| l < 0.0) {
        return Err(Error::new("D3020"));
    }
    let mut parts: Vec<String> = Vec::new();
    match arg(&args, 1) {
        Value::Str(sep) => {
            if sep.is_empty() {
                parts = text.chars().map(|c| c.to_string()).collect();
            } else {
                parts = text.split(&*sep).map(str::to_string).collect();
            }
        }
        f => {
            let mut m = first_match(call, &f, &text)?;
            if m.is_none() {
                parts.push(text.clone());
            } else {
                let mut start = 0;
                while let Some(cur) = m {
                    if limit.is_some_and(|l| parts.len() as f64 >= l) {
                        break;
                    }
                    parts.push(utf16_slice(&text, start, cur.start));
                    start = cur.end;
                    m = next_match(call, &cur, text.len())?;
                }
                if limit.is_none_or(|l| (parts.len() as f64) < l) {
                    parts.push(utf16_slice(&text, start, usize::MAX));
                }
            }
        }
    }
    if let Some(l) = limit {
        parts.truncate(l as usize);
    }
    Ok(Value::array(parts.iter().map(|p| Value::str(p)).collect()))
}

pub(super) fn join<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let list = arg(&args, 0);
    if list.is_undefined() {
        return Ok(Value::Undefined);
    }
    let sep = s(&args, 1).unwrap_or_default();
    let items: Vec<String> = list
        .members()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    let total = items.iter().map(String::len).sum::<usize>() + sep.len() * items.len();
    super::check_len(total)?;
    Ok(Value::str(&items.join(&sep)))
}

pub(super) fn base64encode<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    Ok(s(&args, 0).map_or(Value::Undefined, |t| {
        Value::str(&base64::engine::general_purpose::STANDARD.encode(t.as_bytes()))
    }))
}

pub(super) fn base64decode<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let Some(t) = s(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(t.trim().as_bytes())
        .or_else(|_| {
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(t.trim().trim_end_matches('=').as_bytes())
        })
        .map_err(|_| Error::new("D3137").with_message("Invalid base64 string"))?;
    Ok(Value::str(&String::from_utf8_lossy(&bytes)))
}

fn encode(text: &str, keep: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || keep.contains(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

fn decode(text: &str, reserved: &str, name: &str) -> Result<String, Error> {
    let err = || Error::new("D3140").with_value(text).locate(0, Some(name));
    let b = text.as_bytes();
    let mut out: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = text.get(i + 1..i + 3).ok_or_else(err)?;
            let byte = u8::from_str_radix(hex, 16).map_err(|_| err())?;
            if byte < 0x80 && reserved.contains(byte as char) {
                out.extend_from_slice(&b[i..i + 3]);
            } else {
                out.push(byte);
            }
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| err())
}

pub(super) fn encode_url_component<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    Ok(s(&args, 0).map_or(Value::Undefined, |t| Value::str(&encode(&t, "-_.!~*'()"))))
}

pub(super) fn encode_url<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    Ok(s(&args, 0).map_or(Value::Undefined, |t| {
        Value::str(&encode(&t, "-_.!~*'();,/?:@&=+$#"))
    }))
}

pub(super) fn decode_url_component<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    match s(&args, 0) {
        Some(t) => Ok(Value::str(&decode(&t, "", "decodeUrlComponent")?)),
        None => Ok(Value::Undefined),
    }
}

pub(super) fn decode_url<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    match s(&args, 0) {
        Some(t) => Ok(Value::str(&decode(&t, ";,/?:@&=+$#", "decodeUrl")?)),
        None => Ok(Value::Undefined),
    }
}
