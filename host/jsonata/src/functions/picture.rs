//! Integer picture strings (XPath F&O 4.6.1) shared by `$formatInteger`, `$parseInteger`
//! and date/time components: decimal digit patterns with grouping, letters, roman numerals,
//! words, ordinals.

use crate::Error;

/// The zero digit of every Unicode decimal digit block jsonata-js recognises.
const DECIMAL_GROUPS: &[u32] = &[
    0x30, 0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6,
    0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80,
    0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0,
    0xFF10,
];

const FEW: [&str; 20] = [
    "Zero",
    "One",
    "Two",
    "Three",
    "Four",
    "Five",
    "Six",
    "Seven",
    "Eight",
    "Nine",
    "Ten",
    "Eleven",
    "Twelve",
    "Thirteen",
    "Fourteen",
    "Fifteen",
    "Sixteen",
    "Seventeen",
    "Eighteen",
    "Nineteen",
];
const ORDINALS: [&str; 20] = [
    "Zeroth",
    "First",
    "Second",
    "Third",
    "Fourth",
    "Fifth",
    "Sixth",
    "Seventh",
    "Eighth",
    "Ninth",
    "Tenth",
    "Eleventh",
    "Twelfth",
    "Thirteenth",
    "Fourteenth",
    "Fifteenth",
    "Sixteenth",
    "Seventeenth",
    "Eighteenth",
    "Nineteenth",
];
const DECADES: [&str; 9] = [
    "Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety", "Hundred",
];
const MAGNITUDES: [&str; 4] = ["Thousand", "Million", "Billion", "Trillion"];

/// Letter case of the output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Case {
    Lower,
    Upper,
    Title,
}

/// The primary format token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Primary {
    Decimal,
    Letters,
    Roman,
    Words,
    /// An unsupported numbering sequence (D3130).
    Sequence(String),
}

/// Grouping separators: regular (every `n` digits) or at listed positions.
#[derive(Debug, Clone)]
pub(crate) enum Grouping {
    Regular(usize, char),
    Irregular(Vec<(usize, char)>),
}

/// An analysed integer picture.
#[derive(Debug, Clone)]
pub(crate) struct IntegerFormat {
    pub primary: Primary,
    pub case: Case,
    pub ordinal: bool,
    pub zero: u32,
    pub mandatory: usize,
    pub optional: usize,
    pub grouping: Grouping,
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// The regular grouping interval, or 0 when the positions are irregular.
pub(crate) fn regular_interval(positions: &[usize]) -> usize {
    if positions.is_empty() {
        return 0;
    }
    let factor = positions.iter().copied().reduce(gcd).unwrap_or(0);
    if factor == 0 {
        return 0;
    }
    for i in 1..=positions.len() {
        if !positions.contains(&(i * factor)) {
            return 0;
        }
    }
    factor
}

/// Analyses a picture such as `"#,##0"`, `"w;o"`, `"I"`.
pub(crate) fn analyse(picture: &str) -> Result<IntegerFormat, Error> {
    let mut f = IntegerFormat {
        primary: Primary::Decimal,
        case: Case::Lower,
        ordinal: false,
        zero: 0x30,
        mandatory: 0,
        optional: 0,
        grouping: Grouping::Irregular(Vec::new()),
    };
    let primary = match picture.rfind(';') {
        Some(i) => {
            if picture[i + 1..].starts_with('o') {
                f.ordinal = true;
            }
            &picture[..i]
        }
        None => picture,
    };
    match primary {
        "A" => (f.case, f.primary) = (Case::Upper, Primary::Letters),
        "a" => f.primary = Primary::Letters,
        "I" => (f.case, f.primary) = (Case::Upper, Primary::Roman),
        "i" => f.primary = Primary::Roman,
        "W" => (f.case, f.primary) = (Case::Upper, Primary::Words),
        "Ww" => (f.case, f.primary) = (Case::Title, Primary::Words),
        "w" => f.primary = Primary::Words,
        _ => {
            let mut zero: Option<u32> = None;
            let mut separators = Vec::new();
            let mut position = 0;
            for c in primary.chars().rev() {
                let cp = c as u32;
                if let Some(&g) = DECIMAL_GROUPS.iter().find(|&&g| cp >= g && cp <= g + 9) {
                    f.mandatory += 1;
                    position += 1;
                    match zero {
                        None => zero = Some(g),
                        Some(z) if z != g => return Err(Error::new("D3131")),
                        _ => {}
                    }
                } else if c == '#' {
                    position += 1;
                    f.optional += 1;
                } else {
                    separators.push((position, c));
                }
            }
            if f.mandatory > 0 {
                f.zero = zero.unwrap_or(0x30);
                let positions: Vec<usize> = separators.iter().map(|s| s.0).collect();
                let same_char = separators.iter().all(|s| s.1 == separators[0].1);
                let regular = if same_char {
                    regular_interval(&positions)
                } else {
                    0
                };
                f.grouping = if regular > 0 {
                    Grouping::Regular(regular, separators[0].1)
                } else {
                    Grouping::Irregular(separators)
                };
            } else {
                f.primary = Primary::Sequence(primary.to_string());
            }
        }
    }
    Ok(f)
}

fn letters(mut value: u64, a: u8) -> String {
    let mut out = Vec::new();
    while value > 0 {
        out.push((((value - 1) % 26) as u8 + a) as char);
        value = (value - 1) / 26;
    }
    out.iter().rev().collect()
}

fn roman(mut value: u64) -> String {
    const NUMERALS: [(u64, &str); 13] = [
        (1000, "m"),
        (900, "cm"),
        (500, "d"),
        (400, "cd"),
        (100, "c"),
        (90, "xc"),
        (50, "l"),
        (40, "xl"),
        (10, "x"),
        (9, "ix"),
        (5, "v"),
        (4, "iv"),
        (1, "i"),
    ];
    let mut out = String::new();
    for (v, l) in NUMERALS {
        while value >= v {
            out.push_str(l);
            value -= v;
        }
    }
    out
}

fn words(num: f64, prev: bool, ord: bool) -> String {
    let sep = |s: &str| if prev { s.to_string() } else { String::new() };
    if num <= 19.0 {
        let w = if ord {
            ORDINALS[num as usize]
        } else {
            FEW[num as usize]
        };
        format!("{}{w}", sep(" and "))
    } else if num < 100.0 {
        let tens = (num / 10.0).floor();
        let mut w = format!("{}{}", sep(" and "), DECADES[tens as usize - 2]);
        let rem = num - tens * 10.0;
        if rem > 0.0 {
            w.push('-');
            w.push_str(&words(rem, false, ord));
        } else if ord {
            w.pop();
            w.push_str("ieth");
        }
        w
    } else if num < 1000.0 {
        let hundreds = (num / 100.0).floor();
        let mut w = format!("{}{} Hundred", sep(", "), FEW[hundreds as usize]);
        let rem = num - hundreds * 100.0;
        if rem > 0.0 {
            w.push_str(&words(rem, true, ord));
        } else if ord {
            w.push_str("th");
        }
        w
    } else {
        let mag = ((num.log10() / 3.0).floor() as usize).min(MAGNITUDES.len());
        let factor = 10f64.powi(mag as i32 * 3);
        let mant = (num / factor).floor();
        let rem = num - mant * factor;
        let mut w = format!(
            "{}{} {}",
            sep(", "),
            words(mant, false, false),
            MAGNITUDES[mag - 1]
        );
        if rem > 0.0 {
            w.push_str(&words(rem, true, ord));
        } else if ord {
            w.push_str("th");
        }
        w
    }
}

/// Formats an integer with an analysed picture.
pub(crate) fn format(value: f64, f: &IntegerFormat) -> Result<String, Error> {
    let negative = value < 0.0;
    let v = value.abs();
    let n = v as u64;
    let mut out = match &f.primary {
        Primary::Letters => letters(n, if f.case == Case::Upper { b'A' } else { b'a' }),
        Primary::Roman => {
            let r = roman(n);
            if f.case == Case::Upper {
                r.to_uppercase()
            } else {
                r
            }
        }
        Primary::Words => {
            let w = words(v.floor(), false, f.ordinal);
            match f.case {
                Case::Upper => w.to_uppercase(),
                Case::Lower => w.to_lowercase(),
                Case::Title => w,
            }
        }
        Primary::Decimal => {
            let mut s = crate::value::js_number(v);
            if s.len() < f.mandatory {
                s = "0".repeat(f.mandatory - s.len()) + &s;
            }
            if f.zero != 0x30 {
                s = s
                    .chars()
                    .map(|c| char::from_u32(c as u32 + f.zero - 0x30).unwrap_or(c))
                    .collect();
            }
            let mut chars: Vec<char> = s.chars().collect();
            match &f.grouping {
                Grouping::Regular(every, sep) => {
                    let groups = (chars.len().saturating_sub(1)) / every;
                    for i in (1..=groups).rev() {
                        let pos = chars.len() - i * every;
                        chars.insert(pos, *sep);
                    }
                }
                Grouping::Irregular(seps) => {
                    for (position, sep) in seps.iter().rev() {
                        let pos = chars.len().saturating_sub(*position);
                        chars.insert(pos, *sep);
                    }
                }
            }
            let mut s: String = chars.into_iter().collect();
            if f.ordinal {
                let b: Vec<char> = s.chars().collect();
                let last = b.last().copied().unwrap_or('0');
                let tens = b.len() > 1 && b[b.len() - 2] == '1';
                let suffix = match last {
                    '1' if !tens => "st",
                    '2' if !tens => "nd",
                    '3' if !tens => "rd",
                    _ => "th",
                };
                s.push_str(suffix);
            }
            s
        }
        Primary::Sequence(token) => return Err(Error::new("D3130").with_value(token)),
    };
    if negative {
        out.insert(0, '-');
    }
    Ok(out)
}

fn word_value(w: &str) -> Option<u64> {
    for (i, f) in FEW.iter().enumerate() {
        if f.eq_ignore_ascii_case(w) {
            return Some(i as u64);
        }
    }
    for (i, f) in ORDINALS.iter().enumerate() {
        if f.eq_ignore_ascii_case(w) {
            return Some(i as u64);
        }
    }
    for (i, d) in DECADES.iter().enumerate() {
        let l = d.to_lowercase();
        let ieth = format!("{}ieth", &l[..l.len() - 1]);
        if l == w || ieth == w {
            return Some((i as u64 + 2) * 10);
        }
    }
    if w == "hundredth" {
        return Some(100);
    }
    for (i, m) in MAGNITUDES.iter().enumerate() {
        let l = m.to_lowercase();
        if l == w || format!("{l}th") == w {
            return Some(10u64.pow((i as u32 + 1) * 3));
        }
    }
    None
}

fn words_to_number(text: &str) -> f64 {
    let text = text.to_lowercase();
    let normalized = text.replace(", ", " ").replace(" and ", " ");
    let mut segs: Vec<f64> = vec![0.0];
    for part in normalized.split([' ', '-', '\\']).filter(|p| !p.is_empty()) {
        let value = word_value(part).map_or(f64::NAN, |v| v as f64);
        if value < 100.0 {
            let mut top = segs.pop().unwrap_or(0.0);
            if top >= 1000.0 {
                segs.push(top);
                top = 0.0;
            }
            segs.push(top + value);
        } else {
            let top = segs.pop().unwrap_or(0.0);
            segs.push(top * value);
        }
    }
    segs.iter().sum()
}

/// The regex fragment that matches a formatted integer (for date/time parsing).
pub(crate) fn regex_for(f: &IntegerFormat) -> Result<String, Error> {
    Ok(match &f.primary {
        Primary::Letters => if f.case == Case::Upper {
            "[A-Z]+"
        } else {
            "[a-z]+"
        }
        .to_string(),
        Primary::Roman => if f.case == Case::Upper {
            "[MDCLXVI]+"
        } else {
            "[mdclxvi]+"
        }
        .to_string(),
        Primary::Words => {
            let mut alternatives: Vec<String> = FEW
                .iter()
                .chain(ORDINALS.iter())
                .map(|w| w.to_lowercase())
                .collect();
            for d in DECADES {
                let l = d.to_lowercase();
                alternatives.push(format!("{}ieth", &l[..l.len() - 1]));
                alternatives.push(l);
            }
            alternatives.push("hundredth".into());
            for m in MAGNITUDES {
                alternatives.push(format!("{}th", m.to_lowercase()));
                alternatives.push(m.to_lowercase());
            }
            alternatives.push("and".into());
            alternatives.push("[\\-, ]".into());
            format!("(?:{})+", alternatives.join("|"))
        }
        Primary::Decimal => {
            let mut r = format!("[0-9]{{{},}}", f.mandatory.max(1));
            if f.ordinal {
                r.push_str("(?:th|st|nd|rd)");
            }
            r
        }
        Primary::Sequence(token) => return Err(Error::new("D3130").with_value(token)),
    })
}

/// Parses a formatted integer back (`$parseInteger`).
pub(crate) fn parse(value: &str, f: &IntegerFormat) -> Result<f64, Error> {
    Ok(match &f.primary {
        Primary::Letters => {
            let a = if f.case == Case::Upper { b'A' } else { b'a' };
            value
                .bytes()
                .rev()
                .enumerate()
                .map(|(i, c)| (c as f64 - a as f64 + 1.0) * 26f64.powi(i as i32))
                .sum()
        }
        Primary::Roman => {
            let mut decimal = 0.0;
            let mut max = 1.0;
            for c in value.to_uppercase().chars().rev() {
                let v = match c {
                    'M' => 1000.0,
                    'D' => 500.0,
                    'C' => 100.0,
                    'L' => 50.0,
                    'X' => 10.0,
                    'V' => 5.0,
                    'I' => 1.0,
                    _ => f64::NAN,
                };
                if v < max {
                    decimal -= v;
                } else {
                    max = v;
                    decimal += v;
                }
            }
            decimal
        }
        Primary::Words => words_to_number(value),
        Primary::Decimal => {
            let mut digits: String = value.to_string();
            if f.ordinal && digits.len() >= 2 {
                digits.truncate(digits.len() - 2);
            }
            match &f.grouping {
                Grouping::Regular(..) => digits = digits.replace(',', ""),
                Grouping::Irregular(seps) => {
                    for (_, c) in seps {
                        digits = digits.replace(*c, "");
                    }
                }
            }
            if f.zero != 0x30 {
                digits = digits
                    .chars()
                    .map(|c| char::from_u32((c as u32).wrapping_sub(f.zero) + 0x30).unwrap_or(c))
                    .collect();
            }
            let lead: String = digits.chars().take_while(char::is_ascii_digit).collect();
            lead.parse::<f64>().unwrap_or(f64::NAN)
        }
        Primary::Sequence(token) => return Err(Error::new("D3130").with_value(token)),
    })
}
