//! The `stepwasm` binary: parses the command line and hands off to [`stepwasm::cli`].

use clap::Parser;

fn main() {
    let cli = stepwasm::cli::Cli::parse();
    std::process::exit(stepwasm::cli::main(cli));
}
