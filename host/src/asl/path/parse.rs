//! The JSONPath parser: text to root + segments, with byte positions in every error.

use serde_json::Number;

use super::filter::{self, Filter};
use super::{PathError, PathRoot, Segment, Selector, Slice, Step};

/// A byte cursor over the path text; every error it makes names the whole path.
pub(super) struct Cursor<'s> {
    pub(super) src: &'s str,
    pub(super) pos: usize,
}

impl<'s> Cursor<'s> {
    pub(super) fn new(src: &'s str) -> Self {
        Cursor { src, pos: 0 }
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    pub(super) fn peek_at(&self, offset: usize) -> Option<u8> {
        self.src.as_bytes().get(self.pos + offset).copied()
    }

    pub(super) fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(super) fn eat_str(&mut self, text: &str) -> bool {
        if self.src[self.pos..].starts_with(text) {
            self.pos += text.len();
            true
        } else {
            false
        }
    }

    pub(super) fn skip_spaces(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    pub(super) fn error(&self, message: impl Into<String>) -> PathError {
        self.error_at(self.pos, message)
    }

    pub(super) fn error_at(&self, position: usize, message: impl Into<String>) -> PathError {
        PathError::Syntax {
            path: self.src.to_owned(),
            position,
            message: message.into(),
        }
    }

    pub(super) fn expect(&mut self, byte: u8, what: &str) -> Result<(), PathError> {
        if self.eat(byte) {
            Ok(())
        } else {
            Err(self.unexpected(what))
        }
    }

    /// "expected X, found Y" at the current position.
    pub(super) fn unexpected(&self, expected: &str) -> PathError {
        match self.src[self.pos..].chars().next() {
            Some(c) => self.error(format!("expected {expected}, found {c:?}")),
            None => self.error(format!("expected {expected}, found the end of the path")),
        }
    }

    /// A quoted name (`'x'` or `"x"`), with backslash escapes for the quote and backslash.
    pub(super) fn quoted(&mut self) -> Result<String, PathError> {
        let start = self.pos;
        let quote = self.peek().ok_or_else(|| self.unexpected("a quote"))?;
        self.pos += 1;
        let mut out = String::new();
        let rest = &self.src[self.pos..];
        let mut chars = rest.char_indices();
        while let Some((offset, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, escaped @ ('\\' | '\'' | '"'))) => out.push(escaped),
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    Some((_, '/')) => out.push('/'),
                    _ => {
                        return Err(
                            self.error_at(self.pos + offset, "invalid escape in a quoted name")
                        );
                    }
                },
                c if c as u32 == u32::from(quote) => {
                    self.pos += offset + 1;
                    return Ok(out);
                }
                c => out.push(c),
            }
        }
        Err(self.error_at(start, "unterminated quoted name"))
    }

    /// An optionally signed integer.
    pub(super) fn integer(&mut self) -> Result<i64, PathError> {
        let start = self.pos;
        self.eat(b'-');
        let digits = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        if self.pos == digits {
            self.pos = start;
            return Err(self.unexpected("an integer"));
        }
        self.src[start..self.pos]
            .parse()
            .map_err(|_| self.error_at(start, "integer out of range"))
    }

    /// A JSON number literal (used in filters).
    pub(super) fn number(&mut self) -> Result<Number, PathError> {
        let start = self.pos;
        self.eat(b'-');
        while matches!(
            self.peek(),
            Some(b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
        ) {
            self.pos += 1;
        }
        serde_json::from_str(&self.src[start..self.pos])
            .map_err(|_| self.error_at(start, "malformed number"))
    }
}

/// Characters that end a dot-notation name (and may not appear in one).
fn ends_name(c: char) -> bool {
    matches!(
        c,
        '.' | '['
            | ']'
            | '('
            | ')'
            | '\''
            | '"'
            | ','
            | '?'
            | '@'
            | '$'
            | '*'
            | ':'
            | '='
            | '!'
            | '<'
            | '>'
            | '&'
            | '|'
    ) || c.is_whitespace()
        || c.is_control()
}

/// A dot-notation member name (`.name`), at least one character.
pub(super) fn member_name(cursor: &mut Cursor<'_>) -> Result<Box<str>, PathError> {
    let start = cursor.pos;
    let end = cursor.src[start..]
        .char_indices()
        .find(|(_, c)| ends_name(*c))
        .map_or(cursor.src.len(), |(offset, _)| start + offset);
    if end == start {
        return Err(cursor.unexpected("a field name"));
    }
    cursor.pos = end;
    Ok(cursor.src[start..end].into())
}

/// A JSONPath variable name after `$`: a letter or `_`, then letters, digits or `_`.
fn variable_name(cursor: &mut Cursor<'_>) -> Option<String> {
    let rest = &cursor.src[cursor.pos..];
    let first = rest.chars().next()?;
    if !(first.is_alphabetic() || first == '_') {
        return None;
    }
    let len = rest
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        .map_or(rest.len(), |(offset, _)| offset);
    cursor.pos += len;
    Some(rest[..len].to_owned())
}

/// Parses the root marker: `$$`, `$name` or `$`.
pub(super) fn root(cursor: &mut Cursor<'_>) -> Result<PathRoot, PathError> {
    if !cursor.eat(b'$') {
        return Err(PathError::MissingRoot {
            path: cursor.src.to_owned(),
        });
    }
    if cursor.eat(b'$') {
        return Ok(PathRoot::Context);
    }
    Ok(match variable_name(cursor) {
        Some(name) => PathRoot::Variable(name),
        None => PathRoot::Input,
    })
}

/// Parses a whole path.
pub(super) fn parse_path(src: &str) -> Result<(PathRoot, Vec<Segment>, Vec<usize>), PathError> {
    let mut cursor = Cursor::new(src);
    let root = root(&mut cursor)?;
    let mut segments = Vec::new();
    let mut positions = Vec::new();
    while !cursor.at_end() {
        positions.push(cursor.pos);
        segments.push(segment(&mut cursor)?);
    }
    Ok((root, segments, positions))
}

/// One segment: `.name`, `.*`, `..name`, `..*`, `..[...]` or `[...]`.
pub(super) fn segment(cursor: &mut Cursor<'_>) -> Result<Segment, PathError> {
    if cursor.eat_str("..") {
        let selector = if cursor.peek() == Some(b'[') {
            bracket(cursor)?
        } else {
            dot_selector(cursor)?
        };
        return Ok(Segment::Descendant(selector));
    }
    if cursor.eat(b'.') {
        // `$.[0]`, `$.['a']`, `$.[?(...)]`: a bracket right after a dot is AWS's (Jayway's)
        // dialect for the bracket alone.
        if cursor.peek() == Some(b'[') {
            return Ok(Segment::Child(bracket(cursor)?));
        }
        return Ok(Segment::Child(dot_selector(cursor)?));
    }
    if cursor.peek() == Some(b'[') {
        return Ok(Segment::Child(bracket(cursor)?));
    }
    Err(cursor.unexpected("'.' or '['"))
}

fn dot_selector(cursor: &mut Cursor<'_>) -> Result<Selector, PathError> {
    if cursor.eat(b'*') {
        return Ok(Selector::Wildcard);
    }
    Ok(Selector::Step(Step::Name(member_name(cursor)?)))
}

/// `[...]`: wildcard, filter, quoted names, indexes, or a slice.
fn bracket(cursor: &mut Cursor<'_>) -> Result<Selector, PathError> {
    cursor.expect(b'[', "'['")?;
    cursor.skip_spaces();
    let selector = match cursor.peek() {
        Some(b'*') => {
            cursor.pos += 1;
            Selector::Wildcard
        }
        Some(b'?') => {
            cursor.pos += 1;
            cursor.skip_spaces();
            cursor.expect(b'(', "'(' after '?'")?;
            let filter: Filter = filter::parse(cursor)?;
            cursor.skip_spaces();
            cursor.expect(b')', "')' closing the filter")?;
            Selector::Filter(Box::new(filter))
        }
        Some(b'\'' | b'"') => {
            let mut names = vec![Step::Name(cursor.quoted()?.into())];
            cursor.skip_spaces();
            while cursor.eat(b',') {
                cursor.skip_spaces();
                if !matches!(cursor.peek(), Some(b'\'' | b'"')) {
                    return Err(cursor.unexpected("a quoted name"));
                }
                names.push(Step::Name(cursor.quoted()?.into()));
                cursor.skip_spaces();
            }
            one_or_union(names)
        }
        Some(b'-' | b'0'..=b'9' | b':') => index_or_slice(cursor)?,
        _ => return Err(cursor.unexpected("'*', '?(', a quoted name, an index or a slice")),
    };
    cursor.skip_spaces();
    cursor.expect(b']', "']'")?;
    Ok(selector)
}

fn one_or_union(mut steps: Vec<Step>) -> Selector {
    if steps.len() == 1 {
        Selector::Step(steps.remove(0))
    } else {
        Selector::Union(steps)
    }
}

fn index_or_slice(cursor: &mut Cursor<'_>) -> Result<Selector, PathError> {
    let optional_int = |cursor: &mut Cursor<'_>| -> Result<Option<i64>, PathError> {
        cursor.skip_spaces();
        if matches!(cursor.peek(), Some(b'-' | b'0'..=b'9')) {
            let value = cursor.integer()?;
            cursor.skip_spaces();
            Ok(Some(value))
        } else {
            Ok(None)
        }
    };
    let first = optional_int(cursor)?;
    if cursor.eat(b':') {
        let end = optional_int(cursor)?;
        let step = if cursor.eat(b':') {
            let at = cursor.pos;
            let step = optional_int(cursor)?;
            if step == Some(0) {
                return Err(cursor.error_at(at, "a slice step must not be 0"));
            }
            step
        } else {
            None
        };
        return Ok(Selector::Slice(Slice {
            start: first,
            end,
            step,
        }));
    }
    let Some(first) = first else {
        return Err(cursor.unexpected("an index"));
    };
    let mut indexes = vec![Step::Index(first)];
    while cursor.eat(b',') {
        cursor.skip_spaces();
        indexes.push(Step::Index(cursor.integer()?));
        cursor.skip_spaces();
    }
    Ok(one_or_union(indexes))
}
