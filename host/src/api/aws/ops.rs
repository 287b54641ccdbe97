//! One handler per AWS action: read AWS's input shape, resolve ARNs to the caller's names
//! (another tenant's ARN is a name that does not exist), call the service, write AWS's
//! output shape. [`NOT_OFFERED`] is the one list of Step Functions actions this server
//! answers with a named `UnsupportedOperation` instead.

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::error::AwsError;
use super::shapes::{self as s, epoch};
use crate::engine::ports::ExecutionStatus;
use crate::service::{
    ArnTarget, HistoryQuery, ListExecutionsQuery, Resource, Service, ServiceError, StopRequest,
    execution_arn, parse_arn, state_machine_arn,
};
use crate::store::TenantRecord;

/// Actions served here.
pub const ACTIONS: &[&str] = &[
    "CreateStateMachine",
    "DescribeStateMachine",
    "UpdateStateMachine",
    "DeleteStateMachine",
    "ListStateMachines",
    "ValidateStateMachineDefinition",
    "StartExecution",
    "StartSyncExecution",
    "DescribeExecution",
    "ListExecutions",
    "GetExecutionHistory",
    "StopExecution",
    "DescribeStateMachineForExecution",
];

/// Step Functions actions not offered yet, each with why. The work that brings each
/// capability removes its rows; a test walks botocore's model so every other action must
/// be in [`ACTIONS`].
pub const NOT_OFFERED: &[(&str, &str)] = &[
    ("CreateActivity", "activities are not available yet"),
    ("DeleteActivity", "activities are not available yet"),
    ("DescribeActivity", "activities are not available yet"),
    ("GetActivityTask", "activities are not available yet"),
    ("ListActivities", "activities are not available yet"),
    (
        "SendTaskSuccess",
        "task tokens (.waitForTaskToken) are not available yet",
    ),
    (
        "SendTaskFailure",
        "task tokens (.waitForTaskToken) are not available yet",
    ),
    (
        "SendTaskHeartbeat",
        "task tokens (.waitForTaskToken) are not available yet",
    ),
    ("DescribeMapRun", "Distributed Map runs are not available"),
    ("ListMapRuns", "Distributed Map runs are not available"),
    ("UpdateMapRun", "Distributed Map runs are not available"),
    (
        "PublishStateMachineVersion",
        "state machine versions are not available yet",
    ),
    (
        "ListStateMachineVersions",
        "state machine versions are not available yet",
    ),
    (
        "DeleteStateMachineVersion",
        "state machine versions are not available yet",
    ),
    (
        "CreateStateMachineAlias",
        "state machine aliases are not available yet",
    ),
    (
        "DescribeStateMachineAlias",
        "state machine aliases are not available yet",
    ),
    (
        "UpdateStateMachineAlias",
        "state machine aliases are not available yet",
    ),
    (
        "DeleteStateMachineAlias",
        "state machine aliases are not available yet",
    ),
    (
        "ListStateMachineAliases",
        "state machine aliases are not available yet",
    ),
    ("TagResource", "tags are not available yet"),
    ("UntagResource", "tags are not available yet"),
    ("ListTagsForResource", "tags are not available yet"),
];

/// Runs one action for a tenant.
pub async fn dispatch(
    service: &Service,
    tenant: &TenantRecord,
    action: &str,
    body: &[u8],
) -> Result<Value, AwsError> {
    let (sv, t) = (service, tenant);
    match action {
        "CreateStateMachine" => create_state_machine(sv, t, input(body)?).await,
        "DescribeStateMachine" => describe_state_machine(sv, t, input(body)?),
        "UpdateStateMachine" => update_state_machine(sv, t, input(body)?).await,
        "DeleteStateMachine" => delete_state_machine(sv, t, input(body)?).await,
        "ListStateMachines" => list_state_machines(sv, t, input(body)?),
        "ValidateStateMachineDefinition" => validate(sv, t, input(body)?),
        "StartExecution" => start_execution(sv, t, input(body)?).await,
        "StartSyncExecution" => start_sync_execution(sv, t, input(body)?).await,
        "DescribeExecution" => describe_execution(sv, t, input(body)?),
        "ListExecutions" => list_executions(sv, t, input(body)?),
        "GetExecutionHistory" => history(sv, t, input(body)?),
        "StopExecution" => stop_execution(sv, t, input(body)?).await,
        "DescribeStateMachineForExecution" => machine_for_execution(sv, t, input(body)?),
        other => match super::ops_debug::dispatch(sv, t, other, body).await {
            Some(done) => done,
            None => refuse(other),
        },
    }
}

/// An action not served: `UnsupportedOperation` naming why, or not an action at all.
fn refuse(action: &str) -> Result<Value, AwsError> {
    Err(match NOT_OFFERED.iter().find(|(a, _)| *a == action) {
        Some((a, why)) => AwsError::Service(ServiceError::Unsupported {
            action: a.to_string(),
            reason: why.to_string(),
        }),
        None => AwsError::UnknownOperation(format!(
            "{} is not a Step Functions action",
            action.chars().take(128).collect::<String>()
        )),
    })
}

/// Parses an action's input; an empty body is `{}`.
pub(super) fn input<T: DeserializeOwned>(body: &[u8]) -> Result<T, AwsError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| AwsError::Serialization(e.to_string()))
}

fn not_found(what: Resource, name: &str) -> AwsError {
    AwsError::Service(ServiceError::NotFound {
        what,
        name: name.to_string(),
    })
}

/// The caller's state machine an ARN names. Version and alias ARNs are not served yet.
fn machine_name(tenant: &TenantRecord, arn: &str) -> Result<String, AwsError> {
    match parse_arn(&tenant.id, arn)? {
        Some(ArnTarget::StateMachine(name)) => Ok(name),
        Some(ArnTarget::QualifiedStateMachine(..)) => {
            Err(AwsError::Service(ServiceError::Unsupported {
                action: "a version or alias ARN".into(),
                reason: "state machine versions and aliases are not available yet".into(),
            }))
        }
        None => Err(not_found(Resource::StateMachine, arn)),
        Some(ArnTarget::Execution(..)) => Err(ServiceError::InvalidArn {
            arn: arn.to_string(),
        }
        .into()),
    }
}

/// The caller's execution an ARN names: (state machine, execution).
pub(super) fn execution_name(
    tenant: &TenantRecord,
    arn: &str,
) -> Result<(String, String), AwsError> {
    match parse_arn(&tenant.id, arn)? {
        Some(ArnTarget::Execution(machine, name)) => Ok((machine, name)),
        None => Err(not_found(Resource::Execution, arn)),
        Some(_) => Err(ServiceError::InvalidArn {
            arn: arn.to_string(),
        }
        .into()),
    }
}

async fn create_state_machine(
    service: &Service,
    tenant: &TenantRecord,
    req: s::CreateStateMachine,
) -> Result<Value, AwsError> {
    let m = service
        .create_state_machine(
            tenant,
            &req.name,
            req.definition,
            req.machine_type.as_deref(),
        )
        .await?;
    Ok(json!({
        "stateMachineArn": state_machine_arn(&tenant.id, &m.name),
        "creationDate": epoch(m.created_ms),
    }))
}

fn describe_state_machine(
    service: &Service,
    tenant: &TenantRecord,
    req: s::StateMachineArn,
) -> Result<Value, AwsError> {
    let name = machine_name(tenant, &req.state_machine_arn)?;
    let versions = service.describe_state_machine(tenant, &name)?;
    match (versions.first(), versions.last()) {
        (Some(first), Some(latest)) => Ok(s::describe_state_machine(&tenant.id, first, latest)),
        _ => Err(not_found(Resource::StateMachine, &name)),
    }
}

async fn update_state_machine(
    service: &Service,
    tenant: &TenantRecord,
    req: s::UpdateStateMachine,
) -> Result<Value, AwsError> {
    let name = machine_name(tenant, &req.state_machine_arn)?;
    let Some(definition) = req.definition else {
        if req.role_arn.is_none()
            && req.logging_configuration.is_none()
            && req.tracing_configuration.is_none()
        {
            return Err(ServiceError::Validation {
                message: "UpdateStateMachine needs a definition, roleArn, \
                          loggingConfiguration or tracingConfiguration"
                    .into(),
            }
            .into());
        }
        // Nothing stepwasm stores changes: the state machine stays as it is.
        let latest = service.latest_machine(tenant, &name)?;
        return Ok(json!({ "updateDate": epoch(latest.created_ms) }));
    };
    let m = service
        .update_state_machine(tenant, &name, definition)
        .await?;
    Ok(json!({ "updateDate": epoch(m.created_ms) }))
}

async fn delete_state_machine(
    service: &Service,
    tenant: &TenantRecord,
    req: s::StateMachineArn,
) -> Result<Value, AwsError> {
    // AWS's DeleteStateMachine succeeds for a state machine that is not there.
    let name = match machine_name(tenant, &req.state_machine_arn) {
        Err(AwsError::Service(ServiceError::NotFound { .. })) => return Ok(json!({})),
        other => other?,
    };
    match service.delete_state_machine(tenant, &name).await {
        Ok(()) | Err(ServiceError::NotFound { .. }) => Ok(json!({})),
        Err(e) => Err(e.into()),
    }
}

fn list_state_machines(
    service: &Service,
    tenant: &TenantRecord,
    req: s::Paged,
) -> Result<Value, AwsError> {
    let page = service.list_state_machines(tenant, req.max_results, req.next_token.as_deref())?;
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|m| s::state_machine_item(&tenant.id, m))
        .collect();
    Ok(with_token(
        json!({ "stateMachines": items }),
        page.next_token,
    ))
}

fn with_token(mut v: Value, token: Option<String>) -> Value {
    if let Some(t) = token {
        v["nextToken"] = json!(t);
    }
    v
}

/// Largest `maxResults` of `ValidateStateMachineDefinition` (AWS: 100, also the default).
const MAX_DIAGNOSTICS: usize = 100;

fn validate(service: &Service, tenant: &TenantRecord, req: s::Validate) -> Result<Value, AwsError> {
    if let Some(t) = req.machine_type.as_deref()
        && t != "STANDARD"
        && t != "EXPRESS"
    {
        return Err(ServiceError::Validation {
            message: format!("type must be STANDARD or EXPRESS, got '{t}'"),
        }
        .into());
    }
    let with_warnings = match req.severity.as_deref() {
        None | Some("ERROR") => false,
        Some("WARNING") => true,
        Some(other) => {
            return Err(ServiceError::Validation {
                message: format!("severity must be ERROR or WARNING, got '{other}'"),
            }
            .into());
        }
    };
    let max = match req.max_results {
        None | Some(0) => MAX_DIAGNOSTICS,
        Some(n) if (1..=MAX_DIAGNOSTICS as i64).contains(&n) => n as usize,
        Some(n) => {
            return Err(ServiceError::Validation {
                message: format!("maxResults must be between 0 and 100, got {n}"),
            }
            .into());
        }
    };
    let report = service.check_definition(Some(tenant), &req.definition)?;
    let shown: Vec<_> = report
        .diagnostics
        .iter()
        .filter(|d| with_warnings || d.severity == "ERROR")
        .collect();
    let truncated = shown.len() > max;
    Ok(json!({
        "result": report.result,
        "diagnostics": shown.iter().take(max).map(|d| s::diagnostic(d)).collect::<Vec<_>>(),
        "truncated": truncated,
    }))
}

async fn start_execution(
    service: &Service,
    tenant: &TenantRecord,
    req: s::Start,
) -> Result<Value, AwsError> {
    let name = machine_name(tenant, &req.state_machine_arn)?;
    let started = service
        .start_execution(tenant, &name, req.name, req.input)
        .await?;
    let r = &started.record;
    Ok(json!({
        "executionArn": execution_arn(&r.tenant, &r.state_machine, &r.name),
        "startDate": epoch(r.start_ms),
    }))
}

/// AWS bills EXPRESS executions in 100 ms steps of duration, at 64 MB at least.
const BILLING_STEP_MS: i64 = 100;
const BILLED_MEMORY_MB: i64 = 64;

async fn start_sync_execution(
    service: &Service,
    tenant: &TenantRecord,
    req: s::Start,
) -> Result<Value, AwsError> {
    let name = machine_name(tenant, &req.state_machine_arn)?;
    let r = service
        .start_sync_execution(tenant, &name, req.name, req.input)
        .await?;
    let mut v = s::describe_execution(&r);
    // A synchronous execution ends SUCCEEDED, FAILED or TIMED_OUT (AWS's enum).
    if !matches!(
        r.status,
        ExecutionStatus::Succeeded | ExecutionStatus::TimedOut
    ) {
        v["status"] = json!("FAILED");
    }
    let stop = r.stop_ms.unwrap_or(r.start_ms);
    v["stopDate"] = epoch(stop);
    let duration = (stop - r.start_ms).max(1);
    v["billingDetails"] = json!({
        "billedMemoryUsedInMB": BILLED_MEMORY_MB,
        "billedDurationInMilliseconds": (duration + BILLING_STEP_MS - 1) / BILLING_STEP_MS * BILLING_STEP_MS,
    });
    Ok(v)
}

fn describe_execution(
    service: &Service,
    tenant: &TenantRecord,
    req: s::ExecutionArn,
) -> Result<Value, AwsError> {
    let (machine, name) = execution_name(tenant, &req.execution_arn)?;
    let r = service.describe_execution(tenant, &machine, &name)?;
    Ok(s::describe_execution(&r))
}

fn list_executions(
    service: &Service,
    tenant: &TenantRecord,
    req: s::ListExecutions,
) -> Result<Value, AwsError> {
    if req.map_run_arn.is_some() {
        return Err(ServiceError::Unsupported {
            action: "ListExecutions with mapRunArn".into(),
            reason: "Distributed Map runs are not available".into(),
        }
        .into());
    }
    let arn = req
        .state_machine_arn
        .ok_or_else(|| ServiceError::Validation {
            message: "ListExecutions needs a stateMachineArn or a mapRunArn".into(),
        })?;
    let query = ListExecutionsQuery {
        state_machine: Some(machine_name(tenant, &arn)?),
        status: req.status_filter,
        redrive_filter: req.redrive_filter,
        max_results: req.max_results,
        next_token: req.next_token,
    };
    let page = service.list_executions(tenant, &query)?;
    let items: Vec<Value> = page.items.iter().map(s::execution_item).collect();
    Ok(with_token(json!({ "executions": items }), page.next_token))
}

fn history(service: &Service, tenant: &TenantRecord, req: s::History) -> Result<Value, AwsError> {
    let (machine, name) = execution_name(tenant, &req.execution_arn)?;
    let query = HistoryQuery {
        max_results: req.max_results,
        next_token: req.next_token,
        reverse_order: req.reverse_order,
    };
    let page = service.execution_history(tenant, &machine, &name, &query)?;
    let include = req.include_execution_data.unwrap_or(true);
    let events: Vec<Value> = page
        .items
        .into_iter()
        .map(|e| s::history_event(e, include))
        .collect();
    Ok(with_token(json!({ "events": events }), page.next_token))
}

async fn stop_execution(
    service: &Service,
    tenant: &TenantRecord,
    req: s::Stop,
) -> Result<Value, AwsError> {
    let (machine, name) = execution_name(tenant, &req.execution_arn)?;
    let stop = StopRequest {
        error: req.error,
        cause: req.cause,
    };
    let r = service
        .stop_execution(tenant, &machine, &name, stop)
        .await?;
    Ok(json!({ "stopDate": epoch(r.stop_ms.unwrap_or(r.start_ms)) }))
}

fn machine_for_execution(
    service: &Service,
    tenant: &TenantRecord,
    req: s::ExecutionArn,
) -> Result<Value, AwsError> {
    let (machine, name) = execution_name(tenant, &req.execution_arn)?;
    let m = service.state_machine_of_execution(tenant, &machine, &name)?;
    Ok(json!({
        "stateMachineArn": state_machine_arn(&tenant.id, &m.name),
        "name": m.name,
        "definition": m.definition,
        "roleArn": s::role_arn(&tenant.id),
        "updateDate": epoch(m.created_ms),
        "loggingConfiguration": s::default_logging(),
        "tracingConfiguration": s::default_tracing(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_of_the_model_is_served_or_refused_by_name_once() {
        // botocore's stepfunctions 2016-11-23 model has 37 operations; the client test
        // (tests/aws/boto3_client.py) calls each of them against a real server.
        let mut all: Vec<&str> = ACTIONS
            .iter()
            .copied()
            .chain(super::super::ops_debug::ACTIONS.iter().copied())
            .chain(NOT_OFFERED.iter().map(|(a, _)| *a))
            .collect();
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n, "an action is both served and refused");
        assert_eq!(n, 37);
    }
}
