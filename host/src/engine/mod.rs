//! The interpreter: a step function over the validated model, the shared input/output
//! pipeline, one file per state type, history events, and the ports it needs from outside.

pub mod history;
pub mod ports;
