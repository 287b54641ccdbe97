//! The one error response of the HTTP API: `{"error":"<Code>","message":"..."}` with the
//! status its class calls for (plus `diagnostics` for invalid definitions and `Retry-After`
//! when throttled). Every rejection (bad JSON, wrong content type, oversized body, unknown
//! route) comes through here too.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::service::{ErrorClass, ServiceError};

/// A failed request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// A service-layer failure.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// The body is not the JSON the route expects.
    #[error("malformed request body: {detail}")]
    BadBody {
        /// What the parser said.
        detail: String,
    },
    /// A query parameter is malformed.
    #[error("malformed query string: {detail}")]
    BadQuery {
        /// What the parser said.
        detail: String,
    },
    /// The body's content type is not one the route takes.
    #[error("unsupported content type '{}'; this route takes {expected}", found.as_deref().unwrap_or("none"))]
    UnsupportedMediaType {
        /// What the request said.
        found: Option<String>,
        /// What the route takes.
        expected: &'static str,
    },
    /// The body is larger than the route allows.
    #[error("request body is larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit.
        limit: usize,
    },
    /// The body did not arrive within the server's body read timeout.
    #[error("the request body did not arrive in time")]
    BodyTimeout,
    /// No route has this path.
    #[error("no route for {method} {path}")]
    UnknownRoute {
        /// Method.
        method: String,
        /// Path.
        path: String,
    },
    /// The route exists but not with this method.
    #[error("method {method} is not allowed for {path}")]
    MethodNotAllowed {
        /// Method.
        method: String,
        /// Path.
        path: String,
    },
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Service(e) => (status_of(e.class()), e.code()),
            ApiError::BadBody { .. } => (StatusCode::BAD_REQUEST, "SerializationException"),
            ApiError::BadQuery { .. } => (StatusCode::BAD_REQUEST, "ValidationException"),
            ApiError::UnsupportedMediaType { .. } => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaType")
            }
            ApiError::BodyTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge"),
            ApiError::BodyTimeout => (StatusCode::REQUEST_TIMEOUT, "RequestTimeout"),
            ApiError::UnknownRoute { .. } => (StatusCode::NOT_FOUND, "UnknownOperation"),
            ApiError::MethodNotAllowed { .. } => {
                (StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed")
            }
        }
    }
}

fn status_of(class: ErrorClass) -> StatusCode {
    match class {
        ErrorClass::BadRequest => StatusCode::BAD_REQUEST,
        ErrorClass::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorClass::Forbidden => StatusCode::FORBIDDEN,
        ErrorClass::NotFound => StatusCode::NOT_FOUND,
        ErrorClass::Conflict => StatusCode::CONFLICT,
        ErrorClass::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorClass::Throttled => StatusCode::TOO_MANY_REQUESTS,
        ErrorClass::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorClass::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let mut body = json!({ "error": code, "message": self.to_string() });
        if let ApiError::Service(ServiceError::InvalidDefinition { diagnostics }) = &self {
            body["diagnostics"] = json!(diagnostics);
        }
        let mut response = (status, Json(body)).into_response();
        if let ApiError::Service(e) = &self {
            if let Some(after) = e.retry_after() {
                let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
                if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            if matches!(e, ServiceError::Unauthenticated { .. }) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
        }
        response
    }
}
