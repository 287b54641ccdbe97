//! The intrinsic-function grammar: `States.Name(arg, ...)` where an argument is a
//! `'single-quoted'` string (escapes `\'` `\{` `\}` `\\`), a number, `true`, `false`,
//! `null`, a path (`$.x`, `$$.x`, `$var.x`) or a nested call.

use serde_json::Value;

use super::{Arg, Func, Intrinsic, IntrinsicError, MAX_NESTING, Piece};
use crate::asl::path::JsonPath;

struct Parser<'s> {
    src: &'s str,
    pos: usize,
}

/// Parses a whole invocation; only whitespace may surround it.
pub(super) fn parse(src: &str) -> Result<Intrinsic, IntrinsicError> {
    let mut parser = Parser { src, pos: 0 };
    parser.skip_spaces();
    let call = parser.call(1)?;
    parser.skip_spaces();
    if parser.pos < src.len() {
        return Err(parser.unexpected("the end of the invocation"));
    }
    Ok(call)
}

impl<'s> Parser<'s> {
    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn skip_spaces(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn error(&self, position: usize, message: impl Into<String>) -> IntrinsicError {
        IntrinsicError::Syntax {
            src: self.src.to_owned(),
            position,
            message: message.into(),
        }
    }

    fn unexpected(&self, expected: &str) -> IntrinsicError {
        match self.src[self.pos..].chars().next() {
            Some(c) => self.error(self.pos, format!("expected {expected}, found {c:?}")),
            None => self.error(self.pos, format!("expected {expected}, found the end")),
        }
    }

    /// `States.Name(args)`; `depth` counts nesting from 1.
    fn call(&mut self, depth: usize) -> Result<Intrinsic, IntrinsicError> {
        if depth > MAX_NESTING {
            return Err(IntrinsicError::TooDeep {
                src: self.src.to_owned(),
            });
        }
        if !self.src[self.pos..].starts_with("States.") {
            return Err(self.unexpected("'States.'"));
        }
        self.pos += "States.".len();
        let name_start = self.pos;
        while matches!(
            self.peek(),
            Some(b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_')
        ) {
            self.pos += 1;
        }
        let name = &self.src[name_start..self.pos];
        if name.is_empty() {
            return Err(self.unexpected("a function name"));
        }
        let func = Func::from_name(name).ok_or_else(|| IntrinsicError::UnknownFunction {
            src: self.src.to_owned(),
            name: name.to_owned(),
            position: name_start,
        })?;
        self.skip_spaces();
        if self.peek() != Some(b'(') {
            return Err(self.unexpected("'('"));
        }
        self.pos += 1;
        let mut args = Vec::new();
        let mut format = None;
        self.skip_spaces();
        if self.peek() == Some(b')') {
            self.pos += 1;
        } else {
            loop {
                self.skip_spaces();
                let (arg, pieces) = self.arg(depth)?;
                if func == Func::Format && args.is_empty() {
                    format = pieces;
                }
                args.push(arg);
                self.skip_spaces();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b')') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.unexpected("',' or ')'")),
                }
            }
        }
        let (min, max, expected) = func.arity();
        if args.len() < min || args.len() > max {
            return Err(IntrinsicError::ArgumentCount {
                src: self.src.to_owned(),
                function: func.name(),
                expected,
                found: args.len(),
            });
        }
        Ok(Intrinsic { func, args, format })
    }

    /// One argument; string literals also return their Format pieces.
    fn arg(&mut self, depth: usize) -> Result<(Arg, Option<Vec<Piece>>), IntrinsicError> {
        let rest = &self.src[self.pos..];
        match self.peek() {
            Some(b'\'') => {
                let (text, pieces) = self.string()?;
                Ok((Arg::Literal(Value::String(text)), Some(pieces)))
            }
            Some(b'$') => Ok((Arg::Path(self.path()?), None)),
            Some(b'-' | b'0'..=b'9') => Ok((Arg::Literal(self.number()?), None)),
            _ if rest.starts_with("States.") => {
                Ok((Arg::Call(Box::new(self.call(depth + 1)?)), None))
            }
            _ => {
                for (word, value) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    if let Some(after) = rest.strip_prefix(word)
                        && !after.starts_with(|c: char| c.is_alphanumeric() || c == '_')
                    {
                        self.pos += word.len();
                        return Ok((Arg::Literal(value), None));
                    }
                }
                Err(self.unexpected(
                    "an argument ('string', number, true, false, null, a path or States.*)",
                ))
            }
        }
    }

    /// A single-quoted string: its value, and its pieces as a Format template.
    fn string(&mut self) -> Result<(String, Vec<Piece>), IntrinsicError> {
        let start = self.pos;
        self.pos += 1;
        let body = &self.src[self.pos..];
        let mut end = None;
        let mut chars = body.char_indices();
        while let Some((offset, c)) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '\'' => {
                    end = Some(offset);
                    break;
                }
                _ => {}
            }
        }
        let Some(end) = end else {
            return Err(self.error(start, "unterminated string"));
        };
        let raw = &body[..end];
        let pieces = format_pieces(raw).map_err(|offset| {
            self.error(
                self.pos + offset,
                "invalid escape: only \\' \\{ \\} and \\\\ are allowed",
            )
        })?;
        self.pos += end + 1;
        Ok((unescape(&pieces), pieces))
    }

    /// A path argument: up to a top-level `,` `)` or whitespace (brackets and quotes nest).
    fn path(&mut self) -> Result<JsonPath, IntrinsicError> {
        let start = self.pos;
        let mut depth = 0usize;
        let mut quote: Option<u8> = None;
        let bytes = self.src.as_bytes();
        let mut i = start;
        while i < bytes.len() {
            let b = bytes[i];
            if let Some(q) = quote {
                if b == b'\\' {
                    i += 1;
                } else if b == q {
                    quote = None;
                }
            } else {
                match b {
                    b'\'' | b'"' if depth > 0 => quote = Some(b),
                    b'[' => depth += 1,
                    b']' => depth = depth.saturating_sub(1),
                    b',' | b')' | b' ' | b'\t' | b'\n' | b'\r' if depth == 0 => break,
                    _ => {}
                }
            }
            i += 1;
        }
        let text = &self.src[start..i.min(bytes.len())];
        let path = JsonPath::parse(text).map_err(|source| IntrinsicError::BadPath {
            src: self.src.to_owned(),
            position: start,
            source,
        })?;
        self.pos = start + text.len();
        Ok(path)
    }

    fn number(&mut self) -> Result<Value, IntrinsicError> {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        let mut i = start;
        if bytes.get(i) == Some(&b'-') {
            i += 1;
        }
        while let Some(b) = bytes.get(i) {
            match b {
                b'0'..=b'9' | b'.' | b'e' | b'E' => i += 1,
                b'+' | b'-' if matches!(bytes[i - 1], b'e' | b'E') => i += 1,
                _ => break,
            }
        }
        let text = &self.src[start..i];
        let number: serde_json::Number = serde_json::from_str(text)
            .map_err(|_| self.error(start, format!("malformed number {text:?}")))?;
        self.pos = i;
        Ok(Value::Number(number))
    }
}

/// Splits escaped string text into Format pieces. `Err(offset)` for a bad escape.
/// Used for literal templates at parse time and for templates read from the input.
pub(super) fn format_pieces(raw: &str) -> Result<Vec<Piece>, usize> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = raw.char_indices().peekable();
    while let Some((offset, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, escaped @ ('\'' | '{' | '}' | '\\'))) => text.push(escaped),
                _ => return Err(offset),
            },
            '{' if chars.peek().is_some_and(|(_, next)| *next == '}') => {
                chars.next();
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Hole);
            }
            other => text.push(other),
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// The plain string value of a literal (holes are the two characters `{}`).
fn unescape(pieces: &[Piece]) -> String {
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Hole => out.push_str("{}"),
        }
    }
    out
}
