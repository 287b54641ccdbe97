//! The AWS actions on published versions, aliases and tags: each reads AWS's input shape,
//! resolves the ARNs (another tenant's ARN names nothing: does not exist), calls one
//! service operation and writes AWS's output shape.

use serde_json::{Value, json};

use super::error::AwsError;
use super::ops::{machine, page_json, plain_machine};
use super::shapes::{self as s, epoch};
use crate::service::{Resource, Route, Service, ServiceError, TagTarget, state_machine_alias_arn};
use crate::store::TenantRecord;

/// Alias actions name only `ResourceNotFound` (AWS's model): a state machine or version
/// that is not there is reported so.
fn as_resource(e: ServiceError) -> ServiceError {
    match e {
        ServiceError::NotFound { name, .. } => ServiceError::NotFound {
            what: Resource::Tagged,
            name,
        },
        other => other,
    }
}

/// The caller's alias an ARN names: (state machine, alias).
fn alias_of(tenant: &TenantRecord, arn: &str, action: &str) -> Result<(String, String), AwsError> {
    let target = machine(tenant, arn).map_err(|e| match e {
        AwsError::Service(e) => AwsError::Service(as_resource(e)),
        other => other,
    })?;
    let alias = target.alias(action)?.to_string();
    Ok((target.name, alias))
}

/// AWS's routing configuration as the service takes it (each version ARN resolved).
fn routes(tenant: &TenantRecord, items: &[s::Route]) -> Result<Vec<Route>, AwsError> {
    items
        .iter()
        .map(|r| {
            Ok(Route {
                version: machine(tenant, &r.state_machine_version_arn).map_err(|e| match e {
                    AwsError::Service(e) => AwsError::Service(as_resource(e)),
                    other => other,
                })?,
                weight: r.weight,
            })
        })
        .collect()
}

pub(super) async fn publish(
    service: &Service,
    tenant: &TenantRecord,
    req: s::Publish,
) -> Result<Value, AwsError> {
    let name = plain_machine(tenant, &req.state_machine_arn, "PublishStateMachineVersion")?;
    let v = service
        .publish_state_machine_version(tenant, &name, req.revision_id.as_deref(), req.description)
        .await?;
    Ok(s::version_item(&tenant.id, &v))
}

pub(super) fn list_versions(
    service: &Service,
    tenant: &TenantRecord,
    req: s::PagedOfMachine,
) -> Result<Value, AwsError> {
    let name = plain_machine(tenant, &req.state_machine_arn, "ListStateMachineVersions")?;
    let page = service.list_state_machine_versions(
        tenant,
        &name,
        req.max_results,
        req.next_token.as_deref(),
    )?;
    Ok(page_json("stateMachineVersions", page, |v| {
        s::version_item(&tenant.id, &v)
    }))
}

pub(super) async fn delete_version(
    service: &Service,
    tenant: &TenantRecord,
    req: s::VersionArn,
) -> Result<Value, AwsError> {
    // Deleting a version that is not there (or another tenant's) succeeds, as in AWS.
    let target = match machine(tenant, &req.state_machine_version_arn) {
        Err(AwsError::Service(ServiceError::NotFound { .. })) => return Ok(json!({})),
        other => other?,
    };
    let version = target.version("DeleteStateMachineVersion")?;
    match service
        .delete_state_machine_version(tenant, &target.name, version)
        .await
    {
        Ok(()) | Err(ServiceError::NotFound { .. }) => Ok(json!({})),
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn create_alias(
    service: &Service,
    tenant: &TenantRecord,
    req: s::CreateAlias,
) -> Result<Value, AwsError> {
    let routing = routes(tenant, &req.routing_configuration)?;
    // The alias belongs to the state machine its versions belong to.
    let Some(first) = routing.first() else {
        return Err(ServiceError::Validation {
            message: "invalid routing configuration: it routes to one or two versions".into(),
        }
        .into());
    };
    let name = first.version.name.clone();
    let a = service
        .create_state_machine_alias(tenant, &name, &req.name, req.description, &routing)
        .await
        .map_err(as_resource)?;
    Ok(json!({
        "stateMachineAliasArn": state_machine_alias_arn(&tenant.id, &a.name, &a.alias),
        "creationDate": epoch(a.created_ms),
    }))
}

pub(super) fn describe_alias(
    service: &Service,
    tenant: &TenantRecord,
    req: s::AliasArn,
) -> Result<Value, AwsError> {
    let (name, alias) = alias_of(
        tenant,
        &req.state_machine_alias_arn,
        "DescribeStateMachineAlias",
    )?;
    let a = service
        .describe_state_machine_alias(tenant, &name, &alias)
        .map_err(as_resource)?;
    Ok(s::describe_alias(&tenant.id, &a))
}

pub(super) async fn update_alias(
    service: &Service,
    tenant: &TenantRecord,
    req: s::UpdateAlias,
) -> Result<Value, AwsError> {
    let (name, alias) = alias_of(
        tenant,
        &req.state_machine_alias_arn,
        "UpdateStateMachineAlias",
    )?;
    let routing = req
        .routing_configuration
        .as_deref()
        .map(|r| routes(tenant, r))
        .transpose()?;
    let a = service
        .update_state_machine_alias(tenant, &name, &alias, req.description, routing.as_deref())
        .await
        .map_err(as_resource)?;
    Ok(json!({ "updateDate": epoch(a.updated_ms) }))
}

pub(super) async fn delete_alias(
    service: &Service,
    tenant: &TenantRecord,
    req: s::AliasArn,
) -> Result<Value, AwsError> {
    let (name, alias) = alias_of(
        tenant,
        &req.state_machine_alias_arn,
        "DeleteStateMachineAlias",
    )?;
    service
        .delete_state_machine_alias(tenant, &name, &alias)
        .await
        .map_err(as_resource)?;
    Ok(json!({}))
}

pub(super) fn list_aliases(
    service: &Service,
    tenant: &TenantRecord,
    req: s::PagedOfMachine,
) -> Result<Value, AwsError> {
    // A version ARN lists the aliases that route to that version.
    let target = machine(tenant, &req.state_machine_arn)?;
    let page = service.list_state_machine_aliases(
        tenant,
        &target,
        req.max_results,
        req.next_token.as_deref(),
    )?;
    Ok(page_json("stateMachineAliases", page, |a| {
        s::alias_item(&tenant.id, &a)
    }))
}

pub(super) async fn tag(
    service: &Service,
    tenant: &TenantRecord,
    req: s::TagResource,
) -> Result<Value, AwsError> {
    let target = TagTarget::from_arn(&tenant.id, &req.resource_arn)?;
    service
        .tag_resource(tenant, &target, s::tags(req.tags))
        .await?;
    Ok(json!({}))
}

pub(super) async fn untag(
    service: &Service,
    tenant: &TenantRecord,
    req: s::UntagResource,
) -> Result<Value, AwsError> {
    let target = TagTarget::from_arn(&tenant.id, &req.resource_arn)?;
    service
        .untag_resource(tenant, &target, req.tag_keys)
        .await?;
    Ok(json!({}))
}

pub(super) fn list_tags(
    service: &Service,
    tenant: &TenantRecord,
    req: s::ResourceArn,
) -> Result<Value, AwsError> {
    let target = TagTarget::from_arn(&tenant.id, &req.resource_arn)?;
    let tags = service.list_tags_for_resource(tenant, &target)?;
    Ok(json!({ "tags": tags }))
}
