//! The trivial task: returns its input unchanged. Used by the benchmark.

use serde_json::Value;
use stepwasm_guest::{TaskError, export_task};

fn echo(input: Value) -> Result<Value, TaskError> {
    Ok(input)
}

export_task!(echo);
