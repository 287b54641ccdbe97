//! Compiled field values shared by many state types: paths with their defaults, payloads,
//! literal-or-path parameters, and the texts of a Fail state.

use crate::asl::intrinsics::Intrinsic;
use crate::asl::path::{JsonPath, ReferencePath};
use crate::asl::template::Template;

use super::jsonata::JsonataTemplate;

/// `InputPath`, `OutputPath` or `ItemsPath`.
#[derive(Debug, Default)]
pub enum InOutPath {
    /// Absent or `$`: the value passes through unchanged.
    #[default]
    Identity,
    /// `null`: the value becomes `{}`.
    Null,
    /// Any other path.
    Path(JsonPath),
}

/// `ResultPath`.
#[derive(Debug, Default)]
pub enum ResultPathSpec {
    /// Absent or `$`: the result replaces the input.
    #[default]
    Replace,
    /// `null`: the result is discarded and the input passes through.
    Discard,
    /// A reference path into the input.
    Path(ReferencePath),
}

/// A payload: `Parameters`, `ResultSelector`, `ItemSelector`, `BatchInput`, `Assign`.
/// JSONata adds its own variant beside the JSONPath template.
#[derive(Debug)]
pub enum Payload {
    /// A JSONPath payload template (`.$` keys).
    Template(Template),
    /// A JSONata value with `{% %}` expressions (JSONata states).
    Jsonata(JsonataTemplate),
}

/// A value given literally or read through a `*Path` field.
#[derive(Debug)]
pub enum Param<T> {
    /// The literal field (e.g. `Seconds`).
    Value(T),
    /// The `*Path` field (e.g. `SecondsPath`).
    Path(JsonPath),
    /// A `{% %}` expression in the literal field (JSONata states).
    Expr(JsonataTemplate),
}

/// The `Error`/`Cause` of a Fail state.
#[derive(Debug)]
pub enum TextSource {
    /// `Error` / `Cause`.
    Literal(String),
    /// `ErrorPath` / `CausePath` as a path.
    Path(JsonPath),
    /// `ErrorPath` / `CausePath` as an intrinsic function.
    Intrinsic(Intrinsic),
    /// `Error` / `Cause` as a `{% %}` expression (JSONata states).
    Expr(JsonataTemplate),
}
