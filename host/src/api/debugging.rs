//! Handlers of the debugging routes (issue 13): TestState and RedriveExecution. Each parses
//! its request, calls one service operation and shapes the reply.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::extract::{JsonBody, PathArgs, TenantCaller};
use super::{ApiError, views};
use crate::service::{InspectionLevel, MockInput, Service, TestStateRequest};

type Reply = Result<Response, ApiError>;

/// AWS's `mock` field.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MockBody {
    result: Option<Value>,
    error_output: Option<ErrorOutput>,
    /// STRICT, PRESENT or NONE: AWS checks a mock against the service's API shape; a
    /// component has no declared output shape, so every mode accepts any JSON.
    #[allow(dead_code)]
    field_validation_mode: Option<String>,
}

/// AWS's `errorOutput`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ErrorOutput {
    error: Option<String>,
    cause: Option<String>,
}

/// `POST /v1/test-state`: AWS's TestState request; JSON fields may be JSON text or JSON.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TestStateBody {
    definition: Value,
    state_name: Option<String>,
    input: Option<Value>,
    inspection_level: Option<String>,
    variables: Option<Value>,
    context: Option<Value>,
    mock: Option<MockBody>,
    /// Accepted; nothing here is secret (no connections).
    #[allow(dead_code)]
    reveal_secrets: Option<bool>,
    /// Accepted; components need no role.
    #[allow(dead_code)]
    role_arn: Option<String>,
}

impl TestStateBody {
    /// The service's request.
    pub fn into_request(self) -> Result<TestStateRequest, ApiError> {
        let mock = self.mock.map(|m| MockInput {
            result: m.result.map(|v| match v {
                Value::String(s) => s,
                other => other.to_string(),
            }),
            error_output: m
                .error_output
                .map(|e| (e.error.unwrap_or_default(), e.cause.unwrap_or_default())),
        });
        Ok(TestStateRequest {
            definition: self.definition,
            state_name: self.state_name,
            input: self.input,
            variables: self.variables,
            context: self.context,
            mock,
            inspection_level: InspectionLevel::parse(self.inspection_level.as_deref())?,
        })
    }
}

pub async fn test_state(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    JsonBody(body): JsonBody<TestStateBody>,
) -> Reply {
    let response = service.test_state(&tenant, body.into_request()?).await?;
    Ok(Json(json!(response)).into_response())
}

/// `POST /v1/state-machines/{name}/executions/{execution}/redrive`: AWS's RedriveExecution
/// (its `clientToken` is accepted; a redrive of a RUNNING execution is refused anyway).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RedriveBody {
    #[allow(dead_code)]
    client_token: Option<String>,
}

pub async fn redrive_execution(
    TenantCaller(tenant): TenantCaller,
    State(service): State<Service>,
    PathArgs((sm, name)): PathArgs<(String, String)>,
    JsonBody(_): JsonBody<RedriveBody>,
) -> Reply {
    let record = service.redrive_execution(&tenant, &sm, &name).await?;
    let v = views::execution(&record);
    Ok(
        Json(json!({"redriveDate": v["redriveDate"], "redriveCount": v["redriveCount"]}))
            .into_response(),
    )
}
