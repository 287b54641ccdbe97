//! Route handlers: each parses its request, calls one service operation, and shapes the
//! reply. No rule lives here.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::extract::{
    AdminCaller, JsonBody, PathArgs, QueryArgs, TenantCaller, media_type_is, read_body,
};
use super::{ApiError, views};
use crate::service::{
    HistoryQuery, ListExecutionsQuery, MachineRef, NewStateMachine, Service, ServiceError,
    StateMachineUpdate, StopRequest, rfc3339_ms,
};
use crate::store::{LoggingConfiguration, Quotas, StoreHealth, Tag, TracingConfiguration};

pub(super) type Reply = Result<Response, ApiError>;

pub(super) fn ok(v: Value) -> Reply {
    Ok(Json(v).into_response())
}

pub(super) fn created(v: Value) -> Reply {
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// Text of a field that may be given as a JSON string (AWS style) or as JSON itself.
fn json_text(v: Option<Value>) -> Option<String> {
    v.map(|v| match v {
        Value::String(s) => s,
        other => other.to_string(),
    })
}

// ---- health ----

pub async fn healthz(State(service): State<Service>) -> Reply {
    let store = service.store();
    let version = store.schema_version().map_err(ServiceError::from)?;
    match store.health() {
        StoreHealth::Ok => ok(json!({"status": "ok", "schemaVersion": version})),
        // Reads still work; writes wait for space (the store reopens itself).
        StoreHealth::Degraded { reason, since_ms } => Ok((
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "status": "degraded",
                "schemaVersion": version,
                "storage": {"state": "full", "reason": reason, "since": rfc3339_ms(since_ms)},
            })),
        )
            .into_response()),
    }
}

// ---- tenants (admin) ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateTenant {
    id: String,
    quotas: Option<Quotas>,
}

pub async fn create_tenant(
    _: AdminCaller,
    State(service): State<Service>,
    JsonBody(req): JsonBody<CreateTenant>,
) -> Reply {
    let (t, key) = service.create_tenant(&req.id, req.quotas).await?;
    let mut v = views::tenant(&t, 0, 0);
    v["apiKey"] = json!(key);
    created(v)
}

pub async fn list_tenants(_: AdminCaller, State(service): State<Service>) -> Reply {
    let mut out = Vec::new();
    for t in service.tenants()? {
        let usage = service.store().usage(&t.id).map_err(ServiceError::from)?;
        out.push(views::tenant(&t, service.running_count(&t.id), usage));
    }
    ok(json!({ "tenants": out }))
}

pub async fn describe_tenant(
    _: AdminCaller,
    State(service): State<Service>,
    PathArgs(id): PathArgs<String>,
) -> Reply {
    let t = service.tenant(&id)?;
    let usage = service.store().usage(&t.id).map_err(ServiceError::from)?;
    ok(views::tenant(&t, service.running_count(&t.id), usage))
}

pub async fn set_quotas(
    _: AdminCaller,
    State(service): State<Service>,
    PathArgs(id): PathArgs<String>,
    JsonBody(quotas): JsonBody<Quotas>,
) -> Reply {
    let t = service.set_quotas(&id, quotas).await?;
    let usage = service.store().usage(&t.id).map_err(ServiceError::from)?;
    ok(views::tenant(&t, service.running_count(&t.id), usage))
}

pub async fn create_key(
    _: AdminCaller,
    State(service): State<Service>,
    PathArgs(id): PathArgs<String>,
) -> Reply {
    let key = service.create_key(&id).await?;
    created(json!({ "tenant": id, "apiKey": key }))
}

/// Issues AWS credentials (SigV4, for the AWS wire protocol) for a tenant; the secret is
/// in this response only.
pub async fn create_aws_credentials(
    _: AdminCaller,
    State(service): State<Service>,
    PathArgs(id): PathArgs<String>,
) -> Reply {
    let c = service.create_aws_credentials(&id).await?;
    created(json!({
        "tenant": c.tenant,
        "accessKeyId": c.access_key_id,
        "secretAccessKey": c.secret_access_key,
        "region": crate::service::region(),
    }))
}

// ---- components ----

/// Absolute cap on an upload, whatever a tenant's quota says.
pub const MAX_COMPONENT_UPLOAD_BYTES: u64 = 512 * 1024 * 1024;

pub async fn upload_component(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    PathArgs(name): PathArgs<String>,
    req: axum::extract::Request,
) -> Reply {
    let headers = req.headers();
    if !media_type_is(headers, &["application/wasm", "application/octet-stream"]) {
        return Err(ApiError::UnsupportedMediaType {
            found: headers
                .get(axum::http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            expected: "application/wasm",
        });
    }
    let limit = tenant
        .quotas
        .max_component_bytes
        .min(MAX_COMPONENT_UPLOAD_BYTES);
    let bytes = match read_body(req, usize::try_from(limit).unwrap_or(usize::MAX)).await {
        Err(ApiError::BodyTooLarge { .. }) => {
            return Err(ServiceError::ComponentTooLarge {
                size: limit + 1,
                limit,
            }
            .into());
        }
        other => other?,
    };
    let c = service.upload_component(&tenant, &name, bytes).await?;
    created(views::component(&c))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PageArgs {
    pub(super) max_results: Option<i64>,
    pub(super) next_token: Option<String>,
}

pub async fn list_components(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    QueryArgs(q): QueryArgs<PageArgs>,
) -> Reply {
    let page = service.list_components(&tenant, q.max_results, q.next_token.as_deref())?;
    ok(json!({
        "components": page.items.iter().map(views::component).collect::<Vec<_>>(),
        "nextToken": page.next_token,
    }))
}

pub async fn describe_component(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    PathArgs(name): PathArgs<String>,
) -> Reply {
    ok(views::component_versions(
        &service.describe_component(&tenant, &name)?,
    ))
}

pub async fn delete_component_version(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    PathArgs((name, version)): PathArgs<(String, String)>,
) -> Reply {
    let version: u64 = version.parse().map_err(|_| ServiceError::Validation {
        message: format!("version must be a positive integer, got '{version}'"),
    })?;
    let c = service
        .delete_component_version(&tenant, &name, version)
        .await?;
    ok(json!({ "deleted": views::component(&c) }))
}

// ---- state machines ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateStateMachine {
    name: String,
    definition: Value,
    #[serde(rename = "type")]
    machine_type: Option<String>,
    role_arn: Option<String>,
    logging_configuration: Option<LoggingConfiguration>,
    tracing_configuration: Option<TracingConfiguration>,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    publish: bool,
    version_description: Option<String>,
}

pub async fn create_state_machine(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    JsonBody(req): JsonBody<CreateStateMachine>,
) -> Reply {
    let written = service
        .create_state_machine(
            &tenant,
            NewStateMachine {
                name: req.name,
                definition: json_text(Some(req.definition)).unwrap_or_default(),
                machine_type: req.machine_type,
                role_arn: req.role_arn,
                logging: req.logging_configuration,
                tracing: req.tracing_configuration,
                tags: req.tags,
                publish: req.publish,
                version_description: req.version_description,
            },
        )
        .await?;
    created(views::written(&tenant.id, &written))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DefinitionOnly {
    definition: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateStateMachine {
    definition: Option<Value>,
    role_arn: Option<String>,
    logging_configuration: Option<LoggingConfiguration>,
    tracing_configuration: Option<TracingConfiguration>,
    #[serde(default)]
    publish: bool,
    version_description: Option<String>,
}

pub async fn update_state_machine(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    PathArgs(name): PathArgs<String>,
    JsonBody(req): JsonBody<UpdateStateMachine>,
) -> Reply {
    let written = service
        .update_state_machine(
            &tenant,
            &name,
            StateMachineUpdate {
                definition: json_text(req.definition),
                role_arn: req.role_arn,
                logging: req.logging_configuration,
                tracing: req.tracing_configuration,
                publish: req.publish,
                version_description: req.version_description,
            },
        )
        .await?;
    ok(views::written(&tenant.id, &written))
}

/// `NAME` (latest revision, with the revision list) or `NAME:N` (a published version).
pub async fn describe_state_machine(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    PathArgs(target): PathArgs<String>,
) -> Reply {
    let target = MachineRef::parse(&target)?;
    let described = service.describe_machine(&tenant, &target)?;
    let mut v = views::described(&tenant.id, &described);
    if target.qualifier.is_none() {
        v["revisions"] = views::revisions(&service.describe_state_machine(&tenant, &target.name)?);
    }
    ok(v)
}

pub async fn list_state_machines(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    QueryArgs(q): QueryArgs<PageArgs>,
) -> Reply {
    let page = service.list_state_machines(&tenant, q.max_results, q.next_token.as_deref())?;
    ok(json!({
        "stateMachines": page.items.iter().map(|m| views::revision(&tenant.id, m)).collect::<Vec<_>>(),
        "nextToken": page.next_token,
    }))
}

pub async fn delete_state_machine(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    PathArgs(name): PathArgs<String>,
) -> Reply {
    service.delete_state_machine(&tenant, &name).await?;
    ok(json!({}))
}

pub async fn validate_definition(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    JsonBody(req): JsonBody<DefinitionOnly>,
) -> Reply {
    let definition = json_text(Some(req.definition)).unwrap_or_default();
    let report = service.check_definition(Some(&tenant), &definition)?;
    ok(json!(report))
}

// ---- executions ----

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StartExecution {
    name: Option<String>,
    input: Option<Value>,
}

pub async fn start_execution(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    PathArgs(sm): PathArgs<String>,
    JsonBody(req): JsonBody<StartExecution>,
) -> Reply {
    let target = MachineRef::parse(&sm)?;
    let started = service
        .start_execution(&tenant, &target, req.name, json_text(req.input))
        .await?;
    let v = views::execution(&started.record);
    let body = json!({
        "executionArn": v["executionArn"],
        "name": v["name"],
        "startDate": v["startDate"],
    });
    if started.created {
        created(body)
    } else {
        ok(body)
    }
}

pub async fn start_sync_execution(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    PathArgs(sm): PathArgs<String>,
    JsonBody(req): JsonBody<StartExecution>,
) -> Reply {
    let target = MachineRef::parse(&sm)?;
    let run = service
        .start_sync_execution(&tenant, &target, req.name, json_text(req.input))
        .await?;
    let mut v = views::execution(&run.record);
    v["billingDetails"] = json!({
        "billedMemoryUsedInMB": run.billing.billed_memory_used_mb,
        "billedDurationInMilliseconds": run.billing.billed_duration_ms,
    });
    ok(v)
}

pub async fn describe_execution(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    PathArgs((sm, name)): PathArgs<(String, String)>,
) -> Reply {
    ok(views::execution(
        &service.describe_execution(&tenant, &sm, &name)?,
    ))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ListExecutionsArgs {
    state_machine: Option<String>,
    status_filter: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

pub async fn list_executions(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    QueryArgs(q): QueryArgs<ListExecutionsArgs>,
) -> Reply {
    let page = service.list_executions(
        &tenant,
        &ListExecutionsQuery {
            state_machine: q
                .state_machine
                .as_deref()
                .map(MachineRef::parse)
                .transpose()?,
            status: q.status_filter,
            max_results: q.max_results,
            next_token: q.next_token,
        },
    )?;
    let mut body = json!({
        "executions": page.items.iter().map(views::execution).collect::<Vec<_>>(),
        "nextToken": page.next_token,
    });
    // Named, not silently dropped: the damaged records of this page (left out above).
    if !page.damaged.is_empty() {
        body["damaged"] = page.damaged.iter().map(views::damaged).collect();
    }
    ok(body)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HistoryArgs {
    max_results: Option<i64>,
    next_token: Option<String>,
    reverse_order: Option<bool>,
}

pub async fn execution_history(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    PathArgs((sm, name)): PathArgs<(String, String)>,
    QueryArgs(q): QueryArgs<HistoryArgs>,
) -> Reply {
    let page = service.execution_history(
        &tenant,
        &sm,
        &name,
        &HistoryQuery {
            max_results: q.max_results,
            next_token: q.next_token,
            reverse_order: q.reverse_order.unwrap_or(false),
        },
    )?;
    ok(json!({ "events": page.items, "nextToken": page.next_token }))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StopExecution {
    error: Option<String>,
    cause: Option<String>,
}

pub async fn stop_execution(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    PathArgs((sm, name)): PathArgs<(String, String)>,
    JsonBody(req): JsonBody<StopExecution>,
) -> Reply {
    let record = service
        .stop_execution(
            &tenant,
            &sm,
            &name,
            StopRequest {
                error: req.error,
                cause: req.cause,
            },
        )
        .await?;
    ok(json!({ "stopDate": views::execution(&record)["stopDate"] }))
}
