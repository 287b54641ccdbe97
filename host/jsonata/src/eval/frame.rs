//! Variable scopes: a chain of frames from the innermost block or lambda out to the root.

use std::cell::RefCell;
use std::rc::Rc;

use crate::value::Value;

/// One scope's bindings (few per scope, so a small vector beats a hash map).
pub(crate) struct Frame<'a> {
    vars: RefCell<Vec<(&'a str, Value<'a>)>>,
    /// The root's `$` (the evaluation input), read after `vars`: kept apart so that an
    /// evaluation that binds nothing else allocates no list.
    input: RefCell<Option<Value<'a>>>,
    parent: Option<Rc<Frame<'a>>>,
}

impl<'a> Frame<'a> {
    /// The outermost scope, binding `$` to the input.
    pub fn root(input: Value<'a>) -> Rc<Frame<'a>> {
        Rc::new(Frame {
            vars: RefCell::new(Vec::new()),
            input: RefCell::new(Some(input)),
            parent: None,
        })
    }

    pub fn child(parent: &Rc<Frame<'a>>) -> Rc<Frame<'a>> {
        Rc::new(Frame {
            vars: RefCell::new(Vec::new()),
            input: RefCell::new(None),
            parent: Some(parent.clone()),
        })
    }

    pub fn bind(&self, name: &'a str, value: Value<'a>) {
        let mut vars = self.vars.borrow_mut();
        if let Some(slot) = vars.iter_mut().find(|(n, _)| *n == name) {
            slot.1 = value;
        } else {
            vars.push((name, value));
        }
    }

    pub fn lookup(&self, name: &str) -> Option<Value<'a>> {
        let mut frame = self;
        loop {
            if let Some((_, v)) = frame.vars.borrow().iter().find(|(n, _)| *n == name) {
                return Some(v.clone());
            }
            if name == "$"
                && let Some(input) = &*frame.input.borrow()
            {
                return Some(input.clone());
            }
            frame = frame.parent.as_deref()?;
        }
    }

    /// Drops every binding (breaks reference cycles between closures and their frames).
    pub fn clear(&self) {
        self.vars.borrow_mut().clear();
        self.input.borrow_mut().take();
    }
}
