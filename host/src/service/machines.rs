//! State machine operations: validate a definition (every diagnostic at once, plus Task
//! resources that name no uploaded component), create, update (a new version), describe,
//! list, delete.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde::Serialize;

use super::components::page_by_name;
use super::names::{check_name, parse_component_ref};
use super::paging::{self, Page};
use super::{Resource, Service, ServiceError};
use crate::asl::model::StateMachine;
use crate::asl::raw::{RawError, RawStateMachine};
use crate::asl::validate::{self, Diagnostic};
use crate::store::{MachineType, Revision, StateMachineVersion, StoreError, TenantRecord};

/// Largest definition accepted (AWS: 1 MiB).
pub const MAX_DEFINITION_BYTES: usize = 1024 * 1024;

/// One problem with a definition, as reported to callers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReportedDiagnostic {
    /// Stable code, e.g. `MISSING_TRANSITION_TARGET`, `UNKNOWN_COMPONENT`.
    pub code: String,
    /// JSON pointer into the definition.
    pub location: String,
    /// What is wrong.
    pub message: String,
    /// `ERROR` or `WARNING`.
    pub severity: String,
}

impl ReportedDiagnostic {
    fn error(code: &str, location: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            location: location.into(),
            message: message.into(),
            severity: "ERROR".into(),
        }
    }
}

impl From<&Diagnostic> for ReportedDiagnostic {
    fn from(d: &Diagnostic) -> Self {
        Self {
            code: d.code.as_str().into(),
            location: d.location.clone(),
            message: d.message.clone(),
            severity: if d.is_error() { "ERROR" } else { "WARNING" }.into(),
        }
    }
}

/// The result of checking a definition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DefinitionReport {
    /// `OK` or `FAIL` (AWS's `ValidateStateMachineDefinition` result).
    pub result: &'static str,
    /// Every diagnostic.
    pub diagnostics: Vec<ReportedDiagnostic>,
}

/// Every Task `Resource` in a definition, with its JSON pointer (nested machines included).
pub fn task_resources(definition: &str) -> Vec<(String, String)> {
    let Ok(raw) = RawStateMachine::from_json(definition) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for m in validate::machines(&raw) {
        for entry in m.machine.states.iter().flat_map(|s| s.0.iter()) {
            let Some(state) = entry.state() else { continue };
            if state.state_type.as_deref() != Some("Task") {
                continue;
            }
            if let Some(r) = &state.resource {
                let at = format!(
                    "{}/States/{}/Resource",
                    m.location,
                    validate::pointer_segment(entry.name())
                );
                out.push((at, r.clone()));
            }
        }
    }
    out
}

/// Parses `STANDARD`/`EXPRESS` (default STANDARD).
pub(super) fn parse_machine_type(text: Option<&str>) -> Result<MachineType, ServiceError> {
    match text {
        None | Some("STANDARD") => Ok(MachineType::Standard),
        Some("EXPRESS") => Ok(MachineType::Express),
        Some(other) => Err(ServiceError::Validation {
            message: format!("type must be STANDARD or EXPRESS, got '{other}'"),
        }),
    }
}

impl Service {
    /// Checks a definition: the language's own diagnostics, then (for a tenant) that every
    /// Task resource names a component the tenant has uploaded.
    pub fn check_definition(
        &self,
        tenant: Option<&TenantRecord>,
        definition: &str,
    ) -> Result<DefinitionReport, ServiceError> {
        self.compile_definition(tenant, definition)
            .map(|(report, _)| report)
    }

    /// [`Service::check_definition`], and the compiled model when the definition is valid:
    /// validation and compilation are one check, so a definition accepted here also runs.
    fn compile_definition(
        &self,
        tenant: Option<&TenantRecord>,
        definition: &str,
    ) -> Result<(DefinitionReport, Option<Arc<StateMachine>>), ServiceError> {
        if definition.len() > MAX_DEFINITION_BYTES {
            return Err(ServiceError::Validation {
                message: format!(
                    "definition is {} bytes, over the limit of {MAX_DEFINITION_BYTES}",
                    definition.len()
                ),
            });
        }
        let mut diagnostics = Vec::new();
        let mut model = None;
        match RawStateMachine::from_json(definition) {
            Err(e) => {
                let code = match e {
                    RawError::Json { .. } => "INVALID_JSON_DESCRIPTION",
                    _ => "SCHEMA_VALIDATION_FAILED",
                };
                diagnostics.push(ReportedDiagnostic::error(code, "", e.to_string()));
            }
            Ok(raw) => {
                let (found, compiled) = StateMachine::check(&raw);
                model = compiled;
                diagnostics.extend(found.iter().map(ReportedDiagnostic::from));
                for (at, resource) in task_resources(definition) {
                    match parse_component_ref(&resource) {
                        // A server with a mock configuration takes AWS's resources too (as
                        // Step Functions Local does): its test cases answer them.
                        Err(_) if self.mocks().is_some() => {}
                        Err(msg) => {
                            diagnostics.push(ReportedDiagnostic::error("INVALID_RESOURCE", at, msg))
                        }
                        Ok(r) => {
                            let Some(t) = tenant else { continue };
                            if self.store().component(&t.id, &r.name, r.version)?.is_none() {
                                diagnostics.push(ReportedDiagnostic::error(
                                    "UNKNOWN_COMPONENT",
                                    at,
                                    format!("resource '{resource}' names no uploaded component"),
                                ));
                            }
                        }
                    }
                }
            }
        }
        let failed = diagnostics.iter().any(|d| d.severity == "ERROR");
        let report = DefinitionReport {
            result: if failed { "FAIL" } else { "OK" },
            diagnostics,
        };
        Ok((report, model.filter(|_| !failed)))
    }

    /// The compiled model of a definition that passes every check.
    fn checked(
        &self,
        tenant: &TenantRecord,
        definition: &str,
    ) -> Result<Arc<StateMachine>, ServiceError> {
        match self.compile_definition(Some(tenant), definition)? {
            (_, Some(model)) => Ok(model),
            (report, None) => Err(ServiceError::InvalidDefinition {
                diagnostics: report.diagnostics,
            }),
        }
    }

    /// Hands a stored version's compiled model to the runtime, so its first start does
    /// not compile it again.
    fn keep_model(
        &self,
        tenant: &str,
        stored: &Result<StateMachineVersion, ServiceError>,
        model: Arc<StateMachine>,
    ) {
        if let Ok(v) = stored {
            self.runtime().keep_model(tenant, v, model);
        }
    }

    /// Creates a state machine (version 1).
    pub async fn create_state_machine(
        &self,
        tenant: &TenantRecord,
        name: &str,
        definition: String,
        machine_type: Option<&str>,
    ) -> Result<StateMachineVersion, ServiceError> {
        check_name(name)?;
        let kind = parse_machine_type(machine_type)?;
        let model = self.checked(tenant, &definition)?;
        let created = self
            .store()
            .put_state_machine(
                &tenant.id,
                name,
                definition,
                kind,
                Revision::Create,
                tenant.quotas.max_stored_bytes,
            )
            .await
            .map_err(|e| machine_error(e, name));
        self.keep_model(&tenant.id, &created, model);
        self.forget_latest(&tenant.id, name);
        created
    }

    /// Adds a new version of a state machine (its type stays).
    pub async fn update_state_machine(
        &self,
        tenant: &TenantRecord,
        name: &str,
        definition: String,
    ) -> Result<StateMachineVersion, ServiceError> {
        let current = self.latest_machine(tenant, name)?;
        let model = self.checked(tenant, &definition)?;
        let updated = self
            .store()
            .put_state_machine(
                &tenant.id,
                name,
                definition,
                current.machine_type,
                Revision::Update,
                tenant.quotas.max_stored_bytes,
            )
            .await
            .map_err(|e| machine_error(e, name));
        self.keep_model(&tenant.id, &updated, model);
        self.forget_latest(&tenant.id, name);
        updated
    }

    /// The latest version of a state machine. Cached: this process makes every change to
    /// the store, and each change drops the entry ([`Service::forget_latest`]).
    pub fn latest_machine(
        &self,
        tenant: &TenantRecord,
        name: &str,
    ) -> Result<Arc<StateMachineVersion>, ServiceError> {
        let key = (tenant.id.clone(), name.to_string());
        if let Some(m) = self.latest_cache().get(&key) {
            return Ok(m.clone());
        }
        // A change between this read and the insert must not leave a stale entry.
        let generation = self.inner.machine_changes.load(Ordering::Acquire);
        let m = Arc::new(
            self.store()
                .state_machine(&tenant.id, name, None)?
                .ok_or_else(|| ServiceError::NotFound {
                    what: Resource::StateMachine,
                    name: name.to_string(),
                })?,
        );
        let mut cache = self.latest_cache();
        if self.inner.machine_changes.load(Ordering::Acquire) == generation {
            cache.insert(key, m.clone());
        }
        Ok(m)
    }

    fn latest_cache(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<(String, String), Arc<StateMachineVersion>>> {
        self.inner
            .latest_machines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Drops the cached latest version of a state machine (after a change).
    fn forget_latest(&self, tenant: &str, name: &str) {
        let mut cache = self.latest_cache();
        self.inner.machine_changes.fetch_add(1, Ordering::AcqRel);
        cache.remove(&(tenant.to_string(), name.to_string()));
    }

    /// Every version of a state machine, oldest first.
    pub fn describe_state_machine(
        &self,
        tenant: &TenantRecord,
        name: &str,
    ) -> Result<Vec<StateMachineVersion>, ServiceError> {
        let versions = self.store().state_machine_versions(&tenant.id, name)?;
        if versions.is_empty() {
            return Err(ServiceError::NotFound {
                what: Resource::StateMachine,
                name: name.to_string(),
            });
        }
        Ok(versions)
    }

    /// A page of the tenant's state machines (latest version of each).
    pub fn list_state_machines(
        &self,
        tenant: &TenantRecord,
        max_results: Option<i64>,
        next_token: Option<&str>,
    ) -> Result<Page<StateMachineVersion>, ServiceError> {
        let limit = paging::page_size(max_results)?;
        let after = next_token
            .map(|t| paging::decode(t, "state-machines", &tenant.id))
            .transpose()?;
        let items = self
            .store()
            .list_state_machines(&tenant.id, after.as_deref(), limit + 1)?;
        Ok(page_by_name(
            items,
            limit,
            "state-machines",
            &tenant.id,
            |m| &m.name,
        ))
    }

    /// Deletes a state machine and all its versions; its executions keep running and keep
    /// their records.
    pub async fn delete_state_machine(
        &self,
        tenant: &TenantRecord,
        name: &str,
    ) -> Result<(), ServiceError> {
        let deleted = self
            .store()
            .delete_state_machine(&tenant.id, name)
            .await
            .map_err(|e| machine_error(e, name));
        self.forget_latest(&tenant.id, name);
        deleted
    }
}

impl Service {
    /// The state machine version an execution of the caller's runs (or ran).
    pub fn state_machine_of_execution(
        &self,
        tenant: &TenantRecord,
        state_machine: &str,
        execution: &str,
    ) -> Result<StateMachineVersion, ServiceError> {
        let record = self.describe_execution(tenant, state_machine, execution)?;
        self.store()
            .state_machine(
                &tenant.id,
                &record.state_machine,
                Some(record.state_machine_version),
            )?
            .ok_or(ServiceError::NotFound {
                what: Resource::StateMachine,
                name: record.state_machine,
            })
    }
}

fn machine_error(e: StoreError, name: &str) -> ServiceError {
    match e {
        StoreError::NotFound { .. } => ServiceError::NotFound {
            what: Resource::StateMachine,
            name: name.to_string(),
        },
        StoreError::AlreadyExists { .. } => ServiceError::AlreadyExists {
            what: Resource::StateMachine,
            name: name.to_string(),
            detail: String::new(),
        },
        other => other.into(),
    }
}
