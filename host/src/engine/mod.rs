//! The interpreter: a step function over the validated model, the shared input/output
//! pipeline, one file per state type, history events, and the ports it needs from outside.

pub mod context;
pub mod driver;
pub mod events;
pub mod execution;
pub mod frame;
pub mod history;
pub mod limits;
pub mod pipeline;
pub mod ports;
pub mod restore;
pub(crate) mod states;
pub mod variables;
pub(crate) mod jsonata_eval;
#[cfg(test)]
pub(crate) mod testkit;
#[cfg(test)]
mod tests;
