//! The one error response of the AWS wire protocol: `{"__type": "<Exception>", "message":
//! "..."}` with `x-amzn-ErrorType` (botocore and the JS SDK read either), and the one place
//! a [`ServiceError`] becomes an AWS exception name and status.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::service::{Resource, ServiceError};

/// A failed AWS request.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// A service-layer failure.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// No `Authorization` header.
    #[error("Missing Authentication Token")]
    MissingAuthenticationToken,
    /// An `Authorization` header that is not a complete SigV4 header.
    #[error("{0}")]
    IncompleteSignature(String),
    /// A SigV4 signature that does not verify, is expired, or is scoped wrong.
    #[error("{0}")]
    InvalidSignature(String),
    /// `X-Amz-Target` names no Step Functions action.
    #[error("{0}")]
    UnknownOperation(String),
    /// The body is not the JSON object the action takes.
    #[error("{0}")]
    Serialization(String),
}

impl AwsError {
    /// AWS's exception name and HTTP status. Step Functions answers client errors with
    /// 400 (clients read the name, not the status); throttles are retried by name.
    fn code_and_status(&self) -> (&'static str, StatusCode) {
        let bad = StatusCode::BAD_REQUEST;
        match self {
            AwsError::MissingAuthenticationToken => ("MissingAuthenticationTokenException", bad),
            AwsError::IncompleteSignature(_) => ("IncompleteSignatureException", bad),
            AwsError::InvalidSignature(_) => ("InvalidSignatureException", bad),
            AwsError::UnknownOperation(_) => ("UnknownOperationException", bad),
            AwsError::Serialization(_) => ("SerializationException", bad),
            AwsError::Service(e) => service_code(e),
        }
    }
}

/// AWS's exception name for a service failure is [`ServiceError::code`] (AWS's own name
/// wherever AWS has the error); only the codes that /v1 alone has are given AWS's nearest
/// here. Client errors are 400 (clients read the name).
fn service_code(e: &ServiceError) -> (&'static str, StatusCode) {
    use ServiceError as E;
    let code = match e {
        E::NotFound {
            what: Resource::Tenant | Resource::Component,
            ..
        } => "ResourceNotFound",
        E::AlreadyExists {
            what: Resource::Tenant | Resource::Component,
            ..
        }
        | E::InUse { .. } => "ConflictException",
        E::InvalidComponent { .. } | E::NotRunning { .. } => "ValidationException",
        E::ComponentTooLarge { .. } | E::StorageQuotaExceeded { .. } => {
            "ServiceQuotaExceededException"
        }
        E::Unavailable { .. } | E::StorageFull { .. } => {
            return ("ServiceUnavailable", StatusCode::SERVICE_UNAVAILABLE);
        }
        E::RecordCorrupt { .. } | E::Internal { .. } => {
            return ("InternalFailure", StatusCode::INTERNAL_SERVER_ERROR);
        }
        other => other.code(),
    };
    (code, StatusCode::BAD_REQUEST)
}

/// AWS's message for an invalid definition: every error, each `CODE: message at location`.
fn message(e: &AwsError) -> String {
    match e {
        AwsError::Service(ServiceError::InvalidDefinition { diagnostics }) => {
            let errors: Vec<String> = diagnostics
                .iter()
                .filter(|d| d.severity == "ERROR")
                .map(|d| format!("{}: {} at {}", d.code, d.message, d.location))
                .collect();
            format!("Invalid State Machine Definition: '{}'", errors.join(", "))
        }
        other => other.to_string(),
    }
}

impl IntoResponse for AwsError {
    fn into_response(self) -> Response {
        let (code, status) = self.code_and_status();
        let body = json!({ "__type": code, "message": message(&self) });
        let mut response = super::reply(status, &body);
        response
            .headers_mut()
            .insert("x-amzn-ErrorType", HeaderValue::from_static(code));
        response
    }
}
