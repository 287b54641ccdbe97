//! AWS's own wire protocol for Step Functions (AWS JSON 1.0: `POST /`, `X-Amz-Target:
//! AWSStepFunctions.<Action>`), so boto3, the AWS CLI and the AWS SDKs work unchanged. A
//! thin layer over the same service as `/v1`: SigV4 ([`sigv4`]) names the tenant, the
//! action's handler ([`ops`]) reads AWS's request shape, calls the service and writes
//! AWS's response shape; [`error`] maps every failure to AWS's exception names.

mod error;
mod ops;
mod ops_debug;
mod ops_tasks;
mod ops_versions;
mod shapes;
mod sigv4;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

pub use error::AwsError;
pub use ops::{ACTIONS, NOT_OFFERED};
pub use ops_tasks::ACTIONS as TASK_ACTIONS;
pub use sigv4::SIGNING_SERVICE;

use super::extract::{MAX_JSON_BODY_BYTES, media_type_is, read_body};
use super::listen::BodyDeadline;
use crate::service::Service;

/// `X-Amz-Target` is this plus the action name.
pub const TARGET_PREFIX: &str = "AWSStepFunctions.";
/// The content type AWS JSON 1.0 requests and responses carry.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// A JSON response with AWS's content type and a request id.
fn reply(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        headers.insert("x-amzn-RequestId", id);
    }
    response
}

/// `POST /`: one AWS action.
pub async fn handle(State(service): State<Service>, request: Request<Body>) -> Response {
    match call(&service, request).await {
        Ok(body) => reply(StatusCode::OK, &body),
        Err(e) => e.into_response(),
    }
}

async fn call(service: &Service, request: Request<Body>) -> Result<Value, AwsError> {
    let (parts, body) = request.into_parts();
    let action = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.strip_prefix(TARGET_PREFIX))
        .ok_or_else(|| {
            AwsError::UnknownOperation(format!("X-Amz-Target must be {TARGET_PREFIX}<Action>"))
        })?
        .to_string();
    if !media_type_is(
        &parts.headers,
        &[
            CONTENT_TYPE,
            "application/x-amz-json-1.1",
            "application/json",
        ],
    ) {
        return Err(AwsError::Serialization(format!(
            "Content-Type must be {CONTENT_TYPE}"
        )));
    }
    // The body alone, with the connection's body deadline, so `parts` stays whole for SigV4.
    let mut body_only = Request::new(body);
    if let Some(deadline) = parts.extensions.get::<BodyDeadline>().copied() {
        body_only.extensions_mut().insert(deadline);
    }
    let body = read_body(body_only, MAX_JSON_BODY_BYTES)
        .await
        .map_err(|e| AwsError::Serialization(e.to_string()))?;
    let tenant = sigv4::verify(
        service,
        &parts.method,
        &parts.uri,
        &parts.headers,
        &body,
        time::OffsetDateTime::now_utc(),
    )?;
    ops::dispatch(service, &tenant, &action, &body).await
}
