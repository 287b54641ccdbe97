//! What TestState's DEBUG level shows: the values the one pipeline ([`super::pipeline`])
//! and Retry/Catch ([`super::execution`]) produce at each stage of one state, recorded only
//! while [`inspecting`] runs on this thread (a step is synchronous, so the values of one
//! step land in the inspection that step was run under). Outside it every `note_*` call is
//! one thread-local check.

use std::cell::{Cell, RefCell};

use serde_json::Value;

/// The stages of one state, as AWS's `InspectionData` names them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Inspection {
    /// The input after `InputPath`.
    pub after_input_path: Option<Value>,
    /// The effective input after `Parameters`.
    pub after_parameters: Option<Value>,
    /// The state's raw result (a task's output, a Pass state's `Result`).
    pub result: Option<Value>,
    /// The result after `ResultSelector`.
    pub after_result_selector: Option<Value>,
    /// The state input with the result placed by `ResultPath`.
    pub after_result_path: Option<Value>,
    /// A Retrier that matched: its index and the backoff it asked for, in seconds.
    pub retry: Option<(usize, f64)>,
    /// A Catcher that matched: its index.
    pub catch: Option<usize>,
    /// The error Retry or Catch handled.
    pub error: Option<(String, String)>,
}

/// A pipeline stage that produced a value.
#[derive(Clone, Copy, Debug)]
pub enum Stage {
    /// After `InputPath`.
    InputPath,
    /// After `Parameters`.
    Parameters,
    /// The raw result.
    Result,
    /// After `ResultSelector`.
    ResultSelector,
    /// After `ResultPath`.
    ResultPath,
}

thread_local! {
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    static CURRENT: RefCell<Inspection> = RefCell::new(Inspection::default());
}

/// Runs `f`, recording into `inspection` what the pipeline does meanwhile on this thread.
pub fn inspecting<R>(inspection: &mut Inspection, f: impl FnOnce() -> R) -> R {
    CURRENT.with(|c| *c.borrow_mut() = std::mem::take(inspection));
    ACTIVE.with(|a| a.set(true));
    let out = f();
    ACTIVE.with(|a| a.set(false));
    CURRENT.with(|c| *inspection = std::mem::take(&mut *c.borrow_mut()));
    out
}

fn active() -> bool {
    ACTIVE.with(Cell::get)
}

/// Records a stage's value (cloned only while inspecting).
pub fn note(stage: Stage, value: &Value) {
    if !active() {
        return;
    }
    CURRENT.with(|c| {
        let mut c = c.borrow_mut();
        let slot = match stage {
            Stage::InputPath => &mut c.after_input_path,
            Stage::Parameters => &mut c.after_parameters,
            Stage::Result => &mut c.result,
            Stage::ResultSelector => &mut c.after_result_selector,
            Stage::ResultPath => &mut c.after_result_path,
        };
        *slot = Some(value.clone());
    });
}

/// Records that a Retrier (`retry`: index and backoff seconds) or a Catcher (`catch`)
/// handled an error.
pub fn note_handled(error: &str, cause: &str, retry: Option<(usize, f64)>, catch: Option<usize>) {
    if !active() {
        return;
    }
    CURRENT.with(|c| {
        let mut c = c.borrow_mut();
        c.error = Some((error.to_owned(), cause.to_owned()));
        c.retry = retry;
        c.catch = catch;
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn notes_land_only_while_inspecting() {
        note(Stage::Result, &json!(1));
        let mut i = Inspection::default();
        inspecting(&mut i, || note(Stage::Parameters, &json!({"a": 2})));
        note(Stage::InputPath, &json!(3));
        assert_eq!(i.after_parameters, Some(json!({"a": 2})));
        assert_eq!(i.result, None);
        assert_eq!(i.after_input_path, None);
    }
}
