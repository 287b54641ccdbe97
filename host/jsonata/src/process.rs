//! Turns the raw parse tree into the evaluator's AST: flattens `.` chains into path steps,
//! attaches predicates, sort, focus `@`, index `#` and group-by to their steps, and resolves
//! the parent operator `%` to the step whose input it names (jsonata-js's `processAST`).

use std::sync::Arc;

use crate::Error;
use crate::ast::{BinOp, Group, Kind, LambdaDef, Node, Pairs, SortTerm, Stage};
use crate::lexer::Literal;
use crate::parser::{Raw, RawKind};

/// A parent-operator slot: the label its ancestor is bound under and how many steps up it is.
struct Slot {
    label: String,
    level: i32,
}

/// Processing state: the slots of every `%` seen.
pub(crate) struct Processor {
    slots: Vec<Slot>,
}

/// The processed AST plus the final label of each parent slot.
pub(crate) fn process(raw: Raw) -> Result<(Node, Vec<String>), Error> {
    let mut p = Processor { slots: Vec::new() };
    let node = p.node(raw)?;
    if matches!(node.kind, Kind::Parent(_)) || !node.seeking.is_empty() {
        return Err(Error::at("S0217", node.pos, Some(type_name(&node).into())));
    }
    Ok((node, p.slots.into_iter().map(|s| s.label).collect()))
}

fn type_name(node: &Node) -> &'static str {
    match node.kind {
        Kind::Path { .. } => "path",
        Kind::Binary { .. } => "binary",
        Kind::Negate(_) | Kind::ArrayCons(_) | Kind::ObjectCons(_) => "unary",
        Kind::Name(_) => "name",
        Kind::Str(_) => "string",
        Kind::Num(_) => "number",
        Kind::Bool(_) | Kind::Null => "value",
        Kind::Wildcard => "wildcard",
        Kind::Descendant => "descendant",
        Kind::Parent(_) => "parent",
        Kind::Condition { .. } | Kind::Elvis(..) | Kind::Coalesce(..) => "condition",
        Kind::Block(_) => "block",
        Kind::Bind { .. } => "bind",
        Kind::Regex(_) => "regex",
        Kind::Call { partial: false, .. } => "function",
        Kind::Call { partial: true, .. } => "partial",
        Kind::Variable(_) => "variable",
        Kind::Lambda { .. } => "lambda",
        Kind::Apply { .. } => "apply",
        Kind::Transform { .. } => "transform",
        Kind::Sort(_) => "sort",
        Kind::Placeholder => "operator",
    }
}

fn bin_op(op: &str) -> BinOp {
    match op {
        "+" => BinOp::Add,
        "-" => BinOp::Sub,
        "*" => BinOp::Mul,
        "/" => BinOp::Div,
        "%" => BinOp::Mod,
        "=" => BinOp::Eq,
        "!=" => BinOp::Ne,
        "<" => BinOp::Lt,
        "<=" => BinOp::Le,
        ">" => BinOp::Gt,
        ">=" => BinOp::Ge,
        "&" => BinOp::Concat,
        ".." => BinOp::Range,
        "in" => BinOp::In,
        "and" => BinOp::And,
        _ => BinOp::Or,
    }
}

/// Adds the slots `value` is still seeking (and its own, if it is `%`) to `result`.
fn push_ancestry(result: &mut Node, value: &Node) {
    result.seeking.extend(value.seeking.iter().copied());
    if let Kind::Parent(slot) = value.kind {
        result.seeking.push(slot);
    }
}

fn path(steps: Vec<Node>, pos: usize) -> Node {
    Node::new(
        Kind::Path {
            steps,
            keep_singleton: false,
        },
        pos,
    )
}

impl Processor {
    fn seek_parent(&mut self, node: &mut Node, slot: usize) -> Result<(), Error> {
        match &mut node.kind {
            Kind::Name(_) | Kind::Wildcard => {
                self.slots[slot].level -= 1;
                if self.slots[slot].level == 0 {
                    if let Some(existing) = node.ancestor {
                        self.slots[slot].label = self.slots[existing].label.clone();
                    }
                    node.ancestor = Some(slot);
                    node.tuple = true;
                }
            }
            Kind::Parent(_) => self.slots[slot].level += 1,
            Kind::Block(exprs) => {
                if let Some(last) = exprs.last_mut() {
                    self.seek_parent(last, slot)?;
                    node.tuple = true;
                }
            }
            Kind::Path { steps, .. } => {
                node.tuple = true;
                let mut index = steps.len() as isize - 1;
                self.seek_parent(&mut steps[index as usize], slot)?;
                index -= 1;
                while self.slots[slot].level > 0 && index >= 0 {
                    self.seek_parent(&mut steps[index as usize], slot)?;
                    index -= 1;
                }
            }
            _ => {
                return Err(Error::at("S0217", node.pos, Some(type_name(node).into())));
            }
        }
        Ok(())
    }

    fn resolve_ancestry(&mut self, path_node: &mut Node) -> Result<(), Error> {
        let Kind::Path { steps, .. } = &mut path_node.kind else {
            return Ok(());
        };
        let Some(last) = steps.last() else {
            return Ok(());
        };
        let mut slots = last.seeking.clone();
        if let Kind::Parent(slot) = last.kind {
            slots.push(slot);
        }
        let mut escaped = Vec::new();
        for slot in slots {
            let mut index = steps.len() as isize - 2;
            while self.slots[slot].level > 0 {
                if index < 0 {
                    escaped.push(slot);
                    break;
                }
                let mut step = index as usize;
                index -= 1;
                // Contiguous steps that bind the focus are skipped together.
                while index >= 0
                    && steps[step].focus.is_some()
                    && steps[index as usize].focus.is_some()
                {
                    step = index as usize;
                    index -= 1;
                }
                self.seek_parent(&mut steps[step], slot)?;
            }
        }
        path_node.seeking.extend(escaped);
        Ok(())
    }

    fn nodes(&mut self, raws: Vec<Raw>, parent: &mut Node) -> Result<Vec<Node>, Error> {
        let mut out = Vec::with_capacity(raws.len());
        for raw in raws {
            let n = self.node(raw)?;
            push_ancestry(parent, &n);
            out.push(n);
        }
        Ok(out)
    }

    fn pairs(
        &mut self,
        raws: Vec<(Raw, Raw)>,
        parent: &mut Node,
    ) -> Result<Vec<(Node, Node)>, Error> {
        let mut out = Vec::with_capacity(raws.len());
        for (k, v) in raws {
            let k = self.node(k)?;
            push_ancestry(parent, &k);
            let v = self.node(v)?;
            push_ancestry(parent, &v);
            out.push((k, v));
        }
        Ok(out)
    }

    fn boxed(&mut self, raw: Raw) -> Result<Box<Node>, Error> {
        Ok(Box::new(self.node(raw)?))
    }

    /// Processes one raw node. The parser bounds the tree's height; the stack grows on
    /// demand because each level here takes a large frame.
    pub(crate) fn node(&mut self, raw: Raw) -> Result<Node, Error> {
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.node_at(raw))
    }

    fn node_at(&mut self, raw: Raw) -> Result<Node, Error> {
        let pos = raw.pos;
        let keep_array = raw.keep_array;
        let is_elvis = matches!(raw.kind, RawKind::Elvis(..));
        let mut result = match raw.kind {
            RawKind::Binary(".", lhs, rhs) => self.path_step(*lhs, *rhs, pos)?,
            RawKind::Predicate(lhs, rhs) => {
                let mut result = self.node(*lhs)?;
                let predicate = self.node(*rhs)?;
                let is_path = matches!(result.kind, Kind::Path { .. });
                let step: &mut Node = match &mut result.kind {
                    Kind::Path { steps, .. } => steps.last_mut().expect("paths have steps"),
                    _ => &mut result,
                };
                if step.group.is_some() {
                    return Err(Error::at("S0209", pos, None));
                }
                for &slot in &predicate.seeking {
                    if self.slots[slot].level == 1 {
                        self.seek_parent(step, slot)?;
                    } else {
                        self.slots[slot].level -= 1;
                    }
                }
                push_ancestry(step, &predicate);
                if is_path {
                    step.stages.push(Stage::Filter(predicate));
                } else {
                    step.predicate.push(Stage::Filter(predicate));
                }
                result
            }
            RawKind::GroupBy(lhs, pairs) => {
                let mut result = self.node(*lhs)?;
                if result.group.is_some() {
                    return Err(Error::at("S0210", pos, None));
                }
                let mut scratch = Node::new(Kind::Null, pos);
                let pairs = self.pairs(pairs, &mut scratch)?;
                result.group = Some(Box::new(Group {
                    pairs: Pairs::new(pairs),
                    pos,
                }));
                result
            }
            RawKind::Sort(lhs, terms) => {
                let mut result = self.node(*lhs)?;
                if !matches!(result.kind, Kind::Path { .. }) {
                    result = path(vec![result], pos);
                }
                let mut sort = Node::new(Kind::Null, pos);
                let mut out = Vec::new();
                for (descending, expr) in terms {
                    let expr = self.node(expr)?;
                    push_ancestry(&mut sort, &expr);
                    out.push(SortTerm { descending, expr });
                }
                sort.kind = Kind::Sort(out);
                if let Kind::Path { steps, .. } = &mut result.kind {
                    steps.push(sort);
                }
                self.resolve_ancestry(&mut result)?;
                result
            }
            RawKind::Bind(name, value) => {
                let value = self.boxed(*value)?;
                let mut result = Node::new(Kind::Null, pos);
                push_ancestry(&mut result, &value);
                result.kind = Kind::Bind { name, value };
                result
            }
            RawKind::Focus(lhs, name) => {
                let mut result = self.node(*lhs)?;
                let step: &mut Node = match &mut result.kind {
                    Kind::Path { steps, .. } => steps.last_mut().expect("paths have steps"),
                    _ => &mut result,
                };
                if !step.stages.is_empty() || !step.predicate.is_empty() {
                    return Err(Error::at("S0215", pos, None));
                }
                if matches!(step.kind, Kind::Sort(_)) {
                    return Err(Error::at("S0216", pos, None));
                }
                if keep_array {
                    step.keep_array = true;
                }
                step.focus = Some(name);
                step.tuple = true;
                result
            }
            RawKind::Index(lhs, name) => {
                let mut result = self.node(*lhs)?;
                if !matches!(result.kind, Kind::Path { .. }) {
                    let predicate = std::mem::take(&mut result.predicate);
                    result.stages = predicate;
                    result = path(vec![result], pos);
                }
                if let Kind::Path { steps, .. } = &mut result.kind {
                    let step = steps.last_mut().expect("paths have steps");
                    if step.stages.is_empty() {
                        step.index = Some(name);
                    } else {
                        step.stages.push(Stage::Index(name));
                    }
                    step.tuple = true;
                }
                result
            }
            RawKind::Apply(lhs, rhs) => {
                let lhs = self.boxed(*lhs)?;
                let rhs = self.boxed(*rhs)?;
                let keep = lhs.keep_array || rhs.keep_array;
                let mut n = Node::new(Kind::Apply { lhs, rhs }, pos);
                n.keep_array = keep;
                n
            }
            RawKind::Binary(op, lhs, rhs) => {
                let lhs = self.boxed(*lhs)?;
                let rhs = self.boxed(*rhs)?;
                let mut n = Node::new(Kind::Null, pos);
                push_ancestry(&mut n, &lhs);
                push_ancestry(&mut n, &rhs);
                n.kind = Kind::Binary {
                    op: bin_op(op),
                    lhs,
                    rhs,
                };
                n
            }
            RawKind::Array(items) => {
                let mut n = Node::new(Kind::Null, pos);
                let items = self.nodes(items, &mut n)?;
                n.kind = Kind::ArrayCons(items);
                n
            }
            RawKind::Object(pairs) => {
                let mut n = Node::new(Kind::Null, pos);
                let pairs = self.pairs(pairs, &mut n)?;
                n.kind = Kind::ObjectCons(Pairs::new(pairs));
                n
            }
            RawKind::Negate(expr) => {
                let expr = self.node(*expr)?;
                if let Kind::Num(v) = expr.kind {
                    Node::new(Kind::Num(-v), expr.pos)
                } else {
                    let mut n = Node::new(Kind::Null, pos);
                    push_ancestry(&mut n, &expr);
                    n.kind = Kind::Negate(Box::new(expr));
                    n
                }
            }
            RawKind::Call(procedure, args, partial) => {
                let mut n = Node::new(Kind::Null, pos);
                let args = self.nodes(args, &mut n)?;
                let procedure = self.boxed(*procedure)?;
                n.kind = Kind::Call {
                    procedure,
                    args,
                    partial,
                };
                n
            }
            RawKind::Lambda(params, signature, body) => {
                let body = tail_call_optimize(self.node(*body)?);
                Node::new(
                    Kind::Lambda {
                        def: Arc::new(LambdaDef {
                            params,
                            signature,
                            body,
                        }),
                        thunk: false,
                    },
                    pos,
                )
            }
            RawKind::Condition(cond, then, otherwise) => {
                let mut n = Node::new(Kind::Null, pos);
                let cond = self.boxed(*cond)?;
                push_ancestry(&mut n, &cond);
                let then = self.boxed(*then)?;
                push_ancestry(&mut n, &then);
                let otherwise = match otherwise {
                    Some(o) => {
                        let o = self.boxed(*o)?;
                        push_ancestry(&mut n, &o);
                        Some(o)
                    }
                    None => None,
                };
                n.kind = Kind::Condition {
                    cond,
                    then,
                    otherwise,
                };
                n
            }
            RawKind::Elvis(lhs, rhs) | RawKind::Coalesce(lhs, rhs) => {
                let mut n = Node::new(Kind::Null, pos);
                let lhs = self.boxed(*lhs)?;
                push_ancestry(&mut n, &lhs);
                let rhs = self.boxed(*rhs)?;
                push_ancestry(&mut n, &rhs);
                n.kind = if is_elvis {
                    Kind::Elvis(lhs, rhs)
                } else {
                    Kind::Coalesce(lhs, rhs)
                };
                n
            }
            RawKind::Transform(pattern, update, delete) => Node::new(
                Kind::Transform {
                    pattern: self.boxed(*pattern)?,
                    update: self.boxed(*update)?,
                    delete: match delete {
                        Some(d) => Some(self.boxed(*d)?),
                        None => None,
                    },
                },
                pos,
            ),
            RawKind::Block(exprs) => {
                let mut n = Node::new(Kind::Null, pos);
                let exprs = self.nodes(exprs, &mut n)?;
                n.consarray = exprs.iter().any(|e| {
                    e.consarray || matches!(&e.kind, Kind::Path { steps, .. } if steps[0].consarray)
                });
                n.kind = Kind::Block(exprs);
                n
            }
            RawKind::Name(name) => {
                let mut n = Node::new(Kind::Name(name), pos);
                n.keep_array = keep_array;
                let mut p = path(vec![n], pos);
                if keep_array {
                    p.kind = match p.kind {
                        Kind::Path { steps, .. } => Kind::Path {
                            steps,
                            keep_singleton: true,
                        },
                        k => k,
                    };
                }
                p
            }
            RawKind::OperatorName(op) => {
                let raw = Raw {
                    kind: RawKind::Name(op.to_string()),
                    pos,
                    keep_array,
                    height: 1,
                };
                self.node(raw)?
            }
            RawKind::Parent => {
                self.slots.push(Slot {
                    label: format!("!{}", self.slots.len()),
                    level: 1,
                });
                Node::new(Kind::Parent(self.slots.len() - 1), pos)
            }
            RawKind::Var(v) => Node::new(Kind::Variable(v), pos),
            RawKind::Str(s) => Node::new(Kind::Str(Arc::from(s)), pos),
            RawKind::Num(n) => Node::new(Kind::Num(n), pos),
            RawKind::Lit(Literal::True) => Node::new(Kind::Bool(true), pos),
            RawKind::Lit(Literal::False) => Node::new(Kind::Bool(false), pos),
            RawKind::Lit(Literal::Null) => Node::new(Kind::Null, pos),
            RawKind::Regex(pattern, flags) => {
                Node::new(Kind::Regex(compile_regex(&pattern, &flags, pos)?), pos)
            }
            RawKind::Wildcard => Node::new(Kind::Wildcard, pos),
            RawKind::Descendant => Node::new(Kind::Descendant, pos),
            RawKind::Placeholder => Node::new(Kind::Placeholder, pos),
        };
        if keep_array {
            result.keep_array = true;
        }
        Ok(result)
    }

    fn path_step(&mut self, lhs: Raw, rhs: Raw, pos: usize) -> Result<Node, Error> {
        let lstep = self.node(lhs)?;
        let mut result = if matches!(lstep.kind, Kind::Path { .. }) {
            lstep
        } else {
            let parent_slot = match lstep.kind {
                Kind::Parent(s) => Some(s),
                _ => None,
            };
            let mut p = path(vec![lstep], pos);
            if let Some(s) = parent_slot {
                p.seeking = vec![s];
            }
            p
        };
        let rest = self.node(rhs)?;
        let Kind::Path {
            steps,
            keep_singleton,
        } = &mut result.kind
        else {
            unreachable!("result is a path");
        };
        match rest.kind {
            Kind::Path { steps: more, .. } => steps.extend(more),
            _ => {
                let mut rest = rest;
                if !rest.predicate.is_empty() {
                    rest.stages = std::mem::take(&mut rest.predicate);
                }
                steps.push(rest);
            }
        }
        for step in steps.iter_mut() {
            match &step.kind {
                Kind::Num(_) | Kind::Bool(_) | Kind::Null => {
                    return Err(Error::at("S0213", step.pos, None));
                }
                Kind::Str(s) => step.kind = Kind::Name(s.to_string()),
                _ => {}
            }
        }
        if steps.iter().any(|s| s.keep_array) {
            *keep_singleton = true;
        }
        if matches!(steps[0].kind, Kind::ArrayCons(_)) {
            steps[0].consarray = true;
        }
        let last = steps.len() - 1;
        if matches!(steps[last].kind, Kind::ArrayCons(_)) {
            steps[last].consarray = true;
        }
        self.resolve_ancestry(&mut result)?;
        Ok(result)
    }
}

/// Marks tail calls in a lambda body so the evaluator can trampoline them.
fn tail_call_optimize(mut expr: Node) -> Node {
    match &mut expr.kind {
        Kind::Call { partial: false, .. } if expr.predicate.is_empty() => {
            let pos = expr.pos;
            Node::new(
                Kind::Lambda {
                    def: Arc::new(LambdaDef {
                        params: Vec::new(),
                        signature: None,
                        body: expr,
                    }),
                    thunk: true,
                },
                pos,
            )
        }
        Kind::Condition {
            then, otherwise, ..
        } => {
            let t = std::mem::replace(then.as_mut(), Node::new(Kind::Null, 0));
            **then = tail_call_optimize(t);
            if let Some(o) = otherwise {
                let e = std::mem::replace(o.as_mut(), Node::new(Kind::Null, 0));
                **o = tail_call_optimize(e);
            }
            expr
        }
        Kind::Block(exprs) => {
            if let Some(last) = exprs.pop() {
                exprs.push(tail_call_optimize(last));
            }
            expr
        }
        _ => expr,
    }
}

/// Compiles a JSONata regex literal (JavaScript syntax) with `fancy-regex` (lookaround and
/// backreferences included).
pub(crate) fn compile_regex(
    pattern: &str,
    flags: &str,
    pos: usize,
) -> Result<Arc<fancy_regex::Regex>, Error> {
    let mut builder = fancy_regex::RegexBuilder::new(&translate_js_regex(pattern));
    builder.case_insensitive(flags.contains('i'));
    builder.multi_line(flags.contains('m'));
    builder.build().map(Arc::new).map_err(|e| {
        Error::at("S0303", pos, Some(pattern.to_string())).with_message(&e.to_string())
    })
}

/// Adapts JavaScript regex syntax to `fancy-regex` where they differ.
fn translate_js_regex(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    let mut chars = p.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(n) = chars.next() else {
                    out.push_str("\\\\");
                    break;
                };
                // JavaScript's \d and \w are ASCII; the regex crate's are Unicode.
                match n {
                    'd' => out.push_str(if in_class { "0-9" } else { "[0-9]" }),
                    'D' => out.push_str(if in_class { "[:^digit:]" } else { "[^0-9]" }),
                    'w' => out.push_str(if in_class {
                        "0-9A-Za-z_"
                    } else {
                        "[0-9A-Za-z_]"
                    }),
                    'W' => out.push_str(if in_class {
                        "[:^word:]"
                    } else {
                        "[^0-9A-Za-z_]"
                    }),
                    '/' => out.push('/'),
                    '-' => out.push_str("\\-"),
                    c if c.is_ascii_alphanumeric() => {
                        out.push('\\');
                        out.push(c);
                    }
                    c => {
                        out.push('\\');
                        out.push(c);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push_str("\\]");
                    chars.next();
                }
            }
            '[' => out.push_str("\\["),
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}
