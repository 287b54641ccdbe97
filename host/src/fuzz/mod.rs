//! Fuzzing on stable Rust: property tests (`proptest`) that feed generated and mutated input
//! to every parser and decoder of untrusted data. The property is always the same: an
//! answer (a value or a named error), never a panic, an overflowed stack or a hang. Each
//! target is one `fuzz_*` test; `cargo test` runs a short pass (256 cases each, seconds in
//! release). The long run (1 M inputs per target) is
//! `STEPWASM_FUZZ_CASES=1000000 cargo test --release -p stepwasm --lib fuzz_`.
//!
//! Generators build input from each grammar's own pieces (tokens, keys, paths, function
//! names) so that most cases get past the first character, plus raw bytes and characters.
//! A crash found here stays as a named regression test beside its fix.

mod asl;
mod frames;
mod http;
mod jsonata;

use proptest::prelude::*;
use proptest::test_runner::Config;

/// Cases per target: `STEPWASM_FUZZ_CASES` or 256.
pub(crate) fn config() -> Config {
    let cases = std::env::var("STEPWASM_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    Config {
        cases,
        // Failures are reported (with the shrunk input) and kept as named tests, not files.
        failure_persistence: None,
        max_shrink_iters: 2048,
        ..Config::default()
    }
}

/// A string made of `pieces` (a grammar's tokens) and, now and then, any character.
pub(crate) fn from_pieces(
    pieces: &'static [&'static str],
    max: usize,
) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        8 => proptest::sample::select(pieces).prop_map(str::to_string),
        1 => any::<char>().prop_map(String::from),
    ];
    proptest::collection::vec(piece, 0..max).prop_map(|v| v.concat())
}

/// A JSON value of bounded size: scalars, strings from `words`, arrays and objects whose
/// keys come from `keys`.
pub(crate) fn json_value(
    keys: &'static [&'static str],
    words: &'static [&'static str],
    depth: u32,
) -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        prop_oneof![
            any::<i64>().prop_map(Value::from),
            (-5i64..100).prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
        ],
        proptest::sample::select(words).prop_map(|w| Value::String(w.to_string())),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(depth, 64, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::vec((proptest::sample::select(keys), inner), 0..6).prop_map(
                |entries| {
                    Value::Object(
                        entries
                            .into_iter()
                            .map(|(k, v)| (k.to_string(), v))
                            .collect(),
                    )
                }
            ),
        ]
    })
}
