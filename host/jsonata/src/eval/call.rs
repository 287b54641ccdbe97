//! Function application: calls, lambdas with tail-call trampolining, partial application,
//! `~>` chaining, regex matchers and the transform operator.

use std::rc::Rc;
use std::sync::Arc;

use crate::Error;
use crate::ast::{Kind, Node};
use crate::value::{Func, Map, Obj, Value};

use super::Ctx;
use super::frame::Frame;

/// The name a call site uses for its procedure (for error messages).
fn proc_name(procedure: &Node) -> Option<&str> {
    match &procedure.kind {
        Kind::Path { steps, .. } => match &steps[0].kind {
            Kind::Name(n) => Some(n),
            _ => None,
        },
        Kind::Variable(v) => Some(v),
        _ => None,
    }
}

/// How many arguments a function takes (decides what `$map` and friends pass it).
pub(crate) fn arity(f: &Value<'_>) -> usize {
    match f {
        Value::Func(f) => match &**f {
            Func::Lambda { def, .. } => def.params.len(),
            Func::Builtin(b) => b.arity,
            Func::Partial { args, .. } => args.iter().filter(|a| a.is_none()).count(),
            Func::Regex(_) | Func::Transform { .. } | Func::Chain(..) => 1,
            Func::MatchNext { .. } => 0,
        },
        _ => 0,
    }
}

enum PathElem {
    Key(Arc<str>),
    Index(usize),
}

fn find_path<'a>(v: &Value<'a>, target: *const Obj<'a>, path: &mut Vec<PathElem>) -> bool {
    match v {
        Value::Object(o) => {
            if std::ptr::eq(Rc::as_ptr(o), target) {
                return true;
            }
            for (k, child) in o.iter() {
                path.push(PathElem::Key(k.clone()));
                if find_path(child, target, path) {
                    return true;
                }
                path.pop();
            }
            false
        }
        Value::Array(a) => {
            for (i, child) in a.items.iter().enumerate() {
                path.push(PathElem::Index(i));
                if find_path(child, target, path) {
                    return true;
                }
                path.pop();
            }
            false
        }
        _ => false,
    }
}

fn node_ref<'v, 'a>(mut v: &'v Value<'a>, path: &[PathElem]) -> Option<&'v Value<'a>> {
    for elem in path {
        v = match (v, elem) {
            (Value::Object(o), PathElem::Key(k)) => o.get(&**k)?,
            (Value::Array(a), PathElem::Index(i)) => a.items.get(*i)?,
            _ => return None,
        };
    }
    Some(v)
}

/// The node at `path`, mutably (copy-on-write along the way).
fn node_at<'v, 'a>(mut v: &'v mut Value<'a>, path: &[PathElem]) -> Option<&'v mut Value<'a>> {
    for elem in path {
        v = match (v, elem) {
            (Value::Object(o), PathElem::Key(k)) => Rc::make_mut(o).get_mut(&**k)?,
            (Value::Array(a), PathElem::Index(i)) => {
                let a = Rc::make_mut(a);
                a.depth.reset();
                a.items.get_mut(*i)?
            }
            _ => return None,
        };
    }
    Some(v)
}

impl<'a> Ctx<'a> {
    pub(super) fn eval_call(
        &self,
        node: &'a Node,
        input: &Value<'a>,
        env: &Rc<Frame<'a>>,
        applyto: Option<Value<'a>>,
    ) -> Result<Value<'a>, Box<Error>> {
        let Kind::Call {
            procedure, args, ..
        } = &node.kind
        else {
            unreachable!("eval_call on a call");
        };
        let proc = self.eval(procedure, input, env)?;
        let name = proc_name(procedure);
        if proc.is_undefined()
            && matches!(procedure.kind, Kind::Path { .. })
            && let Some(n) = name
            && !self.lookup(n, env).is_undefined()
        {
            return Err(Error::at("T1005", node.pos, Some(n.to_string())).into());
        }
        let mut evaluated = Vec::with_capacity(args.len() + 1);
        if let Some(c) = applyto {
            evaluated.push(c);
        }
        for arg in args {
            evaluated.push(self.eval(arg, input, env)?);
        }
        self.apply(&proc, evaluated, input, env)
            .map_err(|e| e.locate_boxed(node.pos, name))
    }

    pub(super) fn eval_partial(
        &self,
        node: &'a Node,
        input: &Value<'a>,
        env: &Rc<Frame<'a>>,
    ) -> Result<Value<'a>, Box<Error>> {
        let Kind::Call {
            procedure, args, ..
        } = &node.kind
        else {
            unreachable!("eval_partial on a call");
        };
        let mut bound = Vec::with_capacity(args.len());
        for arg in args {
            bound.push(match arg.kind {
                Kind::Placeholder => None,
                _ => Some(self.eval(arg, input, env)?),
            });
        }
        let proc = self.eval(procedure, input, env)?;
        let name = proc_name(procedure);
        if proc.is_undefined()
            && matches!(procedure.kind, Kind::Path { .. })
            && let Some(n) = name
            && !self.lookup(n, env).is_undefined()
        {
            return Err(Error::at("T1007", node.pos, Some(n.to_string())).into());
        }
        if !proc.is_function() {
            return Err(Error::at("T1008", node.pos, name.map(str::to_string)).into());
        }
        let depth = 1 + bound
            .iter()
            .flatten()
            .chain([&proc])
            .map(Value::depth)
            .max()
            .unwrap_or(0);
        Ok(Value::func(Func::Partial {
            target: proc,
            args: bound,
            depth,
        }))
    }

    pub(super) fn eval_apply(
        &self,
        lhs: &'a Node,
        rhs: &'a Node,
        pos: usize,
        input: &Value<'a>,
        env: &Rc<Frame<'a>>,
    ) -> Result<Value<'a>, Box<Error>> {
        let l = self.eval(lhs, input, env)?;
        if matches!(rhs.kind, Kind::Call { partial: false, .. }) {
            return self.eval_call(rhs, input, env, Some(l));
        }
        let f = self.eval(rhs, input, env)?;
        if !f.is_function() {
            return Err(Error::at("T2006", pos, None).with_value_of(&f).into());
        }
        if l.is_function() {
            let depth = 1 + l.depth().max(f.depth());
            return Ok(Value::func(Func::Chain(l, f, depth)));
        }
        self.apply(&f, vec![l], &Value::Null, env)
    }

    /// Applies a function, running tail calls (thunks) in a loop rather than recursing.
    pub fn apply(
        &self,
        proc: &Value<'a>,
        args: Vec<Value<'a>>,
        input: &Value<'a>,
        env: &Rc<Frame<'a>>,
    ) -> Result<Value<'a>, Box<Error>> {
        let mut result = self.apply_inner(proc, args, input, env)?;
        while let Value::Func(f) = &result {
            let Func::Lambda {
                def,
                input: li,
                env: le,
                thunk: true,
            } = &**f
            else {
                break;
            };
            let Kind::Call {
                procedure, args, ..
            } = &def.body.kind
            else {
                break;
            };
            let next = self.eval(procedure, li, le)?;
            let mut evaluated = Vec::with_capacity(args.len());
            for a in args {
                evaluated.push(self.eval(a, li, le)?);
            }
            let name = proc_name(procedure);
            result = self
                .apply_inner(&next, evaluated, input, env)
                .map_err(|e| e.locate(def.body.pos, name))?;
        }
        Ok(result)
    }

    fn apply_inner(
        &self,
        proc: &Value<'a>,
        args: Vec<Value<'a>>,
        input: &Value<'a>,
        env: &Rc<Frame<'a>>,
    ) -> Result<Value<'a>, Box<Error>> {
        let Value::Func(f) = proc else {
            return Err(Error::new("T1006").into());
        };
        match &**f {
            Func::Lambda {
                def,
                input: li,
                env: le,
                ..
            } => {
                let args = match &def.signature {
                    Some(sig) => sig.validate(args, input)?,
                    None => args,
                };
                let frame = self.new_frame(le);
                let mut args = args.into_iter();
                for p in &def.params {
                    frame.bind(p, args.next().unwrap_or(Value::Undefined));
                }
                self.eval(&def.body, li, &frame)
            }
            Func::Builtin(b) => {
                let args = b
                    .signature()
                    .validate(args, input)
                    .map_err(|e| Box::new(e.locate(0, Some(b.name))))?;
                (b.imp)(
                    &crate::functions::Call {
                        ctx: self,
                        input,
                        env,
                    },
                    args,
                )
                .map_err(|e| Box::new(e.locate(0, Some(b.name))))
            }
            Func::Partial {
                target,
                args: bound,
                ..
            } => {
                let mut supplied = args.into_iter();
                let filled = bound
                    .iter()
                    .map(|b| match b {
                        Some(v) => v.clone(),
                        None => supplied.next().unwrap_or(Value::Undefined),
                    })
                    .collect();
                self.apply(target, filled, input, env)
            }
            Func::Regex(re) => {
                let text = match args.first() {
                    Some(Value::Str(s)) => s.clone(),
                    _ => return Ok(Value::Undefined),
                };
                Ok(crate::functions::regex_match(re, &text, 0)?)
            }
            Func::MatchNext { regex, text, from } => {
                Ok(crate::functions::regex_match(regex, text, *from)?)
            }
            Func::Transform { node, env: tenv } => {
                let args = crate::signature::Signature::parse("<(oa):o>")?.validate(args, input)?;
                self.transform(
                    node,
                    tenv,
                    args.into_iter().next().unwrap_or(Value::Undefined),
                )
            }
            Func::Chain(first, second, _) => {
                let x = self.apply(first, args, input, env)?;
                self.apply(second, vec![x], input, env)
            }
        }
    }

    fn transform(
        &self,
        node: &'a Node,
        env: &Rc<Frame<'a>>,
        obj: Value<'a>,
    ) -> Result<Value<'a>, Box<Error>> {
        let Kind::Transform {
            pattern,
            update,
            delete,
        } = &node.kind
        else {
            unreachable!("transform node");
        };
        if obj.is_undefined() {
            return Ok(Value::Undefined);
        }
        let clone = self.lookup("clone", env);
        let mut result = match &clone {
            Value::Func(f) if matches!(&**f, Func::Builtin(_)) => obj.deep_clone(),
            Value::Func(_) => self.apply(&clone, vec![obj], &Value::Null, env)?,
            _ => return Err(Error::at("T2013", node.pos, None).into()),
        };
        let matches = self.eval(pattern, &result, env)?;
        let targets: Vec<Result<*const Obj<'a>, Value<'a>>> = matches
            .members()
            .into_iter()
            .map(|m| match m {
                Value::Object(o) => Ok(Rc::as_ptr(&o)),
                other => Err(other),
            })
            .collect();
        drop(matches);
        for target in targets {
            let mut path = Vec::new();
            let (current, found) = match target {
                Ok(ptr) if find_path(&result, ptr, &mut path) => (
                    node_ref(&result, &path)
                        .cloned()
                        .unwrap_or(Value::Undefined),
                    true,
                ),
                Ok(_) => continue,
                Err(other) => (other, false),
            };
            let upd = self.eval(update, &current, env)?;
            if !upd.is_undefined() && !upd.is_object() {
                return Err(Error::at("T2011", update.pos, None)
                    .with_value_of(&upd)
                    .into());
            }
            let mut map: Option<Map<'a>> = match &current {
                Value::Object(o) => Some((***o).clone()),
                _ => None,
            };
            if let Some(m) = map.as_mut() {
                for (k, v) in upd.entries() {
                    m.insert(k, v);
                }
            }
            if let Some(del) = delete {
                let updated = match &map {
                    Some(m) => Value::object(m.clone()),
                    None => current.clone(),
                };
                let deletions = self.eval(del, &updated, env)?;
                if !deletions.is_undefined() {
                    let names = deletions.members();
                    if !names.iter().all(Value::is_string) {
                        return Err(Error::at("T2012", del.pos, None)
                            .with_value_of(&deletions)
                            .into());
                    }
                    if let Some(m) = map.as_mut() {
                        for n in names {
                            if let Some(s) = n.as_str() {
                                m.shift_remove(s);
                            }
                        }
                    }
                }
            }
            drop(current);
            drop(upd);
            if let (Some(m), true) = (map, found) {
                if let Some(Value::Object(slot)) = node_at(&mut result, &path) {
                    **Rc::make_mut(slot) = m;
                } else if path.is_empty()
                    && let Value::Object(slot) = &mut result
                {
                    **Rc::make_mut(slot) = m;
                }
            }
        }
        Ok(result)
    }
}
