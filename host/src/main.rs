//! The `stepwasm` binary: parses the command line and hands off to [`stepwasm::cli`].

use clap::Parser;

// mimalloc: the engine allocates many small JSON values per transition; glibc's allocator
// spent about 15% of map-10k's time in malloc/free.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = stepwasm::cli::Cli::parse();
    std::process::exit(stepwasm::cli::main(cli));
}
