//! The JSON the API returns, built from store records: AWS's field names (camelCase,
//! `executionArn`, `startDate`, ...) where AWS has the same thing.

use serde_json::{Value, json};

use crate::service::{Damaged, execution_arn, redrive_status, rfc3339_ms, state_machine_arn};
use crate::store::{ComponentVersion, ExecutionRecord, StateMachineVersion, TenantRecord};

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

/// One state machine version.
pub fn state_machine(tenant: &str, m: &StateMachineVersion) -> Value {
    json!({
        "stateMachineArn": state_machine_arn(tenant, &m.name),
        "name": m.name,
        "type": m.machine_type,
        "version": m.version,
        "definition": m.definition,
        "creationDate": rfc3339_ms(m.created_ms),
    })
}

/// A state machine's latest version plus its version list.
pub fn state_machine_versions(tenant: &str, versions: &[StateMachineVersion]) -> Value {
    let mut v = versions
        .last()
        .map(|m| state_machine(tenant, m))
        .unwrap_or_else(|| json!({}));
    v["versions"] = versions
        .iter()
        .map(|m| json!({"version": m.version, "creationDate": rfc3339_ms(m.created_ms)}))
        .collect();
    v
}

/// A damaged record left out of a listing: its name and the error reading it gives.
pub fn damaged(d: &Damaged) -> Value {
    json!({ "record": d.record, "error": "RecordCorrupt", "message": d.message })
}

/// One execution.
pub fn execution(e: &ExecutionRecord) -> Value {
    let mut v = json!({
        "executionArn": execution_arn(&e.tenant, &e.state_machine, &e.name),
        "stateMachineArn": state_machine_arn(&e.tenant, &e.state_machine),
        "stateMachineName": e.state_machine,
        "stateMachineVersion": e.state_machine_version,
        "name": e.name,
        "type": e.machine_type,
        "status": e.status,
        "input": e.input,
        "startDate": rfc3339_ms(e.start_ms),
    });
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
    v["redriveCount"] = json!(e.redrive_count);
    if let Some(ms) = e.redrive_ms {
        v["redriveDate"] = json!(rfc3339_ms(ms));
    }
    let (status, reason) = redrive_status(e, crate::store::now_ms());
    v["redriveStatus"] = json!(status);
    if let Some(reason) = reason {
        v["redriveStatusReason"] = json!(reason);
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
