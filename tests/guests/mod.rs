//! Builds the example guests (Rust, `wasm32-wasip2`) once per test binary and hands out
//! their paths; installs the target when it is missing.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_owned()
}

fn ensure_target() {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .expect("rustup must be on PATH to build the example guests");
    if !String::from_utf8_lossy(&installed.stdout).contains("wasm32-wasip2") {
        let status = Command::new("rustup")
            .args(["target", "add", "wasm32-wasip2"])
            .status()
            .expect("running rustup target add");
        assert!(status.success(), "rustup target add wasm32-wasip2 failed");
    }
}

/// Builds every example guest (once) and returns the release output folder.
pub fn build_examples() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        ensure_target();
        let examples = repo_root().join("examples");
        let output = Command::new(env!("CARGO"))
            .args(["build", "--release", "--target", "wasm32-wasip2"])
            .current_dir(&examples)
            // The examples have their own workspace and target folder.
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .output()
            .expect("running cargo build in examples/");
        assert!(
            output.status.success(),
            "building the example guests failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        examples.join("target/wasm32-wasip2/release")
    })
}

/// Path of one example guest's component, e.g. `guest("price")`.
pub fn guest(name: &str) -> PathBuf {
    let file = format!("{}.wasm", name.replace('-', "_"));
    let path = build_examples().join(file);
    assert!(
        path.exists(),
        "example guest {name} missing at {}",
        path.display()
    );
    path
}

/// Bytes of one example guest's component.
pub fn guest_bytes(name: &str) -> Vec<u8> {
    std::fs::read(guest(name)).expect("reading a built guest")
}
