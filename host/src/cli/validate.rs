//! `stepwasm validate DEFINITION.json`: prints every diagnostic; exit 0 when valid, 2 when not.

use std::path::PathBuf;

use clap::Args;

use super::{EXIT_INVALID, EXIT_OK, read_raw, report_load_error};
use crate::asl::model::StateMachine;

/// Arguments of `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The state machine definition (ASL JSON).
    pub definition: PathBuf,
}

/// Runs `validate`.
pub fn main(args: ValidateArgs) -> i32 {
    let raw = match read_raw(&args.definition) {
        Ok(raw) => raw,
        Err(e) => return report_load_error(&e),
    };
    // Validation and compilation in one pass: every diagnostic at once.
    let (diagnostics, _) = StateMachine::check(&raw);
    for d in &diagnostics {
        eprintln!("{d}");
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    if errors > 0 {
        eprintln!(
            "{}: invalid ({errors} error(s), {warnings} warning(s))",
            args.definition.display()
        );
        EXIT_INVALID
    } else {
        println!(
            "{}: valid ({warnings} warning(s))",
            args.definition.display()
        );
        EXIT_OK
    }
}
