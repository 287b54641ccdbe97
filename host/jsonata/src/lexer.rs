//! Tokenizer: turns expression text into tokens with their positions, as jsonata-js does
//! (including its S01xx/S03xx error codes for bad strings, numbers, comments and regexes).

use crate::Error;

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// An operator or punctuation (`.`, `[`, `:=`, `and`, ...).
    Op(&'static str),
    /// A field name (plain or backquoted).
    Name(String),
    /// A `$name` variable (`$` alone is the empty name, `$$` is `$`).
    Var(String),
    Str(String),
    Num(f64),
    /// `true`, `false` or `null`.
    Value(Literal),
    /// A regex literal: pattern and flags.
    Regex(String, String),
    End,
}

/// The keyword literals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Literal {
    True,
    False,
    Null,
}

/// Operators, longest first so that two-character operators win.
const OPERATORS: &[&str] = &[
    "..", ":=", "!=", "<=", ">=", "**", "~>", "?:", "??", ".", "[", "]", "{", "}", "(", ")", ",",
    "@", "#", ";", ":", "?", "+", "-", "*", "/", "%", "|", "=", "<", ">", "^", "&",
];

/// Characters that end a name.
fn is_name_end(c: char) -> bool {
    c.is_whitespace() || ".[]{}(),@#;:?+-*/%|=<>^&!~".contains(c)
}

/// A tokenizer over one expression.
pub(crate) struct Lexer<'s> {
    src: &'s str,
    pos: usize,
}

impl<'s> Lexer<'s> {
    pub fn new(src: &'s str) -> Self {
        Lexer { src, pos: 0 }
    }

    fn rest(&self) -> &'s str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    /// The next token and the position just after it. `prefix` is true where an operand is
    /// expected, which is where `/` starts a regex.
    pub fn next(&mut self, prefix: bool) -> Result<(Tok, usize), Error> {
        loop {
            while self.peek().is_some_and(char::is_whitespace) {
                self.pos += self.peek().map_or(1, char::len_utf8);
            }
            if self.rest().starts_with("/*") {
                let start = self.pos;
                match self.rest()[2..].find("*/") {
                    Some(end) => self.pos += end + 4,
                    None => {
                        return Err(Error::at("S0106", start, None));
                    }
                }
                continue;
            }
            break;
        }
        let Some(c) = self.peek() else {
            return Ok((Tok::End, self.pos));
        };
        if prefix && c == '/' {
            self.pos += 1;
            return self.regex();
        }
        if c == '"' || c == '\'' {
            self.pos += 1;
            return self.string(c);
        }
        if c.is_ascii_digit() {
            return self.number();
        }
        if c == '`' {
            self.pos += 1;
            let start = self.pos;
            return match self.rest().find('`') {
                Some(end) => {
                    let name = self.src[start..start + end].to_string();
                    self.pos = start + end + 1;
                    Ok((Tok::Name(name), self.pos))
                }
                None => Err(Error::at("S0105", self.src.len(), None)),
            };
        }
        for op in OPERATORS {
            if self.rest().starts_with(op) {
                // `..` only as an operator when not followed by a digit path? No: always.
                self.pos += op.len();
                return Ok((Tok::Op(op), self.pos));
            }
        }
        if c == '$' {
            self.pos += 1;
            let start = self.pos;
            while self.peek().is_some_and(|c| !is_name_end(c)) {
                self.pos += self.peek().map_or(1, char::len_utf8);
            }
            return Ok((Tok::Var(self.src[start..self.pos].to_string()), self.pos));
        }
        let start = self.pos;
        while self.peek().is_some_and(|c| !is_name_end(c)) {
            self.pos += self.peek().map_or(1, char::len_utf8);
        }
        if self.pos == start {
            // An unknown character such as `!` or `~` alone.
            return Err(Error::at("S0204", start, Some(c.to_string())));
        }
        let word = &self.src[start..self.pos];
        let tok = match word {
            "and" => Tok::Op("and"),
            "or" => Tok::Op("or"),
            "in" => Tok::Op("in"),
            "true" => Tok::Value(Literal::True),
            "false" => Tok::Value(Literal::False),
            "null" => Tok::Value(Literal::Null),
            w => Tok::Name(w.to_string()),
        };
        Ok((tok, self.pos))
    }

    fn number(&mut self) -> Result<(Tok, usize), Error> {
        let start = self.pos;
        let b = self.src.as_bytes();
        let mut i = self.pos;
        let digits = |i: &mut usize| {
            let s = *i;
            while *i < b.len() && b[*i].is_ascii_digit() {
                *i += 1;
            }
            *i > s
        };
        if b[i] == b'0' {
            i += 1;
        } else {
            digits(&mut i);
        }
        if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
            i += 1;
            digits(&mut i);
        }
        if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            let mut j = i + 1;
            if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
                j += 1;
            }
            if digits(&mut j) {
                i = j;
            }
        }
        let text = &self.src[start..i];
        let n: f64 = text.parse().unwrap_or(f64::NAN);
        if !n.is_finite() {
            return Err(Error::at("S0102", start, Some(text.to_string())));
        }
        self.pos = i;
        Ok((Tok::Num(n), self.pos))
    }

    fn string(&mut self, quote: char) -> Result<(Tok, usize), Error> {
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            if c == quote {
                self.pos += i + 1;
                return Ok((Tok::Str(out), self.pos));
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            let Some((j, e)) = chars.next() else { break };
            match e {
                '"' | '\\' | '/' | '\'' => out.push(e),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'u' => {
                    let hex = |s: &str| {
                        (s.len() >= 4 && s.is_char_boundary(4))
                            .then(|| u16::from_str_radix(&s[..4], 16).ok())
                            .flatten()
                    };
                    let after = &self.rest()[j + 1..];
                    let Some(unit) = hex(after) else {
                        return Err(Error::at("S0104", self.pos + j, None));
                    };
                    for _ in 0..4 {
                        chars.next();
                    }
                    let mut units = vec![unit];
                    if (0xD800..0xDC00).contains(&unit)
                        && after[4..].starts_with("\\u")
                        && let Some(low) = hex(&after[6..])
                        && (0xDC00..0xE000).contains(&low)
                    {
                        units.push(low);
                        for _ in 0..6 {
                            chars.next();
                        }
                    }
                    out.extend(char::decode_utf16(units).map(|r| r.unwrap_or('\u{FFFD}')));
                }
                other => {
                    return Err(Error::at("S0103", self.pos + j, Some(other.to_string())));
                }
            }
        }
        Err(Error::at("S0101", self.src.len(), None))
    }

    fn regex(&mut self) -> Result<(Tok, usize), Error> {
        let start = self.pos;
        let b = self.src.as_bytes();
        let mut depth = 0i32;
        let mut i = start;
        while i < b.len() {
            let c = b[i];
            let escaped = i > 0 && b[i - 1] == b'\\';
            if c == b'/' && depth == 0 {
                let mut backslashes = 0;
                while i > backslashes && b[i - backslashes - 1] == b'\\' {
                    backslashes += 1;
                }
                if backslashes % 2 == 0 {
                    let pattern = self.src[start..i].to_string();
                    if pattern.is_empty() {
                        return Err(Error::at("S0301", i, None));
                    }
                    i += 1;
                    let fstart = i;
                    while i < b.len() && (b[i] == b'i' || b[i] == b'm') {
                        i += 1;
                    }
                    let flags = self.src[fstart..i].to_string();
                    self.pos = i;
                    return Ok((Tok::Regex(pattern, flags), self.pos));
                }
            }
            if matches!(c, b'(' | b'[' | b'{') && !escaped {
                depth += 1;
            }
            if matches!(c, b')' | b']' | b'}') && !escaped {
                depth -= 1;
            }
            i += 1;
        }
        Err(Error::at("S0302", self.src.len(), None))
    }
}
