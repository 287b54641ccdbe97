//! The Amazon States Language itself, pure and I/O-free: the raw serde mirror of a
//! definition, validation into an immutable model, paths, payload templates, intrinsic
//! functions and error names.

pub mod compare;
pub mod error;
pub mod intrinsics;
pub mod model;
pub mod path;
pub mod raw;
pub mod resource;
pub mod scope;
pub mod template;
pub mod validate;

/// The read-only `shared/` folder (conformance cases, bench workloads) that tests read:
/// `STEPWASM_SHARED` when set (as `.ci/run` does), else beside the repository root.
#[cfg(test)]
pub(crate) fn shared_dir() -> std::path::PathBuf {
    match std::env::var_os("STEPWASM_SHARED") {
        Some(dir) => dir.into(),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
    }
}
