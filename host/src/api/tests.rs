//! Router tests with `oneshot` over a real store in a temp directory: auth, every bad-input
//! class, tenant isolation route by route, pagination, quotas, and that every documented
//! route is routed.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::*;
use crate::service::{BasicInspector, NoRuntime};
use crate::store::Store;

const ADMIN: &str = "admin-key-for-tests";
/// Smallest byte string the basic inspector accepts as a component.
const COMPONENT: &[u8] = b"\0asm\x0d\x00\x01\x00";

struct App {
    router: Router,
    _dir: tempfile::TempDir,
}

async fn app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).unwrap();
    let service = Service::new(store, Arc::new(NoRuntime), Arc::new(BasicInspector)).unwrap();
    service.bootstrap_admin(Some(ADMIN)).await.unwrap();
    App {
        router: router(service),
        _dir: dir,
    }
}

impl App {
    async fn raw(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, axum::http::HeaderMap, Value) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(k) = key {
            req = req.header("authorization", format!("Bearer {k}"));
        }
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let resp = self
            .router
            .clone()
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, headers, value)
    }

    async fn json(
        &self,
        method: Method,
        path: &str,
        key: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let (s, _, v) = self
            .raw(
                method,
                path,
                Some(key),
                Some("application/json"),
                body.to_string().into_bytes(),
            )
            .await;
        (s, v)
    }

    async fn get(&self, path: &str, key: &str) -> (StatusCode, Value) {
        let (s, _, v) = self.raw(Method::GET, path, Some(key), None, vec![]).await;
        (s, v)
    }

    async fn tenant(&self, id: &str) -> String {
        let (s, v) = self
            .json(Method::POST, "/v1/tenants", ADMIN, json!({"id": id}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["apiKey"].as_str().unwrap().to_string()
    }

    async fn upload(&self, key: &str, name: &str, bytes: &[u8]) -> (StatusCode, Value) {
        let (s, _, v) = self
            .raw(
                Method::POST,
                &format!("/v1/components/{name}"),
                Some(key),
                Some("application/wasm"),
                bytes.to_vec(),
            )
            .await;
        (s, v)
    }
}

fn pass_machine() -> Value {
    json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}})
}

fn assert_error(status: StatusCode, body: &Value, want_status: StatusCode, want_code: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error"], want_code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn health_and_openapi_cover_every_route() {
    let app = app().await;
    let (s, _, v) = app.raw(Method::GET, "/healthz", None, None, vec![]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["status"], "ok");
    let (s, _, doc) = app
        .raw(Method::GET, "/v1/openapi.json", None, None, vec![])
        .await;
    assert_eq!(s, StatusCode::OK);
    for route in ROUTES {
        assert!(
            doc["paths"][route.path][route.method].is_object(),
            "{} {} undocumented",
            route.method,
            route.path
        );
        // Every documented route is routed: no UnknownOperation or MethodNotAllowed.
        let path = route
            .path
            .replace("{id}", "x")
            .replace("{name}", "x")
            .replace("{execution}", "x")
            .replace("{version}", "1");
        let method = Method::from_bytes(route.method.to_uppercase().as_bytes()).unwrap();
        let (s, _, v) = app.raw(method, &path, None, None, vec![]).await;
        assert_ne!(
            v["error"], "UnknownOperation",
            "{} {path} not routed",
            route.method
        );
        assert_ne!(s, StatusCode::METHOD_NOT_ALLOWED, "{} {path}", route.method);
    }
    let (s, _, v) = app.raw(Method::GET, "/v1/nope", None, None, vec![]).await;
    assert_error(s, &v, StatusCode::NOT_FOUND, "UnknownOperation");
    let (s, _, v) = app
        .raw(Method::PATCH, "/v1/components", None, None, vec![])
        .await;
    assert_error(s, &v, StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed");
}

#[tokio::test]
async fn authentication_and_roles() {
    let app = app().await;
    let key = app.tenant("acme").await;
    let (s, h, v) = app
        .raw(Method::GET, "/v1/state-machines", None, None, vec![])
        .await;
    assert_error(
        s,
        &v,
        StatusCode::UNAUTHORIZED,
        "UnrecognizedClientException",
    );
    assert_eq!(h.get("www-authenticate").unwrap(), "Bearer");
    let (s, v) = app.get("/v1/state-machines", "swk_not_a_key").await;
    assert_error(
        s,
        &v,
        StatusCode::UNAUTHORIZED,
        "UnrecognizedClientException",
    );
    let (s, _, v) = app
        .raw(Method::GET, "/v1/state-machines", None, None, vec![])
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    // Admin owns no resources; tenants cannot administer.
    let (s, v) = app.get("/v1/state-machines", ADMIN).await;
    assert_error(s, &v, StatusCode::FORBIDDEN, "AccessDeniedException");
    let (s, v) = app.get("/v1/tenants", &key).await;
    assert_error(s, &v, StatusCode::FORBIDDEN, "AccessDeniedException");
    let (s, v) = app.get("/v1/state-machines", &key).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // A second key works for the same tenant.
    let (s, v) = app
        .json(Method::POST, "/v1/tenants/acme/keys", ADMIN, json!({}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, _) = app
        .get("/v1/state-machines", v["apiKey"].as_str().unwrap())
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = app
        .json(Method::POST, "/v1/tenants", ADMIN, json!({"id": "acme"}))
        .await;
    assert_error(s, &v, StatusCode::CONFLICT, "TenantAlreadyExists");
    let (s, v) = app
        .json(Method::POST, "/v1/tenants", ADMIN, json!({"id": "Bad Id"}))
        .await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "InvalidName");
    let (s, v) = app.get("/v1/tenants/ghost", ADMIN).await;
    assert_error(s, &v, StatusCode::NOT_FOUND, "TenantDoesNotExist");
    let (s, v) = app
        .json(Method::POST, "/v1/tenants/ghost/keys", ADMIN, json!({}))
        .await;
    assert_error(s, &v, StatusCode::NOT_FOUND, "TenantDoesNotExist");
}

#[tokio::test]
async fn bad_input_gets_a_clear_4xx() {
    let app = app().await;
    let key = app.tenant("acme").await;
    let sm = "/v1/state-machines";
    let body = json!({"name": "m", "definition": pass_machine()})
        .to_string()
        .into_bytes();
    // Wrong or missing content type.
    let (s, _, v) = app
        .raw(
            Method::POST,
            sm,
            Some(&key),
            Some("text/plain"),
            body.clone(),
        )
        .await;
    assert_error(
        s,
        &v,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UnsupportedMediaType",
    );
    let (s, _, v) = app
        .raw(Method::POST, sm, Some(&key), None, body.clone())
        .await;
    assert_error(
        s,
        &v,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UnsupportedMediaType",
    );
    // Malformed JSON, wrong shape, unknown field.
    for bad in [
        &b"{not json"[..],
        b"[]",
        b"{\"name\":\"m\"}",
        b"{\"name\":\"m\",\"definition\":{},\"extra\":1}",
    ] {
        let (s, _, v) = app
            .raw(
                Method::POST,
                sm,
                Some(&key),
                Some("application/json"),
                bad.to_vec(),
            )
            .await;
        assert_error(s, &v, StatusCode::BAD_REQUEST, "SerializationException");
    }
    // Oversized JSON body.
    let huge = vec![b' '; MAX_JSON_BODY_BYTES + 1];
    let (s, _, v) = app
        .raw(Method::POST, sm, Some(&key), Some("application/json"), huge)
        .await;
    assert_error(s, &v, StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge");
    // Invalid definition: every diagnostic comes back.
    let (s, v) = app
        .json(Method::POST, sm, &key, json!({"name": "m", "definition": {"StartAt": "Nope", "States": {"A": {"Type": "Pass", "Next": "Gone"}}}}))
        .await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "InvalidDefinition");
    let codes: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert!(
        codes
            .iter()
            .filter(|c| **c == "MISSING_TRANSITION_TARGET")
            .count()
            >= 2,
        "{codes:?}"
    );
    let (s, v) = app
        .json(
            Method::POST,
            sm,
            &key,
            json!({"name": "m", "definition": "{not json"}),
        )
        .await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "InvalidDefinition");
    assert_eq!(v["diagnostics"][0]["code"], "INVALID_JSON_DESCRIPTION");
    // Invalid names and types.
    let (s, v) = app
        .json(
            Method::POST,
            sm,
            &key,
            json!({"name": "a b", "definition": pass_machine()}),
        )
        .await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "InvalidName");
    let (s, v) = app
        .json(
            Method::POST,
            sm,
            &key,
            json!({"name": "m", "definition": pass_machine(), "type": "FAST"}),
        )
        .await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "ValidationException");
    // Bad pagination tokens and page sizes, unknown query parameters.
    for q in [
        "nextToken=garbage",
        "nextToken=eyJsIjoieCIsInQiOiJ5IiwicCI6InoifQ",
        "maxResults=0x",
        "maxResults=-3",
        "maxResults=100000",
        "bogus=1",
    ] {
        let (s, v) = app.get(&format!("/v1/state-machines?{q}"), &key).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}: {v}");
        assert!(
            ["InvalidToken", "ValidationException"].contains(&v["error"].as_str().unwrap()),
            "{q}: {v}"
        );
    }
    let (s, v) = app.get("/v1/executions?statusFilter=DONE", &key).await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "ValidationException");
    // Unknown names.
    let (s, v) = app.get("/v1/state-machines/ghost", &key).await;
    assert_error(s, &v, StatusCode::NOT_FOUND, "StateMachineDoesNotExist");
    let (s, v) = app.get("/v1/components/ghost", &key).await;
    assert_error(s, &v, StatusCode::NOT_FOUND, "ComponentDoesNotExist");
    let (s, v) = app.get("/v1/state-machines/ghost/executions/e", &key).await;
    assert_error(s, &v, StatusCode::NOT_FOUND, "ExecutionDoesNotExist");
    let (s, v) = app.get("/v1/executions?stateMachine=ghost", &key).await;
    assert_error(s, &v, StatusCode::NOT_FOUND, "StateMachineDoesNotExist");
    let (s, v) = app
        .json(
            Method::POST,
            "/v1/state-machines/ghost/executions",
            &key,
            json!({}),
        )
        .await;
    assert_error(s, &v, StatusCode::NOT_FOUND, "StateMachineDoesNotExist");
    // Components: not wasm, a core module, wrong content type, bad version.
    let (s, v) = app.upload(&key, "c", b"hello").await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "InvalidComponent");
    let (s, v) = app.upload(&key, "c", b"\0asm\x01\x00\x00\x00").await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "InvalidComponent");
    let (s, _, v) = app
        .raw(
            Method::POST,
            "/v1/components/c",
            Some(&key),
            Some("application/json"),
            COMPONENT.to_vec(),
        )
        .await;
    assert_error(
        s,
        &v,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UnsupportedMediaType",
    );
    let (s, _, v) = app
        .raw(
            Method::DELETE,
            "/v1/components/c/versions/one",
            Some(&key),
            None,
            vec![],
        )
        .await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "ValidationException");
    // Execution input that is not JSON, and an invalid execution name.
    app.json(
        Method::POST,
        sm,
        &key,
        json!({"name": "m", "definition": pass_machine()}),
    )
    .await;
    let big = "x".repeat(300 * 1024);
    let starts = "/v1/state-machines/m/executions";
    for (path, body, code) in [
        (starts, json!({"input": "{nope"}), "InvalidExecutionInput"),
        (starts, json!({"name": "x/y"}), "InvalidName"),
        (
            starts,
            json!({"input": {"big": big}}),
            "InvalidExecutionInput",
        ),
        (
            "/v1/state-machines/m/start-sync",
            json!({}),
            "StateMachineTypeNotSupported",
        ),
    ] {
        let (s, v) = app.json(Method::POST, path, &key, body).await;
        assert_error(s, &v, StatusCode::BAD_REQUEST, code);
    }
}

#[tokio::test]
async fn components_and_state_machines_lifecycle() {
    let app = app().await;
    let key = app.tenant("acme").await;
    let (s, v) = app.upload(&key, "price", COMPONENT).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["version"], 1);
    assert_eq!(v["resource"], "wasm:price:1");
    let mut second = COMPONENT.to_vec();
    second.extend_from_slice(b"\x00\x00");
    let (_, v) = app.upload(&key, "price", &second).await;
    assert_eq!(v["version"], 2);
    let (s, v) = app.get("/v1/components/price", &key).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["latestVersion"], 2);
    assert_eq!(v["versions"][0]["size"], COMPONENT.len());
    assert_eq!(v["versions"][0]["sha256"].as_str().unwrap().len(), 64);
    // A Task naming an uploaded component is accepted; a missing version is reported.
    let task = |res: &str| json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": res, "End": true}}});
    let (s, v) = app
        .json(
            Method::POST,
            "/v1/validate",
            &key,
            json!({"definition": task("wasm:price:9")}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["result"], "FAIL");
    assert_eq!(v["diagnostics"][0]["code"], "UNKNOWN_COMPONENT");
    let (_, v) = app
        .json(
            Method::POST,
            "/v1/validate",
            &key,
            json!({"definition": task("wasm:price:2")}),
        )
        .await;
    assert_eq!(v["result"], "OK", "{v}");
    let (s, v) = app
        .json(
            Method::POST,
            "/v1/state-machines",
            &key,
            json!({"name": "flow", "definition": task("wasm:price")}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        v["stateMachineArn"],
        "arn:aws:states:us-east-1:acme:stateMachine:flow"
    );
    let (s, v) = app
        .json(
            Method::POST,
            "/v1/state-machines",
            &key,
            json!({"name": "flow", "definition": pass_machine()}),
        )
        .await;
    assert_error(s, &v, StatusCode::CONFLICT, "StateMachineAlreadyExists");
    let (s, v) = app
        .json(
            Method::PUT,
            "/v1/state-machines/flow",
            &key,
            json!({"definition": pass_machine()}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["revision"], 2);
    let (_, v) = app.get("/v1/state-machines/flow", &key).await;
    assert_eq!(v["revisions"].as_array().unwrap().len(), 2);
    assert_eq!(v["type"], "STANDARD");
    // Delete a component version (no running execution uses it).
    let (s, _, v) = app
        .raw(
            Method::DELETE,
            "/v1/components/price/versions/1",
            Some(&key),
            None,
            vec![],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = app.get("/v1/components/price", &key).await;
    assert_eq!(v["versions"].as_array().unwrap().len(), 1);
    let (s, _, v) = app
        .raw(
            Method::DELETE,
            "/v1/components/price/versions/1",
            Some(&key),
            None,
            vec![],
        )
        .await;
    assert_error(s, &v, StatusCode::NOT_FOUND, "ComponentDoesNotExist");
    let (s, _, _) = app
        .raw(
            Method::DELETE,
            "/v1/state-machines/flow",
            Some(&key),
            None,
            vec![],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = app.get("/v1/state-machines/flow", &key).await;
    assert_error(s, &v, StatusCode::NOT_FOUND, "StateMachineDoesNotExist");
}

#[tokio::test]
async fn listing_pages_with_tokens() {
    let app = app().await;
    let key = app.tenant("acme").await;
    for i in 0..5 {
        let (s, v) = app
            .json(
                Method::POST,
                "/v1/state-machines",
                &key,
                json!({"name": format!("m{i}"), "definition": pass_machine()}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let mut names = Vec::new();
    let mut url = "/v1/state-machines?maxResults=2".to_string();
    loop {
        let (s, v) = app.get(&url, &key).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        names.extend(
            v["stateMachines"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["name"].as_str().unwrap().to_string()),
        );
        match v["nextToken"].as_str() {
            Some(t) => url = format!("/v1/state-machines?maxResults=2&nextToken={t}"),
            None => break,
        }
    }
    assert_eq!(names, vec!["m0", "m1", "m2", "m3", "m4"]);
    // A token is bound to its tenant.
    let (_, v) = app.get("/v1/state-machines?maxResults=2", &key).await;
    let token = v["nextToken"].as_str().unwrap().to_string();
    let other = app.tenant("other").await;
    let (s, v) = app
        .get(&format!("/v1/state-machines?nextToken={token}"), &other)
        .await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "InvalidToken");
    let (s, v) = app
        .get(&format!("/v1/components?nextToken={token}"), &key)
        .await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "InvalidToken");
}

#[tokio::test]
async fn tenants_are_isolated_on_every_route() {
    let app = app().await;
    let a = app.tenant("alice").await;
    let b = app.tenant("bob").await;
    assert_eq!(
        app.upload(&a, "comp", COMPONENT).await.0,
        StatusCode::CREATED
    );
    let (s, _) = app
        .json(
            Method::POST,
            "/v1/state-machines",
            &a,
            json!({"name": "sm", "definition": pass_machine()}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    // Every route that names a thing: bob gets 404 for alice's names.
    let cases: Vec<(Method, &str, Option<Value>, &str)> = vec![
        (
            Method::GET,
            "/v1/components/comp",
            None,
            "ComponentDoesNotExist",
        ),
        (
            Method::DELETE,
            "/v1/components/comp/versions/1",
            None,
            "ComponentDoesNotExist",
        ),
        (
            Method::GET,
            "/v1/state-machines/sm",
            None,
            "StateMachineDoesNotExist",
        ),
        (
            Method::PUT,
            "/v1/state-machines/sm",
            Some(json!({"definition": pass_machine()})),
            "StateMachineDoesNotExist",
        ),
        (
            Method::DELETE,
            "/v1/state-machines/sm",
            None,
            "StateMachineDoesNotExist",
        ),
        (
            Method::POST,
            "/v1/state-machines/sm/executions",
            Some(json!({})),
            "StateMachineDoesNotExist",
        ),
        (
            Method::POST,
            "/v1/state-machines/sm/start-sync",
            Some(json!({})),
            "StateMachineDoesNotExist",
        ),
        (
            Method::GET,
            "/v1/state-machines/sm/executions/e1",
            None,
            "ExecutionDoesNotExist",
        ),
        (
            Method::GET,
            "/v1/state-machines/sm/executions/e1/history",
            None,
            "ExecutionDoesNotExist",
        ),
        (
            Method::POST,
            "/v1/state-machines/sm/executions/e1/stop",
            Some(json!({})),
            "ExecutionDoesNotExist",
        ),
        (
            Method::GET,
            "/v1/executions?stateMachine=sm",
            None,
            "StateMachineDoesNotExist",
        ),
    ];
    for (method, path, body, code) in cases {
        let (s, _, v) = match &body {
            Some(json_body) => {
                app.raw(
                    method.clone(),
                    path,
                    Some(&b),
                    Some("application/json"),
                    json_body.to_string().into_bytes(),
                )
                .await
            }
            None => app.raw(method.clone(), path, Some(&b), None, vec![]).await,
        };
        assert_error(s, &v, StatusCode::NOT_FOUND, code);
        let _ = method;
    }
    // Listings show bob nothing of alice's; alice's things are untouched.
    let (_, v) = app.get("/v1/components", &b).await;
    assert_eq!(v["components"], json!([]));
    let (_, v) = app.get("/v1/state-machines", &b).await;
    assert_eq!(v["stateMachines"], json!([]));
    let (_, v) = app.get("/v1/executions", &b).await;
    assert_eq!(v["executions"], json!([]));
    // A definition naming alice's component is not valid for bob.
    let task = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "wasm:comp", "End": true}}});
    let (_, v) = app
        .json(
            Method::POST,
            "/v1/validate",
            &b,
            json!({"definition": task}),
        )
        .await;
    assert_eq!(v["diagnostics"][0]["code"], "UNKNOWN_COMPONENT");
    assert_eq!(app.get("/v1/components/comp", &a).await.0, StatusCode::OK);
    assert_eq!(app.get("/v1/state-machines/sm", &a).await.0, StatusCode::OK);
}

#[tokio::test]
async fn quotas_are_enforced() {
    let app = app().await;
    let key = app.tenant("small").await;
    let (s, v) = app
        .json(
            Method::PUT,
            "/v1/tenants/small/quotas",
            ADMIN,
            json!({"maxComponentBytes": 16, "maxStoredBytes": 20, "startRatePerSecond": 2}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["quotas"]["maxComponentBytes"], 16);
    assert_eq!(
        v["quotas"]["taskFuel"],
        crate::store::DEFAULT_TASK_FUEL,
        "unnamed quotas keep defaults"
    );
    let mut big = COMPONENT.to_vec();
    big.resize(17, 0);
    let (s, v) = app.upload(&key, "c", &big).await;
    assert_error(s, &v, StatusCode::PAYLOAD_TOO_LARGE, "ComponentTooLarge");
    big.truncate(16);
    assert_eq!(app.upload(&key, "c", &big).await.0, StatusCode::CREATED);
    let (s, v) = app.upload(&key, "c", &big).await;
    assert_error(s, &v, StatusCode::FORBIDDEN, "StorageQuotaExceeded");
    // Start rate: the third start inside a second is throttled with Retry-After.
    app.json(
        Method::PUT,
        "/v1/tenants/small/quotas",
        ADMIN,
        json!({"startRatePerSecond": 2}),
    )
    .await;
    app.json(
        Method::POST,
        "/v1/state-machines",
        &key,
        json!({"name": "m", "definition": pass_machine()}),
    )
    .await;
    let mut throttled = None;
    for _ in 0..3 {
        let (s, h, v) = app
            .raw(
                Method::POST,
                "/v1/state-machines/m/executions",
                Some(&key),
                Some("application/json"),
                b"{}".to_vec(),
            )
            .await;
        if s == StatusCode::TOO_MANY_REQUESTS {
            throttled = Some((h, v));
        }
    }
    let (h, v) = throttled.expect("no start was throttled");
    assert_eq!(v["error"], "ThrottlingException");
    assert!(h.get("retry-after").is_some());
}
