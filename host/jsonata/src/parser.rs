//! Pratt parser: tokens to a raw syntax tree, with jsonata-js's binding powers and S02xx
//! syntax errors. `process` then turns the raw tree into the evaluator's AST.
//!
//! Nesting is bounded ([`MAX_NESTING`], error U1003): both the parser's own recursion and the
//! height of the tree it builds (a left-associative chain such as `1+1+...+1` or a long path
//! adds height without recursion here), so every later walk of the tree (processing,
//! evaluation, drop) stays shallow.

use crate::Error;
use crate::lexer::{Lexer, Literal, Tok};
use crate::signature::Signature;

/// The deepest an expression may nest: parentheses, blocks, array and object constructors,
/// unary minus, operator chains, path steps, conditions and calls all count a level each.
/// A parse past it fails with U1003 (a 1.5 KB expression could otherwise overflow a small
/// thread stack in the parser, the processor or the evaluator).
pub const MAX_NESTING: usize = 1000;

/// A raw node, as parsed.
#[derive(Debug)]
pub(crate) struct Raw {
    pub kind: RawKind,
    pub pos: usize,
    pub keep_array: bool,
    /// Levels of the tree this node heads (a leaf is 1).
    pub height: usize,
}

/// Raw node kinds (one per parser production).
#[derive(Debug)]
pub(crate) enum RawKind {
    Name(String),
    Var(String),
    Str(String),
    Num(f64),
    Lit(Literal),
    Regex(String, String),
    Wildcard,
    Descendant,
    Parent,
    Placeholder,
    /// An `and`/`or`/`in` token used where an operand belongs (a field name).
    OperatorName(&'static str),
    Binary(&'static str, Box<Raw>, Box<Raw>),
    Predicate(Box<Raw>, Box<Raw>),
    GroupBy(Box<Raw>, Vec<(Raw, Raw)>),
    Sort(Box<Raw>, Vec<(bool, Raw)>),
    Focus(Box<Raw>, String),
    Index(Box<Raw>, String),
    Bind(String, Box<Raw>),
    Negate(Box<Raw>),
    Array(Vec<Raw>),
    Object(Vec<(Raw, Raw)>),
    Condition(Box<Raw>, Box<Raw>, Option<Box<Raw>>),
    /// `a ?: b`
    Elvis(Box<Raw>, Box<Raw>),
    /// `a ?? b`
    Coalesce(Box<Raw>, Box<Raw>),
    Apply(Box<Raw>, Box<Raw>),
    Call(Box<Raw>, Vec<Raw>, bool),
    Lambda(Vec<String>, Option<Signature>, Box<Raw>),
    Transform(Box<Raw>, Box<Raw>, Option<Box<Raw>>),
    Block(Vec<Raw>),
}

impl Raw {
    fn new(kind: RawKind, pos: usize) -> Raw {
        let height = 1 + kind.child_height();
        Raw {
            kind,
            pos,
            keep_array: false,
            height,
        }
    }
}

impl RawKind {
    /// The height of the tallest child (0 for a leaf).
    fn child_height(&self) -> usize {
        fn max<'r>(nodes: impl IntoIterator<Item = &'r Raw>) -> usize {
            nodes.into_iter().map(|r| r.height).max().unwrap_or(0)
        }
        fn pairs(pairs: &[(Raw, Raw)]) -> usize {
            max(pairs.iter().flat_map(|(k, v)| [k, v]))
        }
        match self {
            RawKind::Name(_)
            | RawKind::Var(_)
            | RawKind::Str(_)
            | RawKind::Num(_)
            | RawKind::Lit(_)
            | RawKind::Regex(..)
            | RawKind::Wildcard
            | RawKind::Descendant
            | RawKind::Parent
            | RawKind::Placeholder
            | RawKind::OperatorName(_) => 0,
            RawKind::Binary(_, a, b)
            | RawKind::Predicate(a, b)
            | RawKind::Elvis(a, b)
            | RawKind::Coalesce(a, b)
            | RawKind::Apply(a, b) => a.height.max(b.height),
            RawKind::GroupBy(a, p) => a.height.max(pairs(p)),
            RawKind::Sort(a, terms) => a.height.max(max(terms.iter().map(|(_, t)| t))),
            RawKind::Focus(a, _)
            | RawKind::Index(a, _)
            | RawKind::Bind(_, a)
            | RawKind::Negate(a)
            | RawKind::Lambda(_, _, a) => a.height,
            RawKind::Array(items) | RawKind::Block(items) => max(items),
            RawKind::Object(p) => pairs(p),
            RawKind::Condition(a, b, c) | RawKind::Transform(a, b, c) => a
                .height
                .max(b.height)
                .max(c.as_ref().map_or(0, |c| c.height)),
            RawKind::Call(p, args, _) => p.height.max(max(args)),
        }
    }
}

/// Left binding power of a token in infix position.
fn lbp(tok: &Tok) -> u8 {
    match tok {
        Tok::Op(op) => match *op {
            "." => 75,
            "[" | "(" | "@" | "#" => 80,
            "{" => 70,
            "?" => 20,
            "+" | "-" | "&" => 50,
            "*" | "/" | "%" => 60,
            "=" | "<" | ">" | "^" | "!=" | "<=" | ">=" | "~>" | "?:" | "??" | "in" => 40,
            ":=" => 10,
            "and" => 30,
            "or" => 25,
            _ => 0,
        },
        _ => 0,
    }
}

fn tok_text(tok: &Tok) -> String {
    match tok {
        Tok::Op(o) => (*o).to_string(),
        Tok::Name(n) => n.clone(),
        Tok::Var(v) => format!("${v}"),
        Tok::Str(s) => s.clone(),
        Tok::Num(n) => crate::value::js_number(*n),
        Tok::Value(Literal::True) => "true".into(),
        Tok::Value(Literal::False) => "false".into(),
        Tok::Value(Literal::Null) => "null".into(),
        Tok::Regex(p, _) => p.clone(),
        Tok::End => "(end)".into(),
    }
}

/// Parses a whole expression to a raw tree.
pub(crate) fn parse(src: &str) -> Result<Raw, Error> {
    let mut p = Parser {
        lexer: Lexer::new(src),
        tok: Tok::End,
        pos: 0,
        depth: 0,
    };
    p.advance(None, false)?;
    let expr = p.expression(0)?;
    if p.tok != Tok::End {
        return Err(Error::at("S0201", p.pos, Some(tok_text(&p.tok))));
    }
    Ok(expr)
}

struct Parser<'s> {
    lexer: Lexer<'s>,
    tok: Tok,
    pos: usize,
    /// Nested `expression` calls in progress.
    depth: usize,
}

/// U1003: the expression nests deeper than [`MAX_NESTING`].
fn too_deep(pos: usize) -> Error {
    Error::at("U1003", pos, None).with_value(&MAX_NESTING.to_string())
}

impl Parser<'_> {
    /// Checks the current token is `expect` (if given) and moves to the next one. `infix` is
    /// true when the next token follows an operand (so `/` divides rather than starts a regex).
    fn advance(&mut self, expect: Option<&str>, infix: bool) -> Result<(), Error> {
        if let Some(id) = expect {
            let matches = matches!(&self.tok, Tok::Op(op) if *op == id);
            if !matches {
                let code = if self.tok == Tok::End {
                    "S0203"
                } else {
                    "S0202"
                };
                return Err(Error::at(code, self.pos, Some(tok_text(&self.tok))).with_value(id));
            }
        }
        let (tok, pos) = self.lexer.next(!infix)?;
        self.tok = tok;
        self.pos = pos;
        Ok(())
    }

    fn is(&self, op: &str) -> bool {
        matches!(&self.tok, Tok::Op(o) if *o == op)
    }

    /// An expression binding tighter than `rbp`, within the nesting bound.
    fn expression(&mut self, rbp: u8) -> Result<Raw, Error> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(too_deep(self.pos));
        }
        // The bound keeps the recursion shallow; growing the stack on demand keeps it safe
        // on small thread stacks too.
        let result = stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.expression_at(rbp));
        self.depth -= 1;
        let raw = result?;
        if raw.height > MAX_NESTING {
            return Err(too_deep(raw.pos));
        }
        Ok(raw)
    }

    fn expression_at(&mut self, rbp: u8) -> Result<Raw, Error> {
        let tok = std::mem::replace(&mut self.tok, Tok::End);
        let pos = self.pos;
        self.advance(None, true)?;
        let mut left = self.nud(tok, pos)?;
        while rbp < lbp(&self.tok) {
            let Tok::Op(op) = self.tok else { break };
            let pos = self.pos;
            self.advance(None, false)?;
            left = self.led(op, pos, left)?;
            if left.height > MAX_NESTING {
                return Err(too_deep(pos));
            }
        }
        Ok(left)
    }

    fn nud(&mut self, tok: Tok, pos: usize) -> Result<Raw, Error> {
        let kind = match tok {
            Tok::Name(n) => RawKind::Name(n),
            Tok::Var(v) => RawKind::Var(v),
            Tok::Str(s) => RawKind::Str(s),
            Tok::Num(n) => RawKind::Num(n),
            Tok::Value(l) => RawKind::Lit(l),
            Tok::Regex(p, f) => RawKind::Regex(p, f),
            Tok::End => return Err(Error::at("S0207", pos, None)),
            Tok::Op(op) => match op {
                "and" | "or" | "in" => RawKind::OperatorName(op),
                "*" => RawKind::Wildcard,
                "**" => RawKind::Descendant,
                "%" => RawKind::Parent,
                "?" => RawKind::Placeholder,
                "-" => RawKind::Negate(Box::new(self.expression(70)?)),
                "(" => {
                    let mut exprs = Vec::new();
                    while !self.is(")") {
                        exprs.push(self.expression(0)?);
                        if !self.is(";") {
                            break;
                        }
                        self.advance(Some(";"), false)?;
                    }
                    self.advance(Some(")"), true)?;
                    RawKind::Block(exprs)
                }
                "[" => {
                    let mut items = Vec::new();
                    if !self.is("]") {
                        loop {
                            let mut item = self.expression(0)?;
                            if self.is("..") {
                                let rpos = self.pos;
                                self.advance(Some(".."), false)?;
                                let rhs = self.expression(0)?;
                                item = Raw::new(
                                    RawKind::Binary("..", Box::new(item), Box::new(rhs)),
                                    rpos,
                                );
                            }
                            items.push(item);
                            if !self.is(",") {
                                break;
                            }
                            self.advance(Some(","), false)?;
                        }
                    }
                    self.advance(Some("]"), true)?;
                    RawKind::Array(items)
                }
                "{" => RawKind::Object(self.object_body()?),
                "|" => {
                    let pattern = self.expression(0)?;
                    self.advance(Some("|"), false)?;
                    let update = self.expression(0)?;
                    let delete = if self.is(",") {
                        self.advance(Some(","), false)?;
                        Some(Box::new(self.expression(0)?))
                    } else {
                        None
                    };
                    self.advance(Some("|"), true)?;
                    RawKind::Transform(Box::new(pattern), Box::new(update), delete)
                }
                _ => return Err(Error::at("S0211", pos, Some(op.to_string()))),
            },
        };
        Ok(Raw::new(kind, pos))
    }

    fn object_body(&mut self) -> Result<Vec<(Raw, Raw)>, Error> {
        let mut pairs = Vec::new();
        if !self.is("}") {
            loop {
                let key = self.expression(0)?;
                self.advance(Some(":"), false)?;
                let value = self.expression(0)?;
                pairs.push((key, value));
                if !self.is(",") {
                    break;
                }
                self.advance(Some(","), false)?;
            }
        }
        self.advance(Some("}"), true)?;
        Ok(pairs)
    }

    fn led(&mut self, op: &'static str, pos: usize, left: Raw) -> Result<Raw, Error> {
        let kind = match op {
            "(" => return self.call(pos, left),
            "[" => {
                if self.is("]") {
                    // `step[]`: keep singleton arrays; flags the innermost step.
                    let mut left = left;
                    let mut step = &mut left;
                    while let RawKind::Predicate(lhs, _) = &mut step.kind {
                        step = lhs;
                    }
                    step.keep_array = true;
                    self.advance(Some("]"), true)?;
                    return Ok(left);
                }
                let rhs = self.expression(0)?;
                self.advance(Some("]"), true)?;
                RawKind::Predicate(Box::new(left), Box::new(rhs))
            }
            "{" => RawKind::GroupBy(Box::new(left), self.object_body()?),
            "^" => {
                self.advance(Some("("), false)?;
                let mut terms = Vec::new();
                loop {
                    let mut descending = false;
                    if self.is("<") {
                        self.advance(Some("<"), false)?;
                    } else if self.is(">") {
                        descending = true;
                        self.advance(Some(">"), false)?;
                    }
                    terms.push((descending, self.expression(0)?));
                    if !self.is(",") {
                        break;
                    }
                    self.advance(Some(","), false)?;
                }
                self.advance(Some(")"), true)?;
                RawKind::Sort(Box::new(left), terms)
            }
            ":=" => {
                let RawKind::Var(name) = left.kind else {
                    return Err(Error::at("S0212", left.pos, None));
                };
                RawKind::Bind(name, Box::new(self.expression(9)?))
            }
            "@" | "#" => {
                let rhs = self.expression(80)?;
                let RawKind::Var(name) = rhs.kind else {
                    return Err(Error::at("S0214", rhs.pos, Some(op.to_string())));
                };
                if op == "@" {
                    RawKind::Focus(Box::new(left), name)
                } else {
                    RawKind::Index(Box::new(left), name)
                }
            }
            "?" => {
                let then = self.expression(0)?;
                let otherwise = if self.is(":") {
                    self.advance(Some(":"), false)?;
                    Some(Box::new(self.expression(0)?))
                } else {
                    None
                };
                RawKind::Condition(Box::new(left), Box::new(then), otherwise)
            }
            "?:" => RawKind::Elvis(Box::new(left), Box::new(self.expression(0)?)),
            "??" => RawKind::Coalesce(Box::new(left), Box::new(self.expression(0)?)),
            "~>" => RawKind::Apply(Box::new(left), Box::new(self.expression(40)?)),
            _ => {
                let rhs = self.expression(lbp(&Tok::Op(op)))?;
                RawKind::Binary(op, Box::new(left), Box::new(rhs))
            }
        };
        Ok(Raw::new(kind, pos))
    }

    fn call(&mut self, pos: usize, procedure: Raw) -> Result<Raw, Error> {
        let mut args = Vec::new();
        let mut partial = false;
        if !self.is(")") {
            loop {
                if self.is("?") {
                    partial = true;
                    args.push(Raw::new(RawKind::Placeholder, self.pos));
                    self.advance(Some("?"), false)?;
                } else {
                    args.push(self.expression(0)?);
                }
                if !self.is(",") {
                    break;
                }
                self.advance(Some(","), false)?;
            }
        }
        self.advance(Some(")"), true)?;
        let is_lambda = matches!(&procedure.kind, RawKind::Name(n) if n == "function" || n == "λ");
        if !is_lambda {
            return Ok(Raw::new(
                RawKind::Call(Box::new(procedure), args, partial),
                pos,
            ));
        }
        let mut params = Vec::new();
        for (i, arg) in args.into_iter().enumerate() {
            match arg.kind {
                RawKind::Var(v) => params.push(v),
                _ => {
                    return Err(Error::at("S0208", arg.pos, None).with_value(&(i + 1).to_string()));
                }
            }
        }
        let mut signature = None;
        if self.is("<") {
            let sig_pos = self.pos;
            let mut depth = 1;
            let mut text = String::from("<");
            while depth > 0 && !self.is("{") && self.tok != Tok::End {
                self.advance(None, false)?;
                match &self.tok {
                    Tok::Op(">") => depth -= 1,
                    Tok::Op("<") => depth += 1,
                    _ => {}
                }
                text.push_str(&tok_text(&self.tok));
            }
            self.advance(Some(">"), false)?;
            signature = Some(Signature::parse(&text).map_err(|mut e| {
                e.position = Some(sig_pos + e.position.unwrap_or(0));
                e
            })?);
        }
        self.advance(Some("{"), false)?;
        let body = self.expression(0)?;
        self.advance(Some("}"), true)?;
        Ok(Raw::new(
            RawKind::Lambda(params, signature, Box::new(body)),
            pos,
        ))
    }
}
