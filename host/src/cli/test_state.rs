//! `stepwasm test-state DEFINITION.json`: AWS's TestState on the command line: one state
//! (or `--state-name` of a whole machine) run once with its input, variables and context,
//! its task answered by `--mock-result`/`--mock-error` or by a component (`--module`).
//! Prints the response as one JSON object; exit 0 when the status is SUCCEEDED, 1 for
//! FAILED, RETRIABLE or CAUGHT_ERROR, 2 for a bad request.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use serde_json::Value;

use super::{EXIT_FAILED, EXIT_INVALID, EXIT_OK, parse_input, read_input_text};
use crate::engine::limits::Limits;
use crate::engine::test_state::{self, TestStatus, TestTask};
use crate::service::{
    InspectionLevel, MockInput, TestStateRequest, prepare_test_state, test_state_response,
};

/// Arguments of `test-state`.
#[derive(Debug, Args)]
pub struct TestStateArgs {
    /// A state definition, or a whole state machine (then see `--state-name`).
    pub definition: PathBuf,
    /// The state to test inside a whole machine (default its StartAt).
    #[arg(long)]
    pub state_name: Option<String>,
    /// The state's input: a JSON file, or `-` for stdin (default `{}`).
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Variables visible to the state, as a JSON object.
    #[arg(long, value_name = "JSON")]
    pub variables: Option<String>,
    /// Context object facts (`Execution`, `StateMachine`), as JSON.
    #[arg(long, value_name = "JSON")]
    pub context: Option<String>,
    /// INFO, DEBUG or TRACE.
    #[arg(long, default_value = "INFO")]
    pub inspection_level: String,
    /// Answer the Task with this JSON result instead of running it.
    #[arg(long, value_name = "JSON", conflicts_with = "mock_error")]
    pub mock_result: Option<String>,
    /// Answer the Task with this error instead of running it.
    #[arg(long, value_name = "ERROR")]
    pub mock_error: Option<String>,
    /// The mocked error's cause.
    #[arg(long, value_name = "TEXT", requires = "mock_error")]
    pub mock_cause: Option<String>,
    /// Serve Task `Resource` `wasm:NAME` from a component file; repeatable.
    #[arg(long = "module", value_name = "NAME=PATH")]
    pub modules: Vec<String>,
}

/// Runs `test-state`.
pub fn main(args: TestStateArgs) -> i32 {
    match run(args) {
        Ok(TestStatus::Succeeded) => EXIT_OK,
        Ok(_) => EXIT_FAILED,
        Err(message) => {
            eprintln!("stepwasm: {message}");
            EXIT_INVALID
        }
    }
}

fn run(args: TestStateArgs) -> Result<TestStatus, String> {
    let text = read_input_text(Some(&args.definition)).map_err(|e| e.to_string())?;
    let definition = parse_input(&text, "definition").map_err(|e| e.to_string())?;
    let input = match &args.input {
        None => None,
        Some(_) => Some(
            read_input_text(args.input.as_deref())
                .and_then(|t| parse_input(&t, ""))
                .map_err(|e| e.to_string())?,
        ),
    };
    let mock = match (args.mock_result, args.mock_error) {
        (Some(result), _) => Some(MockInput {
            result: Some(result),
            error_output: None,
        }),
        (None, Some(error)) => Some(MockInput {
            result: None,
            error_output: Some((error, args.mock_cause.unwrap_or_default())),
        }),
        (None, None) => None,
    };
    let level = InspectionLevel::parse(Some(&args.inspection_level)).map_err(|e| e.to_string())?;
    let request = TestStateRequest {
        definition,
        state_name: args.state_name,
        input,
        variables: args.variables.map(Value::String),
        context: args.context.map(Value::String),
        mock,
        inspection_level: level,
    };
    let (test, mock) =
        prepare_test_state(&request, None, Limits::default()).map_err(|e| match e {
            crate::service::ServiceError::InvalidDefinition { diagnostics } => diagnostics
                .iter()
                .map(|d| format!("{} at {}: {}", d.code, d.location, d.message))
                .collect::<Vec<_>>()
                .join("\n"),
            other => other.to_string(),
        })?;
    let task = match mock {
        Some(result) => TestTask::Mock(result),
        None => match crate::sandbox::runner_from_module_flags(&args.modules)
            .map_err(|e| e.to_string())?
        {
            Some(r) => TestTask::Runner(Arc::new(r)),
            None => TestTask::Nothing,
        },
    };
    let input = test.input.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let result = rt.block_on(test_state::run(test, task));
    let response = test_state_response(&input, result, level);
    println!("{}", serde_json::to_string(&response).unwrap_or_default());
    Ok(response.status)
}
