//! The evaluator: walks the processed AST with JSONata's sequence semantics, guarded by depth
//! and time limits. This module holds the per-evaluation state and the dispatch over node
//! kinds; `path` evaluates paths (steps, tuple streams, predicates), `group` object
//! constructors and sorting, `call` function calls, `ops` operators, `frame` variable scopes.

mod call;
pub(crate) mod frame;
mod group;
mod ops;
mod output;
mod path;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use serde_json::Value as Json;

use crate::ast::{Kind, Node, Stage};
use crate::value::{Array, Func, Value};
use crate::{Environment, Error, Expression, Variable};
use frame::Frame;
pub(crate) use output::Entries;

pub(crate) use call::arity;
pub(crate) use group::{append, cmp_utf16};
pub(crate) use path::lookup_field;
use path::{descendants, wildcard};

/// Tracked frames below this many are never pruned.
const PRUNE_MIN: usize = 4096;

/// Per-evaluation state: limits, the clock reading, frames to clean up.
pub(crate) struct Ctx<'a> {
    pub env: &'a Environment<'a>,
    labels: &'a [String],
    depth: Cell<usize>,
    max_depth: usize,
    /// The deepest value the evaluation may build (U1004).
    max_value_depth: usize,
    /// The most items a value it builds may hold, written out (U1005).
    max_value_weight: u64,
    /// Evaluation steps so far (the clock is read every 64 steps, not every step).
    steps: Cell<u32>,
    /// When the evaluation started (read lazily: most evaluations end before the first
    /// time check, so they never read the clock).
    started: Cell<Option<Instant>>,
    time_limit: Option<std::time::Duration>,
    /// `$now()`/`$millis()`: one reading per evaluation, taken at the first call.
    now: Cell<Option<f64>>,
    /// Frames below the root that got bindings; cleared at the end to break closure cycles.
    frames: RefCell<Vec<Rc<Frame<'a>>>>,
    /// The list length at which unreferenced frames are dropped.
    prune_at: Cell<usize>,
    pub step_functions: bool,
}

/// Evaluates an expression (the public entry point's body).
pub(crate) fn run(
    expr: &Expression,
    input: Option<&Json>,
    env: &Environment<'_>,
) -> Result<Option<Json>, Error> {
    run_node(expr, &expr.root, input, env)
}

/// Evaluates one node of `expr` as if it were the whole expression (same frame, limits and
/// error positions).
pub(crate) fn run_node(
    expr: &Expression,
    node: &Node,
    input: Option<&Json>,
    env: &Environment<'_>,
) -> Result<Option<Json>, Error> {
    evaluate_with(expr, input, env, |ctx, input, root| {
        ctx.eval_output(node, input, root)
    })
}

/// Evaluates an object constructor of `expr`, without input, to its entries in order
/// (`None` when it does not give an object).
pub(crate) fn run_entries(
    expr: &Expression,
    node: &Node,
    env: &Environment<'_>,
) -> Result<Option<Entries>, Error> {
    evaluate_with(expr, None, env, |ctx, input, root| {
        ctx.eval_entries(node, input, root)
    })
}

/// Runs `f` in a fresh evaluation of `expr` (limits, root frame binding `$`), then breaks
/// the closure cycles its frames may hold.
fn evaluate_with<'a, R>(
    expr: &'a Expression,
    input: Option<&'a Json>,
    env: &'a Environment<'a>,
    f: impl FnOnce(&Ctx<'a>, &Value<'a>, &Rc<Frame<'a>>) -> Result<R, Box<Error>>,
) -> Result<R, Error> {
    let ctx = Ctx {
        env,
        labels: &expr.labels,
        depth: Cell::new(0),
        max_depth: env.max_depth,
        max_value_depth: env.max_value_depth,
        max_value_weight: crate::MAX_VALUE_ITEMS,
        steps: Cell::new(0),
        started: Cell::new(None),
        time_limit: env.time_limit,
        now: Cell::new(None),
        frames: RefCell::new(Vec::new()),
        prune_at: Cell::new(PRUNE_MIN),
        step_functions: env.step_functions,
    };
    let input = match input {
        None => Value::Undefined,
        Some(j @ Json::Array(_)) => Value::Array(Rc::new(Array {
            items: vec![Value::Json(j)],
            seq: true,
            outer: true,
            ..Array::default()
        })),
        Some(j) => Value::from_json(j),
    };
    let root = Frame::root(input.clone());
    crate::value::forget_json_weights();
    let out = f(&ctx, &input, &root).map_err(|e| *e);
    crate::value::forget_json_weights();
    // The root frame is cleared here rather than tracked (one allocation less per evaluation).
    root.clear();
    for f in ctx.frames.borrow().iter() {
        f.clear();
    }
    out
}

impl<'a> Ctx<'a> {
    pub fn track(&self, frame: &Rc<Frame<'a>>) {
        let mut frames = self.frames.borrow_mut();
        if frames.len() >= self.prune_at.get() {
            // Frames only this list still holds are garbage (not in a cycle): drop them now so
            // long loops run in constant memory. Doubling the threshold keeps this amortised O(1).
            frames.retain(|f| Rc::strong_count(f) > 1);
            self.prune_at.set((frames.len() * 2).max(PRUNE_MIN));
        }
        frames.push(frame.clone());
    }

    /// A child frame that will get bindings.
    pub fn new_frame(&self, parent: &Rc<Frame<'a>>) -> Rc<Frame<'a>> {
        let f = Frame::child(parent);
        self.track(&f);
        f
    }

    pub fn label(&self, slot: usize) -> &'a str {
        &self.labels[slot]
    }

    /// Looks up a variable: scopes, then the environment's bindings, then built-ins.
    pub fn lookup(&self, name: &str, env: &Rc<Frame<'a>>) -> Value<'a> {
        if let Some(v) = env.lookup(name) {
            return v;
        }
        match self.env.lookup(name) {
            Some(Variable::Json(j)) => return Value::from_json(j),
            Some(Variable::Record(fields)) => {
                return Value::Object(Rc::new(
                    fields
                        .iter()
                        .map(|(k, v)| (Arc::from(*k), Value::from_json(v)))
                        .collect(),
                ));
            }
            None => {}
        }
        match crate::functions::lookup(name, self.step_functions) {
            Some(b) => Value::func(Func::Builtin(b)),
            None => Value::Undefined,
        }
    }

    /// `$now()`/`$millis()`: the same reading for the whole evaluation.
    pub fn now_millis(&self) -> f64 {
        *self.now.get().get_or_insert_with(|| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_millis() as f64);
            self.now.set(Some(now));
            now
        })
    }

    /// Whether the evaluation has run past `limit`; the clock starts at the first check
    /// (64 steps in), which is early enough for a limit of seconds.
    fn timed_out(&self, limit: std::time::Duration) -> bool {
        match self.started.get() {
            Some(start) => start.elapsed() > limit,
            None => {
                self.started.set(Some(Instant::now()));
                false
            }
        }
    }

    fn enter(&self) -> Result<(), Error> {
        let d = self.depth.get() + 1;
        self.depth.set(d);
        if d > self.max_depth {
            return Err(Error::new("U1001"));
        }
        let steps = self.steps.get().wrapping_add(1);
        self.steps.set(steps);
        if let Some(limit) = self.time_limit
            && steps.is_multiple_of(64)
            && self.timed_out(limit)
        {
            return Err(Error::new("U1001")
                .with_message("Expression evaluation timeout: Check for infinite loop"));
        }
        Ok(())
    }

    /// Evaluates a node: dispatch, then predicates, grouping and sequence unwrapping.
    pub fn eval(
        &self,
        node: &'a Node,
        input: &Value<'a>,
        env: &Rc<Frame<'a>>,
    ) -> Result<Value<'a>, Box<Error>> {
        let v = self.guarded(|| self.eval_inner(node, input, env))?;
        self.bounded(v, node.pos)
    }

    /// `v`, unless it nests deeper than the evaluation allows (U1004). Every value an
    /// expression builds is the result of some node, so checking each node's result keeps
    /// every value (and every walk over one: conversion, comparison, drop) within the bound;
    /// depths are cached, so this costs O(1) per member built.
    ///
    /// The same holds for the items a value holds written out as a tree (U1005): a value
    /// that shares one member twice per level is small in memory but doubles per level
    /// when converted, printed or compared.
    fn bounded(&self, v: Value<'a>, pos: usize) -> Result<Value<'a>, Box<Error>> {
        let shape = v.shape();
        if shape.depth as usize > self.max_value_depth {
            return Err(Error::at(crate::VALUE_TOO_DEEP, pos, None)
                .with_value(&self.max_value_depth.to_string())
                .into());
        }
        if shape.weight > self.max_value_weight {
            return Err(Error::at("U1005", pos, None)
                .with_value(&self.max_value_weight.to_string())
                .into());
        }
        Ok(v)
    }

    /// Runs one evaluation step under the depth and time limits, on a stack grown as needed.
    fn guarded<R>(&self, step: impl FnOnce() -> Result<R, Box<Error>>) -> Result<R, Box<Error>> {
        self.enter()?;
        // Checking the stack is cheap but not free: every 8th level is enough, given the
        // red zone covers eight levels of evaluator frames.
        let result = if self.depth.get().is_multiple_of(8) {
            stacker::maybe_grow(256 * 1024, 4 * 1024 * 1024, step)
        } else {
            step()
        };
        self.depth.set(self.depth.get() - 1);
        result
    }

    fn eval_inner(
        &self,
        node: &'a Node,
        input: &Value<'a>,
        env: &Rc<Frame<'a>>,
    ) -> Result<Value<'a>, Box<Error>> {
        let mut result = match &node.kind {
            Kind::Path { .. } => self.eval_path(node, input, env)?,
            Kind::Binary { op, lhs, rhs } => {
                self.eval_binary(*op, lhs, rhs, node.pos, input, env)?
            }
            Kind::Negate(e) => self.eval_negate(e, node.pos, input, env)?,
            Kind::ArrayCons(items) => self.eval_array(node, items, input, env)?,
            Kind::ObjectCons(pairs) => self.eval_group(pairs, node.pos, input, env)?,
            Kind::Name(name) => lookup_field(input, name),
            Kind::Str(s) => Value::Str(s.clone()),
            Kind::Num(n) => Value::Num(*n),
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Null => Value::Null,
            Kind::Wildcard => wildcard(input),
            Kind::Descendant => descendants(input),
            Kind::Parent(slot) => env.lookup(self.label(*slot)).unwrap_or(Value::Undefined),
            Kind::Condition {
                cond,
                then,
                otherwise,
            } => {
                let c = self.eval(cond, input, env)?;
                if crate::functions::truthy(&c) {
                    self.eval(then, input, env)?
                } else if let Some(o) = otherwise {
                    self.eval(o, input, env)?
                } else {
                    Value::Undefined
                }
            }
            Kind::Elvis(lhs, rhs) => {
                let l = self.eval(lhs, input, env)?;
                if crate::functions::truthy(&l) {
                    l
                } else {
                    self.eval(rhs, input, env)?
                }
            }
            Kind::Coalesce(lhs, rhs) => {
                let l = self.eval(lhs, input, env)?;
                if l.is_undefined() {
                    self.eval(rhs, input, env)?
                } else {
                    l
                }
            }
            Kind::Block(exprs) => {
                let frame = self.new_frame(env);
                let mut result = Value::Undefined;
                for e in exprs {
                    result = self.eval(e, input, &frame)?;
                }
                result
            }
            Kind::Bind { name, value } => {
                let v = self.eval(value, input, env)?;
                env.bind(name, v.clone());
                v
            }
            Kind::Regex(re) => Value::func(Func::Regex(re.clone())),
            Kind::Call { partial: false, .. } => self.eval_call(node, input, env, None)?,
            Kind::Call { partial: true, .. } => self.eval_partial(node, input, env)?,
            Kind::Variable(name) => {
                if name.is_empty() {
                    match input {
                        Value::Array(a) if a.outer => {
                            a.items.first().cloned().unwrap_or(Value::Undefined)
                        }
                        v => v.clone(),
                    }
                } else {
                    self.lookup(name, env)
                }
            }
            Kind::Lambda { def, thunk } => Value::func(Func::Lambda {
                def,
                input: input.clone(),
                env: env.clone(),
                thunk: *thunk,
            }),
            Kind::Apply { lhs, rhs } => self.eval_apply(lhs, rhs, node.pos, input, env)?,
            Kind::Transform { .. } => Value::func(Func::Transform {
                node,
                env: env.clone(),
            }),
            Kind::Sort(_) => self.eval_sort(node, input, env)?,
            Kind::Placeholder => Value::Undefined,
        };
        for stage in &node.predicate {
            if let Stage::Filter(p) = stage {
                result = self.filter(p, &result, env)?;
            }
        }
        if !matches!(node.kind, Kind::Path { .. })
            && let Some(g) = &node.group
        {
            result = self.eval_group(&g.pairs, g.pos, &result, env)?;
        }
        if let Value::Array(a) = &result
            && a.seq
            && !a.tuple_stream
        {
            if node.keep_array {
                a.keep_singleton.set(true);
            }
            if a.items.is_empty() {
                return Ok(Value::Undefined);
            }
            if a.items.len() == 1 && !a.keep_singleton.get() {
                return Ok(a.items[0].clone());
            }
        }
        Ok(result)
    }

    fn eval_array(
        &self,
        node: &'a Node,
        items: &'a [Node],
        input: &Value<'a>,
        env: &Rc<Frame<'a>>,
    ) -> Result<Value<'a>, Box<Error>> {
        let mut out = Vec::new();
        for item in items {
            let v = self.eval(item, input, env)?;
            if v.is_undefined() {
                continue;
            }
            if matches!(item.kind, Kind::ArrayCons(_)) {
                out.push(v);
            } else if v.is_array() {
                out.extend(v.members());
            } else {
                out.push(v);
            }
        }
        Ok(Value::Array(Rc::new(Array {
            items: out,
            cons: node.consarray,
            ..Array::default()
        })))
    }
}
