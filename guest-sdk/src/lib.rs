//! Guest SDK for Stepwasm task components: write a task as a plain Rust function over
//! serde types, export it with one macro, build it for `wasm32-wasip2`.
//!
//! # Write, build and run a guest in five minutes
//!
//! ```no_run
//! use serde::{Deserialize, Serialize};
//! use stepwasm_guest::{TaskError, export_task};
//!
//! #[derive(Deserialize)]
//! struct Order {
//!     quantity: u32,
//!     unit_price: f64,
//! }
//!
//! #[derive(Serialize)]
//! struct Priced {
//!     total: f64,
//! }
//!
//! fn price(order: Order) -> Result<Priced, TaskError> {
//!     if order.quantity == 0 {
//!         // The name is what a Retry or Catch `ErrorEquals` matches.
//!         return Err(TaskError::new("Order.Empty", "quantity is zero"));
//!     }
//!     stepwasm_guest::log::info(&format!("pricing {} items", order.quantity));
//!     Ok(Priced { total: f64::from(order.quantity) * order.unit_price })
//! }
//!
//! export_task!(price);
//! # fn main() {}
//! ```
//!
//! The crate must be a `cdylib` (`[lib] crate-type = ["cdylib"]`). Then:
//!
//! ```text
//! rustup target add wasm32-wasip2
//! cargo build --release --target wasm32-wasip2
//! stepwasm run machine.json --input input.json --module price=target/wasm32-wasip2/release/price.wasm
//! ```
//!
//! with a state `{"Type": "Task", "Resource": "wasm:price", "End": true}` in `machine.json`.
//! `examples/README.md` in the repository walks through more guests (custom errors for
//! Retry/Catch, logging and heartbeats over a long run).
//!
//! A bad input (JSON that does not fit the handler's input type) fails the task with the
//! error name [`INVALID_INPUT`], not a trap; a panic in the handler traps and the host
//! reports it as `Sandbox.Trap`.
#![deny(missing_docs)]

use serde::Serialize;
use serde::de::DeserializeOwned;

#[doc(hidden)]
pub mod bindings {
    //! Generated from `wit/task.wit`; used by [`export_task!`](crate::export_task).
    #![allow(missing_docs, unsafe_code, clippy::all)]
    wit_bindgen::generate!({
        path: "../wit",
        world: "task",
        pub_export_macro: true,
        export_macro_name: "export_world",
        default_bindings_module: "stepwasm_guest::bindings",
    });
}

/// Error name of a task whose input does not fit the handler's input type.
pub const INVALID_INPUT: &str = "Task.InvalidInput";
/// Error name of a task whose output could not be serialized to JSON.
pub const INVALID_OUTPUT: &str = "Task.InvalidOutput";

/// A deliberate task failure: `name` becomes the ASL error that Retry/Catch match on,
/// `cause` the human-readable explanation shown in the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskError {
    /// The ASL error name, e.g. `Payment.Declined`.
    pub name: String,
    /// Why it failed.
    pub cause: String,
}

impl TaskError {
    /// Builds a task error from a name and a cause.
    pub fn new(name: impl Into<String>, cause: impl Into<String>) -> Self {
        TaskError {
            name: name.into(),
            cause: cause.into(),
        }
    }
}

impl std::fmt::Display for TaskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.name, self.cause)
    }
}

impl std::error::Error for TaskError {}

/// Read-only facts about the current invocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context {
    /// The execution's id.
    pub execution_id: String,
    /// The execution's name.
    pub execution_name: String,
    /// The Task state's name.
    pub state_name: String,
    /// Retries of this state so far (0 on the first attempt).
    pub retry_count: u32,
    /// The attempt's task token (`$$.Task.Token`): fresh for every attempt.
    pub task_token: Option<String>,
}

/// The current invocation's context.
pub fn context() -> Context {
    let ctx = bindings::stepwasm::task::host::context();
    Context {
        execution_id: ctx.execution_id,
        execution_name: ctx.execution_name,
        state_name: ctx.state_name,
        retry_count: ctx.retry_count,
        task_token: ctx.task_token,
    }
}

/// Tells the host the task is still alive, resetting its HeartbeatSeconds timer.
pub fn heartbeat() {
    bindings::stepwasm::task::host::heartbeat();
}

pub mod log {
    //! Log lines recorded in the execution history (bounded by the host).
    use crate::bindings::stepwasm::task::host::{Level, log};

    /// Logs at trace level.
    pub fn trace(message: &str) {
        log(Level::Trace, message);
    }
    /// Logs at debug level.
    pub fn debug(message: &str) {
        log(Level::Debug, message);
    }
    /// Logs at info level.
    pub fn info(message: &str) {
        log(Level::Info, message);
    }
    /// Logs at warn level.
    pub fn warn(message: &str) {
        log(Level::Warn, message);
    }
    /// Logs at error level.
    pub fn error(message: &str) {
        log(Level::Error, message);
    }
}

/// Runs `handler` over JSON text: the glue [`export_task!`] generates calls this.
#[doc(hidden)]
pub fn run_json<I, O>(
    input: &str,
    handler: impl FnOnce(I) -> Result<O, TaskError>,
) -> Result<String, bindings::TaskError>
where
    I: DeserializeOwned,
    O: Serialize,
{
    let to_wit = |e: TaskError| bindings::TaskError {
        name: e.name,
        cause: e.cause,
    };
    let input: I = serde_json::from_str(input)
        .map_err(|e| to_wit(TaskError::new(INVALID_INPUT, e.to_string())))?;
    let output = handler(input).map_err(to_wit)?;
    serde_json::to_string(&output)
        .map_err(|e| to_wit(TaskError::new(INVALID_OUTPUT, e.to_string())))
}

/// Exports a function `fn(Input) -> Result<Output, TaskError>` as the component's `run`.
///
/// `Input: DeserializeOwned`, `Output: Serialize`; use `serde_json::Value` for either to
/// take or return arbitrary JSON.
#[macro_export]
macro_rules! export_task {
    ($handler:path) => {
        struct __StepwasmTask;

        impl $crate::bindings::Guest for __StepwasmTask {
            fn run(
                input: ::std::string::String,
            ) -> ::std::result::Result<::std::string::String, $crate::bindings::TaskError>
            {
                $crate::run_json(&input, $handler)
            }
        }

        $crate::bindings::export_world!(__StepwasmTask with_types_in $crate::bindings);
    };
}
