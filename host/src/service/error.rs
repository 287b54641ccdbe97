//! The service's one error type. Each variant knows its stable code (AWS's exception name
//! where AWS has one) and its class; transports map the class to their own status codes.

use std::time::Duration;

use super::machines::ReportedDiagnostic;
use crate::store::StoreError;

/// Kinds of things a caller can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    /// A tenant.
    Tenant,
    /// A component (or one of its versions).
    Component,
    /// A state machine.
    StateMachine,
    /// An execution.
    Execution,
    /// A published state machine version.
    StateMachineVersion,
    /// A state machine alias.
    StateMachineAlias,
    /// A resource named for tagging.
    Tagged,
}

impl Resource {
    fn noun(self) -> &'static str {
        match self {
            Resource::Tenant => "tenant",
            Resource::Component => "component",
            Resource::StateMachine => "state machine",
            Resource::Execution => "execution",
            Resource::StateMachineVersion => "state machine version",
            Resource::StateMachineAlias => "state machine alias",
            Resource::Tagged => "resource",
        }
    }
}

/// How a failure is classed; transports map this to a status code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// The request is wrong (400).
    BadRequest,
    /// No or unknown credentials (401).
    Unauthenticated,
    /// Credentials valid, action not allowed, or a quota reached (403).
    Forbidden,
    /// The named thing does not exist for this caller (404).
    NotFound,
    /// The request conflicts with what exists (409).
    Conflict,
    /// The body is too large (413).
    TooLarge,
    /// Too many requests; retry after the given time (429).
    Throttled,
    /// The server cannot do this right now (503).
    Unavailable,
    /// A failure on our side (500).
    Internal,
}

/// Everything a service operation can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// No bearer key, or one that maps to no tenant.
    #[error("{reason}")]
    Unauthenticated {
        /// What was wrong.
        reason: String,
    },
    /// The key is valid but may not do this (tenant key on an admin route, or the reverse).
    #[error("{reason}")]
    AccessDenied {
        /// What was wrong.
        reason: String,
    },
    /// The named thing does not exist for this tenant.
    #[error("{} '{name}' does not exist", what.noun())]
    NotFound {
        /// Its kind.
        what: Resource,
        /// Its name.
        name: String,
    },
    /// A thing that must be new already exists (or an execution name with another input).
    #[error("{} '{name}' already exists{detail}", what.noun())]
    AlreadyExists {
        /// Its kind.
        what: Resource,
        /// Its name.
        name: String,
        /// Why this is a conflict, when it needs saying.
        detail: String,
    },
    /// A name that breaks the naming rules.
    #[error("invalid name '{name}': {reason}")]
    InvalidName {
        /// The name.
        name: String,
        /// The rule it breaks.
        reason: String,
    },
    /// A definition with errors; every diagnostic is reported.
    #[error("the definition has {} error(s)", diagnostics.iter().filter(|d| d.severity == "ERROR").count())]
    InvalidDefinition {
        /// All diagnostics (errors and warnings).
        diagnostics: Vec<ReportedDiagnostic>,
    },
    /// An upload that is not a usable task component.
    #[error("not a valid task component: {reason}")]
    InvalidComponent {
        /// What is wrong with it.
        reason: String,
    },
    /// Execution input that is not JSON or too large.
    #[error("invalid execution input: {reason}")]
    InvalidInput {
        /// What is wrong with it.
        reason: String,
    },
    /// An AWS action this server does not offer (yet); named, never silent.
    #[error("{action} is not supported by this server: {reason}")]
    Unsupported {
        /// The action.
        action: String,
        /// Why, and what to use instead.
        reason: String,
    },
    /// A pagination token this call did not issue.
    #[error("invalid pagination token: {reason}")]
    InvalidToken {
        /// What is wrong with it.
        reason: String,
    },
    /// Any other malformed request field.
    #[error("{message}")]
    Validation {
        /// What is wrong.
        message: String,
    },
    /// An ARN that is not of the form the field takes.
    #[error("invalid ARN '{arn}': {reason}")]
    InvalidArn {
        /// The ARN.
        arn: String,
        /// What is wrong.
        reason: String,
    },
    /// The request conflicts with the current state (AWS's `ConflictException`): a stale
    /// `revisionId`, a version an alias routes to, an alias name taken with other settings.
    #[error("{reason}")]
    Conflict {
        /// Why.
        reason: String,
    },
    /// More tags than a resource may carry (50), or a tag AWS would refuse.
    #[error("too many tags on '{resource}': at most {limit}")]
    TooManyTags {
        /// The resource.
        resource: String,
        /// The limit.
        limit: usize,
    },
    /// A `loggingConfiguration` AWS would refuse.
    #[error("invalid logging configuration: {reason}")]
    InvalidLoggingConfiguration {
        /// What is wrong.
        reason: String,
    },
    /// A per-state-machine count limit (1,000 versions, 100 aliases).
    #[error("service quota exceeded: {what}")]
    ServiceQuotaExceeded {
        /// Which limit.
        what: String,
    },
    /// A request that must change something named nothing to change.
    #[error("{message}")]
    MissingRequiredParameter {
        /// What is missing.
        message: String,
    },
    /// The thing is still used (a component version by a RUNNING execution).
    #[error("{} '{name}' is in use: {reason}", what.noun())]
    InUse {
        /// Its kind.
        what: Resource,
        /// Its name.
        name: String,
        /// By what.
        reason: String,
    },
    /// The execution is not RUNNING.
    #[error("execution '{name}' is not running")]
    NotRunning {
        /// The execution.
        name: String,
    },
    /// start-sync was asked of a STANDARD state machine (AWS's exact exception).
    #[error("state machine '{name}' is not an EXPRESS state machine")]
    WrongMachineType {
        /// The state machine.
        name: String,
    },
    /// A component larger than the tenant's quota.
    #[error("component is {size} bytes, over the limit of {limit}")]
    ComponentTooLarge {
        /// Its size.
        size: u64,
        /// The tenant's limit.
        limit: u64,
    },
    /// The tenant's stored-bytes quota would be exceeded.
    #[error("storage quota exceeded: {needed} bytes needed, {limit} allowed")]
    StorageQuotaExceeded {
        /// Bytes the tenant would store.
        needed: u64,
        /// Its quota.
        limit: u64,
    },
    /// Too many RUNNING executions for the tenant.
    #[error("the tenant already has {limit} running executions")]
    ExecutionLimitExceeded {
        /// Its quota.
        limit: u64,
    },
    /// Starts came faster than the tenant's start rate.
    #[error("start rate of {rate} per second exceeded")]
    Throttled {
        /// Its rate.
        rate: u64,
        /// When a retry may succeed.
        retry_after: Duration,
    },
    /// The server runs no engine for executions.
    #[error("{reason}")]
    Unavailable {
        /// Why.
        reason: String,
    },
    /// The disk is full: nothing can be written until space is freed (the store then
    /// reopens itself); reads are still served.
    #[error("storage is full, retry later: {detail}")]
    StorageFull {
        /// What the store said.
        detail: String,
    },
    /// A stored record failed its checksum or did not decode: that record is damaged
    /// (`stepwasm check` lists every damaged record); the rest of the store is served.
    #[error("stored record '{record}' is damaged: {detail}")]
    RecordCorrupt {
        /// The record (an execution ARN, a tail row, ...).
        record: String,
        /// Its table and what is wrong with it.
        detail: String,
    },
    /// A failure on our side (storage).
    #[error("internal error: {detail}")]
    Internal {
        /// What failed.
        detail: String,
    },
}

impl ServiceError {
    /// The stable error code put in every error response.
    pub fn code(&self) -> &'static str {
        use Resource::*;
        match self {
            ServiceError::Unauthenticated { .. } => "UnrecognizedClientException",
            ServiceError::AccessDenied { .. } => "AccessDeniedException",
            ServiceError::NotFound { what, .. } => match what {
                Tenant => "TenantDoesNotExist",
                Component => "ComponentDoesNotExist",
                StateMachine => "StateMachineDoesNotExist",
                Execution => "ExecutionDoesNotExist",
                StateMachineVersion => "StateMachineDoesNotExist",
                StateMachineAlias | Tagged => "ResourceNotFound",
            },
            ServiceError::AlreadyExists { what, .. } => match what {
                Tenant => "TenantAlreadyExists",
                Component => "ComponentAlreadyExists",
                StateMachine => "StateMachineAlreadyExists",
                Execution => "ExecutionAlreadyExists",
                StateMachineVersion | StateMachineAlias | Tagged => "ConflictException",
            },
            ServiceError::InvalidArn { .. } => "InvalidArn",
            ServiceError::Conflict { .. } => "ConflictException",
            ServiceError::TooManyTags { .. } => "TooManyTags",
            ServiceError::InvalidLoggingConfiguration { .. } => "InvalidLoggingConfiguration",
            ServiceError::ServiceQuotaExceeded { .. } => "ServiceQuotaExceededException",
            ServiceError::MissingRequiredParameter { .. } => "MissingRequiredParameter",
            ServiceError::InvalidName { .. } => "InvalidName",
            ServiceError::InvalidDefinition { .. } => "InvalidDefinition",
            ServiceError::InvalidComponent { .. } => "InvalidComponent",
            ServiceError::InvalidInput { .. } => "InvalidExecutionInput",
            ServiceError::Unsupported { .. } => "UnsupportedOperation",
            ServiceError::InvalidToken { .. } => "InvalidToken",
            ServiceError::Validation { .. } => "ValidationException",
            ServiceError::InUse { .. } => "ResourceInUse",
            ServiceError::NotRunning { .. } => "ExecutionNotRunning",
            ServiceError::WrongMachineType { .. } => "StateMachineTypeNotSupported",
            ServiceError::ComponentTooLarge { .. } => "ComponentTooLarge",
            ServiceError::StorageQuotaExceeded { .. } => "StorageQuotaExceeded",
            ServiceError::ExecutionLimitExceeded { .. } => "ExecutionLimitExceeded",
            ServiceError::Throttled { .. } => "ThrottlingException",
            ServiceError::Unavailable { .. } => "ServiceUnavailable",
            ServiceError::RecordCorrupt { .. } => "RecordCorrupt",
            ServiceError::StorageFull { .. } => "StorageFull",
            ServiceError::Internal { .. } => "InternalError",
        }
    }

    /// The failure's class.
    pub fn class(&self) -> ErrorClass {
        match self {
            ServiceError::Unauthenticated { .. } => ErrorClass::Unauthenticated,
            ServiceError::AccessDenied { .. } | ServiceError::StorageQuotaExceeded { .. } => {
                ErrorClass::Forbidden
            }
            ServiceError::NotFound { .. } => ErrorClass::NotFound,
            ServiceError::AlreadyExists { .. }
            | ServiceError::Conflict { .. }
            | ServiceError::InUse { .. }
            | ServiceError::NotRunning { .. } => ErrorClass::Conflict,
            ServiceError::ComponentTooLarge { .. } => ErrorClass::TooLarge,
            ServiceError::ExecutionLimitExceeded { .. } | ServiceError::Throttled { .. } => {
                ErrorClass::Throttled
            }
            ServiceError::Unavailable { .. } | ServiceError::StorageFull { .. } => {
                ErrorClass::Unavailable
            }
            ServiceError::Internal { .. } | ServiceError::RecordCorrupt { .. } => {
                ErrorClass::Internal
            }
            ServiceError::InvalidName { .. }
            | ServiceError::InvalidDefinition { .. }
            | ServiceError::InvalidComponent { .. }
            | ServiceError::InvalidInput { .. }
            | ServiceError::InvalidToken { .. }
            | ServiceError::InvalidArn { .. }
            | ServiceError::Unsupported { .. }
            | ServiceError::Validation { .. }
            | ServiceError::TooManyTags { .. }
            | ServiceError::InvalidLoggingConfiguration { .. }
            | ServiceError::ServiceQuotaExceeded { .. }
            | ServiceError::MissingRequiredParameter { .. }
            | ServiceError::WrongMachineType { .. } => ErrorClass::BadRequest,
        }
    }

    /// How long to wait before retrying, for throttled requests.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ServiceError::Throttled { retry_after, .. } => Some(*retry_after),
            ServiceError::ExecutionLimitExceeded { .. } => Some(Duration::from_secs(1)),
            // The store retries its reopen every few seconds at most.
            ServiceError::StorageFull { .. } => Some(Duration::from_secs(5)),
            _ => None,
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::QuotaExceeded { limit, needed, .. } => {
                ServiceError::StorageQuotaExceeded { needed, limit }
            }
            StoreError::Conflict { reason } => ServiceError::Conflict { reason },
            StoreError::LimitExceeded { what, limit } => ServiceError::ServiceQuotaExceeded {
                what: format!("{what}: at most {limit}"),
            },
            StoreError::ShutDown => ServiceError::Unavailable {
                reason: "the server is shutting down".into(),
            },
            StoreError::StorageFull { detail } => ServiceError::StorageFull { detail },
            StoreError::Corrupt {
                table,
                record,
                detail,
            } => ServiceError::RecordCorrupt {
                record,
                detail: format!("{table}: {detail}"),
            },
            other => ServiceError::Internal {
                detail: other.to_string(),
            },
        }
    }
}
