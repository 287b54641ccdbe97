//! Fuzzing the store's decoders (see `crate::fuzz`): whatever bytes a table holds, reading
//! them gives the value or `Corrupt` naming the record, never a panic. Mutated records are
//! sealed again, so the parser behind the checksum is reached too.

use proptest::prelude::*;

use super::tail::{self, TailEntry};
use super::tests::{event, record};
use super::{ExecutionRecord, StoreError, decode, decode_json, decode_u64, seal};
use crate::engine::history::HistoryEvent;
use crate::engine::ports::FrameUpdate;
use crate::fuzz::config;

/// A valid tail row of two steps (events and frames, one deleted).
fn valid_row() -> Vec<u8> {
    let mut row = TailEntry::encode(
        "arn:aws:states:us-east-1:t:execution:sm:e",
        &[event(1, "ExecutionStarted"), event(2, "PassStateEntered")],
        &[
            FrameUpdate {
                frame: 0,
                state: Some(br#"{"parent":null,"machine":0}"#.to_vec()),
            },
            FrameUpdate {
                frame: 3,
                state: None,
            },
        ],
    )
    .bytes;
    row.extend(TailEntry::encode("arn:x", &[event(7, "PassStateExited")], &[]).bytes);
    row
}

/// A valid history run of three events.
fn valid_run() -> Vec<u8> {
    let mut run = Vec::new();
    for id in 1..=3 {
        let bytes = serde_json::to_vec(&event(id, "PassStateEntered")).unwrap();
        tail::push_event(&mut run, id, &bytes);
    }
    run
}

/// `bytes` with `edits` applied: (position, new byte), positions taken modulo the length;
/// then cut to `cut` bytes if shorter.
fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8)], cut: Option<usize>) -> Vec<u8> {
    for &(at, b) in edits {
        if !bytes.is_empty() {
            let i = at % bytes.len();
            bytes[i] = b;
        }
    }
    if let Some(n) = cut {
        bytes.truncate(n);
    }
    bytes
}

fn only_corrupt(r: Result<impl Sized, StoreError>) {
    if let Err(e) = r {
        assert!(matches!(e, StoreError::Corrupt { .. }), "{e}");
    }
}

fn read_all(row: &[u8], run: &[u8], record_bytes: &[u8]) {
    only_corrupt(tail::visit(row, 1, |_, _| {}));
    only_corrupt(tail::run_events(run, "arn", 1));
    only_corrupt(tail::upgrade_v2_row(row));
    only_corrupt(decode::<ExecutionRecord>(record_bytes, "executions", "r"));
    only_corrupt(decode_json::<HistoryEvent>(
        record_bytes,
        "history_runs",
        "r",
    ));
    only_corrupt(decode_u64(record_bytes, "meta"));
    only_corrupt(seal::open(record_bytes, "executions", String::new));
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_store_decoders_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        read_all(&bytes, &bytes, &bytes);
        let sealed = seal::seal(bytes.clone());
        read_all(&sealed, &sealed, &sealed);
    }

    #[test]
    fn fuzz_store_decoders_on_mutated_records(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        cut in proptest::option::of(0usize..600),
    ) {
        let record_json = serde_json::to_vec(&record("t", "e", "{\"a\": 1}")).unwrap();
        let row = seal::seal(mutate(valid_row(), &edits, cut));
        let run = seal::seal(mutate(valid_run(), &edits, cut));
        let rec = seal::seal(mutate(record_json, &edits, cut));
        read_all(&row, &run, &rec);
        // Events inside a mutated run decode or fail by name.
        if let Ok(events) = tail::run_events(&run, "arn", 1) {
            for (_, bytes) in events {
                only_corrupt(decode_json::<HistoryEvent>(bytes, "history_runs", "r"));
            }
        }
    }
}
