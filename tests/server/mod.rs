//! Starts the real `stepwasm serve` binary on a free loopback port with a given data
//! directory, and talks to it with a real HTTP client. `kill9` ends it like a crash.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The admin key every test server is started with.
pub const ADMIN_KEY: &str = "test-admin-key-0123456789";

/// A running server process.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// What the server printed before it listened.
    pub startup: Vec<String>,
    agent: ureq::Agent,
}

/// A response: status and JSON body (`Null` when the body is not JSON).
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// `Retry-After`, if sent.
    pub retry_after: Option<String>,
    /// Body.
    pub body: Value,
}

impl Server {
    /// Starts the binary on `127.0.0.1:0` over `data_dir` and waits until it listens.
    pub fn start(data_dir: &Path) -> Server {
        Self::start_with_env(data_dir, &[("STEPWASM_ADMIN_KEY", ADMIN_KEY)])
    }

    /// Starts the binary with extra environment.
    pub fn start_with_env(data_dir: &Path, env: &[(&str, &str)]) -> Server {
        Self::start_with(data_dir, env, &[])
    }

    /// Starts the binary with extra environment and `serve` arguments.
    pub fn start_with(data_dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_stepwasm"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(args)
            .env_remove("STEPWASM_ADMIN_KEY")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("starting stepwasm serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = Vec::new();
        let base = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(addr) = line.strip_prefix("stepwasm listening on ") {
                        break addr.trim().to_string();
                    }
                    seen.push(line);
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!("server did not start; its output: {seen:?}");
                }
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || while rx.recv().is_ok() {});
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Server {
            child,
            base,
            startup: seen,
            agent,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Ends the process with SIGKILL (no chance to flush or clean up) and reaps it.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits for a clean exit; returns whether it exited successfully.
    pub fn terminate(mut self) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        false
    }

    fn finish(&self, resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
        let mut resp = resp.expect("HTTP request failed at the transport level");
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            retry_after,
            body,
        }
    }

    /// GET with an optional key.
    pub fn get(&self, path: &str, key: Option<&str>) -> Reply {
        let mut req = self.agent.get(format!("{}{path}", self.base));
        if let Some(k) = key {
            req = req.header("authorization", format!("Bearer {k}"));
        }
        self.finish(req.call())
    }

    /// DELETE with a key.
    pub fn delete(&self, path: &str, key: &str) -> Reply {
        let req = self
            .agent
            .delete(format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {key}"));
        self.finish(req.call())
    }

    /// A request with a JSON body.
    pub fn send_json(&self, method: &str, path: &str, key: &str, body: &Value) -> Reply {
        self.send_raw(
            method,
            path,
            Some(key),
            "application/json",
            body.to_string().into_bytes(),
        )
    }

    /// POST with a JSON body.
    pub fn post(&self, path: &str, key: &str, body: &Value) -> Reply {
        self.send_json("POST", path, key, body)
    }

    /// A request with any body and content type.
    pub fn send_raw(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let url = format!("{}{path}", self.base);
        let mut req = match method {
            "POST" => self.agent.post(url),
            "PUT" => self.agent.put(url),
            other => panic!("unsupported method {other}"),
        };
        if let Some(k) = key {
            req = req.header("authorization", format!("Bearer {k}"));
        }
        self.finish(req.header("content-type", content_type).send(&body[..]))
    }

    /// Creates a tenant and returns its key.
    pub fn tenant(&self, id: &str) -> String {
        let r = self.post("/v1/tenants", ADMIN_KEY, &serde_json::json!({ "id": id }));
        assert_eq!(r.status, 201, "{:?}", r.body);
        r.body["apiKey"].as_str().expect("apiKey").to_string()
    }

    /// Creates a state machine from a `POST /v1/state-machines` body; it must be created.
    pub fn create_machine(&self, key: &str, body: &Value) -> Value {
        let r = self.post("/v1/state-machines", key, body);
        assert_eq!(r.status, 201, "{:?}", r.body);
        r.body
    }

    /// Starts an execution of `sm` from a start body; it must be created.
    pub fn start_execution(&self, key: &str, sm: &str, body: &Value) -> Value {
        let r = self.post(&format!("/v1/state-machines/{sm}/executions"), key, body);
        assert_eq!(r.status, 201, "{:?}", r.body);
        r.body
    }

    /// Uploads a component.
    pub fn upload(&self, key: &str, name: &str, bytes: Vec<u8>) -> Reply {
        self.send_raw(
            "POST",
            &format!("/v1/components/{name}"),
            Some(key),
            "application/wasm",
            bytes,
        )
    }

    /// Every history event of an execution, following nextToken.
    pub fn full_history(&self, key: &str, sm: &str, exec: &str) -> Vec<Value> {
        let mut events = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut path =
                format!("/v1/state-machines/{sm}/executions/{exec}/history?maxResults=1000");
            if let Some(t) = &token {
                path.push_str(&format!("&nextToken={t}"));
            }
            let r = self.get(&path, Some(key));
            assert_eq!(r.status, 200, "{:?}", r.body);
            events.extend(r.body["events"].as_array().cloned().unwrap_or_default());
            match r.body["nextToken"].as_str() {
                Some(t) => token = Some(t.to_string()),
                None => return events,
            }
        }
    }

    /// Polls an execution until it leaves RUNNING (or `timeout` passes); returns it.
    pub fn wait_done(&self, key: &str, sm: &str, exec: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let r = self.get(
                &format!("/v1/state-machines/{sm}/executions/{exec}"),
                Some(key),
            );
            assert_eq!(r.status, 200, "{:?}", r.body);
            if r.body["status"] != "RUNNING" || Instant::now() > deadline {
                return r.body;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
