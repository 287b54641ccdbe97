//! The command line: one file per subcommand. Exit codes: 0 succeeded, 1 the execution
//! failed, 2 an invalid definition (diagnostics on stderr) or bad usage/input.

pub mod bench;
pub mod bench_store;
pub mod check;
pub mod credentials;
pub mod run;
pub mod serve;
pub mod test_state;
pub mod validate;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Parser, Subcommand};
use serde_json::Value;

use crate::asl::model::StateMachine;
use crate::asl::raw::RawStateMachine;
use crate::asl::validate::Diagnostic;
use crate::engine::time_scale::TimeScale;

/// Exit code: the execution succeeded (or the definition is valid).
pub const EXIT_OK: i32 = 0;
/// Exit code: the execution failed.
pub const EXIT_FAILED: i32 = 1;
/// Exit code: invalid definition, or bad usage or input.
pub const EXIT_INVALID: i32 = 2;

/// Stepwasm: AWS Step Functions (Amazon States Language) on your own machine.
#[derive(Debug, Parser)]
#[command(name = "stepwasm", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one execution of a state machine in-process.
    Run(run::RunArgs),
    /// Check a definition and print every diagnostic.
    Validate(validate::ValidateArgs),
    /// Run a definition N times in-process and print one JSON line of timings.
    Bench(bench::BenchArgs),
    /// Serve the multi-tenant HTTP API on the embedded store.
    Serve(serve::ServeArgs),
    /// Durable throughput (engine + store, no HTTP) or memory per waiting execution.
    BenchStore(bench_store::BenchStoreArgs),
    /// Issue AWS credentials for a tenant from a running server (prints AWS_* variables).
    AwsCredentials(credentials::CredentialsArgs),
    /// Read every record of a store and name the damaged ones (exit 1 if any).
    Check(check::CheckArgs),
    /// TestState: run one state once and print what it did (INFO, DEBUG or TRACE).
    TestState(test_state::TestStateArgs),
}

/// Runs a parsed command line; returns the process exit code.
pub fn main(cli: Cli) -> i32 {
    match cli.command {
        Command::Run(args) => run::main(args),
        Command::Validate(args) => validate::main(args),
        Command::Bench(args) => bench::main(args),
        Command::Serve(args) => serve::main(args),
        Command::BenchStore(args) => bench_store::main(args),
        Command::AwsCredentials(args) => credentials::main(args),
        Command::Check(args) => check::main(args),
        Command::TestState(args) => test_state::main(args),
    }
}

/// A problem that stops a command before anything runs.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The definition is not a state machine at all.
    #[error("{path}: {source}")]
    Raw {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: crate::asl::raw::RawError,
    },
    /// The input is not JSON.
    #[error("input {what} is not valid JSON: {source}")]
    Input {
        /// Where the input came from.
        what: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// The definition has errors.
    #[error("{path}: invalid state machine definition ({count} error(s))")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// How many errors.
        count: usize,
        /// The errors.
        diagnostics: Vec<Diagnostic>,
    },
}

/// Reads a definition's raw mirror.
pub fn read_raw(path: &Path) -> Result<RawStateMachine, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_owned(),
        source,
    })?;
    RawStateMachine::from_json(&text).map_err(|source| LoadError::Raw {
        path: path.to_owned(),
        source,
    })
}

/// Reads, validates and compiles a definition.
pub fn load_definition(path: &Path) -> Result<Arc<StateMachine>, LoadError> {
    let raw = read_raw(path)?;
    StateMachine::compile(&raw).map_err(|diagnostics| LoadError::Invalid {
        path: path.to_owned(),
        count: diagnostics.len(),
        diagnostics,
    })
}

/// Reads an input file (`-` for stdin); no file means `{}`.
pub fn read_input_text(path: Option<&Path>) -> Result<String, LoadError> {
    match path {
        None => Ok("{}".to_owned()),
        Some(p) if p.as_os_str() == "-" => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).map_err(|source| {
                LoadError::Read {
                    path: "<stdin>".into(),
                    source,
                }
            })?;
            Ok(text)
        }
        Some(p) => std::fs::read_to_string(p).map_err(|source| LoadError::Read {
            path: p.to_owned(),
            source,
        }),
    }
}

/// Parses input text as JSON.
pub fn parse_input(text: &str, what: &str) -> Result<Value, LoadError> {
    serde_json::from_str(text).map_err(|source| LoadError::Input {
        what: what.to_owned(),
        source,
    })
}

/// Prints a load error (with every diagnostic) to stderr and returns its exit code.
pub fn report_load_error(e: &LoadError) -> i32 {
    eprintln!("stepwasm: {e}");
    if let LoadError::Invalid { diagnostics, .. } = e {
        for d in diagnostics {
            eprintln!("  {d}");
        }
    }
    EXIT_INVALID
}

/// Parses `--wait-time-scale` (clap value parser).
pub fn parse_time_scale(text: &str) -> Result<TimeScale, String> {
    TimeScale::parse(text).map_err(|e| e.to_string())
}

/// The scale to run with; a scale other than 1 is announced on stderr, because it changes
/// what every Wait and Retry means.
pub fn time_scale_or_default(scale: Option<TimeScale>) -> TimeScale {
    let scale = scale.unwrap_or_default();
    if !scale.is_identity() {
        eprintln!(
            "stepwasm: warning: --wait-time-scale {} is a test-only setting: Wait states and Retry backoffs last {} times as long",
            scale.factor(),
            scale.factor()
        );
    }
    scale
}

/// A name for the state machine, from its file name.
pub fn machine_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state-machine".into())
}
