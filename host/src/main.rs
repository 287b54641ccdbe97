//! The `stepwasm` binary.

use clap::{Parser, Subcommand};

/// AWS Step Functions (Amazon States Language) on your own machine.
#[derive(Debug, Parser)]
#[command(name = "stepwasm", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the multi-tenant HTTP API on the embedded store.
    Serve(stepwasm::cli::serve::ServeArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => stepwasm::cli::serve::run(args),
    };
    if let Err(e) = result {
        eprintln!("stepwasm: {e:#}");
        std::process::exit(2);
    }
}
