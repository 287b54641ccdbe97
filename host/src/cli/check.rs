//! `stepwasm check --data-dir DIR`: reads every record of the store and prints each damaged
//! one by name (table, key, what is wrong). Exit 0: no damage; 1: damage found; 2: the
//! store could not be read.

use std::path::PathBuf;

use clap::Args;

use super::{EXIT_FAILED, EXIT_INVALID, EXIT_OK};
use crate::store::{DB_FILE_NAME, check_file};

/// Arguments of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The data directory `serve` uses.
    #[arg(long)]
    pub data_dir: PathBuf,
}

/// Runs `check`; returns the exit code.
pub fn main(args: CheckArgs) -> i32 {
    let path = args.data_dir.join(DB_FILE_NAME);
    let report = match check_file(&path) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("stepwasm: {e}");
            return EXIT_INVALID;
        }
    };
    for e in &report.damaged {
        println!("damaged: {e}");
    }
    println!(
        "checked {} records in {}: {} damaged",
        report.records,
        path.display(),
        report.damaged.len()
    );
    if report.damaged.is_empty() {
        EXIT_OK
    } else {
        EXIT_FAILED
    }
}
