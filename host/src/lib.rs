//! Stepwasm: AWS Step Functions (Amazon States Language) on your own machine.
//!
//! Arrows point one way: `api -> engine -> asl`; `sandbox` and `store` implement the
//! engine's ports (traits in [`engine::ports`]); `main`/`cli` wire them together.

pub mod api;
pub mod asl;
pub mod cache;
pub mod cli;
pub mod engine;
pub mod ratelog;
pub mod sandbox;
pub mod service;
pub mod store;

#[cfg(test)]
mod fuzz;
