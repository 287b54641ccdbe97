//! The actions of AWS's protocol for work done outside the server: SendTaskSuccess,
//! SendTaskFailure, SendTaskHeartbeat, and activities (Create/Describe/Delete/ListActivities,
//! GetActivityTask), each a thin layer over one service function (the same ones `/v1/tasks/*`
//! and `/v1/activities` call). Errors are botocore's: `InvalidToken` (not a token this server
//! issued), `TaskDoesNotExist` (no such task for this tenant, another tenant's token
//! included), `TaskTimedOut` (closed or expired), `InvalidOutput`, `ActivityDoesNotExist`,
//! `InvalidArn`.

use serde::Deserialize;
use serde_json::{Value, json};

use super::error::AwsError;
use super::shapes::epoch;
use crate::service::{Resource, Service, ServiceError, activity_arn, parse_activity_arn};
use crate::store::TenantRecord;

/// Actions served here (beside [`super::ops::ACTIONS`]).
pub const ACTIONS: &[&str] = &[
    "SendTaskSuccess",
    "SendTaskFailure",
    "SendTaskHeartbeat",
    "CreateActivity",
    "DescribeActivity",
    "DeleteActivity",
    "ListActivities",
    "GetActivityTask",
];

/// `CreateActivity` (tags and encryption are accepted and not kept).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateActivity {
    name: String,
}

/// Every input naming an activity by ARN.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActivityArn {
    activity_arn: String,
}

/// `ListActivities`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Paged {
    max_results: Option<i64>,
    next_token: Option<String>,
}

/// `GetActivityTask`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetActivityTask {
    activity_arn: String,
    worker_name: Option<String>,
}

/// `SendTaskSuccess`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendTaskSuccess {
    task_token: String,
    output: String,
}

/// `SendTaskFailure`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendTaskFailure {
    task_token: String,
    error: Option<String>,
    cause: Option<String>,
}

/// `SendTaskHeartbeat`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendTaskHeartbeat {
    task_token: String,
}

/// Runs `action` if it is one of [`ACTIONS`]; `None` otherwise.
pub async fn dispatch(
    service: &Service,
    tenant: &TenantRecord,
    action: &str,
    body: &[u8],
) -> Option<Result<Value, AwsError>> {
    Some(match action {
        "SendTaskSuccess" => success(service, tenant, body).await,
        "SendTaskFailure" => failure(service, tenant, body).await,
        "SendTaskHeartbeat" => heartbeat(service, tenant, body).await,
        "CreateActivity" => create_activity(service, tenant, body).await,
        "DescribeActivity" => describe_activity(service, tenant, body),
        "DeleteActivity" => delete_activity(service, tenant, body).await,
        "ListActivities" => list_activities(service, tenant, body),
        "GetActivityTask" => get_activity_task(service, tenant, body).await,
        _ => return None,
    })
}

async fn success(service: &Service, tenant: &TenantRecord, body: &[u8]) -> Result<Value, AwsError> {
    let req: SendTaskSuccess = super::ops::input(body)?;
    service
        .send_task_success(tenant, &req.task_token, &req.output)
        .await?;
    Ok(json!({}))
}

async fn failure(service: &Service, tenant: &TenantRecord, body: &[u8]) -> Result<Value, AwsError> {
    let req: SendTaskFailure = super::ops::input(body)?;
    service
        .send_task_failure(tenant, &req.task_token, req.error, req.cause)
        .await?;
    Ok(json!({}))
}

async fn heartbeat(
    service: &Service,
    tenant: &TenantRecord,
    body: &[u8],
) -> Result<Value, AwsError> {
    let req: SendTaskHeartbeat = super::ops::input(body)?;
    service.send_task_heartbeat(tenant, &req.task_token).await?;
    Ok(json!({}))
}

/// The caller's activity an ARN names (another tenant's is one that does not exist).
fn activity_name(tenant: &TenantRecord, arn: &str) -> Result<String, AwsError> {
    parse_activity_arn(&tenant.id, arn)?.ok_or_else(|| {
        AwsError::Service(ServiceError::NotFound {
            what: Resource::Activity,
            name: arn.to_string(),
        })
    })
}

async fn create_activity(
    service: &Service,
    tenant: &TenantRecord,
    body: &[u8],
) -> Result<Value, AwsError> {
    let req: CreateActivity = super::ops::input(body)?;
    let a = service.create_activity(tenant, &req.name).await?;
    Ok(json!({
        "activityArn": activity_arn(&tenant.id, &a.name),
        "creationDate": epoch(a.created_ms),
    }))
}

fn describe_activity(
    service: &Service,
    tenant: &TenantRecord,
    body: &[u8],
) -> Result<Value, AwsError> {
    let req: ActivityArn = super::ops::input(body)?;
    let a = service.describe_activity(tenant, &activity_name(tenant, &req.activity_arn)?)?;
    Ok(json!({
        "activityArn": activity_arn(&tenant.id, &a.name),
        "name": a.name,
        "creationDate": epoch(a.created_ms),
    }))
}

async fn delete_activity(
    service: &Service,
    tenant: &TenantRecord,
    body: &[u8],
) -> Result<Value, AwsError> {
    let req: ActivityArn = super::ops::input(body)?;
    // Another tenant's ARN: nothing of the caller's to delete (AWS answers success).
    if let Some(name) = parse_activity_arn(&tenant.id, &req.activity_arn)? {
        service.delete_activity(tenant, &name).await?;
    }
    Ok(json!({}))
}

fn list_activities(
    service: &Service,
    tenant: &TenantRecord,
    body: &[u8],
) -> Result<Value, AwsError> {
    let req: Paged = super::ops::input(body)?;
    let page = service.list_activities(tenant, req.max_results, req.next_token.as_deref())?;
    let activities: Vec<Value> = page
        .items
        .iter()
        .map(|a| {
            json!({
                "activityArn": activity_arn(&tenant.id, &a.name),
                "name": a.name,
                "creationDate": epoch(a.created_ms),
            })
        })
        .collect();
    let mut out = json!({ "activities": activities });
    if let Some(t) = page.next_token {
        out["nextToken"] = json!(t);
    }
    Ok(out)
}

/// Long-polls up to 60 s; no task is `{}` (boto3 then has no `taskToken`), as AWS answers.
async fn get_activity_task(
    service: &Service,
    tenant: &TenantRecord,
    body: &[u8],
) -> Result<Value, AwsError> {
    let req: GetActivityTask = super::ops::input(body)?;
    let name = activity_name(tenant, &req.activity_arn)?;
    Ok(
        match service
            .get_activity_task(tenant, &name, req.worker_name)
            .await?
        {
            Some((token, input)) => json!({"taskToken": token, "input": input.to_string()}),
            None => json!({}),
        },
    )
}
