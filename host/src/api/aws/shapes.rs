//! AWS's request and response shapes for the actions served here, written from botocore's
//! model (`stepfunctions/2016-11-23/service-2.json`): field names, enums, and timestamps as
//! epoch seconds (JSON numbers with milliseconds).

use serde::Deserialize;
use serde_json::{Value, json};

use crate::engine::history::HistoryEvent;
use crate::service::{
    MachineDescription, ReportedDiagnostic, execution_arn, role_arn, state_machine_alias_arn,
    state_machine_arn, state_machine_version_arn,
};
use crate::store::{
    AliasRecord, ExecutionRecord, LoggingConfiguration, PublishedVersion, StateMachineVersion, Tag,
    TracingConfiguration,
};

/// Epoch seconds as AWS JSON timestamps carry them.
pub fn epoch(ms: i64) -> Value {
    // Whole seconds stay integers; otherwise milliseconds as a fraction.
    if ms % 1000 == 0 {
        json!(ms / 1000)
    } else {
        json!(ms as f64 / 1000.0)
    }
}

/// An RFC 3339 history time as epoch seconds.
fn epoch_of_rfc3339(text: &str) -> Value {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|t| epoch((t.unix_timestamp_nanos() / 1_000_000) as i64))
        .unwrap_or(Value::Null)
}

/// `CreateStateMachine`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateStateMachine {
    pub name: String,
    pub definition: String,
    #[serde(rename = "type")]
    pub machine_type: Option<String>,
    pub role_arn: Option<String>,
    pub logging_configuration: Option<LoggingConfiguration>,
    pub tracing_configuration: Option<TracingConfiguration>,
    #[serde(default)]
    pub tags: Vec<TagItem>,
    #[serde(default)]
    pub publish: bool,
    pub version_description: Option<String>,
}

/// Every input naming a state machine by ARN.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateMachineArn {
    pub state_machine_arn: String,
}

/// `UpdateStateMachine`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateStateMachine {
    pub state_machine_arn: String,
    pub definition: Option<String>,
    pub role_arn: Option<String>,
    pub logging_configuration: Option<LoggingConfiguration>,
    pub tracing_configuration: Option<TracingConfiguration>,
    #[serde(default)]
    pub publish: bool,
    pub version_description: Option<String>,
}

/// `PublishStateMachineVersion`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Publish {
    pub state_machine_arn: String,
    pub revision_id: Option<String>,
    pub description: Option<String>,
}

/// `ListStateMachineVersions` and `ListStateMachineAliases`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PagedOfMachine {
    pub state_machine_arn: String,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

/// `DeleteStateMachineVersion`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionArn {
    pub state_machine_version_arn: String,
}

/// Every input naming an alias by ARN.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AliasArn {
    pub state_machine_alias_arn: String,
}

/// A `RoutingConfigurationListItem`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    pub state_machine_version_arn: String,
    pub weight: i64,
}

/// `CreateStateMachineAlias`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateAlias {
    pub name: String,
    pub description: Option<String>,
    pub routing_configuration: Vec<Route>,
}

/// `UpdateStateMachineAlias`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateAlias {
    pub state_machine_alias_arn: String,
    pub description: Option<String>,
    pub routing_configuration: Option<Vec<Route>>,
}

/// `TagResource`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagResource {
    pub resource_arn: String,
    pub tags: Vec<TagItem>,
}

/// AWS's `Tag`: both members optional in the model (a missing key is refused by the
/// service's tag rules, as AWS refuses it).
#[derive(Debug, Deserialize)]
pub struct TagItem {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub value: String,
}

/// The tags as the service takes them.
pub fn tags(items: Vec<TagItem>) -> Vec<Tag> {
    items
        .into_iter()
        .map(|t| Tag {
            key: t.key,
            value: t.value,
        })
        .collect()
}

/// `UntagResource`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UntagResource {
    pub resource_arn: String,
    pub tag_keys: Vec<String>,
}

/// `ListTagsForResource`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceArn {
    pub resource_arn: String,
}

/// `ListStateMachines` (and any plain paged list).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Paged {
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

/// `ValidateStateMachineDefinition`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Validate {
    pub definition: String,
    #[serde(rename = "type")]
    pub machine_type: Option<String>,
    pub severity: Option<String>,
    pub max_results: Option<i64>,
}

/// `StartExecution` and `StartSyncExecution`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Start {
    pub state_machine_arn: String,
    pub name: Option<String>,
    pub input: Option<String>,
}

/// Every input naming an execution by ARN.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionArn {
    pub execution_arn: String,
}

/// `ListExecutions`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListExecutions {
    pub state_machine_arn: Option<String>,
    pub status_filter: Option<String>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
    pub map_run_arn: Option<String>,
    pub redrive_filter: Option<String>,
}

/// `GetExecutionHistory`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct History {
    pub execution_arn: String,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
    #[serde(default)]
    pub reverse_order: bool,
    pub include_execution_data: Option<bool>,
}

/// `StopExecution`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stop {
    pub execution_arn: String,
    pub error: Option<String>,
    pub cause: Option<String>,
}

/// What a revision carries in every description: role, logging, tracing, `revisionId`.
fn revision_fields(tenant: &str, m: &StateMachineVersion, v: &mut Value) {
    v["roleArn"] = json!(role_arn(tenant, m));
    v["loggingConfiguration"] = json!(m.logging);
    v["tracingConfiguration"] = json!(m.tracing);
    if let Some(id) = &m.revision_id {
        v["revisionId"] = json!(id);
    }
}

/// `DescribeStateMachine`'s output: the latest revision (`created_ms`: when the state
/// machine was created), or a published version's (its ARN, date and description).
pub fn describe_state_machine(tenant: &str, d: &MachineDescription, created_ms: i64) -> Value {
    let m = &d.revision;
    let mut v = json!({
        "stateMachineArn": state_machine_arn(tenant, &m.name),
        "name": m.name,
        "status": "ACTIVE",
        "definition": m.definition,
        "type": m.machine_type,
        "creationDate": epoch(created_ms),
    });
    revision_fields(tenant, m, &mut v);
    if let Some(version) = &d.version {
        v["stateMachineArn"] = json!(state_machine_version_arn(tenant, &m.name, version.version));
        v["creationDate"] = epoch(version.created_ms);
        if let Some(text) = &version.description {
            v["description"] = json!(text);
        }
    }
    v
}

/// `DescribeStateMachineForExecution`'s output: the revision the execution runs.
pub fn machine_for_execution(tenant: &str, m: &StateMachineVersion) -> Value {
    let mut v = json!({
        "stateMachineArn": state_machine_arn(tenant, &m.name),
        "name": m.name,
        "definition": m.definition,
        "updateDate": epoch(m.created_ms),
    });
    revision_fields(tenant, m, &mut v);
    v
}

/// A `StateMachineVersionListItem`.
pub fn version_item(tenant: &str, v: &PublishedVersion) -> Value {
    json!({
        "stateMachineVersionArn": state_machine_version_arn(tenant, &v.name, v.version),
        "creationDate": epoch(v.created_ms),
    })
}

/// A `StateMachineAliasListItem`.
pub fn alias_item(tenant: &str, a: &AliasRecord) -> Value {
    json!({
        "stateMachineAliasArn": state_machine_alias_arn(tenant, &a.name, &a.alias),
        "creationDate": epoch(a.created_ms),
    })
}

/// `DescribeStateMachineAlias`'s output.
pub fn describe_alias(tenant: &str, a: &AliasRecord) -> Value {
    let mut v = alias_item(tenant, a);
    v["name"] = json!(a.alias);
    v["updateDate"] = epoch(a.updated_ms);
    v["routingConfiguration"] = a
        .routing
        .iter()
        .map(|r| {
            json!({
                "stateMachineVersionArn": state_machine_version_arn(tenant, &a.name, r.version),
                "weight": r.weight,
            })
        })
        .collect();
    if let Some(d) = &a.description {
        v["description"] = json!(d);
    }
    v
}

/// A `StateMachineListItem`.
pub fn state_machine_item(tenant: &str, m: &StateMachineVersion) -> Value {
    json!({
        "stateMachineArn": state_machine_arn(tenant, &m.name),
        "name": m.name,
        "type": m.machine_type,
        "creationDate": epoch(m.created_ms),
    })
}

/// A `ValidateStateMachineDefinitionDiagnostic`.
pub fn diagnostic(d: &ReportedDiagnostic) -> Value {
    json!({
        "severity": d.severity,
        "code": d.code,
        "message": d.message,
        "location": d.location,
    })
}

/// An `ExecutionListItem`.
pub fn execution_item(e: &ExecutionRecord) -> Value {
    let mut v = json!({
        "executionArn": execution_arn(&e.tenant, &e.state_machine, &e.name),
        "stateMachineArn": state_machine_arn(&e.tenant, &e.state_machine),
        "name": e.name,
        "status": e.status,
        "startDate": epoch(e.start_ms),
    });
    if let Some(ms) = e.stop_ms {
        v["stopDate"] = epoch(ms);
    }
    crate::api::views::routing_arns(e, &mut v);
    v
}

/// `DescribeExecution`'s output.
pub fn describe_execution(e: &ExecutionRecord) -> Value {
    let mut v = execution_item(e);
    v["input"] = json!(e.input);
    v["inputDetails"] = json!({"included": true});
    if let Some(o) = &e.output {
        v["output"] = json!(o);
        v["outputDetails"] = json!({"included": true});
    }
    if let Some(x) = &e.error {
        v["error"] = json!(x);
    }
    if let Some(x) = &e.cause {
        v["cause"] = json!(x);
    }
    v
}

/// A `HistoryEvent`; without execution data, inputs and outputs are left out (and said so).
pub fn history_event(e: HistoryEvent, include_data: bool) -> Value {
    let mut v = json!({
        "id": e.id,
        "previousEventId": e.previous_event_id,
        "timestamp": epoch_of_rfc3339(&e.timestamp),
        "type": e.event_type,
    });
    for (key, mut details) in e.details {
        if !include_data && let Some(d) = details.as_object_mut() {
            for field in ["input", "output"] {
                if d.remove(field).is_some() {
                    d.insert(format!("{field}Details"), json!({"included": false}));
                }
            }
        }
        v[key] = details;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_epoch_seconds() {
        assert_eq!(epoch(1_700_000_000_000), json!(1_700_000_000));
        assert_eq!(epoch(1_700_000_000_123), json!(1_700_000_000.123));
        assert_eq!(
            epoch_of_rfc3339("2023-11-14T22:13:20.123Z"),
            json!(1_700_000_000.123)
        );
    }

    #[test]
    fn history_without_data_drops_inputs_and_outputs() {
        let mut details = serde_json::Map::new();
        details.insert(
            "stateEnteredEventDetails".into(),
            json!({"name": "A", "input": "{\"secret\":1}"}),
        );
        let e = HistoryEvent {
            id: 2,
            previous_event_id: 1,
            timestamp: "2023-11-14T22:13:20.123Z".into(),
            event_type: "PassStateEntered".into(),
            details,
        };
        let v = history_event(e.clone(), false);
        assert_eq!(
            v["stateEnteredEventDetails"],
            json!({"name": "A", "inputDetails": {"included": false}})
        );
        assert_eq!(
            history_event(e, true)["stateEnteredEventDetails"]["input"],
            "{\"secret\":1}"
        );
    }
}
