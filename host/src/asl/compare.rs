//! Comparison primitives shared by Choice rules, JSONPath filters and intrinsics: JSON
//! numbers compared by value (1 == 1.0 == 1E0), strings in Java `String.compareTo` order
//! (UTF-16 code units), `StringMatches` wildcards, RFC 3339 timestamps, and deep JSON
//! equality with numeric semantics.

use std::cmp::Ordering;
use std::fmt::Write as _;

use serde_json::{Number, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Orders two JSON numbers by value, whatever their representation (`100`, `1E2`, `100.0`).
pub fn compare_numbers(a: &Number, b: &Number) -> Ordering {
    // Exact integer comparison first: f64 loses precision above 2^53.
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return x.cmp(&y);
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return x.cmp(&y);
    }
    let x = a.as_f64().unwrap_or(f64::NAN);
    let y = b.as_f64().unwrap_or(f64::NAN);
    // JSON has no NaN, so `total_cmp` only orders real values (and -0.0 == 0.0 below).
    if x == y {
        Ordering::Equal
    } else {
        x.total_cmp(&y)
    }
}

/// True when two JSON numbers have the same value.
pub fn numbers_equal(a: &Number, b: &Number) -> bool {
    compare_numbers(a, b) == Ordering::Equal
}

/// Deep JSON equality where numbers compare by value (`1 == 1.0`); object key order is
/// irrelevant, array order matters.
pub fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => numbers_equal(x, y),
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => false,
    }
}

/// Appends a canonical text for `value` to `out`: two values are [`json_equal`] exactly
/// when their canonical texts are equal. Used to deduplicate large arrays in linear time.
pub fn canonical_key(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push('n'),
        Value::Bool(b) => out.push(if *b { 't' } else { 'f' }),
        Value::Number(n) => {
            out.push('#');
            if let Some(i) = n.as_i64() {
                let _ = write!(out, "{i}");
            } else if let Some(u) = n.as_u64() {
                let _ = write!(out, "{u}");
            } else {
                let f = n.as_f64().unwrap_or(0.0);
                // Integral floats print like the integer they equal (1.0 -> "1").
                if f.fract() == 0.0 && f.abs() < 9.0e15 {
                    let _ = write!(out, "{}", f as i64);
                } else {
                    let _ = write!(out, "{f:e}");
                }
            }
        }
        Value::String(s) => {
            out.push('"');
            // Length-prefix so no string content can imitate a delimiter.
            let _ = write!(out, "{}:", s.len());
            out.push_str(s);
        }
        Value::Array(items) => {
            out.push('[');
            for item in items {
                canonical_key(item, out);
                out.push(',');
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable();
            out.push('{');
            for key in keys {
                let _ = write!(out, "{}:", key.len());
                out.push_str(key);
                canonical_key(&map[key], out);
                out.push(',');
            }
            out.push('}');
        }
    }
}

/// Orders strings like Java's `String.compareTo`: by UTF-16 code units, which differs from
/// Rust's code-point order only for characters above U+FFFF against U+E000..U+FFFF.
pub fn compare_strings(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.as_bytes().cmp(b.as_bytes());
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

/// Why a `StringMatches` pattern is rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PatternError {
    /// A backslash followed by something other than `*` or `\`.
    #[error(
        "StringMatches pattern {pattern:?}: invalid escape at position {position}; only \\* and \\\\ are allowed"
    )]
    BadEscape {
        /// The pattern.
        pattern: String,
        /// Byte offset of the backslash.
        position: usize,
    },
    /// A backslash at the very end.
    #[error("StringMatches pattern {pattern:?}: dangling backslash at the end")]
    DanglingEscape {
        /// The pattern.
        pattern: String,
    },
}

/// Checks a `StringMatches` pattern: the only escapes are `\*` (a literal star) and `\\`
/// (a literal backslash).
pub fn validate_string_matches_pattern(pattern: &str) -> Result<(), PatternError> {
    let mut chars = pattern.char_indices();
    while let Some((position, c)) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some((_, '*' | '\\')) => {}
                Some(_) => {
                    return Err(PatternError::BadEscape {
                        pattern: pattern.to_owned(),
                        position,
                    });
                }
                None => {
                    return Err(PatternError::DanglingEscape {
                        pattern: pattern.to_owned(),
                    });
                }
            }
        }
    }
    Ok(())
}

/// One element of a compiled `StringMatches` pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    /// `*`: any run of characters.
    Star,
    /// Literal text (escapes already resolved).
    Text(Box<str>),
}

/// A `StringMatches` pattern compiled once: literal runs and stars.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StringPattern {
    tokens: Vec<Token>,
}

impl StringPattern {
    /// Compiles a pattern: `*` matches any run of characters (also none); `\*` and `\\`
    /// are a literal star and backslash. An unknown escape keeps the escaped character
    /// literally (use [`validate_string_matches_pattern`] to reject it).
    pub fn new(pattern: &str) -> Self {
        let mut tokens = Vec::new();
        let mut text = String::new();
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => text.push(chars.next().unwrap_or('\\')),
                '*' => {
                    if !text.is_empty() {
                        tokens.push(Token::Text(std::mem::take(&mut text).into()));
                    }
                    if tokens.last() != Some(&Token::Star) {
                        tokens.push(Token::Star);
                    }
                }
                other => text.push(other),
            }
        }
        if !text.is_empty() {
            tokens.push(Token::Text(text.into()));
        }
        StringPattern { tokens }
    }

    /// Does `text` match the whole pattern?
    pub fn matches(&self, text: &str) -> bool {
        let tokens = &self.tokens;
        // Anchored prefix: everything before the first star must start the text.
        let mut rest = text;
        let mut index = 0;
        while let Some(Token::Text(literal)) = tokens.get(index) {
            match rest.strip_prefix(&**literal) {
                Some(after) => rest = after,
                None => return false,
            }
            index += 1;
        }
        if index == tokens.len() {
            return rest.is_empty();
        }
        // Now at a star. Middle literals match greedily leftmost (safe with stars between);
        // the last literal, when the pattern does not end in a star, anchors the end.
        let ends_with_star = tokens.last() == Some(&Token::Star);
        let middle_end = if ends_with_star {
            tokens.len()
        } else {
            tokens.len() - 1
        };
        for token in &tokens[index..middle_end] {
            if let Token::Text(literal) = token {
                match rest.find(&**literal) {
                    Some(at) => rest = &rest[at + literal.len()..],
                    None => return false,
                }
            }
        }
        match tokens.last() {
            Some(Token::Text(suffix)) if !ends_with_star => rest.ends_with(&**suffix),
            _ => true,
        }
    }
}

/// `StringMatches` with a pattern compiled on the spot; see [`StringPattern`] to compile once.
pub fn string_matches(pattern: &str, text: &str) -> bool {
    StringPattern::new(pattern).matches(text)
}

/// A point in time parsed from an RFC 3339 timestamp, ordered by instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// The instant as a `time` value (UTC offset preserved from the text).
    pub fn as_offset_date_time(&self) -> OffsetDateTime {
        self.0
    }

    /// Nanoseconds since the Unix epoch.
    pub fn unix_nanos(&self) -> i128 {
        self.0.unix_timestamp_nanos()
    }
}

impl From<OffsetDateTime> for Timestamp {
    fn from(value: OffsetDateTime) -> Self {
        Timestamp(value)
    }
}

/// Parses a timestamp as AWS accepts it: RFC 3339 with an uppercase `T` between date and
/// time and an uppercase `Z` (or a numeric offset), optional fractional seconds, e.g.
/// `2016-08-18T17:33:00Z` or `2016-08-18T17:33:00.123+02:00`.
pub fn parse_timestamp(s: &str) -> Option<Timestamp> {
    let bytes = s.as_bytes();
    if bytes.len() < 20 || bytes[10] != b'T' || s.contains('z') || s.contains('t') {
        return None;
    }
    OffsetDateTime::parse(s, &Rfc3339).ok().map(Timestamp)
}

/// Compares two timestamps given as text; `None` when either does not parse.
pub fn compare_timestamps(a: &str, b: &str) -> Option<Ordering> {
    Some(parse_timestamp(a)?.cmp(&parse_timestamp(b)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn num(text: &str) -> Number {
        serde_json::from_str(text).expect("number")
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(numbers_equal(&num("1"), &num("1.0")));
        assert!(numbers_equal(&num("100"), &num("1E2")));
        assert!(numbers_equal(&num("2.50"), &num("2.5")));
        assert!(numbers_equal(&num("-1500"), &num("-1.5e3")));
        assert!(numbers_equal(&num("0"), &num("-0.0")));
        assert_eq!(
            compare_numbers(&num("-1.5e3"), &num("-1000")),
            Ordering::Less
        );
        assert_eq!(compare_numbers(&num("3"), &num("2.999")), Ordering::Greater);
        assert_eq!(
            compare_numbers(&num("18446744073709551615"), &num("-1")),
            Ordering::Greater
        );
        assert_eq!(
            compare_numbers(&num("9007199254740993"), &num("9007199254740992")),
            Ordering::Greater
        );
    }

    #[test]
    fn json_equality_is_numeric_and_order_free_for_objects() {
        assert!(json_equal(
            &json!({"a": 1, "b": [1.0, "x"]}),
            &json!({"b": [1, "x"], "a": 1.0})
        ));
        assert!(!json_equal(&json!([1, 2]), &json!([2, 1])));
        assert!(!json_equal(&json!(1), &json!("1")));
        assert!(!json_equal(&json!(true), &json!(1)));
        assert!(!json_equal(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
        assert!(json_equal(&Value::Null, &Value::Null));
    }

    #[test]
    fn canonical_key_agrees_with_json_equal() {
        let values = [
            json!(1),
            json!(1.0),
            json!("1"),
            json!(true),
            json!(null),
            json!([1, "a"]),
            json!([1.0, "a"]),
            json!({"a": 1, "b": 2}),
            json!({"b": 2.0, "a": 1}),
            json!({"a": "1:"}),
            json!(2.5),
        ];
        for a in &values {
            for b in &values {
                let (mut ka, mut kb) = (String::new(), String::new());
                canonical_key(a, &mut ka);
                canonical_key(b, &mut kb);
                assert_eq!(ka == kb, json_equal(a, b), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn strings_use_java_compare_to_order() {
        assert_eq!(compare_strings("Apple", "apple"), Ordering::Less);
        assert_eq!(compare_strings("apple", "apples"), Ordering::Less);
        assert_eq!(compare_strings("", "a"), Ordering::Less);
        assert_eq!(compare_strings("é", "z"), Ordering::Greater);
        assert_eq!(compare_strings("Z", "a"), Ordering::Less);
        // U+1F600 is a surrogate pair (0xD83D...) in UTF-16, so it sorts before U+FF21,
        // although its code point is larger.
        assert_eq!(compare_strings("\u{1F600}", "\u{FF21}"), Ordering::Less);
        assert_eq!("\u{1F600}".cmp("\u{FF21}"), Ordering::Greater);
    }

    #[test]
    fn string_matches_wildcards_and_escapes() {
        let cases = [
            ("*", "", true),
            ("*", "anything", true),
            ("file[1].txt", "file[1].txt", true),
            ("a.c", "abc", false),
            ("*@*.org", "ann@example.org", true),
            ("*@*.org", "ann@example.com", false),
            ("log-*.txt", "log-2024-01.txt", true),
            ("*.log", "a.log.txt", false),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("a\\*", "a*", true),
            ("a\\*", "ab", false),
            ("a\\\\b", "a\\b", true),
            ("", "", true),
            ("", "x", false),
            ("**", "x", true),
            ("ab*", "ab", true),
            ("*ab", "aab", true),
            ("é*", "été", true),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(
                string_matches(pattern, text),
                expected,
                "{pattern:?} ~ {text:?}"
            );
        }
    }

    /// Every pattern over {a, b, *} up to 5 characters against every text over {a, b} up
    /// to 5 characters, checked against the equivalent regular expression.
    #[test]
    fn string_pattern_agrees_with_regex_exhaustively() {
        fn words(alphabet: &[char], max: usize) -> Vec<String> {
            let mut all = vec![String::new()];
            let mut last = vec![String::new()];
            for _ in 0..max {
                last = last
                    .iter()
                    .flat_map(|w| alphabet.iter().map(move |c| format!("{w}{c}")))
                    .collect();
                all.extend(last.iter().cloned());
            }
            all
        }
        let texts = words(&['a', 'b'], 5);
        for pattern in words(&['a', 'b', '*'], 5) {
            let regex = format!("^{}$", pattern.replace('*', ".*"));
            let regex = regex::Regex::new(&regex).unwrap();
            let compiled = StringPattern::new(&pattern);
            for text in &texts {
                assert_eq!(
                    compiled.matches(text),
                    regex.is_match(text),
                    "{pattern:?} ~ {text:?}"
                );
            }
        }
    }

    #[test]
    fn pattern_validation() {
        assert!(validate_string_matches_pattern("a\\*b\\\\c*").is_ok());
        assert!(matches!(
            validate_string_matches_pattern("a\\b"),
            Err(PatternError::BadEscape { position: 1, .. })
        ));
        assert!(matches!(
            validate_string_matches_pattern("ab\\"),
            Err(PatternError::DanglingEscape { .. })
        ));
    }

    #[test]
    fn timestamps_parse_as_aws_accepts_them() {
        for ok in [
            "2016-08-18T17:33:00Z",
            "2024-02-29T23:59:59Z",
            "2016-08-18T17:33:00.123Z",
            "2016-08-18T17:33:00.123456789Z",
            "2016-08-18T19:33:00+02:00",
        ] {
            assert!(parse_timestamp(ok).is_some(), "{ok}");
        }
        for bad in [
            "2016-08-18 17:33:00Z",
            "2016-08-18t17:33:00Z",
            "2016-08-18T17:33:00z",
            "2016-08-18T17:33:00",
            "2016-08-18",
            "2016-13-18T17:33:00Z",
            "2023-02-29T00:00:00Z",
            "not a date",
            "",
        ] {
            assert!(parse_timestamp(bad).is_none(), "{bad}");
        }
        assert_eq!(
            compare_timestamps("2016-08-18T19:33:00+02:00", "2016-08-18T17:33:00Z"),
            Some(Ordering::Equal)
        );
        assert_eq!(
            compare_timestamps("2024-02-29T23:59:59Z", "2024-03-01T00:00:00Z"),
            Some(Ordering::Less)
        );
        assert_eq!(
            compare_timestamps("2024-06-01T10:00:00.5Z", "2024-06-01T10:00:00Z"),
            Some(Ordering::Greater)
        );
        assert_eq!(compare_timestamps("x", "2024-06-01T10:00:00Z"), None);
    }
}
