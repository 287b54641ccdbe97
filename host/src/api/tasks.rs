//! Routes for callback tasks: SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat under
//! `/v1/tasks/`, with AWS's field names.

use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::extract::{JsonBody, TenantCaller};
use super::handlers::{Reply, json_text, ok};
use crate::service::Service;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SendTaskSuccess {
    task_token: String,
    /// JSON text (as AWS takes it) or JSON itself.
    output: Value,
}

pub async fn send_task_success(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    JsonBody(req): JsonBody<SendTaskSuccess>,
) -> Reply {
    let output = json_text(Some(req.output)).unwrap_or_default();
    service
        .send_task_success(&tenant, &req.task_token, &output)
        .await?;
    ok(json!({}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SendTaskFailure {
    task_token: String,
    error: Option<String>,
    cause: Option<String>,
}

pub async fn send_task_failure(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    JsonBody(req): JsonBody<SendTaskFailure>,
) -> Reply {
    service
        .send_task_failure(&tenant, &req.task_token, req.error, req.cause)
        .await?;
    ok(json!({}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SendTaskHeartbeat {
    task_token: String,
}

pub async fn send_task_heartbeat(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    JsonBody(req): JsonBody<SendTaskHeartbeat>,
) -> Reply {
    service
        .send_task_heartbeat(&tenant, &req.task_token)
        .await?;
    ok(json!({}))
}
