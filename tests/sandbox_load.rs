//! Loading components: what is rejected (naming the missing or extra item), what is
//! accepted, and the compiled-artifact caches.

mod guests;

use std::sync::Arc;

use serde_json::json;
use stepwasm::engine::ports::{TaskContext, TaskRequest, TaskRunner};
use stepwasm::sandbox::{
    ComponentBytes, ComponentSource, FileSource, HOST_INTERFACE, LoadError, PoolConfig,
    ResourceError, ResourceName, SandboxConfig, SandboxRunner,
};

fn runner(
    cache_dir: Option<std::path::PathBuf>,
    source: Arc<dyn ComponentSource>,
) -> SandboxRunner {
    SandboxRunner::new(
        source,
        SandboxConfig {
            pool: PoolConfig {
                max_concurrent: 8,
                ..PoolConfig::default()
            },
            cache_dir,
            ..SandboxConfig::default()
        },
    )
    .unwrap()
}

fn empty_runner() -> SandboxRunner {
    runner(None, Arc::new(FileSource::new()))
}

fn request(resource: &str) -> TaskRequest {
    TaskRequest {
        tenant: None,
        resource: resource.into(),
        input: json!({"k": "v"}),
        timeout: None,
        heartbeat: None,
        context: TaskContext::default(),
    }
}

#[test]
fn rejects_what_is_not_a_component() {
    let runner = empty_runner();
    let err = runner.validate_component(b"not wasm at all").unwrap_err();
    assert!(matches!(err, LoadError::NotAComponent { .. }), "{err}");
    let core = wat::parse_str("(module (func (export \"run\")))").unwrap();
    let err = runner.validate_component(&core).unwrap_err();
    assert!(matches!(err, LoadError::NotAComponent { .. }), "{err}");
}

#[test]
fn rejects_a_component_of_another_world() {
    let runner = empty_runner();
    let empty = wat::parse_str("(component)").unwrap();
    let err = runner.validate_component(&empty).unwrap_err();
    assert!(
        matches!(&err, LoadError::MissingExport { name } if name == "run"),
        "{err}"
    );
    let wrong_type = wat::parse_str(
        r#"(component
            (core module $m (func (export "f")))
            (core instance $i (instantiate $m))
            (func (export "run") (canon lift (core func $i "f"))))"#,
    )
    .unwrap();
    let err = runner.validate_component(&wrong_type).unwrap_err();
    assert!(
        matches!(&err, LoadError::WrongExportType { name, .. } if name == "run"),
        "{err}"
    );
    let only_other = wat::parse_str(
        r#"(component
            (core module $m (func (export "f")))
            (core instance $i (instantiate $m))
            (func (export "other") (canon lift (core func $i "f"))))"#,
    )
    .unwrap();
    let err = runner.validate_component(&only_other).unwrap_err();
    assert!(matches!(&err, LoadError::MissingExport { .. }), "{err}");
}

#[test]
fn rejects_an_extra_export_by_name() {
    let runner = empty_runner();
    let extra = wat::parse_str(
        r#"(component
            (core module $m (func (export "f")))
            (core instance $i (instantiate $m))
            (func (export "run") (canon lift (core func $i "f")))
            (func (export "debug-dump") (canon lift (core func $i "f"))))"#,
    )
    .unwrap();
    let err = runner.validate_component(&extra).unwrap_err();
    assert!(
        matches!(&err, LoadError::ExtraExport { name } if name == "debug-dump"),
        "{err}"
    );
    assert!(err.to_string().contains("`debug-dump`"), "{err}");
}

#[test]
fn rejects_a_granted_import_of_the_wrong_shape_naming_it() {
    let runner = empty_runner();
    // `log` of the host interface, but taking nothing: not what the host provides.
    let wrong = wat::parse_str(
        r#"(component
            (import "stepwasm:task/host@0.1.0" (instance $host (export "log" (func))))
            (core module $m (func (export "f")))
            (core instance $i (instantiate $m))
            (func (export "run") (canon lift (core func $i "f"))))"#,
    )
    .unwrap();
    let err = runner.validate_component(&wrong).unwrap_err();
    assert!(matches!(&err, LoadError::ImportMismatch { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("log") && text.contains("stepwasm:task/host@0.1.0"),
        "{text}"
    );
}

#[test]
fn rejects_an_ungranted_import_by_name() {
    let runner = empty_runner();
    let http = wat::parse_str(
        r#"(component
            (import "wasi:http/outgoing-handler@0.2.0" (instance))
            (import "stepwasm:task/host@0.1.0" (instance)))"#,
    )
    .unwrap();
    let err = runner.validate_component(&http).unwrap_err();
    assert!(
        matches!(&err, LoadError::UngrantedImport { name } if name == "wasi:http/outgoing-handler@0.2.0"),
        "{err}"
    );
    assert!(err.to_string().contains("wasi:http/outgoing-handler@0.2.0"));
}

#[test]
fn accepts_the_example_guests() {
    let runner = empty_runner();
    let info = runner
        .validate_component(&guests::guest_bytes("price"))
        .unwrap();
    assert_eq!(info.exports, vec!["run".to_owned()]);
    assert!(info.imports.iter().any(|i| i == HOST_INTERFACE), "{info:?}");
}

#[tokio::test]
async fn a_precompiled_artifact_is_used() {
    let bytes = guests::guest_bytes("echo");
    let compiler = empty_runner();
    let artifact = compiler.precompile(&bytes).unwrap();

    struct Precompiled(ComponentBytes);
    impl ComponentSource for Precompiled {
        fn resolve<'a>(
            &'a self,
            _tenant: Option<&'a str>,
            _resource: &'a ResourceName,
        ) -> stepwasm::engine::ports::BoxFuture<'a, Result<ComponentBytes, ResourceError>> {
            let found = self.0.clone();
            Box::pin(async move { Ok(found) })
        }
    }
    // Real artifact, junk bytes: only the artifact can make this run.
    let mut source = ComponentBytes::new(b"junk".to_vec());
    source.precompiled = Some(artifact.into());
    let runner = runner(None, Arc::new(Precompiled(source)));
    let outcome = runner.invoke(request("wasm:echo")).await;
    assert_eq!(outcome.result.unwrap(), json!({"k": "v"}));
}

#[tokio::test]
async fn the_disk_cache_survives_a_restart() {
    let cache = tempfile::tempdir().unwrap();
    let path = guests::guest("echo");
    let mut files = FileSource::new();
    files.add_file("echo", &path).unwrap();
    let files = Arc::new(files);
    let first = runner(Some(cache.path().to_owned()), files.clone());
    assert_eq!(
        first.invoke(request("wasm:echo")).await.result.unwrap(),
        json!({"k": "v"})
    );
    let artifacts: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(artifacts.len(), 1, "{artifacts:?}");
    let sha = stepwasm::sandbox::sha256_hex(&std::fs::read(&path).unwrap());
    let name = artifacts[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(name.starts_with(&sha) && name.ends_with(".cwasm"), "{name}");
    let written = std::fs::metadata(&artifacts[0])
        .unwrap()
        .modified()
        .unwrap();
    drop(first);

    // A new runner (a restart) loads the artifact instead of compiling and rewriting it.
    let second = runner(Some(cache.path().to_owned()), files);
    assert_eq!(
        second.invoke(request("wasm:echo")).await.result.unwrap(),
        json!({"k": "v"})
    );
    let again = std::fs::metadata(&artifacts[0])
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(written, again);
}
