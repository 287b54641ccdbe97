//! One handler per AWS action: read AWS's input shape, resolve ARNs to the caller's names
//! (another tenant's ARN is a name that does not exist), call the service, write AWS's
//! output shape. [`NOT_OFFERED`] is the one list of Step Functions actions this server
//! answers with a named `UnsupportedOperation` instead. Versions, aliases and tags are in
//! [`super::ops_versions`].

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::error::AwsError;
use super::ops_versions as v;
use super::shapes::{self as s, epoch};
use crate::engine::ports::ExecutionStatus;
use crate::service::{
    ExecutionRef, HistoryQuery, ListExecutionsQuery, MachineRef, NewStateMachine, Page, Service,
    ServiceError, StateMachineUpdate, StopRequest, execution_arn, state_machine_arn,
    state_machine_version_arn,
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
    "PublishStateMachineVersion",
    "ListStateMachineVersions",
    "DeleteStateMachineVersion",
    "CreateStateMachineAlias",
    "DescribeStateMachineAlias",
    "UpdateStateMachineAlias",
    "DeleteStateMachineAlias",
    "ListStateMachineAliases",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
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
    ("RedriveExecution", "redrive is not available yet"),
    ("TestState", "TestState is not available yet"),
    ("DescribeMapRun", "Distributed Map runs are not available"),
    ("ListMapRuns", "Distributed Map runs are not available"),
    ("UpdateMapRun", "Distributed Map runs are not available"),
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
        "PublishStateMachineVersion" => v::publish(sv, t, input(body)?).await,
        "ListStateMachineVersions" => v::list_versions(sv, t, input(body)?),
        "DeleteStateMachineVersion" => v::delete_version(sv, t, input(body)?).await,
        "CreateStateMachineAlias" => v::create_alias(sv, t, input(body)?).await,
        "DescribeStateMachineAlias" => v::describe_alias(sv, t, input(body)?),
        "UpdateStateMachineAlias" => v::update_alias(sv, t, input(body)?).await,
        "DeleteStateMachineAlias" => v::delete_alias(sv, t, input(body)?).await,
        "ListStateMachineAliases" => v::list_aliases(sv, t, input(body)?),
        "TagResource" => v::tag(sv, t, input(body)?).await,
        "UntagResource" => v::untag(sv, t, input(body)?).await,
        "ListTagsForResource" => v::list_tags(sv, t, input(body)?),
        other => Err(match NOT_OFFERED.iter().find(|(a, _)| *a == other) {
            Some((a, why)) => AwsError::Service(ServiceError::Unsupported {
                action: a.to_string(),
                reason: why.to_string(),
            }),
            None => AwsError::UnknownOperation(format!(
                "{} is not a Step Functions action",
                other.chars().take(128).collect::<String>()
            )),
        }),
    }
}

/// Parses an action's input; an empty body is `{}`.
fn input<T: DeserializeOwned>(body: &[u8]) -> Result<T, AwsError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| AwsError::Serialization(e.to_string()))
}

/// The caller's state machine, version or alias an ARN names.
pub(super) fn machine(tenant: &TenantRecord, arn: &str) -> Result<MachineRef, AwsError> {
    Ok(MachineRef::from_arn(&tenant.id, arn)?)
}

/// The caller's state machine an ARN names, where a version or alias is not taken.
pub(super) fn plain_machine(
    tenant: &TenantRecord,
    arn: &str,
    action: &str,
) -> Result<String, AwsError> {
    Ok(machine(tenant, arn)?.unqualified(action)?)
}

/// The caller's execution an ARN names.
fn execution(tenant: &TenantRecord, arn: &str) -> Result<ExecutionRef, AwsError> {
    Ok(ExecutionRef::from_arn(&tenant.id, arn)?)
}

async fn create_state_machine(
    service: &Service,
    tenant: &TenantRecord,
    req: s::CreateStateMachine,
) -> Result<Value, AwsError> {
    let written = service
        .create_state_machine(
            tenant,
            NewStateMachine {
                name: req.name,
                definition: req.definition,
                machine_type: req.machine_type,
                role_arn: req.role_arn,
                logging: req.logging_configuration,
                tracing: req.tracing_configuration,
                tags: s::tags(req.tags),
                publish: req.publish,
                version_description: req.version_description,
            },
        )
        .await?;
    let m = &written.revision;
    let mut out = json!({
        "stateMachineArn": state_machine_arn(&tenant.id, &m.name),
        "creationDate": epoch(m.created_ms),
    });
    if let Some(version) = &written.version {
        out["stateMachineVersionArn"] = json!(state_machine_version_arn(
            &tenant.id,
            &m.name,
            version.version
        ));
    }
    Ok(out)
}

fn describe_state_machine(
    service: &Service,
    tenant: &TenantRecord,
    req: s::StateMachineArn,
) -> Result<Value, AwsError> {
    let target = machine(tenant, &req.state_machine_arn)?;
    let description = service.describe_machine(tenant, &target)?;
    // A state machine's creationDate is its first revision's.
    let created_ms = match &description.version {
        Some(_) => description.revision.created_ms,
        None => service
            .describe_state_machine(tenant, &target.name)?
            .first()
            .map_or(description.revision.created_ms, |m| m.created_ms),
    };
    Ok(s::describe_state_machine(
        &tenant.id,
        &description,
        created_ms,
    ))
}

async fn update_state_machine(
    service: &Service,
    tenant: &TenantRecord,
    req: s::UpdateStateMachine,
) -> Result<Value, AwsError> {
    let name = plain_machine(tenant, &req.state_machine_arn, "UpdateStateMachine")?;
    let written = service
        .update_state_machine(
            tenant,
            &name,
            StateMachineUpdate {
                definition: req.definition,
                role_arn: req.role_arn,
                logging: req.logging_configuration,
                tracing: req.tracing_configuration,
                publish: req.publish,
                version_description: req.version_description,
            },
        )
        .await?;
    let m = &written.revision;
    let mut out = json!({ "updateDate": epoch(m.created_ms) });
    if let Some(id) = &m.revision_id {
        out["revisionId"] = json!(id);
    }
    if let Some(version) = &written.version {
        out["stateMachineVersionArn"] = json!(state_machine_version_arn(
            &tenant.id,
            &m.name,
            version.version
        ));
    }
    Ok(out)
}

async fn delete_state_machine(
    service: &Service,
    tenant: &TenantRecord,
    req: s::StateMachineArn,
) -> Result<Value, AwsError> {
    // AWS's DeleteStateMachine succeeds for a state machine that is not there.
    let name = match plain_machine(tenant, &req.state_machine_arn, "DeleteStateMachine") {
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
    Ok(page_json("stateMachines", page, |m| {
        s::state_machine_item(&tenant.id, &m)
    }))
}

/// One page of a list action: `{"<key>": [items], "nextToken": ...}` (no token on the last).
pub(super) fn page_json<T>(key: &str, page: Page<T>, item: impl FnMut(T) -> Value) -> Value {
    let mut v = json!({ key: page.items.into_iter().map(item).collect::<Vec<Value>>() });
    if let Some(t) = page.next_token {
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
    let target = machine(tenant, &req.state_machine_arn)?;
    let started = service
        .start_execution(tenant, &target, req.name, req.input)
        .await?;
    let r = &started.record;
    Ok(json!({
        "executionArn": execution_arn(&r.tenant, &r.state_machine, &r.name),
        "startDate": epoch(r.start_ms),
    }))
}

async fn start_sync_execution(
    service: &Service,
    tenant: &TenantRecord,
    req: s::Start,
) -> Result<Value, AwsError> {
    let target = machine(tenant, &req.state_machine_arn)?;
    let run = service
        .start_sync_execution(tenant, &target, req.name, req.input)
        .await?;
    let r = run.record;
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
    v["billingDetails"] = json!({
        "billedMemoryUsedInMB": run.billing.billed_memory_used_mb,
        "billedDurationInMilliseconds": run.billing.billed_duration_ms,
    });
    Ok(v)
}

fn describe_execution(
    service: &Service,
    tenant: &TenantRecord,
    req: s::ExecutionArn,
) -> Result<Value, AwsError> {
    let e = execution(tenant, &req.execution_arn)?;
    let r = service.describe_execution(tenant, &e.state_machine, &e.name)?;
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
    if req.redrive_filter.is_some() {
        return Err(ServiceError::Unsupported {
            action: "ListExecutions with redriveFilter".into(),
            reason: "redrive is not available yet".into(),
        }
        .into());
    }
    let arn = req
        .state_machine_arn
        .ok_or_else(|| ServiceError::Validation {
            message: "ListExecutions needs a stateMachineArn or a mapRunArn".into(),
        })?;
    let query = ListExecutionsQuery {
        // A version or alias ARN lists the executions of that version or alias.
        state_machine: Some(machine(tenant, &arn)?),
        status: req.status_filter,
        max_results: req.max_results,
        next_token: req.next_token,
    };
    let page = service.list_executions(tenant, &query)?;
    Ok(page_json("executions", page, |e| s::execution_item(&e)))
}

fn history(service: &Service, tenant: &TenantRecord, req: s::History) -> Result<Value, AwsError> {
    let e = execution(tenant, &req.execution_arn)?;
    let query = HistoryQuery {
        max_results: req.max_results,
        next_token: req.next_token,
        reverse_order: req.reverse_order,
    };
    let page = service.execution_history(tenant, &e.state_machine, &e.name, &query)?;
    let include = req.include_execution_data.unwrap_or(true);
    Ok(page_json("events", page, |e| s::history_event(e, include)))
}

async fn stop_execution(
    service: &Service,
    tenant: &TenantRecord,
    req: s::Stop,
) -> Result<Value, AwsError> {
    let e = execution(tenant, &req.execution_arn)?;
    let stop = StopRequest {
        error: req.error,
        cause: req.cause,
    };
    let r = service
        .stop_execution(tenant, &e.state_machine, &e.name, stop)
        .await?;
    Ok(json!({ "stopDate": epoch(r.stop_ms.unwrap_or(r.start_ms)) }))
}

fn machine_for_execution(
    service: &Service,
    tenant: &TenantRecord,
    req: s::ExecutionArn,
) -> Result<Value, AwsError> {
    let e = execution(tenant, &req.execution_arn)?;
    let (_, m) = service.describe_state_machine_for_execution(tenant, &e.state_machine, &e.name)?;
    Ok(s::machine_for_execution(&tenant.id, &m))
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
            .chain(NOT_OFFERED.iter().map(|(a, _)| *a))
            .collect();
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n, "an action is both served and refused");
        assert_eq!(n, 37);
    }
}
