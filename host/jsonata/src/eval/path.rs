//! Paths: steps over sequences (`a.b.c`, with the plain-path shortcut), tuple streams for
//! focus `@`, index `#` and parent `%` bindings, predicates and stages, and the navigation
//! primitives (field lookup, wildcard, descendants).

use std::rc::Rc;

use serde_json::Value as Json;

use crate::Error;
use crate::Variable;
use crate::ast::{Kind, Node, Stage};
use crate::value::{Array, Tuple, Value};

use super::Ctx;
use super::frame::Frame;

impl<'a> Ctx<'a> {
    pub(super) fn eval_path(
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
        for (i, step) in rest.iter().enumerate() {
            if let Value::Json(json) = value {
                // Borrowed JSON is walked by reference: no value is built per step.
                return walk_json(json, &rest[i..]);
            }
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

/// `plain_path`'s remaining name steps over borrowed JSON, by reference: the result of
/// stepping through values (`Value::field`), or `None` where that needs the general loop (an
/// array on the way, a step that is not a name).
fn walk_json<'a>(mut json: &'a Json, steps: &[Node]) -> Option<Value<'a>> {
    for (i, step) in steps.iter().enumerate() {
        let Kind::Name(name) = &step.kind else {
            return None;
        };
        let next = match json {
            Json::Array(_) => return None,
            Json::Object(o) => o.get(name.as_str()),
            _ => None,
        };
        match next {
            Some(next) => json = next,
            // Undefined from here on; as with values, a later step that is not a name still
            // goes to the general loop.
            None => {
                return match steps.get(i + 1) {
                    Some(s) if !matches!(s.kind, Kind::Name(_)) => None,
                    _ => Some(Value::Undefined),
                };
            }
        }
    }
    Some(Value::from_json(json))
}

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

/// Field lookup, mapping over arrays and flattening one level (`fn.lookup`).
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

pub(super) fn wildcard<'a>(input: &Value<'a>) -> Value<'a> {
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

pub(super) fn descendants<'a>(input: &Value<'a>) -> Value<'a> {
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

#[cfg(test)]
mod tests {
    use serde_json::{Value as Json, json};

    use crate::{Environment, Expression, Variable, Variables};

    /// `$states`-like variables: a record of borrowed fields.
    struct Record<'a>(Vec<(&'a str, &'a Json)>);

    impl Variables for Record<'_> {
        fn variable(&self, name: &str) -> Option<Variable<'_>> {
            (name == "states").then_some(Variable::Record(&self.0))
        }
    }

    #[test]
    fn plain_paths_match_the_general_loop() {
        let input = json!({
            "o": {"p": {"q": 1.0, "r": "x"}},
            "s": "str",
            "n": null,
            "e": {},
            "arr": [{"q": 1}, {"q": [2, 3]}],
        });
        let record = Record(vec![("input", &input)]);
        let mut env = Environment::new();
        env.bind("v", &input);
        env.set_variables(&record);
        for path in [
            "o.p.q",
            "o.p",
            "$v.o",
            "o.x.q",
            "o.p.q.r",
            "s.x",
            "s.x.y",
            "n.x",
            "e.x",
            "arr.q",
            "o.*",
            "o.x.*",
            "$v.o.p.r",
            "$v.arr.q",
            "$v.s.x",
            "$v.o.x.*",
            "$states.input.o.p.q",
            "$states.input.arr.q",
            "$states.input.s.x.y",
            "$states.input.o.x.*",
            "$states.nope.x",
        ] {
            // The first step as a block is the same value, but takes the general loop.
            let (head, tail) = path.split_once('.').unwrap();
            let general = format!("({head}).{tail}");
            let [plain, general] = [path, general.as_str()].map(|e| {
                Expression::parse(e)
                    .unwrap()
                    .evaluate(Some(&input), &env)
                    .map(|j| j.map(|j| j.to_string()))
                    .map_err(|err| err.code)
            });
            assert_eq!(plain, general, "{path}");
        }
    }
}
