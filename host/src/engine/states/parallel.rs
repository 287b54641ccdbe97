//! The Parallel state: every branch runs on a copy of the effective input, concurrently;
//! results come back as an array in branch order; a failing branch fails the state with its
//! own error.

use serde_json::Value;

use super::super::execution::Cx;
use super::super::frame::{Attempt, Children};
use super::super::pipeline;
use crate::asl::error::StatesError;
use crate::asl::model::{MachineId, QueryLanguage, State, StateId};

pub(crate) fn start(
    cx: &mut Cx<'_>,
    state: &State,
    state_id: StateId,
    branches: &[MachineId],
    input: &Value,
    attempt: &Attempt,
) -> Result<Box<Children>, StatesError> {
    if state.query_language == QueryLanguage::Jsonata {
        return super::jsonata::parallel(cx, state, state_id, branches, input, attempt);
    }
    let ctx = cx.context(state, attempt);
    let effective = pipeline::effective_input(&state.io, input, cx.env(&ctx))?;
    cx.events.plain(cx.now, "ParallelStateStarted");
    let pending = branches
        .iter()
        .map(|b| (*b, effective.as_ref().clone()))
        .collect();
    let mut children = Box::new(super::empty_children());
    children.state = state_id;
    children.pending = pending;
    Ok(children)
}
