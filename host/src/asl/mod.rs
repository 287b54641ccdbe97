//! The Amazon States Language itself, pure and I/O-free: the raw serde mirror of a
//! definition, validation into an immutable model, paths, payload templates, intrinsic
//! functions and error names.

pub mod compare;
pub mod error;
pub mod intrinsics;
pub mod model;
pub mod path;
pub mod raw;
pub mod scope;
pub mod template;
pub mod validate;
