//! The store against damage, with the real binary: bits flipped in a copy of a real store
//! file are found by `stepwasm check` and by the server, which names the damaged records and
//! serves the rest; a disk that fills up (a size-capped tmpfs this test mounts, as root)
//! gives a named error, the server recovers by itself once space returns, and every
//! acknowledged execution completes.

mod server;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use server::Server;

const PASS: &str = r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#;

fn check(dir: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_stepwasm"))
        .args(["check", "--data-dir"])
        .arg(dir)
        .output()
        .expect("running stepwasm check");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

/// Flips one bit in every copy of `needle` in the file; returns how many it found.
fn flip_bits(file: &Path, needle: &[u8]) -> usize {
    let mut bytes = std::fs::read(file).unwrap();
    let mut found = 0;
    let mut i = 0;
    while i + needle.len() <= bytes.len() {
        if &bytes[i..i + needle.len()] == needle {
            // The last character of the needle: '3' (0x33) becomes '7' (0x37).
            bytes[i + needle.len() - 1] ^= 0x04;
            found += 1;
            i += needle.len();
        } else {
            i += 1;
        }
    }
    std::fs::write(file, bytes).unwrap();
    found
}

#[test]
fn flipped_bits_are_named_and_the_rest_is_served() {
    let original = tempfile::tempdir().unwrap();
    let s = Server::start(original.path());
    let key = s.tenant("acme");
    let def: Value = serde_json::from_str(PASS).unwrap();
    let r = s.post(
        "/v1/state-machines",
        &key,
        &json!({"name": "p", "definition": def}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    for i in 0..6 {
        let r = s.post(
            "/v1/state-machines/p/executions",
            &key,
            &json!({"name": format!("e{i}"), "input": {"marker": format!("MARK-e{i}"), "v": 10090}}),
        );
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    for i in 0..6 {
        let done = s.wait_done(&key, "p", &format!("e{i}"), Duration::from_secs(30));
        assert_eq!(done["status"], "SUCCEEDED", "{done}");
    }
    // Long enough for the idle writer to move the tail into the per-execution tables.
    std::thread::sleep(Duration::from_millis(500));
    assert!(s.terminate());
    assert_eq!(check(original.path()).0, 0, "{}", check(original.path()).1);

    let damaged = tempfile::tempdir().unwrap();
    let file = damaged.path().join("stepwasm.redb");
    std::fs::copy(original.path().join("stepwasm.redb"), &file).unwrap();
    assert!(
        flip_bits(&file, b"MARK-e3") > 0,
        "the marker is in the file"
    );

    let (code, text) = check(damaged.path());
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("execution:p:e3"), "{text}");
    for good in ["e0", "e1", "e2", "e4", "e5"] {
        assert!(!text.contains(&format!("execution:p:{good}'")), "{text}");
    }

    let s = Server::start(damaged.path());
    let r = s.get("/v1/state-machines/p/executions/e3", Some(&key));
    assert_eq!(r.status, 500, "{:?}", r.body);
    assert_eq!(r.body["error"], "RecordCorrupt", "{:?}", r.body);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("execution:p:e3"),
        "{:?}",
        r.body
    );
    for good in ["e0", "e1", "e2", "e4", "e5"] {
        let r = s.get(
            &format!("/v1/state-machines/p/executions/{good}"),
            Some(&key),
        );
        assert_eq!(r.status, 200, "{:?}", r.body);
        let input: Value = serde_json::from_str(r.body["input"].as_str().unwrap()).unwrap();
        assert_eq!(input, json!({"marker": format!("MARK-{good}"), "v": 10090}));
        let events = s.full_history(&key, "p", good);
        assert_eq!(events.last().unwrap()["type"], "ExecutionSucceeded");
    }
    let r = s.get("/v1/executions", Some(&key));
    assert_eq!(r.status, 200, "{:?}", r.body);
    let mut names: Vec<&str> = r.body["executions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["e0", "e1", "e2", "e4", "e5"]);
    let flagged = &r.body["damaged"];
    assert_eq!(flagged.as_array().map(Vec::len), Some(1), "{:?}", r.body);
    assert_eq!(flagged[0]["error"], "RecordCorrupt");
    assert!(
        flagged[0]["record"]
            .as_str()
            .unwrap()
            .ends_with("execution:p:e3"),
        "{flagged}"
    );
    // New work goes on beside the damage.
    s.start_execution(&key, "p", &json!({"name": "after"}));
    let done = s.wait_done(&key, "p", "after", Duration::from_secs(30));
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    assert!(s.terminate());
}

/// A size-capped tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts one of `size` (as `mount -o size=` takes it), or says why it cannot: skipped
    /// by name outside CI, a failure under `CI=true`.
    fn mount(test: &str, size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        let why = match out {
            Ok(o) if o.status.success() => return Some(Tmpfs { dir }),
            Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
            Err(e) => e.to_string(),
        };
        let reason = format!("{test}: skipped: cannot mount a tmpfs (needs root): {why}");
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{reason}");
        eprintln!("{reason}");
        None
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Bytes free on it.
    fn available(&self) -> u64 {
        let out = Command::new("df")
            .args(["--output=avail", "-B1"])
            .arg(self.path())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines().nth(1).unwrap().trim().parse().unwrap()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[test]
fn a_full_disk_is_a_named_error_and_the_store_recovers_by_itself() {
    let Some(disk) = Tmpfs::mount("a_full_disk_is_a_named_error", "64m") else {
        return;
    };
    let data = disk.path().join("data");
    let s = Server::start(&data);
    let key = s.tenant("acme");
    let def = json!({"StartAt": "Nap", "States": {
        "Nap": {"Type": "Wait", "Seconds": 1, "Next": "Done"},
        "Done": {"Type": "Pass", "End": true}}});
    let r = s.post(
        "/v1/state-machines",
        &key,
        &json!({"name": "nap", "definition": def}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    // Leave the store a few MiB, then start executions until one is refused.
    let filler = disk.path().join("filler");
    let leave = 6 << 20;
    let size = disk.available().saturating_sub(leave);
    std::fs::write(&filler, vec![1u8; size as usize]).unwrap();
    let pad = "x".repeat(48 * 1024);
    let mut acked = Vec::new();
    let mut refused = None;
    for i in 0..2000 {
        let name = format!("e{i}");
        let r = s.post(
            "/v1/state-machines/nap/executions",
            &key,
            &json!({"name": name, "input": {"pad": pad}}),
        );
        match r.status {
            201 => acked.push(name),
            _ => {
                refused = Some(r);
                break;
            }
        }
    }
    let refused = refused.expect("the disk never filled");
    assert_eq!(refused.status, 503, "{:?}", refused.body);
    assert_eq!(refused.body["error"], "StorageFull", "{:?}", refused.body);
    assert!(refused.retry_after.is_some(), "{refused:?}");
    assert!(
        !acked.is_empty(),
        "nothing was accepted before the disk filled"
    );
    let health = s.get("/healthz", None);
    assert_eq!(health.status, 503, "{:?}", health.body);
    assert_eq!(health.body["status"], "degraded", "{:?}", health.body);
    assert_eq!(health.body["storage"]["state"], "full", "{:?}", health.body);
    // Reads are still served.
    let r = s.get(
        &format!("/v1/state-machines/nap/executions/{}", acked[0]),
        Some(&key),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);

    // Space comes back: the store reopens by itself.
    std::fs::remove_file(&filler).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let h = s.get("/healthz", None);
        if h.status == 200 {
            assert_eq!(h.body["status"], "ok");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never recovered: {h:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for name in &acked {
        let done = s.wait_done(&key, "nap", name, Duration::from_secs(60));
        assert_eq!(done["status"], "SUCCEEDED", "{name}: {done}");
    }
    let r = s.post(
        "/v1/state-machines/nap/executions",
        &key,
        &json!({"name": "after"}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let done = s.wait_done(&key, "nap", "after", Duration::from_secs(30));
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    assert!(s.terminate());
    // And a restart finds all of it.
    let s = Server::start(&data);
    for name in acked.iter().chain([&"after".to_string()]) {
        let r = s.get(
            &format!("/v1/state-machines/nap/executions/{name}"),
            Some(&key),
        );
        assert_eq!(r.body["status"], "SUCCEEDED", "{name}: {:?}", r.body);
    }
    assert!(s.terminate());
}
