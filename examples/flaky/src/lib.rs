//! A task that fails with custom error names, to show Retry and Catch.
//!
//! Input: `{"fail_until_retry": N}` fails with `Flaky.NotYet` until the state's retry
//! count reaches N, then succeeds; `{"error": "Name", "cause": "..."}` always fails with
//! that error.

use serde::Deserialize;
use serde_json::{Value, json};
use stepwasm_guest::{TaskError, context, export_task, log};

#[derive(Deserialize)]
struct Input {
    #[serde(default)]
    fail_until_retry: u32,
    error: Option<String>,
    cause: Option<String>,
}

fn flaky(input: Input) -> Result<Value, TaskError> {
    if let Some(name) = input.error {
        let cause = input.cause.unwrap_or_else(|| "asked to fail".to_owned());
        return Err(TaskError::new(name, cause));
    }
    let ctx = context();
    // Captured by the host into the history, like the log lines.
    println!("flaky: attempt {}", ctx.retry_count);
    if ctx.retry_count < input.fail_until_retry {
        log::warn(&format!("attempt {} fails on purpose", ctx.retry_count));
        return Err(TaskError::new(
            "Flaky.NotYet",
            format!("retry {} of {}", ctx.retry_count, input.fail_until_retry),
        ));
    }
    log::info(&format!("attempt {} succeeds", ctx.retry_count));
    Ok(json!({ "succeeded_on_retry": ctx.retry_count, "state": ctx.state_name }))
}

export_task!(flaky);
