//! `GET /v1/openapi.json`: an OpenAPI 3.1 description generated from [`ROUTES`], the one
//! list of routes (a test checks that the router answers every one of them).

use axum::Json;
use serde_json::{Map, Value, json};

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// Anyone.
    None,
    /// The admin key.
    Admin,
    /// A tenant key.
    Tenant,
    /// A tenant's AWS credentials (SigV4).
    AwsSigV4,
}

/// One route, as documented.
#[derive(Clone, Copy, Debug)]
pub struct RouteDoc {
    /// HTTP method, lowercase.
    pub method: &'static str,
    /// Path template (`{name}` parameters).
    pub path: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// Who may call it.
    pub auth: Auth,
    /// Request body media type, if it takes a body.
    pub body: Option<&'static str>,
    /// Success status.
    pub success: u16,
}

const fn r(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    auth: Auth,
    body: Option<&'static str>,
    success: u16,
) -> RouteDoc {
    RouteDoc {
        method,
        path,
        summary,
        auth,
        body,
        success,
    }
}

const JSON: Option<&str> = Some("application/json");

/// Every route of the API.
pub const ROUTES: &[RouteDoc] = &[
    r(
        "post",
        "/",
        "AWS Step Functions' own API (AWS JSON 1.0, X-Amz-Target: AWSStepFunctions.<Action>)",
        Auth::AwsSigV4,
        Some("application/x-amz-json-1.0"),
        200,
    ),
    r(
        "get",
        "/healthz",
        "Liveness and store schema version",
        Auth::None,
        None,
        200,
    ),
    r(
        "get",
        "/v1/openapi.json",
        "This document",
        Auth::None,
        None,
        200,
    ),
    r(
        "post",
        "/v1/tenants",
        "Create a tenant {id, quotas?}; returns its first apiKey",
        Auth::Admin,
        JSON,
        201,
    ),
    r("get", "/v1/tenants", "List tenants", Auth::Admin, None, 200),
    r(
        "get",
        "/v1/tenants/{id}",
        "Describe a tenant (quotas, usage)",
        Auth::Admin,
        None,
        200,
    ),
    r(
        "put",
        "/v1/tenants/{id}/quotas",
        "Replace a tenant's quotas",
        Auth::Admin,
        JSON,
        200,
    ),
    r(
        "post",
        "/v1/tenants/{id}/keys",
        "Issue another API key for a tenant",
        Auth::Admin,
        None,
        201,
    ),
    r(
        "post",
        "/v1/tenants/{id}/aws-credentials",
        "Issue AWS credentials (accessKeyId, secretAccessKey) for a tenant",
        Auth::Admin,
        None,
        201,
    ),
    r(
        "get",
        "/v1/components",
        "List components (latest version each); maxResults, nextToken",
        Auth::Tenant,
        None,
        200,
    ),
    r(
        "post",
        "/v1/components/{name}",
        "Upload a new version of a component (raw wasm body)",
        Auth::Tenant,
        Some("application/wasm"),
        201,
    ),
    r(
        "get",
        "/v1/components/{name}",
        "Describe a component: versions, hashes, sizes, imports",
        Auth::Tenant,
        None,
        200,
    ),
    r(
        "delete",
        "/v1/components/{name}/versions/{version}",
        "Delete a component version no running execution uses",
        Auth::Tenant,
        None,
        200,
    ),
    r(
        "post",
        "/v1/state-machines",
        "Create a state machine {name, definition, type?, roleArn?, loggingConfiguration?, tracingConfiguration?, tags?, publish?, versionDescription?}",
        Auth::Tenant,
        JSON,
        201,
    ),
    r(
        "get",
        "/v1/state-machines",
        "List state machines; maxResults, nextToken",
        Auth::Tenant,
        None,
        200,
    ),
    r(
        "get",
        "/v1/state-machines/{name}",
        "Describe a state machine (latest revision and revision list); {name}:{version} describes a published version",
        Auth::Tenant,
        None,
        200,
    ),
    r(
        "put",
        "/v1/state-machines/{name}",
        "Update a state machine {definition?, roleArn?, loggingConfiguration?, tracingConfiguration?, publish?, versionDescription?}: a new revision",
        Auth::Tenant,
        JSON,
        200,
    ),
    r(
        "delete",
        "/v1/state-machines/{name}",
        "Delete a state machine with its revisions, versions, aliases and tags",
        Auth::Tenant,
        None,
        200,
    ),
    r(
        "post",
        "/v1/state-machines/{name}/executions",
        "Start an execution {name?, input?}; {name}:{version} or {name}:{alias} starts that version or alias",
        Auth::Tenant,
        JSON,
        201,
    ),
    r(
        "post",
        "/v1/state-machines/{name}/start-sync",
        "Run an EXPRESS execution and return its output",
        Auth::Tenant,
        JSON,
        200,
    ),
    r(
        "get",
        "/v1/state-machines/{name}/executions/{execution}",
        "Describe an execution",
        Auth::Tenant,
        None,
        200,
    ),
    r(
        "get",
        "/v1/state-machines/{name}/executions/{execution}/history",
        "Execution history; maxResults, nextToken, reverseOrder",
        Auth::Tenant,
        None,
        200,
    ),
    r(
        "post",
        "/v1/state-machines/{name}/executions/{execution}/stop",
        "Stop an execution {error?, cause?}: ABORTED",
        Auth::Tenant,
        JSON,
        200,
    ),
    r(
        "get",
        "/v1/state-machines/{name}/executions/{execution}/definition",
        "The state machine revision an execution runs (DescribeStateMachineForExecution)",
        Auth::Tenant,
        None,
        200,
    ),
    r(
        "post",
        "/v1/state-machines/{name}/versions",
        "Publish the current revision as a version {revisionId?, description?}",
        Auth::Tenant,
        JSON,
        201,
    ),
    r(
        "get",
        "/v1/state-machines/{name}/versions",
        "List published versions newest first; maxResults, nextToken",
        Auth::Tenant,
        None,
        200,
    ),
    r(
        "get",
        "/v1/state-machines/{name}/versions/{version}",
        "Describe a published version (same as GET /v1/state-machines/{name}:{version})",
        Auth::Tenant,
        None,
        200,
    ),
    r(
        "delete",
        "/v1/state-machines/{name}/versions/{version}",
        "Delete a published version no alias routes to",
        Auth::Tenant,
        None,
        200,
    ),
    r(
        "post",
        "/v1/state-machines/{name}/aliases",
        "Create an alias {name, description?, routingConfiguration: [{version, weight}]}",
        Auth::Tenant,
        JSON,
        201,
    ),
    r(
        "get",
        "/v1/state-machines/{name}/aliases",
        "List aliases newest first; version (only those routing to it), maxResults, nextToken",
        Auth::Tenant,
        None,
        200,
    ),
    r(
        "get",
        "/v1/state-machines/{name}/aliases/{alias}",
        "Describe an alias",
        Auth::Tenant,
        None,
        200,
    ),
    r(
        "put",
        "/v1/state-machines/{name}/aliases/{alias}",
        "Update an alias {description?, routingConfiguration?}",
        Auth::Tenant,
        JSON,
        200,
    ),
    r(
        "delete",
        "/v1/state-machines/{name}/aliases/{alias}",
        "Delete an alias (its versions stay)",
        Auth::Tenant,
        None,
        200,
    ),
    r(
        "get",
        "/v1/state-machines/{name}/tags",
        "A state machine's tags",
        Auth::Tenant,
        None,
        200,
    ),
    r(
        "post",
        "/v1/state-machines/{name}/tags",
        "Add or overwrite tags {tags: [{key, value}]} (at most 50)",
        Auth::Tenant,
        JSON,
        200,
    ),
    r(
        "delete",
        "/v1/state-machines/{name}/tags/{key}",
        "Remove a tag",
        Auth::Tenant,
        None,
        200,
    ),
    r(
        "get",
        "/v1/executions",
        "List executions newest first; stateMachine, statusFilter, maxResults, nextToken",
        Auth::Tenant,
        None,
        200,
    ),
    r(
        "post",
        "/v1/validate",
        "Validate a definition {definition} without storing it",
        Auth::Tenant,
        JSON,
        200,
    ),
];

fn path_params(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect()
}

/// The OpenAPI document.
pub fn openapi_document() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let mut op = json!({
            "summary": route.summary,
            "parameters": path_params(route.path),
            "responses": {
                route.success.to_string(): {"description": "success", "content": {"application/json": {}}},
                "default": {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        });
        op["security"] = match route.auth {
            Auth::None => json!([]),
            Auth::Admin | Auth::Tenant => json!([{"bearer": []}]),
            Auth::AwsSigV4 => json!([{"sigv4": []}]),
        };
        op["x-stepwasm-caller"] = json!(format!("{:?}", route.auth).to_lowercase());
        if let Some(media) = route.body {
            op["requestBody"] = json!({"required": true, "content": {media: {}}});
        }
        let entry = paths
            .entry(route.path.to_string())
            .or_insert_with(|| json!({}));
        entry[route.method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Stepwasm", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "sigv4": {"type": "apiKey", "in": "header", "name": "Authorization",
                          "description": "AWS Signature Version 4 (service 'states')"},
            },
            "schemas": {"Error": {
                "type": "object",
                "required": ["error", "message"],
                "properties": {
                    "error": {"type": "string"},
                    "message": {"type": "string"},
                    "diagnostics": {"type": "array"},
                },
            }},
        },
    })
}

pub(super) async fn serve() -> Json<Value> {
    Json(openapi_document())
}
