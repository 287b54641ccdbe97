//! The interpreter: a step function over the validated model, the shared input/output
//! pipeline, one file per state type, history events, and the ports it needs from outside.

#[cfg(test)]
mod aws_causes_tests;
pub mod context;
pub mod driver;
pub(crate) mod durations;
pub mod events;
pub mod execution;
pub mod frame;
pub mod history;
pub mod jsonata_eval;
mod lambda;
pub mod limits;
pub mod pipeline;
pub mod ports;
pub mod resume;
#[cfg(test)]
mod resume_tests;
#[cfg(test)]
mod robust_tests;
pub(crate) mod states;
#[cfg(test)]
pub(crate) mod testkit;
#[cfg(test)]
mod tests;
pub mod variables;
#[cfg(test)]
mod variables_tests;
