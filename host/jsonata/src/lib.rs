//! A JSONata 2.x evaluator (lexer → Pratt parser → processed AST → evaluator), matching the
//! reference implementation jsonata-js, with AWS Step Functions' extra functions as an option.
//!
//! ```
//! use stepwasm_jsonata::{Environment, Expression};
//! let expr = Expression::parse("$sum(items.price)").unwrap();
//! let input = serde_json::json!({"items": [{"price": 2}, {"price": 3}]});
//! let out = expr.evaluate(Some(&input), &Environment::new()).unwrap();
//! assert_eq!(out, Some(serde_json::json!(5)));
//! ```
//!
//! Layout: `lexer` (tokens, S01xx errors), `parser` (Pratt parser to a raw tree, S02xx),
//! `process` (paths flattened into steps, predicates/sort/focus/index/group attached, parent
//! `%` resolved: jsonata-js's `processAST`), `eval` (sequences, tuple streams, calls,
//! operators, grouping), `functions/` (the standard library by family), `signature` (function
//! signatures and argument coercion), `stepfunctions` (AWS's additions).
//!
//! Values borrow the caller's `serde_json::Value`s (input and bindings are never deep-copied);
//! only the result is converted to `serde_json::Value`. Guards: an evaluation stops with U1001
//! past its time limit or nesting depth (the stack grows on the heap as needed, so deep
//! expressions cannot overflow a small thread stack), ranges are capped at 10,000,000 items
//! (D2014, as JSONata) and strings at 64 MiB (U1002).
//!
//! Known differences from jsonata-js: strings are UTF-8, so lone UTF-16 surrogates (`"\uD800"`)
//! cannot be represented (they become U+FFFD); regexes run on `fancy-regex` (JavaScript's
//! syntax including lookaround and backreferences; `\d` and `\w` kept ASCII as in JavaScript);
//! `$eval` sees the environment's bindings but not local variables.
#![deny(missing_docs)]

mod ast;
mod error;
mod eval;
mod functions;
mod lexer;
mod merge;
mod parser;
mod process;
mod signature;
mod stepfunctions;
mod value;

use std::time::Duration;

use serde_json::Value as Json;

pub use error::Error;
pub use merge::{MergeBase, merge_objects};
pub use parser::MAX_NESTING;

/// The deepest value an evaluation may build by default (U1004): deep enough for any real
/// data, shallow enough that converting, comparing and dropping a value (all recursive)
/// stays far from the end of a small thread stack.
pub const DEFAULT_MAX_VALUE_DEPTH: usize = 1_000;

/// The most items a value an evaluation builds may hold, written out as a tree (error
/// U1005): 2^24, room for the largest range (`[1..10000000]`, D2014) and what is built
/// around it, and a bound on the work of converting, printing or comparing any value,
/// however much of it is shared.
pub const MAX_VALUE_ITEMS: u64 = 1 << 24;

/// The error code of a value built deeper than [`Environment::set_max_value_depth`] allows.
pub const VALUE_TOO_DEEP: &str = "U1004";

/// Variables an [`Environment`] reads on demand from the caller (nothing is copied into the
/// environment; a lookup happens only when an expression names the variable).
pub trait Variables {
    /// The value of `$name`, if the caller defines it.
    fn variable(&self, name: &str) -> Option<Variable<'_>>;
}

/// A variable's value as a [`Variables`] source gives it.
#[derive(Debug, Clone, Copy)]
pub enum Variable<'a> {
    /// A borrowed JSON value.
    Json(&'a Json),
    /// An object made of borrowed fields, built only if the expression uses it whole:
    /// `$v.field` reads the field directly (Step Functions' `$states`).
    Record(&'a [(&'a str, &'a Json)]),
}

/// A parsed expression: parse once, evaluate many times. Cheap to share (`Send + Sync`).
#[derive(Debug)]
pub struct Expression {
    /// The source text (error positions are reported in characters of it).
    source: String,
    root: ast::Node,
    /// The final label of each parent-operator slot.
    labels: Vec<String>,
    /// The base of the update shape `$merge([$v.field, {...}])`, if it has that shape.
    merge: Option<MergeBase>,
}

impl Expression {
    /// Parses JSONata source text; syntax errors carry S0xxx codes and positions.
    pub fn parse(source: &str) -> Result<Expression, Error> {
        let fail = |e: Error| e.finish().in_chars_of(source);
        let raw = parser::parse(source).map_err(fail)?;
        let (root, labels) = process::process(raw).map_err(fail)?;
        let merge = merge::shape(&root);
        Ok(Expression {
            source: source.to_string(),
            root,
            labels,
            merge,
        })
    }

    /// Evaluates against `input` (`None` = no input) with the bindings and limits of `env`.
    /// `Ok(None)` is JSONata's undefined result.
    pub fn evaluate(
        &self,
        input: Option<&Json>,
        env: &Environment<'_>,
    ) -> Result<Option<Json>, Error> {
        eval::run(self, input, env).map_err(|e| e.finish().in_chars_of(&self.source))
    }
}

/// A variable's value: borrowed from the caller (no copy) or owned.
#[derive(Debug)]
enum Binding<'a> {
    Borrowed(&'a Json),
    Owned(Json),
}

/// Variable bindings, limits and feature switches for one or more evaluations.
pub struct Environment<'a> {
    bindings: Vec<(String, Binding<'a>)>,
    /// Read after `bindings`, before the built-in functions.
    variables: Option<&'a dyn Variables>,
    time_limit: Option<Duration>,
    max_depth: usize,
    max_value_depth: usize,
    step_functions: bool,
}

impl std::fmt::Debug for Environment<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Environment")
            .field("bindings", &self.bindings)
            .field("variables", &self.variables.is_some())
            .field("time_limit", &self.time_limit)
            .field("max_depth", &self.max_depth)
            .field("max_value_depth", &self.max_value_depth)
            .field("step_functions", &self.step_functions)
            .finish()
    }
}

impl Default for Environment<'_> {
    fn default() -> Self {
        Environment::new()
    }
}

impl<'a> Environment<'a> {
    /// No bindings, standard JSONata functions, and the default limits: 10,000 nested
    /// evaluation steps (error U1001; the stack grows on the heap as needed, so this is safe
    /// on small thread stacks) and 10 seconds per evaluation (U1001).
    pub fn new() -> Self {
        Environment {
            bindings: Vec::new(),
            variables: None,
            time_limit: Some(Duration::from_secs(10)),
            max_depth: 10_000,
            max_value_depth: DEFAULT_MAX_VALUE_DEPTH,
            step_functions: false,
        }
    }

    /// Binds `$name` to a borrowed value (not copied).
    pub fn bind(&mut self, name: &str, value: &'a Json) -> &mut Self {
        self.bindings.retain(|(n, _)| n != name);
        self.bindings
            .push((name.to_string(), Binding::Borrowed(value)));
        self
    }

    /// Binds `$name` to an owned value.
    pub fn bind_owned(&mut self, name: &str, value: Json) -> &mut Self {
        self.bindings.retain(|(n, _)| n != name);
        self.bindings
            .push((name.to_string(), Binding::Owned(value)));
        self
    }

    /// Reads variables not bound here from `variables`, on demand.
    pub fn set_variables(&mut self, variables: &'a dyn Variables) -> &mut Self {
        self.variables = Some(variables);
        self
    }

    /// Stops an evaluation that runs longer than `limit` (error U1001).
    pub fn set_time_limit(&mut self, limit: Option<Duration>) -> &mut Self {
        self.time_limit = limit;
        self
    }

    /// Stops an evaluation nested deeper than `depth` (error U1001).
    pub fn set_max_depth(&mut self, depth: usize) -> &mut Self {
        self.max_depth = depth;
        self
    }

    /// Stops an evaluation that builds a value nesting deeper than `depth` arrays, objects
    /// and functions (error U1004). Data borrowed from the input and the bindings counts as
    /// one level: bounding its depth is the caller's part.
    pub fn set_max_value_depth(&mut self, depth: usize) -> &mut Self {
        self.max_value_depth = depth;
        self
    }

    /// Step Functions mode: adds `$partition`, `$range`, `$hash`, `$random(seed)`, `$uuid`,
    /// `$parse` and removes `$eval`.
    pub fn set_step_functions(&mut self, on: bool) -> &mut Self {
        self.step_functions = on;
        self
    }

    fn lookup(&self, name: &str) -> Option<Variable<'_>> {
        let bound = self
            .bindings
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| match b {
                Binding::Borrowed(j) => Variable::Json(j),
                Binding::Owned(j) => Variable::Json(j),
            });
        bound.or_else(|| self.variables?.variable(name))
    }
}

#[cfg(test)]
mod depth_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod value_depth_tests;
