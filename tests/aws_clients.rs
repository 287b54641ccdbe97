//! AWS's own clients against the real `stepwasm serve`: boto3 and the AWS CLI
//! (`tests/aws/boto3_client.py`) and the AWS SDK for JavaScript v3
//! (`tests/aws/sdk_client.cjs`), unchanged, with `--endpoint-url` and SigV4 credentials
//! from the admin API. `.ci/run` installs them under `target/` (pip venv `target/aws-venv`,
//! npm folder `target/aws-npm`); outside CI a missing one skips with a named reason, under
//! `CI=true` it fails. `tests/aws/callbacks_client.py` completes `.waitForTaskToken` tasks
//! with boto3 across a `kill -9` and restart of the server.

mod guests;
mod server;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use server::{ADMIN_KEY, Server};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The tool at `path`, or `None` (with the reason printed) when it is missing outside CI.
fn tool(path: PathBuf, what: &str) -> Option<PathBuf> {
    if path.exists() {
        return Some(path);
    }
    let reason = format!(
        "{what} not installed at {} (.ci/run installs it)",
        path.display()
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{reason}");
    }
    eprintln!("SKIPPED: {reason}");
    None
}

fn run_script(program: &Path, script: &Path, server: &Server, env: &[(&str, &str)]) {
    run_script_args(program, script, &[], server, env);
}

/// Runs `script` with `args`; it must exit 0.
fn run_script_args(
    program: &Path,
    script: &Path,
    args: &[&str],
    server: &Server,
    env: &[(&str, &str)],
) {
    let out = Command::new(program)
        .arg(script)
        .args(args)
        .env("STEPWASM_URL", &server.base)
        .env("STEPWASM_ADMIN_KEY", ADMIN_KEY)
        .envs(env.iter().copied())
        .output()
        .expect("running the client script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "{} failed ({}):\n{stdout}\n{stderr}",
        script.display(),
        out.status
    );
}

#[test]
fn boto3_and_aws_cli_work_unchanged() {
    let Some(python) = tool(
        root().join("target/aws-venv/bin/python"),
        "boto3 + awscli venv",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    run_script(
        &python,
        &root().join("tests/aws/boto3_client.py"),
        &server,
        &[],
    );
}

#[test]
fn boto3_completes_callbacks_across_kill_9_and_refuses_tokens_by_aws_names() {
    let Some(python) = tool(
        root().join("target/aws-venv/bin/python"),
        "boto3 + awscli venv",
    ) else {
        return;
    };
    let script = root().join("tests/aws/callbacks_client.py");
    let dir = tempfile::tempdir().unwrap();
    let facts = dir.path().join("facts.json");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let phase = |server: &Server, name: &str| {
        let facts = facts.to_string_lossy().into_owned();
        run_script_args(&python, &script, &[name, &facts], server, &[]);
    };
    let server = Server::start(&data);
    for tenant in ["acme", "other"] {
        let key = server.tenant(tenant);
        let r = server.upload(&key, "echo", guests::guest_bytes("echo"));
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    phase(&server, "start");
    server.kill9();
    let server = Server::start(&data);
    phase(&server, "finish");
    phase(&server, "heartbeat");
}

/// Writes the server's URL where the activity workers read it (atomically: they poll it).
fn publish_url(shared: &Path, server: &Server) {
    let tmp = shared.join("url.tmp");
    std::fs::write(&tmp, &server.base).unwrap();
    std::fs::rename(&tmp, shared.join("url.txt")).unwrap();
}

/// Tasks the workers completed so far (their `done` lines).
fn completed(shared: &Path) -> usize {
    std::fs::read_dir(shared)
        .unwrap()
        .filter_map(|e| {
            let path = e.ok()?.path();
            let name = path.file_name()?.to_str()?.to_owned();
            name.starts_with("worker-")
                .then(|| std::fs::read_to_string(&path).ok())
                .flatten()
        })
        .map(|text| text.lines().filter(|l| l.starts_with("done ")).count())
        .sum()
}

#[test]
fn boto3_activity_workers_complete_every_task_exactly_once_across_two_kill_9s() {
    const TASKS: usize = 1000;
    let Some(python) = tool(
        root().join("target/aws-venv/bin/python"),
        "boto3 + awscli venv",
    ) else {
        return;
    };
    let script = root().join("tests/aws/activities_client.py");
    let dir = tempfile::tempdir().unwrap();
    let (shared, data) = (dir.path().join("shared"), dir.path().join("data"));
    std::fs::create_dir(&shared).unwrap();
    std::fs::create_dir(&data).unwrap();
    let shared_arg = shared.to_string_lossy().into_owned();
    let tasks = TASKS.to_string();
    let mut server = Server::start(&data);
    server.tenant("acme");
    publish_url(&shared, &server);
    run_script_args(
        &python,
        &script,
        &["setup", &shared_arg, &tasks],
        &server,
        &[],
    );
    let mut workers: Vec<std::process::Child> = (0..4)
        .map(|i| {
            Command::new(&python)
                .arg(&script)
                .args(["worker", &shared_arg, &i.to_string()])
                .env("STEPWASM_ADMIN_KEY", ADMIN_KEY)
                .spawn()
                .expect("starting a worker")
        })
        .collect();
    // Killed with -9 twice while the workers are busy: after a third and two thirds.
    for part in [TASKS / 3, 2 * TASKS / 3] {
        let deadline = Instant::now() + Duration::from_secs(600);
        while completed(&shared) < part {
            assert!(
                Instant::now() < deadline,
                "workers stalled at {}",
                completed(&shared)
            );
            for w in &mut workers {
                assert!(w.try_wait().unwrap().is_none(), "a worker died");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        println!("kill -9 with {} tasks completed", completed(&shared));
        server.kill9();
        server = Server::start(&data);
        publish_url(&shared, &server);
    }
    run_script_args(
        &python,
        &script,
        &["verify", &shared_arg, &tasks],
        &server,
        &[],
    );
    for w in &mut workers {
        assert!(w.try_wait().unwrap().is_none(), "a worker died");
        let _ = w.kill();
        let _ = w.wait();
    }
}

#[test]
fn aws_sdk_for_javascript_works_unchanged() {
    let Some(modules) = tool(
        root().join("target/aws-npm/node_modules/@aws-sdk/client-sfn"),
        "@aws-sdk/client-sfn",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let node_path = modules
        .parent()
        .and_then(Path::parent)
        .expect("node_modules")
        .to_string_lossy()
        .into_owned();
    run_script(
        Path::new("node"),
        &root().join("tests/aws/sdk_client.cjs"),
        &server,
        &[("NODE_PATH", &node_path)],
    );
}

#[test]
fn secrets_are_sealed_at_rest() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.tenant("acme");
    let r = server.post(
        "/v1/tenants/acme/aws-credentials",
        ADMIN_KEY,
        &serde_json::json!({}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let secret = r.body["secretAccessKey"].as_str().unwrap().to_string();
    let key_file = dir.path().join("secret.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "key file mode {mode:o}");
    }
    assert!(server.terminate());
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "the secret is in the clear in {}",
                path.display()
            );
        }
    }
    // A tenant key may not issue AWS credentials; an unknown tenant gets none.
    let server = Server::start(dir.path());
    let key = server.tenant("other");
    let r = server.post(
        "/v1/tenants/other/aws-credentials",
        &key,
        &serde_json::json!({}),
    );
    assert_eq!(r.status, 403, "{:?}", r.body);
    let r = server.post(
        "/v1/tenants/nobody/aws-credentials",
        ADMIN_KEY,
        &serde_json::json!({}),
    );
    assert_eq!(r.status, 404, "{:?}", r.body);
}

/// Issue 13 through boto3 (`tests/aws/boto3_debugging.py`): TestState, a mocked run from
/// Step Functions Local's MockConfigFile example, a one-hour Wait at `--wait-time-scale
/// 0.0005`, redrive of a failed Map and Parallel, and a redrive after `kill -9`.
#[test]
fn boto3_debugging_tools() {
    let Some(python) = tool(
        root().join("target/aws-venv/bin/python"),
        "boto3 + awscli venv",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let fixtures = root().join("tests/fixtures");
    let mock_config = fixtures.join("sfn-local-mock/MockConfigFile.json");
    let start = || {
        Server::start_with(
            dir.path(),
            &[("STEPWASM_ADMIN_KEY", ADMIN_KEY)],
            &[
                "--wait-time-scale",
                "0.0005",
                "--mock-config",
                mock_config.to_str().unwrap(),
            ],
        )
    };
    let server = start();
    let key = server.tenant("acme");
    let r = server.upload(&key, "flaky", guests::guest_bytes("flaky"));
    assert_eq!(r.status, 201, "{:?}", r.body);
    let r = server.post(
        "/v1/tenants/acme/aws-credentials",
        ADMIN_KEY,
        &serde_json::json!({}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id = r.body["accessKeyId"].as_str().unwrap().to_string();
    let secret = r.body["secretAccessKey"].as_str().unwrap().to_string();
    let script = root().join("tests/aws/boto3_debugging.py");
    let env = [
        ("AWS_ACCESS_KEY_ID", id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", secret.as_str()),
        ("STEPWASM_FIXTURES", fixtures.to_str().unwrap()),
    ];
    run_script_args(&python, &script, &["before-kill"], &server, &env);
    server.kill9();
    let server = start();
    run_script_args(&python, &script, &["after-kill"], &server, &env);
}
