//! TestState: AWS's request (`definition` of one state or a whole machine with `stateName`,
//! `input`, `variables`, `context`, `mock`, `inspectionLevel`) turned into one engine test
//! ([`crate::engine::test_state`]), and its result into AWS's response shape. Shared by
//! the `/v1` route, the AWS wire and `stepwasm test-state`.
//!
//! Inspection levels: INFO is the output, status, next state, error and cause. DEBUG adds
//! AWS's data-flow fields (`input`, `afterInputPath`, `afterParameters`, `result`,
//! `afterResultSelector`, `afterResultPath`, `variables`) and `errorDetails` (which Retrier
//! or Catcher matched). AWS's TRACE adds the HTTP request and response of an HTTP Task; a
//! Task here calls a WebAssembly component, so TRACE adds that call in the same shape:
//! `request` (`protocol` "wasm", `method` "invoke", `url` the Resource, `body` the
//! effective input) and `response` (`statusCode` 200 or 500, `statusMessage` "OK" or the
//! error name, `body` the guest's output or error, `headers` the guest's log lines).
//! `revealSecrets` is accepted and changes nothing: no connection adds secrets here.

use std::sync::Arc;
use std::time::SystemTime;

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::machines::ReportedDiagnostic;
use super::{Service, ServiceError};
use crate::asl::model::StateMachine;
use crate::asl::raw::RawStateMachine;
use crate::engine::context::ExecutionInfo;
use crate::engine::limits::Limits;
use crate::engine::ports::TaskFailure;
use crate::engine::test_state::{StateTest, StateTestResult, TestStatus};
use crate::store::TenantRecord;

/// How much a test reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InspectionLevel {
    /// Output, status, next state, error.
    #[default]
    Info,
    /// Also the data flow.
    Debug,
    /// Also the task call.
    Trace,
}

impl InspectionLevel {
    /// Parses AWS's value.
    pub fn parse(text: Option<&str>) -> Result<Self, ServiceError> {
        match text {
            None | Some("INFO") => Ok(Self::Info),
            Some("DEBUG") => Ok(Self::Debug),
            Some("TRACE") => Ok(Self::Trace),
            Some(other) => Err(validation(format!(
                "inspectionLevel must be INFO, DEBUG or TRACE, not '{other}'"
            ))),
        }
    }
}

/// AWS's `mock` field.
#[derive(Clone, Debug, Default)]
pub struct MockInput {
    /// The task's result (JSON text).
    pub result: Option<String>,
    /// Or its error.
    pub error_output: Option<(String, String)>,
}

/// A TestState request. `definition`, `input`, `variables` and `context` may each be JSON
/// text (as AWS sends them) or the JSON value itself.
#[derive(Clone, Debug, Default)]
pub struct TestStateRequest {
    /// One state, or a machine (then `state_name` picks a top-level state; default its
    /// `StartAt`).
    pub definition: Value,
    /// The state to test inside a whole machine.
    pub state_name: Option<String>,
    /// The state's input (default `{}`).
    pub input: Option<Value>,
    /// Variables visible to the state (a JSON object).
    pub variables: Option<Value>,
    /// The context object's `Execution` and `StateMachine` facts (and `State.RetryCount`).
    pub context: Option<Value>,
    /// A mocked task result or error.
    pub mock: Option<MockInput>,
    /// How much to report.
    pub inspection_level: InspectionLevel,
}

/// The response, in AWS's field names (values stay JSON; the AWS wire writes them as text).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TestStateResponse {
    /// SUCCEEDED, FAILED, RETRIABLE or CAUGHT_ERROR.
    pub status: TestStatus,
    /// The state's output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// The error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Its cause.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// The next state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_state: Option<String>,
    /// DEBUG and TRACE details (a JSON object in AWS's `InspectionData` names).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inspection_data: Option<Value>,
}

fn validation(message: String) -> ServiceError {
    ServiceError::Validation { message }
}

/// JSON text or a value, as a value.
fn json_field(value: &Value, field: &str) -> Result<Value, ServiceError> {
    match value {
        Value::String(text) => serde_json::from_str(text).map_err(|e| {
            if field == "input" {
                ServiceError::InvalidInput {
                    reason: e.to_string(),
                }
            } else {
                validation(format!("{field} is not valid JSON: {e}"))
            }
        }),
        other => Ok(other.clone()),
    }
}

/// A machine whose start state is the state under test and whose other states stand in
/// for its transition targets (so `Next`, Choice rules and Catchers validate, and the
/// first transition says where the state went).
pub fn test_machine(
    definition: &Value,
    state_name: Option<&str>,
) -> Result<(Value, String), ServiceError> {
    let (name, state, language) = match definition.get("States") {
        Some(Value::Object(states)) => {
            let name = state_name
                .map(str::to_owned)
                .or_else(|| definition["StartAt"].as_str().map(str::to_owned))
                .ok_or_else(|| validation("stateName is required".into()))?;
            let state = states.get(&name).cloned().ok_or_else(|| {
                validation(format!(
                    "state '{name}' is not a top-level state of the definition"
                ))
            })?;
            (name, state, definition.get("QueryLanguage").cloned())
        }
        Some(_) => return Err(validation("definition States must be an object".into())),
        None if definition.get("Type").is_some() => (
            state_name.unwrap_or("TestState").to_owned(),
            definition.clone(),
            None,
        ),
        None => {
            return Err(validation(
                "definition must be a state (with Type) or a state machine (with States)".into(),
            ));
        }
    };
    if matches!(state["Type"].as_str(), Some("Map" | "Parallel")) {
        return Err(validation(
            "TestState here runs Task, Pass, Wait, Choice, Succeed and Fail states; Map and Parallel are not supported".into(),
        ));
    }
    let mut targets: Vec<&str> = Vec::new();
    targets.extend(state["Next"].as_str());
    targets.extend(state["Default"].as_str());
    for list in ["Choices", "Catch"] {
        if let Some(items) = state[list].as_array() {
            targets.extend(items.iter().filter_map(|c| c["Next"].as_str()));
        }
    }
    let mut states = Map::new();
    for t in targets {
        if t != name {
            states.insert(t.to_owned(), json!({"Type": "Succeed"}));
        }
    }
    states.insert(name.clone(), state);
    let mut machine = json!({"StartAt": name, "States": states});
    if let Some(ql) = language {
        machine["QueryLanguage"] = ql;
    }
    Ok((machine, name))
}

/// Compiles the test machine (every diagnostic is reported).
fn compile(machine: &Value) -> Result<Arc<StateMachine>, ServiceError> {
    let raw = RawStateMachine::from_json(&machine.to_string()).map_err(|e| {
        ServiceError::InvalidDefinition {
            diagnostics: vec![ReportedDiagnostic {
                code: "SCHEMA_VALIDATION_FAILED".into(),
                location: String::new(),
                message: e.to_string(),
                severity: "ERROR".into(),
            }],
        }
    })?;
    StateMachine::compile(&raw).map_err(|d| ServiceError::InvalidDefinition {
        diagnostics: d.iter().map(ReportedDiagnostic::from).collect(),
    })
}

/// The execution facts `$$` shows: the request's `context` where it gives them.
fn facts(context: Option<&Value>, input: &Value, tenant: Option<&str>) -> ExecutionInfo {
    let mut info = ExecutionInfo::local(
        "test-state",
        "TestState",
        Arc::new(input.clone()),
        SystemTime::now(),
    );
    info.tenant = tenant.map(str::to_owned);
    let Some(ctx) = context else { return info };
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let exec = &ctx["Execution"];
    if let Some(id) = text(&exec["Id"]) {
        info.id = id;
    }
    if let Some(name) = text(&exec["Name"]) {
        info.name = name;
    }
    if let Some(role) = text(&exec["RoleArn"]) {
        info.role_arn = role;
    }
    if let Some(input) = exec.get("Input") {
        info.input = Arc::new(input.clone());
    }
    if let Some(start) = exec["StartTime"]
        .as_str()
        .and_then(crate::asl::compare::parse_timestamp)
    {
        info.start_time = crate::asl::model::timestamp_to_system(start.unix_nanos());
    }
    if let Some(id) = text(&ctx["StateMachine"]["Id"]) {
        info.state_machine_id = id;
    }
    if let Some(name) = text(&ctx["StateMachine"]["Name"]) {
        info.state_machine_name = name;
    }
    info
}

/// The engine test for a request, and the mock answering its task (if any).
pub fn prepare(
    request: &TestStateRequest,
    tenant: Option<&str>,
    limits: Limits,
) -> Result<(StateTest, Option<Result<Value, TaskFailure>>), ServiceError> {
    let definition = json_field(&request.definition, "definition")?;
    let (machine, _) = test_machine(&definition, request.state_name.as_deref())?;
    let model = compile(&machine)?;
    let input = match &request.input {
        Some(v) => json_field(v, "input")?,
        None => json!({}),
    };
    limits
        .check_payload(&input, "input")
        .map_err(|e| ServiceError::InvalidInput { reason: e.cause })?;
    let variables = match &request.variables {
        None => Map::new(),
        Some(v) => match json_field(v, "variables")? {
            Value::Object(m) => m,
            _ => return Err(validation("variables must be a JSON object".into())),
        },
    };
    let context = request
        .context
        .as_ref()
        .map(|c| json_field(c, "context"))
        .transpose()?;
    let mock = match &request.mock {
        None => None,
        Some(MockInput {
            result: Some(_),
            error_output: Some(_),
        }) => {
            return Err(validation(
                "mock takes either result or errorOutput, not both".into(),
            ));
        }
        Some(MockInput {
            result: Some(text), ..
        }) => Some(Ok(serde_json::from_str(text).map_err(|e| {
            validation(format!("mock.result is not valid JSON: {e}"))
        })?)),
        Some(MockInput {
            error_output: Some((error, cause)),
            ..
        }) => Some(Err(TaskFailure {
            error: error.clone(),
            cause: cause.clone(),
        })),
        Some(_) => return Err(validation("mock needs result or errorOutput".into())),
    };
    let info = facts(context.as_ref(), &input, tenant);
    Ok((
        StateTest {
            model,
            info: Arc::new(info),
            input,
            variables,
            limits,
        },
        mock,
    ))
}

/// AWS's response for a test result at a level.
pub fn respond(
    input: &Value,
    result: StateTestResult,
    level: InspectionLevel,
) -> TestStateResponse {
    let inspection_data = (level != InspectionLevel::Info).then(|| {
        let i = &result.inspection;
        let mut data = Map::new();
        data.insert("input".into(), input.clone());
        let after_input_path = i.after_input_path.clone().unwrap_or_else(|| input.clone());
        let after_parameters = i
            .after_parameters
            .clone()
            .unwrap_or_else(|| after_input_path.clone());
        data.insert("afterInputPath".into(), after_input_path);
        data.insert("afterParameters".into(), after_parameters.clone());
        if let Some(v) = &i.result {
            data.insert("result".into(), v.clone());
        }
        // A state with a result stage (ResultPath) shows its selected result too; a Pass
        // state's result is its effective input (AWS shows it so).
        if let Some(merged) = &i.after_result_path {
            let selected = i
                .after_result_selector
                .clone()
                .or_else(|| i.result.clone())
                .unwrap_or(after_parameters);
            data.insert("afterResultSelector".into(), selected);
            data.insert("afterResultPath".into(), merged.clone());
        }
        if !result.variables.is_empty() {
            data.insert("variables".into(), Value::Object(result.variables.clone()));
        }
        if i.retry.is_some() || i.catch.is_some() {
            let mut details = Map::new();
            if let Some((index, backoff)) = i.retry {
                details.insert("retryIndex".into(), json!(index));
                details.insert(
                    "retryBackoffIntervalSeconds".into(),
                    json!(backoff.round() as u64),
                );
            }
            if let Some(index) = i.catch {
                details.insert("catchIndex".into(), json!(index));
            }
            data.insert("errorDetails".into(), Value::Object(details));
        }
        if level == InspectionLevel::Trace
            && let Some((request, outcome)) = &result.task
        {
            data.insert(
                "request".into(),
                json!({"protocol": "wasm", "method": "invoke", "url": request.resource,
                       "headers": "", "body": request.input.to_string()}),
            );
            let logs: Vec<String> = outcome
                .logs
                .iter()
                .map(|l| format!("{}: {}", l.level, l.message))
                .collect();
            let (code, message, body) = match &outcome.result {
                Ok(v) => ("200", "OK".to_owned(), v.to_string()),
                Err(f) => (
                    "500",
                    f.error.clone(),
                    json!({"Error": f.error, "Cause": f.cause}).to_string(),
                ),
            };
            data.insert(
                "response".into(),
                json!({"protocol": "wasm", "statusCode": code, "statusMessage": message,
                       "headers": logs.join("\n"), "body": body}),
            );
        }
        Value::Object(data)
    });
    TestStateResponse {
        status: result.status,
        output: result.output,
        error: result.error,
        cause: result.cause,
        next_state: result.next_state,
        inspection_data,
    }
}

impl Service {
    /// TestState for a tenant: the state runs once with the tenant's components (or the
    /// mock).
    pub async fn test_state(
        &self,
        tenant: &TenantRecord,
        request: TestStateRequest,
    ) -> Result<TestStateResponse, ServiceError> {
        let (test, mock) = prepare(&request, Some(&tenant.id), Limits::default())?;
        let input = test.input.clone();
        let result =
            self.runtime()
                .test_state(test, mock)
                .await
                .map_err(|e| ServiceError::Unavailable {
                    reason: e.to_string(),
                })?;
        Ok(respond(&input, result, request.inspection_level))
    }
}
