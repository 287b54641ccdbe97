//! Number formatting: `$formatNumber` (XPath F&O 4.7 decimal-format pictures),
//! `$formatBase`, `$formatInteger` and `$parseInteger`.

use super::numeric::round_half_even;
use super::picture;
use super::{Call, arg};
use crate::Error;
use crate::value::Value;

type R<'a> = Result<Value<'a>, Error>;

pub(super) fn format_integer<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let Value::Num(n) = arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let pic = arg(&args, 1);
    let f = picture::analyse(pic.as_str().unwrap_or(""))?;
    Ok(Value::str(&picture::format(n.floor(), &f)?))
}

pub(super) fn parse_integer<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let Value::Str(s) = arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let pic = arg(&args, 1);
    let f = picture::analyse(pic.as_str().unwrap_or(""))?;
    Ok(Value::Num(picture::parse(&s, &f)?))
}

pub(super) fn format_base<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let Value::Num(n) = arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let v = round_half_even(n, 0);
    let radix = match arg(&args, 1) {
        Value::Num(r) => round_half_even(r, 0),
        _ => 10.0,
    };
    if !(2.0..=36.0).contains(&radix) {
        return Err(Error::new("D3100").with_value(&crate::value::js_number(radix)));
    }
    let radix = radix as u64;
    let mut m = v.abs() as u64;
    let mut digits = Vec::new();
    loop {
        digits.push(std::char::from_digit((m % radix) as u32, radix as u32).unwrap_or('?'));
        m /= radix;
        if m == 0 {
            break;
        }
    }
    if v < 0.0 {
        digits.push('-');
    }
    Ok(Value::str(&digits.iter().rev().collect::<String>()))
}

/// The decimal-format properties (defaults overridable by `$formatNumber`'s options).
struct Props {
    decimal: char,
    grouping: char,
    exponent: char,
    minus: char,
    percent: char,
    per_mille: char,
    zero: char,
    digit: char,
    pattern: char,
}

/// One analysed sub-picture.
#[derive(Clone)]
struct Pic {
    int_grouping: Vec<usize>,
    regular: usize,
    min_int: usize,
    scaling: usize,
    prefix: String,
    frac_grouping: Vec<usize>,
    min_frac: usize,
    max_frac: usize,
    min_exp: usize,
    suffix: String,
    picture: String,
    has_exponent: bool,
}

fn first_char(v: &Value<'_>) -> Option<char> {
    v.as_str().and_then(|s| s.chars().next())
}

/// Character index of `needle` in `hay` from `from`, in chars.
fn index_of(hay: &[char], needle: char, from: usize) -> Option<usize> {
    hay.iter()
        .skip(from)
        .position(|&c| c == needle)
        .map(|p| p + from)
}

pub(super) fn format_number<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let Value::Num(value) = arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let picture_text = arg(&args, 1).as_str().unwrap_or("").to_string();
    let mut p = Props {
        decimal: '.',
        grouping: ',',
        exponent: 'e',
        minus: '-',
        percent: '%',
        per_mille: '\u{2030}',
        zero: '0',
        digit: '#',
        pattern: ';',
    };
    let opts = arg(&args, 2);
    for (k, v) in opts.entries() {
        let Some(c) = first_char(&v) else { continue };
        match &*k {
            "decimal-separator" => p.decimal = c,
            "grouping-separator" => p.grouping = c,
            "exponent-separator" => p.exponent = c,
            "minus-sign" => p.minus = c,
            "percent" => p.percent = c,
            "per-mille" => p.per_mille = c,
            "zero-digit" => p.zero = c,
            "digit" => p.digit = c,
            "pattern-separator" => p.pattern = c,
            _ => {}
        }
    }
    let family: Vec<char> = (0..10)
        .filter_map(|i| char::from_u32(p.zero as u32 + i))
        .collect();
    let is_digit = |c: char| family.contains(&c);
    let mut active: Vec<char> = family.clone();
    active.extend([p.decimal, p.exponent, p.grouping, p.digit, p.pattern]);
    let is_active = |c: char| active.contains(&c);
    let subs: Vec<&str> = picture_text.split(p.pattern).collect();
    if subs.len() > 2 {
        return Err(Error::new("D3080"));
    }
    let mut pics = Vec::new();
    for sub in &subs {
        let chars: Vec<char> = sub.chars().collect();
        if !chars.iter().any(|&c| is_active(c) && c != p.exponent) {
            // Nothing but passive characters (jsonata-js issue 786).
            return Err(Error::new("D3086"));
        }
        let prefix_len = chars
            .iter()
            .position(|&c| is_active(c) && c != p.exponent)
            .unwrap_or(chars.len());
        let suffix_start = chars
            .iter()
            .rposition(|&c| is_active(c) && c != p.exponent)
            .map_or(chars.len(), |i| i + 1);
        let prefix: String = chars[..prefix_len].iter().collect();
        let suffix: String = chars[suffix_start.max(prefix_len)..].iter().collect();
        let active_part: Vec<char> = chars[prefix_len..suffix_start.max(prefix_len)].to_vec();
        let exp_pos = index_of(&chars, p.exponent, prefix_len);
        let (mantissa, exponent): (Vec<char>, Option<Vec<char>>) = match exp_pos {
            Some(e) if e <= chars.len() - suffix.chars().count() => {
                let rel = e - prefix_len;
                (
                    active_part[..rel.min(active_part.len())].to_vec(),
                    Some(active_part[(rel + 1).min(active_part.len())..].to_vec()),
                )
            }
            _ => (active_part.clone(), None),
        };
        let (integer, fractional): (Vec<char>, Vec<char>) =
            match mantissa.iter().position(|&c| c == p.decimal) {
                Some(d) => (mantissa[..d].to_vec(), mantissa[d + 1..].to_vec()),
                None => (mantissa.clone(), suffix.chars().collect()),
            };
        // Validation (F&O 4.7.3).
        let count = |c: char| chars.iter().filter(|&&x| x == c).count();
        let mut error = None;
        if count(p.decimal) > 1 {
            error = Some("D3081");
        }
        if count(p.percent) > 1 {
            error = Some("D3082");
        }
        if count(p.per_mille) > 1 {
            error = Some("D3083");
        }
        if count(p.percent) > 0 && count(p.per_mille) > 0 {
            error = Some("D3084");
        }
        if !mantissa.iter().any(|&c| is_digit(c) || c == p.digit) {
            error = Some("D3085");
        }
        if active_part.iter().any(|&c| !is_active(c)) {
            error = Some("D3086");
        }
        match chars.iter().position(|&c| c == p.decimal) {
            Some(d) => {
                if (d > 0 && chars[d - 1] == p.grouping) || chars.get(d + 1) == Some(&p.grouping) {
                    error = Some("D3087");
                }
            }
            None => {
                if integer.last() == Some(&p.grouping) {
                    error = Some("D3088");
                }
            }
        }
        if chars
            .windows(2)
            .any(|w| w[0] == p.grouping && w[1] == p.grouping)
        {
            error = Some("D3089");
        }
        if let Some(opt) = integer.iter().position(|&c| c == p.digit)
            && integer[..opt].iter().any(|&c| is_digit(c))
        {
            error = Some("D3090");
        }
        if let Some(opt) = fractional.iter().rposition(|&c| c == p.digit)
            && fractional[opt..].iter().any(|&c| is_digit(c))
        {
            error = Some("D3091");
        }
        if let Some(e) = &exponent {
            if !e.is_empty() && (count(p.percent) > 0 || count(p.per_mille) > 0) {
                error = Some("D3092");
            }
            if e.is_empty() || e.iter().any(|&c| !is_digit(c)) {
                error = Some("D3093");
            }
        }
        if let Some(code) = error {
            return Err(Error::new(code));
        }
        // Analysis (F&O 4.7.4).
        let grouping_positions = |part: &[char], to_left: bool| {
            let mut positions = Vec::new();
            let mut pos = part.iter().position(|&c| c == p.grouping);
            while let Some(g) = pos {
                let slice = if to_left { &part[..g] } else { &part[g..] };
                positions.push(
                    slice
                        .iter()
                        .filter(|&&c| is_digit(c) || c == p.digit)
                        .count(),
                );
                // jsonata-js searches the integer part here, for both parts.
                pos = index_of(&integer, p.grouping, g + 1);
            }
            positions
        };
        let int_grouping = grouping_positions(&integer, false);
        let regular = picture::regular_interval(&int_grouping);
        let frac_grouping = grouping_positions(&fractional, true);
        let mut min_int = integer.iter().filter(|&&c| is_digit(c)).count();
        let scaling = min_int;
        let mut min_frac = fractional.iter().filter(|&&c| is_digit(c)).count();
        let mut max_frac = fractional
            .iter()
            .filter(|&&c| is_digit(c) || c == p.digit)
            .count();
        let has_exponent = exponent.is_some();
        if min_int == 0 && max_frac == 0 {
            if has_exponent {
                min_frac = 1;
                max_frac = 1;
            } else {
                min_int = 1;
            }
        }
        if has_exponent && min_int == 0 && integer.contains(&p.digit) {
            min_int = 1;
        }
        if min_int == 0 && min_frac == 0 {
            min_frac = 1;
        }
        let min_exp = exponent
            .as_ref()
            .map_or(0, |e| e.iter().filter(|&&c| is_digit(c)).count());
        pics.push(Pic {
            int_grouping,
            regular,
            min_int,
            scaling,
            prefix,
            frac_grouping,
            min_frac,
            max_frac,
            min_exp,
            suffix,
            picture: sub.to_string(),
            has_exponent,
        });
    }
    if pics.len() == 1 {
        let mut neg = pics[0].clone();
        neg.prefix = format!("{}{}", p.minus, neg.prefix);
        pics.push(neg);
    }
    let pic = if value >= 0.0 { &pics[0] } else { &pics[1] };
    let adjusted = if pic.picture.contains(p.percent) {
        value * 100.0
    } else if pic.picture.contains(p.per_mille) {
        value * 1000.0
    } else {
        value
    };
    let (mantissa, exponent) = if pic.min_exp == 0 && !pic.has_exponent {
        (adjusted, None)
    } else {
        let max_m = 10f64.powi(pic.scaling as i32);
        let min_m = 10f64.powi(pic.scaling as i32 - 1);
        let mut m = adjusted.abs();
        let mut e = 0i32;
        // Bounded: a finite double has fewer than 700 decimal orders of magnitude.
        if m != 0.0 {
            while m < min_m && e > -700 {
                m *= 10.0;
                e -= 1;
            }
            while m > max_m && e < 700 {
                m /= 10.0;
                e += 1;
            }
        }
        (m.copysign(adjusted), Some(e))
    };
    let rounded = round_half_even(mantissa, pic.max_frac as i32);
    let make_string = |v: f64, dp: usize| -> String {
        let s = format!("{:.*}", dp, v.abs());
        if p.zero != '0' {
            s.chars()
                .map(|c| {
                    if c.is_ascii_digit() {
                        family[(c as u8 - b'0') as usize]
                    } else {
                        c
                    }
                })
                .collect()
        } else {
            s
        }
    };
    let mut sv: Vec<char> = make_string(rounded, pic.max_frac).chars().collect();
    match sv.iter().position(|&c| c == '.') {
        Some(d) => sv[d] = p.decimal,
        None => sv.push(p.decimal),
    }
    while sv.first() == Some(&p.zero) {
        sv.remove(0);
    }
    while sv.last() == Some(&p.zero) {
        sv.pop();
    }
    let dpos = sv.iter().position(|&c| c == p.decimal).unwrap_or(sv.len());
    let pad_left = pic.min_int as i64 - dpos as i64;
    let pad_right = pic.min_frac as i64 - (sv.len() as i64 - dpos as i64 - 1);
    if pad_left > 0 {
        for _ in 0..pad_left {
            sv.insert(0, p.zero);
        }
    }
    if pad_right > 0 {
        sv.extend(std::iter::repeat_n(p.zero, pad_right as usize));
    }
    let mut dpos = sv.iter().position(|&c| c == p.decimal).unwrap_or(sv.len());
    if let Some(groups) = dpos
        .saturating_sub(1)
        .checked_div(pic.regular)
        .filter(|_| pic.regular > 0)
    {
        for g in 1..=groups {
            sv.insert(dpos - g * pic.regular, p.grouping);
        }
    } else {
        for &pos in &pic.int_grouping {
            if pos <= dpos {
                sv.insert(dpos - pos, p.grouping);
                dpos += 1;
            }
        }
    }
    let dpos = sv.iter().position(|&c| c == p.decimal).unwrap_or(sv.len());
    for &pos in &pic.frac_grouping {
        let at = pos + dpos + 1;
        if at <= sv.len() {
            sv.insert(at, p.grouping);
        }
    }
    let dpos = sv.iter().position(|&c| c == p.decimal).unwrap_or(sv.len());
    if pic.min_frac == 0 && dpos + 1 == sv.len() {
        sv.pop();
    }
    let mut out: String = sv.into_iter().collect();
    if let Some(e) = exponent {
        let mut es = make_string(e as f64, 0);
        if es.chars().count() < pic.min_exp {
            es = std::iter::repeat_n(p.zero, pic.min_exp - es.chars().count()).collect::<String>()
                + &es;
        }
        out.push(p.exponent);
        if e < 0 {
            out.push(p.minus);
        }
        out.push_str(&es);
    }
    Ok(Value::str(&format!("{}{}{}", pic.prefix, out, pic.suffix)))
}
