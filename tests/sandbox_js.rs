//! The JavaScript guest (componentize-js) runs under the same world and host as the Rust
//! ones: the WIT contract is language-neutral. Building it needs `node` and `npm install`
//! of `examples/js-task`; if that is impossible, this test fails saying why.

mod guests;

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, OnceLock};

use serde_json::json;
use stepwasm::engine::ports::{TaskContext, TaskRequest, TaskRunner};
use stepwasm::sandbox::{
    FileSource, HOST_INTERFACE, PoolConfig, SandboxConfig, SandboxRunner, TYPES_INTERFACE,
};

/// Builds `examples/js-task` into a component once per test run (about 20 s of CPU).
fn js_component() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = guests::repo_root().join("examples/js-task");
        // Always run it: a no-op when node_modules matches the lock, and it repairs a partial
        // install (an interrupted one left componentize-js without its dependencies).
        {
            let out = Command::new("npm")
                .args(["install", "--no-audit", "--no-fund"])
                .current_dir(&dir)
                .output()
                .unwrap_or_else(|e| {
                    panic!("cannot build the JavaScript guest: npm not runnable: {e}")
                });
            assert!(
                out.status.success(),
                "cannot build the JavaScript guest: `npm install` in {} failed:\n{}",
                dir.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // Keyed by the sources' content: an unchanged guest is not componentized again.
        let mut key = Vec::new();
        for file in [
            "task.js",
            "build.mjs",
            "package-lock.json",
            "../../wit/task.wit",
        ] {
            key.extend(std::fs::read(dir.join(file)).expect("reading the JS guest's sources"));
        }
        let key = &stepwasm::sandbox::sha256_hex(&key)[..16];
        let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("js_task-{key}.wasm"));
        if target.exists() {
            return target;
        }
        let out = Command::new("node")
            .arg("build.mjs")
            .arg(&target)
            .current_dir(&dir)
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot build the JavaScript guest: node not runnable: {e}")
            });
        assert!(
            out.status.success(),
            "cannot build the JavaScript guest: componentize failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        target
    })
}

#[tokio::test]
async fn the_javascript_guest_runs_under_the_same_world() {
    let path = js_component();
    let mut source = FileSource::new();
    source.add_file("js-task", path).unwrap();
    let runner = SandboxRunner::new(
        Arc::new(source),
        SandboxConfig {
            pool: PoolConfig {
                max_concurrent: 4,
                ..PoolConfig::default()
            },
            cache_dir: Some(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("stepwasm-cache")),
            ..SandboxConfig::default()
        },
    )
    .unwrap();

    let info = runner
        .validate_component(&std::fs::read(path).unwrap())
        .unwrap();
    // Only the world's own interfaces: no WASI at all.
    assert_eq!(
        info.imports,
        vec![HOST_INTERFACE.to_owned(), TYPES_INTERFACE.to_owned()],
        "{info:?}"
    );

    let request = |input| TaskRequest {
        tenant: None,
        resource: "wasm:js-task".into(),
        input,
        timeout: None,
        heartbeat: None,
        context: TaskContext {
            state_name: "Total".into(),
            retry_count: 1,
            ..TaskContext::default()
        },
    };
    let outcome = runner
        .invoke(request(
            json!({"items": [{"price": 2.5, "quantity": 4}, {"price": 1, "quantity": 3}]}),
        ))
        .await;
    assert_eq!(
        outcome.result.unwrap(),
        json!({"total": 13, "state": "Total"})
    );
    assert_eq!(outcome.logs.len(), 1);
    assert_eq!(outcome.logs[0].level, "info");
    assert_eq!(outcome.logs[0].message, "js priced 2 items");

    let outcome = runner.invoke(request(json!({"items": []}))).await;
    let failure = outcome.result.unwrap_err();
    assert_eq!(failure.error, "Cart.Empty");
    assert_eq!(failure.cause, "no items (attempt 1)");
}
