//! The JSON the API returns, built from store records: AWS's field names (camelCase,
//! `executionArn`, `startDate`, ...) where AWS has the same thing.

use serde_json::{Value, json};

use crate::service::{
    Damaged, MachineDescription, Written, execution_arn, rfc3339_ms, role_arn,
    state_machine_alias_arn, state_machine_arn, state_machine_version_arn,
};
use crate::store::{
    AliasRecord, ComponentVersion, ExecutionRecord, PublishedVersion, StateMachineVersion,
    TenantRecord,
};

/// One component version.
pub fn component(c: &ComponentVersion) -> Value {
    json!({
        "name": c.name,
        "version": c.version,
        "resource": format!("wasm:{}:{}", c.name, c.version),
        "sha256": c.sha256,
        "size": c.size,
        "imports": c.imports,
        "exports": c.exports,
        "creationDate": rfc3339_ms(c.created_ms),
    })
}

/// A component with all its versions.
pub fn component_versions(versions: &[ComponentVersion]) -> Value {
    let latest = versions.last();
    json!({
        "name": latest.map(|c| c.name.clone()),
        "latestVersion": latest.map(|c| c.version),
        "versions": versions.iter().map(component).collect::<Vec<_>>(),
    })
}

/// One revision of a state machine (what an execution runs), with AWS's field names.
pub fn revision(tenant: &str, m: &StateMachineVersion) -> Value {
    let mut v = json!({
        "stateMachineArn": state_machine_arn(tenant, &m.name),
        "name": m.name,
        "status": "ACTIVE",
        "type": m.machine_type,
        "revision": m.version,
        "definition": m.definition,
        "roleArn": role_arn(tenant, m),
        "loggingConfiguration": m.logging,
        "tracingConfiguration": m.tracing,
        "creationDate": rfc3339_ms(m.created_ms),
    });
    if let Some(id) = &m.revision_id {
        v["revisionId"] = json!(id);
    }
    v
}

/// A state machine as described: its revision, or the published version's view of it.
pub fn described(tenant: &str, d: &MachineDescription) -> Value {
    let mut v = revision(tenant, &d.revision);
    if let Some(version) = &d.version {
        v["stateMachineArn"] = json!(state_machine_version_arn(
            tenant,
            &version.name,
            version.version
        ));
        v["version"] = json!(version.version);
        v["creationDate"] = json!(rfc3339_ms(version.created_ms));
        if let Some(text) = &version.description {
            v["description"] = json!(text);
        }
    }
    v
}

/// A create or update: the new revision, and the version it published.
pub fn written(tenant: &str, w: &Written) -> Value {
    let mut v = revision(tenant, &w.revision);
    v["updateDate"] = json!(rfc3339_ms(w.revision.created_ms));
    if let Some(version) = &w.version {
        v["stateMachineVersionArn"] = json!(state_machine_version_arn(
            tenant,
            &version.name,
            version.version
        ));
    }
    v
}

/// The revision list of a state machine.
pub fn revisions(all: &[StateMachineVersion]) -> Value {
    all.iter()
        .map(|m| json!({"revision": m.version, "revisionId": m.revision_id, "creationDate": rfc3339_ms(m.created_ms)}))
        .collect()
}

/// One published version in a listing (or as published).
pub fn version_item(tenant: &str, v: &PublishedVersion) -> Value {
    json!({
        "stateMachineVersionArn": state_machine_version_arn(tenant, &v.name, v.version),
        "version": v.version,
        "revision": v.revision,
        "description": v.description,
        "creationDate": rfc3339_ms(v.created_ms),
    })
}

/// One alias.
pub fn alias(tenant: &str, a: &AliasRecord) -> Value {
    json!({
        "stateMachineAliasArn": state_machine_alias_arn(tenant, &a.name, &a.alias),
        "name": a.alias,
        "description": a.description,
        "routingConfiguration": a.routing.iter().map(|r| json!({
            "stateMachineVersionArn": state_machine_version_arn(tenant, &a.name, r.version),
            "version": r.version,
            "weight": r.weight,
        })).collect::<Vec<_>>(),
        "creationDate": rfc3339_ms(a.created_ms),
        "updateDate": rfc3339_ms(a.updated_ms),
    })
}

/// A damaged record left out of a listing: its name and the error reading it gives.
pub fn damaged(d: &Damaged) -> Value {
    json!({ "record": d.record, "error": "RecordCorrupt", "message": d.message })
}

/// The version and alias an execution was started through, as both APIs show them.
pub fn routing_arns(e: &ExecutionRecord, v: &mut Value) {
    if let Some(version) = e.published_version {
        v["stateMachineVersionArn"] = json!(state_machine_version_arn(
            &e.tenant,
            &e.state_machine,
            version
        ));
    }
    if let Some(alias) = &e.alias {
        v["stateMachineAliasArn"] =
            json!(state_machine_alias_arn(&e.tenant, &e.state_machine, alias));
    }
}

/// An execution as `/v1` shows it.
pub fn execution(e: &ExecutionRecord) -> Value {
    let mut v = json!({
        "executionArn": execution_arn(&e.tenant, &e.state_machine, &e.name),
        "stateMachineArn": state_machine_arn(&e.tenant, &e.state_machine),
        "stateMachineName": e.state_machine,
        "stateMachineRevision": e.state_machine_version,
        "name": e.name,
        "type": e.machine_type,
        "status": e.status,
        "input": e.input,
        "startDate": rfc3339_ms(e.start_ms),
    });
    routing_arns(e, &mut v);
    if let Some(o) = &e.output {
        v["output"] = json!(o);
    }
    if let Some(x) = &e.error {
        v["error"] = json!(x);
    }
    if let Some(x) = &e.cause {
        v["cause"] = json!(x);
    }
    if let Some(ms) = e.stop_ms {
        v["stopDate"] = json!(rfc3339_ms(ms));
    }
    v
}

/// One tenant.
pub fn tenant(t: &TenantRecord, running: u64, stored_bytes: u64) -> Value {
    json!({
        "id": t.id,
        "creationDate": rfc3339_ms(t.created_ms),
        "quotas": t.quotas,
        "runningExecutions": running,
        "storedBytes": stored_bytes,
    })
}
