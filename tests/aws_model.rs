//! AWS's state machine model over `/v1` on the real `stepwasm serve` binary: published
//! versions (publish on create and update, the revisionId check, listing newest first,
//! delete refused while an alias routes to it), aliases (weighted routing: 1,000 starts on
//! a 70/30 alias), executions recording the version and alias they ran, tags with AWS's
//! limits, logging/tracing configuration, DescribeStateMachineForExecution, and Task
//! resources written for AWS (Lambda function ARNs and `lambda:invoke`) running the
//! tenant's components.

mod guests;
mod server;

use std::time::Duration;

use serde_json::{Value, json};
use server::Server;

fn pass(tag: &str) -> Value {
    json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": tag, "End": true}}})
}

fn setup() -> (tempfile::TempDir, Server, String) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let key = server.tenant("acme");
    (dir, server, key)
}

fn names(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v[field].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn versions_revisions_and_aliases() {
    let (_dir, s, key) = setup();
    let arn = "arn:aws:states:us-east-1:acme:stateMachine:m";
    // Create with publish: version 1, no revisionId yet (AWS's INITIAL).
    let r = s.post(
        "/v1/state-machines",
        &key,
        &json!({"name": "m", "definition": pass("one"), "publish": true,
                "versionDescription": "first", "tags": [{"key": "team", "value": "a"}]}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["stateMachineVersionArn"], format!("{arn}:1"));
    assert!(r.body.get("revisionId").is_none(), "{:?}", r.body);
    // A description without publish is refused, as AWS does.
    let r = s.send_json(
        "PUT",
        "/v1/state-machines/m",
        &key,
        &json!({"definition": pass("x"), "versionDescription": "d"}),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"], "ValidationException");
    // Update without publish: a new revision with a revisionId, no version.
    let r = s.send_json(
        "PUT",
        "/v1/state-machines/m",
        &key,
        &json!({"definition": pass("two")}),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    let rev2 = r.body["revisionId"].as_str().unwrap().to_string();
    assert!(r.body.get("stateMachineVersionArn").is_none());
    // Publishing with a stale revision id is a conflict; INITIAL is stale too now.
    for stale in ["INITIAL", "not-the-revision"] {
        let r = s.post(
            "/v1/state-machines/m/versions",
            &key,
            &json!({"revisionId": stale}),
        );
        assert_eq!(r.status, 409, "{:?}", r.body);
        assert_eq!(r.body["error"], "ConflictException");
    }
    let r = s.post(
        "/v1/state-machines/m/versions",
        &key,
        &json!({"revisionId": rev2, "description": "second"}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["stateMachineVersionArn"], format!("{arn}:2"));
    // Publishing the same revision again returns the same version (idempotent).
    let r = s.post("/v1/state-machines/m/versions", &key, &json!({}));
    assert_eq!(r.body["stateMachineVersionArn"], format!("{arn}:2"));
    // Describe: the state machine (latest revision), and each version's own definition.
    let d = s.get("/v1/state-machines/m", Some(&key)).body;
    assert_eq!(d["stateMachineArn"], arn);
    assert_eq!(d["revisionId"], rev2.as_str());
    assert_eq!(d["revisions"].as_array().unwrap().len(), 2);
    assert_eq!(
        d["loggingConfiguration"],
        json!({"level": "OFF", "includeExecutionData": false})
    );
    assert_eq!(d["tracingConfiguration"], json!({"enabled": false}));
    let v1 = s.get("/v1/state-machines/m:1", Some(&key)).body;
    assert_eq!(v1["stateMachineArn"], format!("{arn}:1"));
    assert_eq!(v1["description"], "first");
    assert!(v1["definition"].as_str().unwrap().contains("one"));
    let v2 = s.get("/v1/state-machines/m/versions/2", Some(&key)).body;
    assert!(v2["definition"].as_str().unwrap().contains("two"));
    assert_eq!(
        s.get("/v1/state-machines/m:9", Some(&key)).body["error"],
        "StateMachineDoesNotExist"
    );
    // Versions list newest first, one page at a time.
    let r = s.get("/v1/state-machines/m/versions?maxResults=1", Some(&key));
    assert_eq!(
        names(&r.body["stateMachineVersions"], "stateMachineVersionArn"),
        [format!("{arn}:2")]
    );
    let t = r.body["nextToken"].as_str().unwrap();
    let r = s.get(
        &format!("/v1/state-machines/m/versions?maxResults=1&nextToken={t}"),
        Some(&key),
    );
    assert_eq!(
        names(&r.body["stateMachineVersions"], "stateMachineVersionArn"),
        [format!("{arn}:1")]
    );
    assert!(r.body["nextToken"].is_null());

    // Starting on a version runs it and records it; on the state machine, the latest
    // revision, with no version.
    for (target, exec) in [("m:1", "on-v1"), ("m", "plain")] {
        let r = s.post(
            &format!("/v1/state-machines/{target}/executions"),
            &key,
            &json!({"name": exec}),
        );
        assert_eq!(r.status, 201, "{:?}", r.body);
        assert_eq!(
            r.body["executionArn"],
            format!("arn:aws:states:us-east-1:acme:execution:m:{exec}")
        );
    }
    let on_v1 = s.wait_done(&key, "m", "on-v1", Duration::from_secs(30));
    assert_eq!(on_v1["output"], "\"one\"");
    assert_eq!(on_v1["stateMachineVersionArn"], format!("{arn}:1"));
    assert!(on_v1.get("stateMachineAliasArn").is_none());
    let plain = s.wait_done(&key, "m", "plain", Duration::from_secs(30));
    assert_eq!(plain["output"], "\"two\"");
    assert!(plain.get("stateMachineVersionArn").is_none());
    // DescribeStateMachineForExecution: the definition the execution ran.
    let d = s
        .get(
            "/v1/state-machines/m/executions/on-v1/definition",
            Some(&key),
        )
        .body;
    assert!(d["definition"].as_str().unwrap().contains("one"), "{d}");
    assert!(d.get("revisionId").is_none());

    // An alias over both versions.
    let r = s.post(
        "/v1/state-machines/m/aliases",
        &key,
        &json!({"name": "prod", "description": "live",
                "routingConfiguration": [{"version": 1, "weight": 70}, {"version": 2, "weight": 30}]}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["stateMachineAliasArn"], format!("{arn}:prod"));
    for bad in [
        json!([{"version": 1, "weight": 60}, {"version": 2, "weight": 30}]),
        json!([{"version": 1, "weight": 50}, {"version": 1, "weight": 50}]),
        json!([{"version": 7, "weight": 100}]),
        json!([]),
    ] {
        let r = s.post(
            "/v1/state-machines/m/aliases",
            &key,
            &json!({"name": "bad", "routingConfiguration": bad}),
        );
        assert!(r.status == 400 || r.status == 404, "{bad}: {:?}", r.body);
    }
    let r = s.post(
        "/v1/state-machines/m/aliases",
        &key,
        &json!({"name": "123", "routingConfiguration": [{"version": 1, "weight": 100}]}),
    );
    assert_eq!(
        r.body["error"], "InvalidName",
        "an all-digit alias would read as a version"
    );
    // A version an alias routes to cannot be deleted.
    let r = s.delete("/v1/state-machines/m/versions/1", &key);
    assert_eq!(r.status, 409, "{:?}", r.body);
    assert_eq!(r.body["error"], "ConflictException");
    // Aliases list, filtered by the version they route to.
    let r = s.get("/v1/state-machines/m/aliases?version=2", Some(&key));
    assert_eq!(names(&r.body["stateMachineAliases"], "name"), ["prod"]);
    // Start on the alias: version and alias recorded; list filters by both.
    let r = s.post(
        "/v1/state-machines/m:prod/executions",
        &key,
        &json!({"name": "via-alias"}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let done = s.wait_done(&key, "m", "via-alias", Duration::from_secs(30));
    assert_eq!(done["stateMachineAliasArn"], format!("{arn}:prod"));
    let ran = done["stateMachineVersionArn"].as_str().unwrap().to_string();
    let r = s.get("/v1/executions?stateMachine=m:prod", Some(&key));
    assert_eq!(names(&r.body["executions"], "name"), ["via-alias"]);
    let r = s.get(
        &format!("/v1/executions?stateMachine=m:{}", &ran[ran.len() - 1..]),
        Some(&key),
    );
    assert!(names(&r.body["executions"], "name").contains(&"via-alias".to_string()));
    // Re-point the alias wholly at version 2; then version 1 can go, and its number is
    // never handed out again.
    let r = s.send_json(
        "PUT",
        "/v1/state-machines/m/aliases/prod",
        &key,
        &json!({"routingConfiguration": [{"version": 2, "weight": 100}]}),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["description"], "live");
    assert_eq!(
        s.delete("/v1/state-machines/m/versions/1", &key).status,
        200
    );
    assert_eq!(
        s.get("/v1/state-machines/m/versions/1", Some(&key)).status,
        404
    );
    let r = s.post("/v1/state-machines/m:1/executions", &key, &json!({}));
    assert_eq!(r.body["error"], "StateMachineDoesNotExist");
    s.send_json(
        "PUT",
        "/v1/state-machines/m",
        &key,
        &json!({"definition": pass("three"), "publish": true}),
    );
    let r = s.get("/v1/state-machines/m/versions", Some(&key));
    assert_eq!(
        names(&r.body["stateMachineVersions"], "stateMachineVersionArn"),
        [format!("{arn}:3"), format!("{arn}:2")]
    );
    assert_eq!(
        s.delete("/v1/state-machines/m/aliases/prod", &key).status,
        200
    );
    assert_eq!(
        s.get("/v1/state-machines/m/aliases/prod", Some(&key)).body["error"],
        "ResourceNotFound"
    );
    // Deleting the state machine takes its versions, aliases and tags along.
    assert_eq!(s.delete("/v1/state-machines/m", &key).status, 200);
    let r = s.post(
        "/v1/state-machines",
        &key,
        &json!({"name": "m", "definition": pass("new")}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(
        s.get("/v1/state-machines/m/versions", Some(&key)).body["stateMachineVersions"],
        json!([])
    );
    assert_eq!(
        s.get("/v1/state-machines/m/tags", Some(&key)).body["tags"],
        json!([])
    );
    // Another tenant sees none of it.
    let bob = s.tenant("bob");
    assert_eq!(
        s.get("/v1/state-machines/m/versions", Some(&bob)).status,
        404
    );
    assert_eq!(
        s.get("/v1/state-machines/m/aliases", Some(&bob)).status,
        404
    );
    assert_eq!(s.get("/v1/state-machines/m/tags", Some(&bob)).status, 404);
}

#[test]
fn alias_routes_1000_starts_70_30() {
    let (_dir, s, key) = setup();
    let r = s.post(
        "/v1/state-machines",
        &key,
        &json!({"name": "w", "definition": pass("a"), "publish": true}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    s.send_json(
        "PUT",
        "/v1/state-machines/w",
        &key,
        &json!({"definition": pass("b"), "publish": true}),
    );
    let r = s.post(
        "/v1/state-machines/w/aliases",
        &key,
        &json!({"name": "split", "routingConfiguration": [{"version": 1, "weight": 70}, {"version": 2, "weight": 30}]}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    const STARTS: usize = 1000;
    std::thread::scope(|scope| {
        for t in 0..8 {
            let (s, key) = (&s, &key);
            scope.spawn(move || {
                for i in (t..STARTS).step_by(8) {
                    let r = s.post("/v1/state-machines/w:split/executions", key, &json!({}));
                    assert_eq!(r.status, 201, "start {i}: {:?}", r.body);
                }
            });
        }
    });
    let count = |filter: &str| {
        let r = s.get(
            &format!("/v1/executions?stateMachine={filter}&maxResults=1000"),
            Some(&key),
        );
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.body["executions"].as_array().unwrap().len()
    };
    let (on1, on2) = (count("w:1"), count("w:2"));
    assert_eq!(on1 + on2, STARTS);
    assert_eq!(count("w:split"), STARTS);
    assert!(
        (650..=750).contains(&on1),
        "version 1 got {on1} of {STARTS} starts (70 % ± 5 %)"
    );
}

#[test]
fn tags_and_configuration_follow_aws_rules() {
    let (_dir, s, key) = setup();
    let r = s.post(
        "/v1/state-machines",
        &key,
        &json!({"name": "t", "definition": pass("x"),
                "loggingConfiguration": {"level": "ALL", "includeExecutionData": true,
                    "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": "arn:aws:logs:us-east-1:1:log-group:g:*"}}]},
                "tracingConfiguration": {"enabled": true},
                "roleArn": "arn:aws:iam::1:role/r"}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let d = s.get("/v1/state-machines/t", Some(&key)).body;
    assert_eq!(d["loggingConfiguration"]["level"], "ALL");
    assert_eq!(d["tracingConfiguration"]["enabled"], true);
    assert_eq!(d["roleArn"], "arn:aws:iam::1:role/r");
    // Creating it again with the same settings is idempotent; other settings conflict.
    let again = json!({"name": "t", "definition": pass("x"),
        "loggingConfiguration": d["loggingConfiguration"], "tracingConfiguration": {"enabled": true}});
    assert_eq!(s.post("/v1/state-machines", &key, &again).status, 201);
    let r = s.post(
        "/v1/state-machines",
        &key,
        &json!({"name": "t", "definition": pass("y")}),
    );
    assert_eq!(r.body["error"], "StateMachineAlreadyExists");
    for bad in [
        json!({"level": "LOUD"}),
        json!({"level": "ERROR"}),
        json!({"level": "ERROR", "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": "arn:aws:logs:x:1:log-group:g"}}]}),
    ] {
        let r = s.send_json(
            "PUT",
            "/v1/state-machines/t",
            &key,
            &json!({"loggingConfiguration": bad}),
        );
        assert_eq!(r.body["error"], "InvalidLoggingConfiguration", "{bad}");
    }
    let r = s.send_json("PUT", "/v1/state-machines/t", &key, &json!({}));
    assert_eq!(r.body["error"], "MissingRequiredParameter");
    // Tags: add, overwrite, list, remove; AWS's limits.
    let tags = |body: &Value| body["tags"].clone();
    let r = s.post(
        "/v1/state-machines/t/tags",
        &key,
        &json!({"tags": [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]}),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = s.post(
        "/v1/state-machines/t/tags",
        &key,
        &json!({"tags": [{"key": "a", "value": "9"}]}),
    );
    assert_eq!(
        tags(&r.body),
        json!([{"key": "a", "value": "9"}, {"key": "b", "value": "2"}])
    );
    let r = s.delete("/v1/state-machines/t/tags/b", &key);
    assert_eq!(tags(&r.body), json!([{"key": "a", "value": "9"}]));
    let many: Vec<Value> = (0..50)
        .map(|i| json!({"key": format!("k{i}"), "value": ""}))
        .collect();
    let r = s.post("/v1/state-machines/t/tags", &key, &json!({"tags": many}));
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"], "TooManyTags");
    assert_eq!(
        tags(&s.get("/v1/state-machines/t/tags", Some(&key)).body)
            .as_array()
            .unwrap()
            .len(),
        1
    );
    for bad in [
        json!({"key": "", "value": "x"}),
        json!({"key": "k".repeat(129), "value": ""}),
        json!({"key": "k", "value": "v".repeat(257)}),
        json!({"key": "a#b", "value": ""}),
    ] {
        let r = s.post("/v1/state-machines/t/tags", &key, &json!({"tags": [bad]}));
        assert_eq!(r.body["error"], "ValidationException", "{bad}");
    }
    let r = s.post(
        "/v1/state-machines/ghost/tags",
        &key,
        &json!({"tags": [{"key": "a", "value": "1"}]}),
    );
    assert_eq!(r.body["error"], "ResourceNotFound");
}

#[test]
fn lambda_resources_run_the_tenants_components() {
    let (_dir, s, key) = setup();
    let r = s.upload(&key, "echo", guests::guest_bytes("echo"));
    assert_eq!(r.status, 201, "{:?}", r.body);
    let definition = json!({
        "StartAt": "Direct",
        "States": {
            "Direct": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:echo",
                       "ResultPath": "$.direct", "Next": "Pinned"},
            "Pinned": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:echo:1",
                       "ResultPath": "$.pinned", "Next": "Invoke"},
            "Invoke": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                       "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:echo:$LATEST",
                                      "Payload": {"n.$": "$.n"}},
                       "ResultSelector": {"payload.$": "$.Payload", "version.$": "$.ExecutedVersion",
                                          "status.$": "$.StatusCode", "requestId.$": "$.SdkResponseMetadata.RequestId",
                                          "http.$": "$.SdkHttpMetadata.HttpStatusCode"},
                       "ResultPath": "$.invoked", "End": true}
        }
    });
    let r = s.post(
        "/v1/state-machines",
        &key,
        &json!({"name": "aws", "definition": definition}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let r = s.post(
        "/v1/state-machines/aws/executions",
        &key,
        &json!({"name": "e", "input": {"n": 5}}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let done = s.wait_done(&key, "aws", "e", Duration::from_secs(60));
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let out: Value = serde_json::from_str(done["output"].as_str().unwrap()).unwrap();
    assert_eq!(out["direct"], json!({"n": 5}));
    assert_eq!(out["pinned"], json!({"n": 5, "direct": {"n": 5}}));
    assert_eq!(out["invoked"]["payload"], json!({"n": 5}));
    assert_eq!(out["invoked"]["version"], "$LATEST");
    assert_eq!(out["invoked"]["status"], 200);
    assert_eq!(out["invoked"]["http"], 200);
    assert_eq!(out["invoked"]["requestId"].as_str().unwrap().len(), 36);
    // A function that is not uploaded, or a qualifier that is no version number, is
    // reported when the definition is stored.
    for (resource, code) in [
        (
            "arn:aws:lambda:us-east-1:1:function:missing",
            "UNKNOWN_COMPONENT",
        ),
        (
            "arn:aws:lambda:us-east-1:1:function:echo:live",
            "INVALID_RESOURCE",
        ),
    ] {
        let d = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": true}}});
        let r = s.post("/v1/validate", &key, &json!({"definition": d}));
        assert_eq!(r.body["result"], "FAIL", "{resource}");
        assert_eq!(
            r.body["diagnostics"][0]["code"], code,
            "{resource}: {:?}",
            r.body
        );
    }
    let d = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "missing", "Payload": {}}, "End": true}}});
    let r = s.post("/v1/validate", &key, &json!({"definition": d}));
    assert_eq!(
        r.body["diagnostics"][0]["code"], "UNKNOWN_COMPONENT",
        "{:?}",
        r.body
    );
    // A computed FunctionName is resolved when the state runs: a missing one fails the Task.
    let d = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName.$": "$.fn", "Payload": {}}, "End": true}}});
    let r = s.post(
        "/v1/state-machines",
        &key,
        &json!({"name": "dynamic", "definition": d}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    s.post(
        "/v1/state-machines/dynamic/executions",
        &key,
        &json!({"name": "ok", "input": {"fn": "echo"}}),
    );
    s.post(
        "/v1/state-machines/dynamic/executions",
        &key,
        &json!({"name": "gone", "input": {"fn": "nope"}}),
    );
    let ok = s.wait_done(&key, "dynamic", "ok", Duration::from_secs(60));
    assert_eq!(ok["status"], "SUCCEEDED", "{ok}");
    let gone = s.wait_done(&key, "dynamic", "gone", Duration::from_secs(60));
    assert_eq!(gone["status"], "FAILED", "{gone}");
}

#[test]
fn a_recreated_state_machine_runs_its_new_definition() {
    // Regression: revisions were numbered from 1 again after a delete, and the compiled
    // model cache (keyed by revision) ran the deleted definition.
    let (_dir, s, key) = setup();
    for (round, tag) in ["old", "new"].iter().enumerate() {
        let r = s.post(
            "/v1/state-machines",
            &key,
            &json!({"name": "re", "definition": pass(tag)}),
        );
        assert_eq!(r.status, 201, "{:?}", r.body);
        let exec = format!("e{round}");
        let r = s.post(
            "/v1/state-machines/re/executions",
            &key,
            &json!({"name": exec}),
        );
        assert_eq!(r.status, 201, "{:?}", r.body);
        let done = s.wait_done(&key, "re", &exec, Duration::from_secs(30));
        assert_eq!(done["output"], format!("\"{tag}\""), "{done}");
        if round == 0 {
            assert_eq!(s.delete("/v1/state-machines/re", &key).status, 200);
        }
    }
}
