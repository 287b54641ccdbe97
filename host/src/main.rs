//! The `stepwasm` binary.

fn main() {
    eprintln!("stepwasm: not yet implemented");
    std::process::exit(2);
}
