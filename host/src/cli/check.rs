//! `stepwasm check --data-dir DIR`: reads every record of the store and prints each damaged
//! one by name (table, key, what is wrong). Exit 0: no damage; 1: damage found; 2: the
//! store could not be read.

use std::path::PathBuf;

use clap::Args;

use super::{EXIT_FAILED, EXIT_INVALID, EXIT_OK};
use crate::store::{DB_FILE_NAME, check_file, space_file};

/// Arguments of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The data directory `serve` uses.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Print where the file's bytes go (per table: rows, key and value bytes, redb's
    /// metadata and fragmentation, pages) instead of checking records.
    #[arg(long)]
    pub space: bool,
}

/// Runs `check`; returns the exit code.
pub fn main(args: CheckArgs) -> i32 {
    let path = args.data_dir.join(DB_FILE_NAME);
    if args.space {
        return space(&path);
    }
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

fn space(path: &std::path::Path) -> i32 {
    let report = match space_file(path) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("stepwasm: {e}");
            return EXIT_INVALID;
        }
    };
    println!(
        "{:<24} {:>10} {:>14} {:>12} {:>12} {:>14}",
        "table", "rows", "stored", "metadata", "fragmented", "pages"
    );
    for t in &report.tables {
        println!(
            "{:<24} {:>10} {:>14} {:>12} {:>12} {:>14}",
            t.name, t.rows, t.stored, t.metadata, t.fragmented, t.pages
        );
    }
    println!(
        "tables hold {} bytes in pages; the file is {} bytes ({})",
        report.table_bytes(),
        report.file_bytes,
        path.display()
    );
    EXIT_OK
}
