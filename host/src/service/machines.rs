//! State machine operations: validate a definition (every diagnostic at once, plus Task
//! resources that name no uploaded component), create, update (a new version), describe,
//! list, delete.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde::Serialize;

use super::components::page_by_name;
use super::names::{ComponentRef, check_name, parse_component_ref};
use super::paging::{self, Page};
use super::{Resource, Service, ServiceError};
use crate::asl::model::StateMachine;
use crate::asl::raw::{RawError, RawStateMachine};
use crate::asl::resource::{TaskResource, classify, function_ref};
use crate::asl::validate::{self, Diagnostic};
use crate::store::{
    LoggingConfiguration, MachineType, NewRevision, PublishedVersion, Revision,
    StateMachineVersion, StoreError, Tag, TenantRecord, TracingConfiguration,
};

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

/// One Task state of a definition: where it is, its resource, and the component it runs.
#[derive(Clone, Debug)]
pub struct TaskUse {
    /// JSON pointer to its `Resource`.
    pub at: String,
    /// The resource as written.
    pub resource: String,
    /// The component it runs.
    pub component: ComponentUse,
}

/// The component a Task runs.
#[derive(Clone, Debug)]
pub enum ComponentUse {
    /// Known from the definition.
    Named(ComponentRef),
    /// Chosen when the state runs (`lambda:invoke` with a computed `FunctionName`).
    Dynamic,
    /// None: why the resource cannot run here.
    Invalid(String),
}

/// The static `FunctionName` of a `lambda:invoke` state (Parameters or Arguments), or
/// `None` when it is computed (`FunctionName.$`, a JSONata expression) or missing.
fn static_function_name(args: Option<&serde_json::Value>) -> Option<&str> {
    args?
        .get("FunctionName")?
        .as_str()
        .filter(|s| !(s.starts_with("{%") && s.ends_with("%}")))
}

fn component_use(resource: &str, state: &crate::asl::raw::RawState) -> ComponentUse {
    if classify(resource) != TaskResource::LambdaInvoke {
        return match parse_component_ref(resource) {
            Ok(r) => ComponentUse::Named(r),
            Err(e) => ComponentUse::Invalid(e),
        };
    }
    let args = state.parameters.as_ref().or(state.arguments.as_ref());
    match static_function_name(args) {
        None => ComponentUse::Dynamic,
        Some(name) => match function_ref(name) {
            Some(f) => match ComponentRef::from_function(&f, name) {
                Ok(r) => ComponentUse::Named(r),
                Err(e) => ComponentUse::Invalid(e),
            },
            None => ComponentUse::Invalid(format!(
                "FunctionName '{name}' is not a function name or a Lambda function ARN"
            )),
        },
    }
}

/// Every Task state of a definition (nested machines included).
pub fn task_resources(definition: &str) -> Vec<TaskUse> {
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
                out.push(TaskUse {
                    at,
                    resource: r.clone(),
                    component: component_use(r, state),
                });
            }
        }
    }
    out
}

/// A state machine to create (the fields of AWS's CreateStateMachine).
#[derive(Clone, Debug, Default)]
pub struct NewStateMachine {
    /// Its name.
    pub name: String,
    /// The ASL definition.
    pub definition: String,
    /// `STANDARD` (default) or `EXPRESS`.
    pub machine_type: Option<String>,
    /// The IAM role ARN (stored and returned).
    pub role_arn: Option<String>,
    /// `loggingConfiguration` (default: level OFF).
    pub logging: Option<LoggingConfiguration>,
    /// `tracingConfiguration` (default: disabled).
    pub tracing: Option<TracingConfiguration>,
    /// Tags to set.
    pub tags: Vec<Tag>,
    /// Publish version 1 as well.
    pub publish: bool,
    /// The description of that version (only with `publish`).
    pub version_description: Option<String>,
}

/// Changes to a state machine (AWS's UpdateStateMachine): `None` keeps the current value.
#[derive(Clone, Debug, Default)]
pub struct StateMachineUpdate {
    /// A new definition.
    pub definition: Option<String>,
    /// A new role ARN.
    pub role_arn: Option<String>,
    /// A new logging configuration.
    pub logging: Option<LoggingConfiguration>,
    /// A new tracing configuration.
    pub tracing: Option<TracingConfiguration>,
    /// Publish the new revision as a version.
    pub publish: bool,
    /// The description of that version (only with `publish`).
    pub version_description: Option<String>,
}

/// What a create or update wrote: the new revision, and the version it published.
#[derive(Clone, Debug)]
pub struct Written {
    /// The revision.
    pub revision: StateMachineVersion,
    /// The published version, when `publish` was asked.
    pub version: Option<PublishedVersion>,
}

/// Longest version or alias description (AWS: 256).
pub const MAX_DESCRIPTION_LEN: usize = 256;

/// Checks a version or alias description.
pub(super) fn check_description(d: Option<&str>) -> Result<(), ServiceError> {
    match d {
        Some(d) if d.chars().count() > MAX_DESCRIPTION_LEN => Err(ServiceError::Validation {
            message: format!("a description is at most {MAX_DESCRIPTION_LEN} characters"),
        }),
        _ => Ok(()),
    }
}

/// `publish` + `versionDescription` as the store takes them; a description without
/// `publish` is refused, as AWS does.
fn publish_description(
    publish: bool,
    description: Option<String>,
) -> Result<Option<Option<String>>, ServiceError> {
    check_description(description.as_deref())?;
    match (publish, description) {
        (false, Some(_)) => Err(ServiceError::Validation {
            message: "versionDescription can only be set when publish is true".into(),
        }),
        (false, None) => Ok(None),
        (true, d) => Ok(Some(d)),
    }
}

fn check_role_arn(role: Option<&str>) -> Result<(), ServiceError> {
    match role {
        Some(r) if !r.starts_with("arn:") || r.len() > super::names::MAX_ARN_LEN => {
            Err(ServiceError::InvalidArn {
                arn: r.to_string(),
                reason: "roleArn must be an ARN of at most 256 characters".into(),
            })
        }
        _ => Ok(()),
    }
}

/// Checks a logging configuration against AWS's rules: a known level, at most one
/// destination, one required unless the level is OFF, log group ARNs ending in `:*`.
fn checked_logging(
    logging: Option<LoggingConfiguration>,
) -> Result<LoggingConfiguration, ServiceError> {
    let logging = logging.unwrap_or_default();
    let bad = |reason: &str| {
        Err(ServiceError::InvalidLoggingConfiguration {
            reason: reason.to_string(),
        })
    };
    if !["ALL", "ERROR", "FATAL", "OFF"].contains(&logging.level.as_str()) {
        return bad("level must be ALL, ERROR, FATAL or OFF");
    }
    if logging.destinations.len() > 1 {
        return bad("at most one destination");
    }
    if logging.level != "OFF" && logging.destinations.is_empty() {
        return bad("a destination is required unless the level is OFF");
    }
    for d in &logging.destinations {
        let arn = d
            .cloud_watch_logs_log_group
            .as_ref()
            .and_then(|g| g.log_group_arn.as_deref());
        match arn {
            Some(a) if a.starts_with("arn:") && a.ends_with(":*") => {}
            _ => return bad("a destination's cloudWatchLogsLogGroup.logGroupArn must end with :*"),
        }
    }
    Ok(logging)
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
                for task in task_resources(definition) {
                    match task.component {
                        ComponentUse::Invalid(msg) => diagnostics.push(ReportedDiagnostic::error(
                            "INVALID_RESOURCE",
                            task.at,
                            msg,
                        )),
                        ComponentUse::Dynamic => {}
                        ComponentUse::Named(r) => {
                            let Some(t) = tenant else { continue };
                            if self.store().component(&t.id, &r.name, r.version)?.is_none() {
                                diagnostics.push(ReportedDiagnostic::error(
                                    "UNKNOWN_COMPONENT",
                                    task.at,
                                    format!(
                                        "resource '{}' names no uploaded component '{}'",
                                        task.resource, r.name
                                    ),
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
    fn keep_model<T>(
        &self,
        tenant: &str,
        stored: &Result<(StateMachineVersion, T), ServiceError>,
        model: Arc<StateMachine>,
    ) {
        if let Ok((v, _)) = stored {
            self.runtime().keep_model(tenant, v, model);
        }
    }

    /// Creates a state machine (revision 1), with its tags, publishing version 1 when
    /// asked. Creating it again with the same settings returns it unchanged (AWS's
    /// idempotent create); other settings are `StateMachineAlreadyExists`.
    pub async fn create_state_machine(
        &self,
        tenant: &TenantRecord,
        new: NewStateMachine,
    ) -> Result<Written, ServiceError> {
        check_name(&new.name)?;
        let kind = parse_machine_type(new.machine_type.as_deref())?;
        let description = publish_description(new.publish, new.version_description)?;
        check_role_arn(new.role_arn.as_deref())?;
        let logging = checked_logging(new.logging)?;
        super::tags::check_tags(&new.name, &new.tags)?;
        let model = self.checked(tenant, &new.definition)?;
        let revision = NewRevision {
            definition: new.definition,
            machine_type: kind,
            role_arn: new.role_arn,
            logging,
            tracing: new.tracing.unwrap_or_default(),
        };
        let created = self
            .store()
            .put_state_machine(
                &tenant.id,
                &new.name,
                revision.clone(),
                Revision::Create,
                description.clone(),
                new.tags,
                tenant.quotas.max_stored_bytes,
            )
            .await;
        if let Ok((stored, _)) = &created {
            self.runtime().keep_model(&tenant.id, stored, model);
        }
        self.forget_latest(&tenant.id, &new.name);
        match created {
            Ok((revision, version)) => Ok(Written { revision, version }),
            Err(StoreError::AlreadyExists { .. }) => {
                self.same_machine(tenant, &new.name, &revision, description)
            }
            Err(e) => Err(machine_error(e, &new.name)),
        }
    }

    /// The existing state machine when a create repeats its settings exactly.
    fn same_machine(
        &self,
        tenant: &TenantRecord,
        name: &str,
        wanted: &NewRevision,
        publish: Option<Option<String>>,
    ) -> Result<Written, ServiceError> {
        let taken = || ServiceError::AlreadyExists {
            what: Resource::StateMachine,
            name: name.to_string(),
            detail: " with other settings".into(),
        };
        let current = self.latest_machine(tenant, name)?;
        let same = current.definition == wanted.definition
            && current.machine_type == wanted.machine_type
            && current.logging == wanted.logging
            && current.tracing == wanted.tracing;
        if !same {
            return Err(taken());
        }
        let version = match publish {
            None => None,
            Some(description) => {
                let versions = self.store().published_versions(&tenant.id, name, None, 1)?;
                match versions.into_iter().next() {
                    Some(v) if v.revision == current.version && v.description == description => {
                        Some(v)
                    }
                    _ => return Err(taken()),
                }
            }
        };
        Ok(Written {
            revision: (*current).clone(),
            version,
        })
    }

    /// Adds a new revision of a state machine (its type stays; unchanged fields are
    /// carried over), publishing it as a version when asked.
    pub async fn update_state_machine(
        &self,
        tenant: &TenantRecord,
        name: &str,
        update: StateMachineUpdate,
    ) -> Result<Written, ServiceError> {
        let current = self.latest_machine(tenant, name)?;
        if update.definition.is_none()
            && update.role_arn.is_none()
            && update.logging.is_none()
            && update.tracing.is_none()
        {
            return Err(ServiceError::MissingRequiredParameter {
                message: "an update needs at least one of definition, roleArn, \
                          loggingConfiguration, tracingConfiguration"
                    .into(),
            });
        }
        let description = publish_description(update.publish, update.version_description)?;
        check_role_arn(update.role_arn.as_deref())?;
        let logging = match update.logging {
            Some(l) => checked_logging(Some(l))?,
            None => current.logging.clone(),
        };
        let (definition, model) = match update.definition {
            Some(d) => {
                let model = self.checked(tenant, &d)?;
                (d, model)
            }
            // The definition stays: compiled again, without re-checking its components.
            None => match self.compile_definition(None, &current.definition)? {
                (_, Some(model)) => (current.definition.clone(), model),
                (report, None) => {
                    return Err(ServiceError::InvalidDefinition {
                        diagnostics: report.diagnostics,
                    });
                }
            },
        };
        let revision = NewRevision {
            definition,
            machine_type: current.machine_type,
            role_arn: update.role_arn.or_else(|| current.role_arn.clone()),
            logging,
            tracing: update.tracing.unwrap_or_else(|| current.tracing.clone()),
        };
        let updated = self
            .store()
            .put_state_machine(
                &tenant.id,
                name,
                revision,
                Revision::Update,
                description,
                Vec::new(),
                tenant.quotas.max_stored_bytes,
            )
            .await
            .map_err(|e| machine_error(e, name));
        self.keep_model(&tenant.id, &updated, model);
        self.forget_latest(&tenant.id, name);
        let (revision, version) = updated?;
        Ok(Written { revision, version })
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
    pub(super) fn forget_latest(&self, tenant: &str, name: &str) {
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

pub(super) fn machine_error(e: StoreError, name: &str) -> ServiceError {
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
