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

/// A folder of the read-only `shared/` folder (conformance cases, bench workloads) that some
/// tests read: under `STEPWASM_SHARED` when set (as `.ci/run` does), else beside the
/// repository root. `None` when it is missing, after printing that `suite` is skipped: a
/// fresh clone without `shared/` still runs every other test.
#[cfg(test)]
pub(crate) fn shared_or_skip(relative: &str, suite: &str) -> Option<std::path::PathBuf> {
    use std::io::Write;
    let root = match std::env::var_os("STEPWASM_SHARED") {
        Some(dir) => dir.into(),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
    };
    let dir = root.join(relative);
    if dir.is_dir() {
        return Some(dir);
    }
    // Straight to the stream: the test harness captures `eprintln!` of passing tests.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {suite}: {} not found (set STEPWASM_SHARED to the shared folder)",
        dir.display()
    );
    None
}
