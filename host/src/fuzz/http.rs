//! The HTTP decoders, through the real router over a real store in a temp directory: paths,
//! query strings (paging tokens, filters, sizes), headers (bearer keys, content types, a
//! SigV4 `Authorization` header and `X-Amz-Date`, `X-Amz-Target`) and bodies (JSON built from
//! each API's own field names, and raw bytes), on `/v1` and on AWS's `POST /`. Every answer
//! must be a status below 500 with the JSON error shape where it fails.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request};
use http_body_util::BodyExt;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use serde_json::json;
use tower::ServiceExt;

use super::{config, from_pieces, json_value};
use crate::api::router;
use crate::service::{BasicInspector, EngineRuntime, Service};
use crate::store::Store;

const ADMIN: &str = "admin-key-for-fuzzing";

const PATH: &[&str] = &[
    "/v1",
    "/tenants",
    "/acme",
    "/other",
    "/quotas",
    "/keys",
    "/aws-credentials",
    "/state-machines",
    "/sm",
    "/executions",
    "/e",
    "/history",
    "/stop",
    "/start-sync",
    "/components",
    "/c",
    "/versions",
    "/1",
    "/validate",
    "/openapi.json",
    "/healthz",
    "/",
    "?",
    "&",
    "=",
    "maxResults",
    "nextToken",
    "statusFilter",
    "stateMachine",
    "reverseOrder",
    "RUNNING",
    "SUCCEEDED",
    "true",
    "-1",
    "0",
    "1000",
    "99999999999999999999",
    "%",
    "%2F",
    "%zz",
    "%00",
    "..",
    ".",
    "abc",
    "e30",
    "eyJ4IjoxfQ",
    "~",
    "+",
];

const BODY_KEYS: &[&str] = &[
    "name",
    "definition",
    "input",
    "type",
    "id",
    "stateMachineArn",
    "executionArn",
    "maxResults",
    "nextToken",
    "statusFilter",
    "reverseOrder",
    "includeExecutionData",
    "roleArn",
    "publish",
    "versionDescription",
    "loggingConfiguration",
    "tracingConfiguration",
    "StartAt",
    "States",
    "Type",
    "End",
    "Next",
    "maxStoredBytes",
    "maxConcurrentExecutions",
    "startRatePerSecond",
    "taskFuel",
    "error",
    "cause",
    "tags",
    "key",
    "value",
];

const BODY_WORDS: &[&str] = &[
    "sm",
    "e",
    "Pass",
    "EXPRESS",
    "STANDARD",
    "RUNNING",
    "arn:aws:states:us-east-1:acme:stateMachine:sm",
    "arn:aws:states:us-east-1:acme:execution:sm:e",
    "arn:aws:states:us-east-1:other:stateMachine:sm",
    "arn:aws:states:::x",
    "arn:",
    "{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\"End\":true}}}",
    "{}",
    "[",
];

const AWS_AUTH: &[&str] = &[
    "AWS4-HMAC-SHA256 ",
    "Credential=",
    "AKSW0000000000000000",
    "/",
    "20261204",
    "us-east-1",
    "states",
    "aws4_request",
    ", ",
    ",",
    "SignedHeaders=",
    "host",
    ";",
    "x-amz-date",
    "content-type",
    "Signature=",
    "0123456789abcdef",
    "=",
    " ",
    "\t",
];

const TARGETS: &[&str] = &[
    "AWSStepFunctions.ListStateMachines",
    "AWSStepFunctions.CreateStateMachine",
    "AWSStepFunctions.StartExecution",
    "AWSStepFunctions.DescribeExecution",
    "AWSStepFunctions.GetExecutionHistory",
    "AWSStepFunctions.StopExecution",
    "AWSStepFunctions.ListExecutions",
    "AWSStepFunctions.Nope",
    "AWSStepFunctions.",
    "",
];

#[derive(Debug, Clone)]
struct Req {
    method: Method,
    path: String,
    auth: Option<String>,
    content_type: Option<&'static str>,
    amz_date: Option<String>,
    target: Option<&'static str>,
    body: Vec<u8>,
}

fn request(keys: Vec<String>) -> impl Strategy<Value = Req> {
    let method =
        proptest::sample::select(vec![Method::GET, Method::POST, Method::PUT, Method::DELETE]);
    let auth = prop_oneof![
        Just(None),
        proptest::sample::select(keys).prop_map(|k| Some(format!("Bearer {k}"))),
        from_pieces(AWS_AUTH, 20).prop_map(Some),
        ".{0,30}".prop_map(Some),
    ];
    let content_type = proptest::option::of(proptest::sample::select(vec![
        "application/json",
        "application/x-amz-json-1.0",
        "application/wasm",
        "application/json; charset=utf-16",
        "text/plain",
    ]));
    let body = prop_oneof![
        json_value(BODY_KEYS, BODY_WORDS, 3).prop_map(|v| v.to_string().into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..64),
    ];
    (
        method,
        from_pieces(PATH, 10),
        auth,
        content_type,
        proptest::option::of(prop_oneof![
            Just("20261204T230000Z".to_string()),
            "[0-9TZ]{0,18}".prop_map(|s| s),
        ]),
        proptest::option::of(proptest::sample::select(TARGETS)),
        body,
    )
        .prop_map(
            |(method, path, auth, content_type, amz_date, target, body)| Req {
                method,
                path,
                auth,
                content_type,
                amz_date,
                target,
                body,
            },
        )
}

async fn send(router: &axum::Router, r: &Req) -> Option<(u16, Vec<u8>)> {
    let path = if r.path.starts_with('/') {
        r.path.clone()
    } else {
        format!("/{}", r.path)
    };
    let mut b = Request::builder().method(r.method.clone()).uri(&path);
    if let Some(a) = &r.auth {
        b = b.header("authorization", a.as_str());
    }
    if let Some(ct) = r.content_type {
        b = b.header("content-type", ct);
    }
    if let Some(d) = &r.amz_date {
        b = b.header("x-amz-date", d.as_str());
    }
    if let Some(t) = r.target {
        b = b.header("x-amz-target", t);
    }
    // A string the HTTP layer itself refuses never reaches the router.
    let request = b.body(Body::from(r.body.clone())).ok()?;
    let resp = router.clone().oneshot(request).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Some((status, bytes.to_vec()))
}

#[test]
fn fuzz_http_requests() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (router, keys) = rt.block_on(async {
        let store = Store::open_dir(dir.path()).unwrap();
        let service = Service::new(
            store,
            Arc::new(EngineRuntime::new(None)),
            Arc::new(BasicInspector),
        )
        .unwrap();
        service.bootstrap_admin(Some(ADMIN)).await.unwrap();
        let router = router(service);
        let mut keys = vec![ADMIN.to_string(), "sw_wrong".to_string()];
        for tenant in ["acme", "other"] {
            let r = Req {
                method: Method::POST,
                path: "/v1/tenants".into(),
                auth: Some(format!("Bearer {ADMIN}")),
                content_type: Some("application/json"),
                amz_date: None,
                target: None,
                body: json!({"id": tenant}).to_string().into_bytes(),
            };
            let (status, body) = send(&router, &r).await.unwrap();
            assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            keys.push(v["apiKey"].as_str().unwrap().to_string());
        }
        let sm = Req {
            method: Method::POST,
            path: "/v1/state-machines".into(),
            auth: Some(format!("Bearer {}", keys[2])),
            content_type: Some("application/json"),
            amz_date: None,
            target: None,
            body: json!({"name": "sm", "definition": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}})
                .to_string()
                .into_bytes(),
        };
        assert_eq!(send(&router, &sm).await.unwrap().0, 201);
        (router, keys)
    });
    let mut runner = TestRunner::new(config());
    runner
        .run(&request(keys), |r| {
            if let Some((status, body)) = rt.block_on(send(&router, &r)) {
                prop_assert!(
                    status < 500,
                    "{r:?} -> {status} {}",
                    String::from_utf8_lossy(&body)
                );
                if status >= 400 && !body.is_empty() {
                    let v: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
                        TestCaseError::fail(format!("{r:?} -> {status}: not JSON: {e}"))
                    })?;
                    prop_assert!(
                        v.get("error").is_some() || v.get("__type").is_some(),
                        "{r:?} -> {status} {v}"
                    );
                }
            }
            Ok(())
        })
        .unwrap();
}
