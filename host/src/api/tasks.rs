//! Routes for work done outside the server: SendTaskSuccess, SendTaskFailure,
//! SendTaskHeartbeat under `/v1/tasks/`, and activities with GetActivityTask under
//! `/v1/activities`, with AWS's field names.

use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::extract::{JsonBody, PathArgs, QueryArgs, TenantCaller};
use super::handlers::{PageArgs, Reply, created, json_text, ok};
use crate::service::{Service, activity_arn, rfc3339_ms};
use crate::store::ActivityRecord;

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

fn activity_view(tenant: &str, a: &ActivityRecord) -> Value {
    json!({
        "activityArn": activity_arn(tenant, &a.name),
        "name": a.name,
        "creationDate": rfc3339_ms(a.created_ms),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateActivity {
    name: String,
}

pub async fn create_activity(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    JsonBody(req): JsonBody<CreateActivity>,
) -> Reply {
    let a = service.create_activity(&tenant, &req.name).await?;
    created(activity_view(&tenant.id, &a))
}

pub async fn list_activities(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    QueryArgs(q): QueryArgs<PageArgs>,
) -> Reply {
    let page = service.list_activities(&tenant, q.max_results, q.next_token.as_deref())?;
    ok(json!({
        "activities": page.items.iter().map(|a| activity_view(&tenant.id, a)).collect::<Vec<_>>(),
        "nextToken": page.next_token,
    }))
}

pub async fn describe_activity(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    PathArgs(name): PathArgs<String>,
) -> Reply {
    let a = service.describe_activity(&tenant, &name)?;
    ok(activity_view(&tenant.id, &a))
}

pub async fn delete_activity(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    PathArgs(name): PathArgs<String>,
) -> Reply {
    service.delete_activity(&tenant, &name).await?;
    ok(json!({}))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GetActivityTask {
    worker_name: Option<String>,
}

/// Long-polls (up to 60 s): `{taskToken, input}`, or `{}` when no task came.
pub async fn get_activity_task(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    PathArgs(name): PathArgs<String>,
    JsonBody(req): JsonBody<GetActivityTask>,
) -> Reply {
    match service
        .get_activity_task(&tenant, &name, req.worker_name)
        .await?
    {
        Some((token, input)) => ok(json!({"taskToken": token, "input": input.to_string()})),
        None => ok(json!({})),
    }
}
