//! Hostile input against the real server (issue 10): deeply nested JSONata definitions,
//! deeply nested values (input, data states build, frames stored by an older build), slow
//! clients (idle connections, half-sent heads and bodies, one address holding many
//! connections) and small request defects; the process must survive each, with a named
//! error.

mod server;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{Value, json};
use server::{ADMIN_KEY, Server};

fn setup() -> (tempfile::TempDir, Server, String) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let key = server.tenant("acme");
    (dir, server, key)
}

fn jsonata_pass(expr: &str) -> Value {
    json!({
        "QueryLanguage": "JSONata",
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Output": format!("{{% {expr} %}}"), "End": true}}
    })
}

fn assert_alive(s: &Server) {
    let r = s.get("/healthz", None);
    assert_eq!(r.status, 200, "{:?}", r.body);
}

/// Nested `levels` deep: arrays and objects alternating.
fn nested(levels: usize) -> Value {
    (0..levels).fold(json!(1), |v, i| {
        if i % 2 == 0 {
            json!([v])
        } else {
            json!({ "k": v })
        }
    })
}

#[test]
fn deeply_nested_jsonata_gets_a_named_diagnostic_and_the_server_lives() {
    let (_dir, s, key) = setup();
    let n = 3000;
    let shapes = [
        format!("1{}", "+1".repeat(n)),
        format!("{}1{}", "(".repeat(n), ")".repeat(n)),
        format!("{}1{}", "[".repeat(n), "]".repeat(n)),
        format!("{}1{}", "{'a':".repeat(n), "}".repeat(n)),
        format!("{}1", "-".repeat(n)),
        format!("a{}", ".a".repeat(n)),
        format!("{}1", "0?:".repeat(n)),
        format!("{}1{}", "$abs(".repeat(n), ")".repeat(n)),
        format!("true{}", " and true".repeat(n)),
        format!("{}1{}", "(0;".repeat(n), ")".repeat(n)),
    ];
    for expr in &shapes {
        let definition = jsonata_pass(expr);
        let r = s.post("/v1/validate", &key, &json!({ "definition": definition }));
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["result"], "FAIL", "{}", &expr[..40]);
        let d = &r.body["diagnostics"][0];
        assert_eq!(d["code"], "INVALID_JSONATA", "{d}");
        assert!(
            d["message"].as_str().unwrap().contains("U1003"),
            "{}",
            d["message"]
        );
        let r = s.post(
            "/v1/state-machines",
            &key,
            &json!({"name": "deep", "definition": definition}),
        );
        assert_eq!(r.status, 400, "{:?}", r.body);
        assert_eq!(r.body["error"], "InvalidDefinition", "{:?}", r.body);
        assert_alive(&s);
    }
    // Within the bound it is an ordinary expression.
    s.create_machine(
        &key,
        &json!({"name": "sum", "type": "EXPRESS",
                "definition": jsonata_pass(&format!("1{}", "+1".repeat(700)))}),
    );
    let r = s.post(
        "/v1/state-machines/sum/start-sync",
        &key,
        &json!({"input": {}}),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["output"], "701", "{:?}", r.body);
}

#[test]
fn one_depth_limit_for_input_state_output_and_stored_frames() {
    let (_dir, s, key) = setup();
    // A Wait of a second or more parks the execution: it is dropped from memory and
    // resumed from its stored frame, so the deepest accepted input must read back.
    let nap = json!({
        "StartAt": "Nap",
        "States": {"Nap": {"Type": "Wait", "Seconds": 1, "End": true}}
    });
    s.create_machine(&key, &json!({"name": "nap", "definition": nap}));
    let r = s.post(
        "/v1/state-machines/nap/executions",
        &key,
        &json!({"name": "deepest", "input": nested(100)}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    for levels in [101, 125] {
        let r = s.post(
            "/v1/state-machines/nap/executions",
            &key,
            &json!({"name": format!("deeper{levels}"), "input": nested(levels)}),
        );
        assert_eq!(r.status, 400, "{:?}", r.body);
        assert_eq!(r.body["error"], "InvalidExecutionInput", "{:?}", r.body);
        assert!(
            r.body["message"].as_str().unwrap().contains("100 levels"),
            "{:?}",
            r.body
        );
    }
    let done = s.wait_done(&key, "nap", "deepest", Duration::from_secs(30));
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let output: Value = serde_json::from_str(done["output"].as_str().unwrap()).unwrap();
    assert_eq!(output, nested(100));

    // States that build deeper data fail the execution by name, whichever way they build
    // it: an intrinsic in a loop (two levels per turn), JSONata in one evaluation.
    let grow = json!({
        "StartAt": "Grow",
        "States": {
            "Grow": {"Type": "Pass", "Parameters": {"v.$": "States.Array($)"}, "Next": "Check"},
            // A terminal state that is never reached: AWS refuses a machine without one.
            "Check": {"Type": "Choice", "Default": "Nap",
                      "Choices": [{"Variable": "$.done", "IsPresent": true, "Next": "Done"}]},
            "Nap": {"Type": "Wait", "Seconds": 0, "Next": "Grow"},
            "Done": {"Type": "Succeed"}
        }
    });
    let reduce = jsonata_pass("$reduce([1..150], function($a, $x){ {'a': $a} }, 0)");
    for (name, definition) in [("grow", grow), ("reduce", reduce)] {
        s.create_machine(&key, &json!({"name": name, "definition": definition}));
        let r = s.post(
            &format!("/v1/state-machines/{name}/executions"),
            &key,
            &json!({"name": "e", "input": {}}),
        );
        assert_eq!(r.status, 201, "{:?}", r.body);
        let done = s.wait_done(&key, name, "e", Duration::from_secs(30));
        assert_eq!(done["status"], "FAILED", "{done}");
        assert_eq!(done["error"], "States.Runtime", "{done}");
        assert!(
            done["cause"]
                .as_str()
                .unwrap()
                .contains("nests deeper than the maximum of 100 levels"),
            "{done}"
        );
    }
    assert_alive(&s);
}

/// What an older build stored for an execution whose input nested 125 arrays: a frame
/// serde_json cannot read back.
fn unreadable_frame() -> Vec<u8> {
    format!(
        r#"{{"parent":null,"machine":0,"cursor":{{"Waiting":{{"state":0,"output":{}1{},"until_ms":4000000000000}}}}}}"#,
        "[".repeat(125),
        "]".repeat(125)
    )
    .into_bytes()
}

#[test]
fn a_stored_frame_that_does_not_decode_fails_its_execution_at_restart() {
    use stepwasm::engine::ports::{FrameUpdate, StepCommit};

    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let key = s.tenant("acme");
    let nap = json!({
        "StartAt": "Nap",
        "States": {"Nap": {"Type": "Wait", "Seconds": 100000, "End": true}}
    });
    s.create_machine(&key, &json!({"name": "nap", "definition": nap}));
    let r = s.post(
        "/v1/state-machines/nap/executions",
        &key,
        &json!({"name": "stuck", "input": {}}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let arn = r.body["executionArn"].as_str().unwrap().to_string();
    std::thread::sleep(Duration::from_millis(500));
    s.kill9();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = stepwasm::store::Store::open_dir(dir.path()).unwrap();
        store
            .commit_step(StepCommit {
                execution_id: arn.clone(),
                events: Vec::new(),
                frames: vec![FrameUpdate {
                    frame: 0,
                    state: Some(unreadable_frame()),
                }],
                end: None,
            })
            .await
            .unwrap();
    });
    drop(runtime);

    let s = Server::start(dir.path());
    let done = s.wait_done(&key, "nap", "stuck", Duration::from_secs(30));
    assert_eq!(done["status"], "FAILED", "{done}");
    assert_eq!(done["error"], "States.Runtime", "{done}");
    assert!(
        done["cause"].as_str().unwrap().contains("does not decode"),
        "{done}"
    );
    let r = s.get("/v1/tenants/acme", Some(ADMIN_KEY));
    assert_eq!(r.body["runningExecutions"], 0, "{:?}", r.body);
    let r = s.post(
        "/v1/state-machines/nap/executions/stuck/stop",
        &key,
        &json!({}),
    );
    assert_eq!(r.status, 409, "{:?}", r.body);
    assert_eq!(r.body["error"], "ExecutionNotRunning", "{:?}", r.body);
}

/// Sends raw bytes on a new connection (the request should say `connection: close`) and
/// returns the status and the JSON body (`Null` when the body is not JSON).
fn raw_http(s: &Server, request: &[u8]) -> (u16, Value) {
    let mut c = TcpStream::connect(s.base.trim_start_matches("http://")).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    // The server may answer before reading everything (a refused head): ignore a reset.
    let _ = c.write_all(request);
    read_response(&mut c)
}

fn read_response(c: &mut TcpStream) -> (u16, Value) {
    let mut text = Vec::new();
    let _ = c.read_to_end(&mut text);
    let text = String::from_utf8_lossy(&text);
    let status = text
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP response: {text:?}"));
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[test]
fn small_request_defects_get_named_errors() {
    let (_dir, s, key) = setup();
    let long = "a".repeat(100_000);
    // A 100k-character path, then a 100k-character token: the JSON error shape, not an
    // empty body.
    let (status, body) = raw_http(
        &s,
        format!(
            "GET /v1/state-machines/{long} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {key}\r\nconnection: close\r\n\r\n"
        )
        .as_bytes(),
    );
    assert_eq!(status, 414, "{body}");
    assert_eq!(body["error"], "UriTooLong", "{body}");
    let (status, body) = raw_http(
        &s,
        format!(
            "GET /v1/state-machines HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {long}\r\nconnection: close\r\n\r\n"
        )
        .as_bytes(),
    );
    assert!(body["error"].is_string(), "{status}: {body}");
    assert!(status == 401 || status == 431, "{status}: {body}");

    // The scheme is case-insensitive.
    let (status, body) = raw_http(
        &s,
        format!(
            "GET /v1/state-machines HTTP/1.1\r\nhost: x\r\nauthorization: bearer {key}\r\nconnection: close\r\n\r\n"
        )
        .as_bytes(),
    );
    assert_eq!(status, 200, "{body}");

    // Unknown quota fields are refused, as in every other body.
    let r = s.send_json(
        "PUT",
        "/v1/tenants/acme/quotas",
        ADMIN_KEY,
        &json!({"maxStoredBytes": 1000000, "maxStoredByte": 1}),
    );
    assert_eq!(r.status, 400, "{:?}", r.body);
    assert_eq!(r.body["error"], "SerializationException", "{:?}", r.body);

    // `.` and `..` are not names.
    let pass = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    for name in [".", ".."] {
        let r = s.post(
            "/v1/state-machines",
            &key,
            &json!({"name": name, "definition": pass}),
        );
        assert_eq!(r.status, 400, "{name}: {:?}", r.body);
        assert_eq!(r.body["error"], "InvalidName", "{:?}", r.body);
    }
    let r = s.post(
        "/v1/state-machines",
        &key,
        &json!({"name": "p", "definition": pass}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    for name in [".", ".."] {
        let r = s.post(
            "/v1/state-machines/p/executions",
            &key,
            &json!({"name": name}),
        );
        assert_eq!(r.status, 400, "{name}: {:?}", r.body);
        assert_eq!(r.body["error"], "InvalidName", "{:?}", r.body);
    }

    // A body in another charset is refused, not read as UTF-8.
    let utf16: Vec<u8> =
        r#"{"definition": {}}"#.encode_utf16().flat_map(u16::to_le_bytes).collect();
    for ct in [
        "application/json; charset=utf-16",
        "application/json;charset=\"UTF-16LE\"",
        "application/json; charset=latin1",
    ] {
        let r = s.send_raw("POST", "/v1/validate", Some(&key), ct, utf16.clone());
        assert_eq!(r.status, 415, "{ct}: {:?}", r.body);
        assert_eq!(r.body["error"], "UnsupportedMediaType", "{:?}", r.body);
    }
    let r = s.send_raw(
        "POST",
        "/v1/validate",
        Some(&key),
        "application/json; charset=UTF-8",
        json!({"definition": pass}).to_string().into_bytes(),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_alive(&s);
}

/// A connection from `local` (any 127.0.0.0/8 address is loopback on Linux), so one test
/// can be several clients.
fn connect_from(local: &str, server: &Server) -> TcpStream {
    let addr: std::net::SocketAddr = server.base.trim_start_matches("http://").parse().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(format!("{local}:0").parse().unwrap()).unwrap();
        let stream = socket.connect(addr).await.unwrap();
        let stream = stream.into_std().unwrap();
        stream.set_nonblocking(false).unwrap();
        stream
    })
}

/// Whether the server closed `c` within `within` (a read returns end of stream or reset).
fn closed_within(c: &mut TcpStream, within: Duration) -> bool {
    c.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 512];
    loop {
        match c.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

#[test]
fn slow_clients_are_cut_off_and_cannot_starve_others() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with(
        dir.path(),
        &[("STEPWASM_ADMIN_KEY", ADMIN_KEY)],
        &[
            "--header-timeout-secs",
            "2",
            "--body-timeout-secs",
            "2",
            "--max-connections-per-client",
            "8",
        ],
    );
    let key = s.tenant("acme");
    // One client opens its limit of connections and sends nothing; one more is refused
    // with 429 and the JSON error shape.
    let mut idle: Vec<TcpStream> = (0..8).map(|_| connect_from("127.0.0.2", &s)).collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut extra = connect_from("127.0.0.2", &s);
    let (status, body) = read_response(&mut extra);
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"], "ThrottlingException", "{body}");
    // Another client is served meanwhile.
    assert_alive(&s);
    let r = s.get("/v1/state-machines", Some(&key));
    assert_eq!(r.status, 200, "{:?}", r.body);
    // A half-sent head is cut off too.
    let mut partial = connect_from("127.0.0.3", &s);
    partial
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n")
        .unwrap();
    // Every idle connection is closed once the header timeout passes.
    for c in idle.iter_mut().chain([&mut partial]) {
        assert!(closed_within(c, Duration::from_secs(10)), "still open");
    }
    // The client's slots are free again.
    let mut again = connect_from("127.0.0.2", &s);
    again
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut again).0, 200);
    // A body that never finishes gets 408 once the body timeout passes.
    let mut slow = connect_from("127.0.0.4", &s);
    slow.write_all(
        format!(
            "POST /v1/validate HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {key}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\nconnection: close\r\n\r\n{{\"defin"
        )
        .as_bytes(),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let (status, body) = read_response(&mut slow);
    assert_eq!(status, 408, "{body}");
    assert_eq!(body["error"], "RequestTimeout", "{body}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_alive(&s);
}

/// Expressions that build values (or chains of functions) far deeper than any input may be,
/// at run time: each must fail its execution by name, and the server must live on (a
/// conversion, comparison or drop of such a value used to recurse until the stack overflowed
/// and the process aborted).
#[test]
fn runtime_jsonata_that_builds_deep_values_fails_by_name() {
    let (_dir, s, key) = setup();
    let n = 200_000;
    let deep_obj = format!("$reduce([1..{n}], function($a, $x){{ {{'a': $a}} }}, 0)");
    let deep_arr = format!("$reduce([1..{n}], function($a, $x){{ [[$a]] }}, 0)");
    let cases = [
        deep_obj.clone(),
        deep_arr.clone(),
        format!("$string({deep_obj})"),
        format!("($d := {deep_arr}; $d = $d)"),
        format!("$count($distinct([{deep_obj}, {deep_obj}]))"),
        format!("$merge([{deep_obj}, {{'b': 1}}])"),
        format!("$keys({deep_obj})"),
        // Tail calls run in a loop (no stack): the accumulator still grows one level a turn.
        format!(
            "($f := function($n, $acc){{ $n = 0 ? $acc : $f($n - 1, {{'a': $acc}}) }}; $f({n}, 0))"
        ),
        // Chains of functions: composition, partial application, closures.
        format!(
            "$type($reduce([1..{n}], function($a, $x){{ $x = 1 ? $string : $a ~> $string }}, 0))"
        ),
        format!("$type($reduce([1..{n}], function($a, $x){{ $append(?, $a) }}, 0))"),
        // A chain of closures lives in their scopes (cleared one by one at the end): calling
        // it recurses, bounded by the evaluation depth.
        format!(
            "$reduce([1..{n}], function($a, $x){{ function(){{ $x = 1 ? 0 : 1 + $a() }} }}, 0)()"
        ),
        // Self-application: a tail call forever (stopped by the time limit), and unbounded
        // recursion.
        "(function($f){ $f($f) })(function($f){ $f($f) })".to_string(),
        "($f := function($n){ [$f($n + 1)] }; $f(0))".to_string(),
        // Members shared twice per level: 2^60 items written out.
        "$string($reduce([1..60], function($a, $x){ [[$a], [$a]] }, 0))".to_string(),
        // Text of deep JSON parsed at run time.
        format!("$parse('{}1{}')", "[".repeat(n), "]".repeat(n)),
    ];
    // Closures that each hold the previous one are no deep value: they just work.
    let closures = format!("$type($reduce([1..{n}], function($a, $x){{ function(){{ $a }} }}, 0))");
    s.create_machine(
        &key,
        &json!({"name": "closures", "type": "EXPRESS", "definition": jsonata_pass(&closures)}),
    );
    let r = s.post(
        "/v1/state-machines/closures/start-sync",
        &key,
        &json!({"input": {}}),
    );
    assert_eq!(r.body["status"], "SUCCEEDED", "{:?}", r.body);
    for (i, expr) in cases.iter().enumerate() {
        let name = format!("deep{i}");
        s.create_machine(
            &key,
            &json!({"name": name, "type": "EXPRESS", "definition": jsonata_pass(expr)}),
        );
        let r = s.post(
            &format!("/v1/state-machines/{name}/start-sync"),
            &key,
            &json!({"input": {}}),
        );
        assert_eq!(
            r.status,
            200,
            "{}: {:?}",
            &expr[..40.min(expr.len())],
            r.body
        );
        assert_eq!(r.body["status"], "FAILED", "{expr}: {:?}", r.body);
        let error = r.body["error"].as_str().unwrap();
        assert!(
            ["States.QueryEvaluationError", "States.Runtime"].contains(&error),
            "{expr}: {:?}",
            r.body
        );
        assert_alive(&s);
    }
    // Intrinsics: text of deep JSON.
    let parse = json!({
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "End": true,
            "Parameters": {"v.$": "States.StringToJson($.text)"}}}
    });
    s.create_machine(
        &key,
        &json!({"name": "stj", "type": "EXPRESS", "definition": parse}),
    );
    // Within the payload limit, far past what serde_json reads.
    let text = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let r = s.post(
        "/v1/state-machines/stj/start-sync",
        &key,
        &json!({"input": {"text": text}}),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["status"], "FAILED", "{:?}", r.body);
    assert_alive(&s);

    // A deep value within the bound is still an ordinary value.
    s.create_machine(
        &key,
        &json!({"name": "ok", "type": "EXPRESS",
                "definition": jsonata_pass("$reduce([1..99], function($a, $x){ {'a': $a} }, 0)")}),
    );
    let r = s.post(
        "/v1/state-machines/ok/start-sync",
        &key,
        &json!({"input": {}}),
    );
    assert_eq!(r.body["status"], "SUCCEEDED", "{:?}", r.body);
}
