//! Intrinsic functions (`States.Format(...)` and friends) for JSONPath states: parsed once
//! into a call tree, evaluated against a [`Scope`]. Runtime failures are
//! `States.IntrinsicFailure`; a path argument that matches nothing is `States.Runtime`,
//! like any other path that matches nothing.

mod functions;
mod parse;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

use serde_json::Value;

use super::error::StatesError;
use super::path::{JsonPath, PathError, Selected};
use super::scope::{Scope, path_not_found, select_in};

/// Deepest nesting of intrinsic calls AWS allows in one field.
pub const MAX_NESTING: usize = 10;

/// A malformed intrinsic invocation (rejected when the definition is validated).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IntrinsicError {
    /// A syntax error.
    #[error("intrinsic {src:?}: {message} at position {position}")]
    Syntax {
        /// The invocation text.
        src: String,
        /// Byte offset of the problem.
        position: usize,
        /// What was wrong.
        message: String,
    },
    /// `States.Something` that is not an intrinsic function.
    #[error("intrinsic {src:?}: unknown function 'States.{name}' at position {position}")]
    UnknownFunction {
        /// The invocation text.
        src: String,
        /// The name after `States.`.
        name: String,
        /// Byte offset of the name.
        position: usize,
    },
    /// A known function called with the wrong number of arguments.
    #[error("intrinsic {src:?}: States.{function} takes {expected}, got {found}")]
    ArgumentCount {
        /// The invocation text.
        src: String,
        /// The function name after `States.`.
        function: &'static str,
        /// The accepted count, in words.
        expected: &'static str,
        /// How many were given.
        found: usize,
    },
    /// A path argument that does not parse.
    #[error("intrinsic {src:?}: bad path argument at position {position}: {source}")]
    BadPath {
        /// The invocation text.
        src: String,
        /// Byte offset of the argument.
        position: usize,
        /// The path error.
        source: PathError,
    },
    /// Calls nested deeper than [`MAX_NESTING`].
    #[error("intrinsic {src:?}: calls nest deeper than {MAX_NESTING} levels")]
    TooDeep {
        /// The invocation text.
        src: String,
    },
}

/// Every intrinsic function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Func {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayPartition,
    ArrayContains,
    ArrayRange,
    ArrayGetItem,
    ArrayLength,
    ArrayUnique,
    Base64Encode,
    Base64Decode,
    Hash,
    JsonMerge,
    MathRandom,
    MathAdd,
    StringSplit,
    Uuid,
}

impl Func {
    const ALL: [Func; 18] = [
        Func::Format,
        Func::StringToJson,
        Func::JsonToString,
        Func::Array,
        Func::ArrayPartition,
        Func::ArrayContains,
        Func::ArrayRange,
        Func::ArrayGetItem,
        Func::ArrayLength,
        Func::ArrayUnique,
        Func::Base64Encode,
        Func::Base64Decode,
        Func::Hash,
        Func::JsonMerge,
        Func::MathRandom,
        Func::MathAdd,
        Func::StringSplit,
        Func::Uuid,
    ];

    /// The name after `States.`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Func::Format => "Format",
            Func::StringToJson => "StringToJson",
            Func::JsonToString => "JsonToString",
            Func::Array => "Array",
            Func::ArrayPartition => "ArrayPartition",
            Func::ArrayContains => "ArrayContains",
            Func::ArrayRange => "ArrayRange",
            Func::ArrayGetItem => "ArrayGetItem",
            Func::ArrayLength => "ArrayLength",
            Func::ArrayUnique => "ArrayUnique",
            Func::Base64Encode => "Base64Encode",
            Func::Base64Decode => "Base64Decode",
            Func::Hash => "Hash",
            Func::JsonMerge => "JsonMerge",
            Func::MathRandom => "MathRandom",
            Func::MathAdd => "MathAdd",
            Func::StringSplit => "StringSplit",
            Func::Uuid => "UUID",
        }
    }

    fn from_name(name: &str) -> Option<Func> {
        Func::ALL.into_iter().find(|func| func.name() == name)
    }

    /// Accepted argument counts (inclusive range) and their description.
    fn arity(self) -> (usize, usize, &'static str) {
        match self {
            Func::Format => (1, usize::MAX, "at least one argument"),
            Func::Array => (0, usize::MAX, "any number of arguments"),
            Func::Uuid => (0, 0, "no arguments"),
            Func::StringToJson
            | Func::JsonToString
            | Func::ArrayLength
            | Func::ArrayUnique
            | Func::Base64Encode
            | Func::Base64Decode => (1, 1, "exactly one argument"),
            Func::ArrayPartition
            | Func::ArrayContains
            | Func::ArrayGetItem
            | Func::Hash
            | Func::MathAdd
            | Func::StringSplit => (2, 2, "exactly two arguments"),
            Func::ArrayRange | Func::JsonMerge => (3, 3, "exactly three arguments"),
            Func::MathRandom => (2, 3, "two or three arguments"),
        }
    }
}

/// A piece of a `States.Format` template: literal text or a `{}` hole.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Piece {
    Text(String),
    Hole,
}

/// One argument of a call.
#[derive(Clone, Debug)]
pub(crate) enum Arg {
    Literal(Value),
    Path(JsonPath),
    Call(Box<Intrinsic>),
}

/// A compiled intrinsic call tree.
#[derive(Clone, Debug)]
pub struct Intrinsic {
    func: Func,
    args: Vec<Arg>,
    /// For `States.Format` with a literal template: its pieces, split once at parse time
    /// (escaped `\{` / `\}` stay text, `{}` is a hole).
    format: Option<Vec<Piece>>,
}

impl Intrinsic {
    /// Parses an invocation such as `States.Format('{} x', $.a, States.MathAdd(1, 2))`.
    pub fn parse(src: &str) -> Result<Intrinsic, IntrinsicError> {
        parse::parse(src)
    }

    /// True when the text looks like an intrinsic invocation (starts with `States.`).
    pub fn looks_like(src: &str) -> bool {
        src.starts_with("States.")
    }

    /// Runs the call tree.
    pub fn evaluate(&self, scope: &Scope<'_>) -> Result<Value, StatesError> {
        let mut values = Vec::with_capacity(self.args.len());
        for arg in &self.args {
            values.push(match arg {
                Arg::Literal(value) => Cow::Borrowed(value),
                Arg::Call(call) => Cow::Owned(call.evaluate(scope)?),
                Arg::Path(path) => match select_in(path, scope) {
                    Selected::One(value) => Cow::Borrowed(value),
                    Selected::Many(values) => {
                        Cow::Owned(Value::Array(values.into_iter().cloned().collect()))
                    }
                    Selected::Nothing => {
                        let field = format!("States.{}", self.func.name());
                        return Err(path_not_found(path, &field, scope));
                    }
                },
            });
        }
        functions::call(self.func, self.format.as_deref(), &values)
    }
}
