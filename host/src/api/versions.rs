//! Route handlers for AWS's state machine versions, aliases and tags, and the definition
//! an execution ran. Each parses, calls one service operation, and shapes the reply.

use axum::extract::State;
use serde::Deserialize;
use serde_json::json;

use super::extract::{JsonBody, PathArgs, QueryArgs, TenantCaller};
use super::handlers::{PageArgs, Reply, created, ok};
use super::views;
use crate::service::{MachineRef, Qualifier, Route, Service, ServiceError, TagTarget};
use crate::store::Tag;

fn version_number(text: &str) -> Result<u64, ServiceError> {
    text.parse::<u64>()
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| ServiceError::Validation {
            message: format!("a version is a positive integer, got '{text}'"),
        })
}

// ---- versions ----

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Publish {
    revision_id: Option<String>,
    description: Option<String>,
}

pub async fn publish_version(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    PathArgs(name): PathArgs<String>,
    JsonBody(req): JsonBody<Publish>,
) -> Reply {
    let v = service
        .publish_state_machine_version(&tenant, &name, req.revision_id.as_deref(), req.description)
        .await?;
    created(views::version_item(&tenant.id, &v))
}

pub async fn list_versions(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    PathArgs(name): PathArgs<String>,
    QueryArgs(q): QueryArgs<PageArgs>,
) -> Reply {
    let page = service.list_state_machine_versions(
        &tenant,
        &name,
        q.max_results,
        q.next_token.as_deref(),
    )?;
    ok(json!({
        "stateMachineVersions": page.items.iter().map(|v| views::version_item(&tenant.id, v)).collect::<Vec<_>>(),
        "nextToken": page.next_token,
    }))
}

pub async fn describe_version(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    PathArgs((name, version)): PathArgs<(String, String)>,
) -> Reply {
    let target = MachineRef {
        name,
        qualifier: Some(Qualifier::Version(version_number(&version)?)),
    };
    ok(views::described(
        &tenant.id,
        &service.describe_machine(&tenant, &target)?,
    ))
}

pub async fn delete_version(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    PathArgs((name, version)): PathArgs<(String, String)>,
) -> Reply {
    service
        .delete_state_machine_version(&tenant, &name, version_number(&version)?)
        .await?;
    ok(json!({}))
}

// ---- aliases ----

/// One route as /v1 takes it: a version number of the same state machine.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RouteArg {
    version: u64,
    weight: i64,
}

fn routes(name: &str, args: &[RouteArg]) -> Vec<Route> {
    args.iter()
        .map(|r| Route {
            version: MachineRef {
                name: name.to_string(),
                qualifier: Some(Qualifier::Version(r.version)),
            },
            weight: r.weight,
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateAlias {
    name: String,
    description: Option<String>,
    routing_configuration: Vec<RouteArg>,
}

pub async fn create_alias(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    PathArgs(name): PathArgs<String>,
    JsonBody(req): JsonBody<CreateAlias>,
) -> Reply {
    let a = service
        .create_state_machine_alias(
            &tenant,
            &name,
            &req.name,
            req.description,
            &routes(&name, &req.routing_configuration),
        )
        .await?;
    created(views::alias(&tenant.id, &a))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ListAliasesArgs {
    version: Option<u64>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

pub async fn list_aliases(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    PathArgs(name): PathArgs<String>,
    QueryArgs(q): QueryArgs<ListAliasesArgs>,
) -> Reply {
    let target = MachineRef {
        name,
        qualifier: q.version.map(Qualifier::Version),
    };
    let page = service.list_state_machine_aliases(
        &tenant,
        &target,
        q.max_results,
        q.next_token.as_deref(),
    )?;
    ok(json!({
        "stateMachineAliases": page.items.iter().map(|a| views::alias(&tenant.id, a)).collect::<Vec<_>>(),
        "nextToken": page.next_token,
    }))
}

pub async fn describe_alias(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    PathArgs((name, alias)): PathArgs<(String, String)>,
) -> Reply {
    ok(views::alias(
        &tenant.id,
        &service.describe_state_machine_alias(&tenant, &name, &alias)?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateAlias {
    description: Option<String>,
    routing_configuration: Option<Vec<RouteArg>>,
}

pub async fn update_alias(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    PathArgs((name, alias)): PathArgs<(String, String)>,
    JsonBody(req): JsonBody<UpdateAlias>,
) -> Reply {
    let routing = req.routing_configuration.map(|r| routes(&name, &r));
    let a = service
        .update_state_machine_alias(&tenant, &name, &alias, req.description, routing.as_deref())
        .await?;
    ok(views::alias(&tenant.id, &a))
}

pub async fn delete_alias(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    PathArgs((name, alias)): PathArgs<(String, String)>,
) -> Reply {
    service
        .delete_state_machine_alias(&tenant, &name, &alias)
        .await?;
    ok(json!({}))
}

// ---- tags ----

pub async fn list_tags(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    PathArgs(name): PathArgs<String>,
) -> Reply {
    let tags = service.list_tags_for_resource(&tenant, &TagTarget::StateMachine(name))?;
    ok(json!({ "tags": tags }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TagArgs {
    tags: Vec<Tag>,
}

pub async fn tag(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    PathArgs(name): PathArgs<String>,
    JsonBody(req): JsonBody<TagArgs>,
) -> Reply {
    let target = TagTarget::StateMachine(name);
    service.tag_resource(&tenant, &target, req.tags).await?;
    ok(json!({ "tags": service.list_tags_for_resource(&tenant, &target)? }))
}

pub async fn untag(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    PathArgs((name, key)): PathArgs<(String, String)>,
) -> Reply {
    let target = TagTarget::StateMachine(name);
    service.untag_resource(&tenant, &target, vec![key]).await?;
    ok(json!({ "tags": service.list_tags_for_resource(&tenant, &target)? }))
}

// ---- the definition an execution ran ----

pub async fn execution_definition(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    PathArgs((sm, name)): PathArgs<(String, String)>,
) -> Reply {
    let (_, revision) = service.describe_state_machine_for_execution(&tenant, &sm, &name)?;
    ok(views::revision(&tenant.id, &revision))
}
