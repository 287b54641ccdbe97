//! The debugging actions of AWS's model (issue 13): RedriveExecution and TestState. Like
//! [`super::ops`], each reads AWS's input shape, calls the one service operation `/v1` calls
//! too, and writes AWS's output shape (JSON data as JSON text, timestamps as epoch seconds).

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::error::AwsError;
use super::ops::execution;
use super::shapes::epoch;
use crate::service::{InspectionLevel, MockInput, Service, TestStateRequest, TestStateResponse};
use crate::store::TenantRecord;

/// Actions served here (beside [`super::ops::ACTIONS`]).
pub const ACTIONS: &[&str] = &["RedriveExecution", "TestState"];

/// Runs one of [`ACTIONS`]; `None` for any other action.
pub async fn dispatch(
    service: &Service,
    tenant: &TenantRecord,
    action: &str,
    body: &[u8],
) -> Option<Result<Value, AwsError>> {
    if !ACTIONS.contains(&action) {
        return None;
    }
    Some(match action {
        "RedriveExecution" => match super::ops::input(body) {
            Ok(req) => redrive_execution(service, tenant, req).await,
            Err(e) => Err(e),
        },
        "TestState" => match super::ops::input(body) {
            Ok(req) => test_state(service, tenant, req).await,
            Err(e) => Err(e),
        },
        _ => return None,
    })
}

/// `RedriveExecutionInput`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Redrive {
    pub execution_arn: String,
    /// Accepted: a second redrive of a RUNNING execution is refused anyway.
    #[allow(dead_code)]
    pub client_token: Option<String>,
}

async fn redrive_execution(
    service: &Service,
    tenant: &TenantRecord,
    req: Redrive,
) -> Result<Value, AwsError> {
    let e = execution(tenant, &req.execution_arn)?;
    let r = service
        .redrive_execution(tenant, &e.state_machine, &e.name)
        .await?;
    Ok(json!({ "redriveDate": epoch(r.redrive_ms.unwrap_or(r.start_ms)) }))
}

/// `MockErrorOutput`.
#[derive(Debug, Deserialize)]
pub struct MockError {
    pub error: Option<String>,
    pub cause: Option<String>,
}

/// `MockInput`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mock {
    pub result: Option<String>,
    pub error_output: Option<MockError>,
    /// STRICT, PRESENT or NONE: AWS checks a mock against a service's API shape; a
    /// component declares no output shape, so every mode accepts any JSON.
    #[allow(dead_code)]
    pub field_validation_mode: Option<String>,
}

/// `TestStateConfiguration`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateConfiguration {
    pub retrier_retry_count: Option<u32>,
    pub error_caused_by_state: Option<String>,
    pub map_iteration_failure_count: Option<u32>,
    pub map_item_reader_data: Option<String>,
}

/// `TestStateInput`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestState {
    pub definition: String,
    /// Accepted: components need no role.
    #[allow(dead_code)]
    pub role_arn: Option<String>,
    pub input: Option<String>,
    pub inspection_level: Option<String>,
    /// Accepted: no connection adds secrets here.
    #[allow(dead_code)]
    pub reveal_secrets: Option<bool>,
    pub variables: Option<String>,
    pub state_name: Option<String>,
    pub mock: Option<Mock>,
    pub context: Option<String>,
    pub state_configuration: Option<StateConfiguration>,
}

async fn test_state(
    service: &Service,
    tenant: &TenantRecord,
    req: TestState,
) -> Result<Value, AwsError> {
    if let Some(c) = &req.state_configuration
        && (c.retrier_retry_count.is_some()
            || c.error_caused_by_state.is_some()
            || c.map_iteration_failure_count.is_some()
            || c.map_item_reader_data.is_some())
    {
        return Err(crate::service::ServiceError::Unsupported {
            action: "TestState with stateConfiguration".into(),
            reason: "a state is tested here on its first attempt, and Map states are not \
                     tested by TestState here"
                .into(),
        }
        .into());
    }
    let request = TestStateRequest {
        definition: Value::String(req.definition),
        state_name: req.state_name,
        input: req.input.map(Value::String),
        variables: req.variables.map(Value::String),
        context: req.context.map(Value::String),
        mock: req.mock.map(|m| MockInput {
            result: m.result,
            error_output: m
                .error_output
                .map(|e| (e.error.unwrap_or_default(), e.cause.unwrap_or_default())),
        }),
        inspection_level: InspectionLevel::parse(req.inspection_level.as_deref())?,
    };
    let response = service.test_state(tenant, request).await?;
    Ok(test_state_output(response))
}

/// `TestStateOutput`: the service's response with JSON data written as JSON text.
fn test_state_output(r: TestStateResponse) -> Value {
    let mut v = json!({ "status": r.status });
    if let Some(output) = &r.output {
        v["output"] = json!(output.to_string());
    }
    for (key, field) in [
        ("error", r.error),
        ("cause", r.cause),
        ("nextState", r.next_state),
    ] {
        if let Some(text) = field {
            v[key] = json!(text);
        }
    }
    if let Some(Value::Object(data)) = r.inspection_data {
        let mut out = Map::new();
        for (key, value) in data {
            let shaped = match key.as_str() {
                // Structures in AWS's model.
                "errorDetails" | "request" | "response" => value,
                // `SensitiveData`: JSON text.
                _ => json!(value.to_string()),
            };
            out.insert(key, shaped);
        }
        v["inspectionData"] = Value::Object(out);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::test_state::TestStatus;

    #[test]
    fn data_fields_are_json_text_and_structures_stay_objects() {
        let r = TestStateResponse {
            status: TestStatus::Succeeded,
            output: Some(json!({"a": 1})),
            error: None,
            cause: None,
            next_state: Some("Next".into()),
            inspection_data: Some(json!({
                "input": {"a": 1},
                "afterInputPath": "text",
                "errorDetails": {"retryIndex": 0},
            })),
        };
        let v = test_state_output(r);
        assert_eq!(v["status"], "SUCCEEDED");
        assert_eq!(v["output"], "{\"a\":1}");
        assert_eq!(v["nextState"], "Next");
        assert_eq!(v["inspectionData"]["input"], "{\"a\":1}");
        assert_eq!(v["inspectionData"]["afterInputPath"], "\"text\"");
        assert_eq!(
            v["inspectionData"]["errorDetails"],
            json!({"retryIndex": 0})
        );
        assert!(v.get("error").is_none());
    }
}
