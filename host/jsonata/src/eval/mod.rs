//! The evaluator: walks the processed AST with JSONata's sequence semantics (paths, steps,
//! tuple streams for focus/index/parent bindings, predicates), guarded by depth and time limits.

mod call;
pub(crate) mod frame;
mod group;
mod ops;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use serde_json::Value as Json;

use crate::ast::{Kind, Node, Stage};
use crate::value::{Array, Func, Tuple, Value};
use crate::{Environment, Error, Expression, Variable};
use frame::Frame;

pub(crate) use call::arity;
pub(crate) use group::{append, cmp_utf16};

/// Tracked frames below this many are never pruned.
const PRUNE_MIN: usize = 4096;

/// Per-evaluation state: limits, the clock reading, frames to clean up.
pub(crate) struct Ctx<'a> {
    pub env: &'a Environment<'a>,
    labels: &'a [String],
    depth: Cell<usize>,
    max_depth: usize,
    /// Evaluation steps so far (the clock is read every 64 steps, not every step).
    steps: Cell<u32>,
    /// When the evaluation started (read lazily: most evaluations end before the first
    /// time check, so they never read the clock).
    started: Cell<Option<Instant>>,
    time_limit: Option<std::time::Duration>,
    /// `$now()`/`$millis()`: one reading per evaluation, taken at the first call.
    now: Cell<Option<f64>>,
    /// Frames that got bindings; cleared at the end to break closure cycles.
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
    let ctx = Ctx {
        env,
        labels: &expr.labels,
        depth: Cell::new(0),
        max_depth: env.max_depth,
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
    let root = Frame::root();
    root.bind("$", input.clone());
    ctx.track(&root);
    let result = ctx.eval(node, &input, &root);
    let out = result.map_err(|e| *e).and_then(|v| ctx.output(&v));
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

    /// The result as JSON; numbers JSON cannot represent (`1/0`) are D1001, not `null`.
    fn output(&self, v: &Value<'a>) -> Result<Option<Json>, Error> {
        if crate::functions::has_infinity(v) {
            return Err(Error::new("D1001").with_value("Infinity"));
        }
        Ok(v.to_json())
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
        self.enter()?;
        // Checking the stack is cheap but not free: every 8th level is enough, given the
        // red zone covers eight levels of evaluator frames.
        let result = if self.depth.get().is_multiple_of(8) {
            stacker::maybe_grow(256 * 1024, 4 * 1024 * 1024, || {
                self.eval_inner(node, input, env)
            })
        } else {
            self.eval_inner(node, input, env)
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

    fn eval_path(
        &self,
        node: &'a Node,
        input: &Value<'a>,
        env: &Rc<Frame<'a>>,
    ) -> Result<Value<'a>, Box<Error>> {
        let Kind::Path {
            steps,
            keep_singleton,
        } = &node.kind
        else {
            unreachable!("eval_path on a path");
        };
        if let Some(v) = self.plain_path(node, steps, *keep_singleton, input, env) {
            return Ok(v);
        }
        let mut input_seq: Vec<Value<'a>> =
            if input.is_array() && !matches!(steps[0].kind, Kind::Variable(_)) {
                input.members()
            } else {
                vec![input.clone()]
            };
        let mut result = Value::Undefined;
        let mut tuples: Option<Vec<Rc<Tuple<'a>>>> = None;
        let mut is_tuple = false;
        let last = steps.len() - 1;
        for (i, step) in steps.iter().enumerate() {
            if step.tuple {
                is_tuple = true;
            }
            if i == 0 && step.consarray {
                result = self.eval(step, &Value::seq(input_seq.clone()), env)?;
            } else if is_tuple {
                tuples = Some(self.tuple_step(step, &input_seq, tuples, env)?);
            } else {
                result = self.step(step, &input_seq, env, i == last)?;
            }
            if !is_tuple && (result.is_undefined() || (result.is_array() && result.len() == 0)) {
                break;
            }
            if step.focus.is_none() {
                input_seq = match &result {
                    Value::Array(_) | Value::Json(Json::Array(_)) => result.members(),
                    v => vec![v.clone()],
                };
            }
        }
        let mut stream = None;
        if is_tuple {
            let tuples = tuples.unwrap_or_default();
            result = if node.tuple {
                tuple_stream(tuples.clone())
            } else {
                Value::seq(tuples.iter().map(|t| t.focus.clone()).collect())
            };
            stream = Some(tuple_stream(tuples));
        }
        if *keep_singleton {
            if matches!(&result, Value::Array(a) if a.cons && !a.seq) {
                result = Value::seq(vec![result]);
            }
            if let Value::Array(a) = &result {
                a.keep_singleton.set(true);
            }
        }
        if let Some(g) = &node.group {
            let source = stream.unwrap_or(result);
            result = self.eval_group(&g.pairs, g.pos, &source, env)?;
        }
        Ok(result)
    }

    /// The commonest paths (`a.b.c`, `$v.a.b`): plain name steps (the first may be a
    /// variable) over values that are not arrays. Gives the general loop's result without
    /// building sequences, or `None` where the general loop is needed. Both first steps are
    /// free of side effects, so falling back after starting is safe.
    fn plain_path(
        &self,
        node: &'a Node,
        steps: &'a [Node],
        keep_singleton: bool,
        input: &Value<'a>,
        env: &Rc<Frame<'a>>,
    ) -> Option<Value<'a>> {
        if keep_singleton || node.group.is_some() || !steps.iter().all(plain_step) {
            return None;
        }
        let (first, mut rest) = steps.split_first()?;
        let mut value = match &first.kind {
            Kind::Name(name) if !input.is_array() && !matches!(input, Value::Tuple(_)) => {
                input.field(name)
            }
            Kind::Variable(name) if !name.is_empty() => {
                match (rest.first().map(|s| &s.kind), env.lookup(name)) {
                    // `$states.input`: read the record's field without building the record.
                    (Some(Kind::Name(field)), None) => match self.env.lookup(name) {
                        Some(Variable::Record(fields)) => {
                            rest = &rest[1..];
                            fields
                                .iter()
                                .find(|(k, _)| *k == field.as_str())
                                .map_or(Value::Undefined, |(_, v)| Value::from_json(v))
                        }
                        _ => self.lookup(name, env),
                    },
                    (_, Some(v)) => v,
                    (_, None) => self.lookup(name, env),
                }
            }
            _ => return None,
        };
        for step in rest {
            let Kind::Name(name) = &step.kind else {
                return None;
            };
            match &value {
                Value::Undefined => return Some(Value::Undefined),
                v if v.is_array() || matches!(v, Value::Tuple(_)) => return None,
                v => value = v.field(name),
            }
        }
        match &value {
            Value::Array(a) if a.seq => None,
            Value::Tuple(_) => None,
            _ => Some(value),
        }
    }

    /// One step over every item of the input sequence, flattening the results.
    fn step(
        &self,
        step: &'a Node,
        input: &[Value<'a>],
        env: &Rc<Frame<'a>>,
        last: bool,
    ) -> Result<Value<'a>, Box<Error>> {
        if matches!(step.kind, Kind::Sort(_)) {
            let mut result = self.sort(step, &Value::seq(input.to_vec()), env)?;
            result = self.stages(&step.stages, result, env)?;
            return Ok(result);
        }
        let mut results = Vec::with_capacity(input.len());
        for item in input {
            let mut res = self.eval(step, item, env)?;
            for stage in &step.stages {
                if let Stage::Filter(p) = stage {
                    res = self.filter(p, &res, env)?;
                }
            }
            if !res.is_undefined() {
                results.push(res);
            }
        }
        if last && results.len() == 1 && results[0].is_array() && !results[0].is_seq() {
            return Ok(results.pop().expect("one result"));
        }
        let mut out = Vec::with_capacity(results.len());
        for res in results {
            if !res.is_array() || res.is_cons() {
                out.push(res);
            } else {
                out.extend(res.members());
            }
        }
        Ok(Value::seq(out))
    }

    fn stages(
        &self,
        stages: &'a [Stage],
        input: Value<'a>,
        env: &Rc<Frame<'a>>,
    ) -> Result<Value<'a>, Box<Error>> {
        let mut result = input;
        for stage in stages {
            match stage {
                Stage::Filter(p) => result = self.filter(p, &result, env)?,
                Stage::Index(name) => {
                    let tuples: Vec<Value<'a>> = result
                        .members()
                        .into_iter()
                        .enumerate()
                        .map(|(i, t)| match t {
                            Value::Tuple(t) => {
                                let mut t = (*t).clone();
                                t.set(name, Value::Num(i as f64));
                                Value::Tuple(Rc::new(t))
                            }
                            other => other,
                        })
                        .collect();
                    let stream = result.is_tuple_stream();
                    result = Value::seq(tuples);
                    if stream {
                        result = mark_tuple_stream(result);
                    }
                }
            }
        }
        Ok(result)
    }

    pub fn frame_from_tuple(&self, env: &Rc<Frame<'a>>, tuple: &Tuple<'a>) -> Rc<Frame<'a>> {
        let f = self.new_frame(env);
        for (name, v) in &tuple.vars {
            f.bind(name, v.clone());
        }
        f
    }

    fn tuple_step(
        &self,
        step: &'a Node,
        input: &[Value<'a>],
        tuples: Option<Vec<Rc<Tuple<'a>>>>,
        env: &Rc<Frame<'a>>,
    ) -> Result<Vec<Rc<Tuple<'a>>>, Error> {
        if matches!(step.kind, Kind::Sort(_)) {
            let result = match tuples {
                Some(t) => self.sort(step, &tuple_stream(t), env)?,
                None => {
                    let sorted = self.sort(step, &Value::seq(input.to_vec()), env)?;
                    let items = sorted
                        .members()
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| {
                            let mut t = Tuple {
                                focus: v,
                                vars: Vec::new(),
                            };
                            if let Some(idx) = &step.index {
                                t.set(idx, Value::Num(i as f64));
                            }
                            Rc::new(t)
                        })
                        .collect();
                    tuple_stream(items)
                }
            };
            let result = self.stages(&step.stages, result, env)?;
            return Ok(as_tuples(&result));
        }
        let tuples = tuples.unwrap_or_else(|| {
            input
                .iter()
                .map(|v| {
                    Rc::new(Tuple {
                        focus: v.clone(),
                        vars: Vec::new(),
                    })
                })
                .collect()
        });
        let mut out = Vec::new();
        for tuple in &tuples {
            let step_env = self.frame_from_tuple(env, tuple);
            let res = self.eval(step, &tuple.focus, &step_env)?;
            if res.is_undefined() {
                continue;
            }
            let stream = res.is_tuple_stream();
            let items = if res.is_array() {
                res.members()
            } else {
                vec![res]
            };
            for (bb, item) in items.into_iter().enumerate() {
                let mut t = (**tuple).clone();
                if stream {
                    if let Value::Tuple(inner) = &item {
                        t.focus = inner.focus.clone();
                        for (n, v) in &inner.vars {
                            t.set(n, v.clone());
                        }
                    }
                } else {
                    if let Some(focus) = &step.focus {
                        t.set(focus, item);
                        t.focus = tuple.focus.clone();
                    } else {
                        t.focus = item;
                    }
                    if let Some(idx) = &step.index {
                        t.set(idx, Value::Num(bb as f64));
                    }
                    if let Some(slot) = step.ancestor {
                        t.set(self.label(slot), tuple.focus.clone());
                    }
                }
                out.push(Rc::new(t));
            }
        }
        if step.stages.is_empty() {
            return Ok(out);
        }
        let result = self.stages(&step.stages, tuple_stream(out), env)?;
        Ok(as_tuples(&result))
    }

    /// Applies a predicate: numeric indexes select by position, anything else filters.
    pub fn filter(
        &self,
        predicate: &'a Node,
        input: &Value<'a>,
        env: &Rc<Frame<'a>>,
    ) -> Result<Value<'a>, Box<Error>> {
        let stream = input.is_tuple_stream();
        let items = if input.is_array() {
            input.members()
        } else {
            vec![input.clone()]
        };
        let mut results = Vec::new();
        if let Kind::Num(n) = predicate.kind {
            let mut index = n.floor();
            if index < 0.0 {
                index += items.len() as f64;
            }
            if index >= 0.0
                && let Some(item) = items.get(index as usize).filter(|i| !i.is_undefined())
            {
                if item.is_array() && !stream {
                    return Ok(item.clone());
                }
                results.push(item.clone());
            }
        } else {
            let len = items.len() as f64;
            for (index, item) in items.iter().enumerate() {
                let (context, env2) = match item {
                    Value::Tuple(t) if stream => (t.focus.clone(), self.frame_from_tuple(env, t)),
                    _ => (item.clone(), env.clone()),
                };
                let res = self.eval(predicate, &context, &env2)?;
                let nums: Option<Vec<f64>> = match &res {
                    Value::Num(n) => Some(vec![*n]),
                    r if r.is_array() => {
                        let m = r.members();
                        if m.iter().all(Value::is_number) {
                            Some(m.iter().filter_map(Value::as_num).collect())
                        } else {
                            None
                        }
                    }
                    _ => None,
                };
                match nums {
                    Some(nums) => {
                        for n in nums {
                            let mut i = n.floor();
                            if i < 0.0 {
                                i += len;
                            }
                            if i == index as f64 {
                                results.push(item.clone());
                            }
                        }
                    }
                    None => {
                        if crate::functions::truthy(&res) {
                            results.push(item.clone());
                        }
                    }
                }
            }
        }
        let out = Value::seq(results);
        Ok(if stream { mark_tuple_stream(out) } else { out })
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

fn tuple_stream<'a>(tuples: Vec<Rc<Tuple<'a>>>) -> Value<'a> {
    Value::Array(Rc::new(Array {
        items: tuples.into_iter().map(Value::Tuple).collect(),
        seq: true,
        tuple_stream: true,
        ..Array::default()
    }))
}

fn mark_tuple_stream(v: Value<'_>) -> Value<'_> {
    match v {
        Value::Array(a) => {
            let mut a = (*a).clone();
            a.tuple_stream = true;
            Value::Array(Rc::new(a))
        }
        v => v,
    }
}

fn as_tuples<'a>(v: &Value<'a>) -> Vec<Rc<Tuple<'a>>> {
    v.members()
        .into_iter()
        .filter_map(|t| match t {
            Value::Tuple(t) => Some(t),
            _ => None,
        })
        .collect()
}

/// Field lookup, mapping over arrays and flattening one level (`fn.lookup`).
/// A step with nothing attached: no predicate, stage, group, binding or flag.
fn plain_step(step: &Node) -> bool {
    step.stages.is_empty()
        && step.predicate.is_empty()
        && step.group.is_none()
        && !step.tuple
        && step.focus.is_none()
        && step.index.is_none()
        && step.ancestor.is_none()
        && !step.keep_array
        && !step.consarray
}

pub(crate) fn lookup_field<'a>(input: &Value<'a>, key: &str) -> Value<'a> {
    match input {
        Value::Array(_) | Value::Json(Json::Array(_)) => {
            let mut out = Vec::new();
            for item in input.members() {
                let res = lookup_field(&item, key);
                match res {
                    Value::Undefined => {}
                    r if r.is_array() => out.extend(r.members()),
                    r => out.push(r),
                }
            }
            Value::seq(out)
        }
        v => v.field(key),
    }
}

fn flatten_into<'a>(v: Value<'a>, out: &mut Vec<Value<'a>>) {
    if v.is_array() {
        for m in v.members() {
            flatten_into(m, out);
        }
    } else {
        out.push(v);
    }
}

fn wildcard<'a>(input: &Value<'a>) -> Value<'a> {
    let input = match input {
        Value::Array(a) if a.outer && !a.items.is_empty() => a.items[0].clone(),
        v => v.clone(),
    };
    let mut out = Vec::new();
    if input.is_object() {
        for (_, v) in input.entries() {
            if v.is_array() {
                flatten_into(v, &mut out);
            } else {
                out.push(v);
            }
        }
    } else if input.is_array() {
        for v in input.members() {
            if v.is_array() {
                flatten_into(v, &mut out);
            } else {
                out.push(v);
            }
        }
    }
    Value::seq(out)
}

fn descend<'a>(v: &Value<'a>, out: &mut Vec<Value<'a>>) {
    if v.is_array() {
        for m in v.members() {
            descend(&m, out);
        }
    } else {
        out.push(v.clone());
        if v.is_object() {
            for (_, m) in v.entries() {
                descend(&m, out);
            }
        }
    }
}

fn descendants<'a>(input: &Value<'a>) -> Value<'a> {
    if input.is_undefined() {
        return Value::Undefined;
    }
    let mut out = Vec::new();
    descend(input, &mut out);
    if out.len() == 1 {
        out.pop().expect("one")
    } else {
        Value::seq(out)
    }
}
