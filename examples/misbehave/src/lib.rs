//! Misbehaving guests, one per `mode` of the input (`{"mode": "loop"}`), used by the
//! host's tests to show that each ends in its named error and hurts nobody else.
//!
//! It implements the world by hand (not through `export_task!`) so it can also return
//! text that is not JSON.

use std::hint::black_box;
use std::io::{Read, Write};

use stepwasm_guest::bindings::{Guest, TaskError, export_world};

struct Misbehave;

fn fail(name: &str, cause: impl ToString) -> TaskError {
    TaskError {
        name: name.to_owned(),
        cause: cause.to_string(),
    }
}

/// Recursion the optimizer cannot turn into a loop.
fn depth(n: u64) -> u64 {
    if n == 0 {
        0
    } else {
        black_box(depth(black_box(n - 1))) + 1
    }
}

/// Plants symlinks in the scratch directory pointing out of it and follows them; returns
/// which links could be made and which reached something outside.
fn symlink_out() -> serde_json::Value {
    let mut made = Vec::new();
    let mut reached = Vec::new();
    let targets = ["/etc/passwd", "../../../../etc/passwd", "..", "/", "../.."];
    for (i, target) in targets.iter().enumerate() {
        let link = format!("/scratch/link{i}");
        // `soft_link` is the stable std way to call WASI's symlink.
        #[allow(deprecated)]
        if std::fs::soft_link(target, &link).is_ok() {
            made.push(target.to_string());
        }
        let through = [
            link.clone(),
            format!("{link}/etc/passwd"),
            format!("{link}/.."),
        ];
        for path in through {
            if std::fs::read(&path).is_ok() || std::fs::read_dir(&path).is_ok() {
                reached.push(path);
            }
        }
    }
    // A link to something inside still works, so the test shows symlinks themselves do.
    std::fs::write("/scratch/inside.txt", "in").ok();
    #[allow(deprecated)]
    let inside_ok = std::fs::soft_link("inside.txt", "/scratch/to-inside").is_ok()
        && std::fs::read_to_string("/scratch/to-inside")
            .ok()
            .as_deref()
            == Some("in");
    serde_json::json!({ "made": made, "reached": reached, "inside_ok": inside_ok })
}

/// Tries every way out of the scratch directory; returns what it managed to read.
fn escape_scratch() -> Vec<String> {
    let mut reached = Vec::new();
    for path in [
        "/scratch/../etc/passwd",
        "/etc/passwd",
        "/scratch/../../etc/hostname",
        "/",
    ] {
        if std::fs::read(path).is_ok() || std::fs::read_dir(path).is_ok() {
            reached.push(path.to_owned());
        }
    }
    reached
}

impl Guest for Misbehave {
    fn run(input: String) -> Result<String, TaskError> {
        let value: serde_json::Value =
            serde_json::from_str(&input).map_err(|e| fail("Misbehave.BadInput", e))?;
        let mode = value["mode"].as_str().unwrap_or_default();
        match mode {
            "loop" => {
                let mut x = 0u64;
                loop {
                    x = black_box(x.wrapping_add(1));
                }
            }
            "memory" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(black_box(vec![1u8; 1 << 20]));
                }
            }
            "recursion" => Ok(depth(black_box(u64::MAX)).to_string()),
            "huge-output" => Ok(format!("\"{}\"", "x".repeat(300 * 1024))),
            "not-json" => Ok("this is { not json".to_owned()),
            "panic" => panic!("the guest panicked on purpose"),
            "stdout" => {
                for i in 0..3 {
                    println!("line {i} to stdout");
                }
                eprintln!("one line to stderr");
                Ok("true".to_owned())
            }
            "read-file" => match std::fs::read_to_string("/etc/passwd") {
                Ok(text) => Ok(serde_json::json!({ "read": text }).to_string()),
                Err(e) => Err(fail("Misbehave.Denied", format!("open /etc/passwd: {e}"))),
            },
            "env" => {
                let vars: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
                if vars.is_empty() {
                    Err(fail("Misbehave.Denied", "no environment variables"))
                } else {
                    Ok(serde_json::json!({ "env": vars }).to_string())
                }
            }
            "socket" => {
                let addr = value["addr"].as_str().unwrap_or("127.0.0.1:80");
                match std::net::TcpStream::connect(addr) {
                    Ok(mut s) => {
                        let _ = s.write_all(b"hello");
                        let mut buf = [0u8; 16];
                        let _ = s.read(&mut buf);
                        Ok("\"connected\"".to_owned())
                    }
                    Err(e) => Err(fail("Misbehave.Denied", format!("connect {addr}: {e}"))),
                }
            }
            "scratch" => {
                let text = value["text"].as_str().unwrap_or("hello");
                std::fs::write("/scratch/note.txt", text).map_err(|e| {
                    fail("Misbehave.Denied", format!("write /scratch/note.txt: {e}"))
                })?;
                let back = std::fs::read_to_string("/scratch/note.txt")
                    .map_err(|e| fail("Misbehave.Denied", format!("read back: {e}")))?;
                Ok(serde_json::json!({ "read_back": back }).to_string())
            }
            "scratch-fill" => {
                let chunk = vec![7u8; 64 * 1024];
                let mut file = std::fs::File::create("/scratch/big.bin")
                    .map_err(|e| fail("Misbehave.Denied", e))?;
                let mut written = 0usize;
                loop {
                    match file.write(&chunk) {
                        Ok(0) => break,
                        Ok(n) => written += n,
                        Err(e) => {
                            return Err(fail(
                                "Misbehave.Denied",
                                format!("after {written} bytes: {e}"),
                            ));
                        }
                    }
                    if written > 64 << 20 {
                        return Ok(serde_json::json!({ "written": written }).to_string());
                    }
                }
                Ok(serde_json::json!({ "written": written }).to_string())
            }
            "chatty" => {
                let lines = value["lines"].as_u64().unwrap_or(1000);
                for i in 0..lines {
                    println!("{i:>6} {}", ".".repeat(93));
                }
                Ok(lines.to_string())
            }
            "context" => {
                // Fails its first attempt when asked (cause: the token), so a test can
                // compare the tokens of two attempts.
                let ctx = stepwasm_guest::context();
                if value["fail_first"] == true && ctx.retry_count == 0 {
                    return Err(fail(
                        "Misbehave.FirstAttempt",
                        ctx.task_token.unwrap_or_default(),
                    ));
                }
                Ok(serde_json::json!({
                    "token": ctx.task_token,
                    "retry_count": ctx.retry_count,
                    "input": value,
                })
                .to_string())
            }
            "scratch-symlink" => Ok(symlink_out().to_string()),
            "scratch-escape" => Ok(serde_json::json!({ "reached": escape_scratch() }).to_string()),
            other => Err(fail(
                "Misbehave.UnknownMode",
                format!("unknown mode {other:?}"),
            )),
        }
    }
}

export_world!(Misbehave with_types_in stepwasm_guest::bindings);
