//! Store tests of the history tail on real redb files: history and frames read the same from
//! the tail, from compacted runs and from both; older schemas migrate; a failed batch leaves
//! nothing cached.

use super::tests::{BIG, event, record, temp_store};
use super::*;
use crate::engine::ports::{ExecutionEnd, ExecutionStatus, FrameUpdate, StepCommit};

/// Every page of `arn`'s history both ways, with page size `n`, as id lists.
/// A value as versions 1-3 stored it: JSON without a checksum.
fn plain<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap()
}

fn all_pages(store: &Store, arn: &str, n: usize, reverse: bool) -> Vec<Vec<u64>> {
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let p = store.history(arn, after, n, reverse).unwrap();
        pages.push(p.events.iter().map(|e| e.id).collect());
        match p.next_after {
            Some(a) => after = Some(a),
            None => return pages,
        }
    }
}

#[tokio::test]
async fn history_reads_the_same_from_the_tail_compacted_runs_and_both() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).unwrap();
    let rec = record("t", "e", "{}");
    let arn = rec.arn.clone();
    let other = record("t", "f", "{}");
    let other_arn = other.arn.clone();
    store
        .start_execution(rec, vec![event(1, "ExecutionStarted")], vec![], BIG)
        .await
        .unwrap();
    store
        .start_execution(other, vec![event(1, "ExecutionStarted")], vec![], BIG)
        .await
        .unwrap();
    let step = |arn: &str, ids: std::ops::RangeInclusive<u64>| StepCommit {
        execution_id: arn.to_string(),
        events: ids.map(|i| event(i, "PassStateEntered")).collect(),
        frames: vec![],
        end: None,
    };
    let expect = |upto: u64, n: usize| -> (Vec<Vec<u64>>, Vec<Vec<u64>>) {
        let ids: Vec<u64> = (1..=upto).collect();
        let mut rev = ids.clone();
        rev.reverse();
        (
            ids.chunks(n).map(<[u64]>::to_vec).collect(),
            rev.chunks(n).map(<[u64]>::to_vec).collect(),
        )
    };
    // Interleaved steps of two executions share tail rows.
    for k in 0..4u64 {
        store
            .commit_step(step(&arn, 2 + 3 * k..=4 + 3 * k))
            .await
            .unwrap();
        store
            .commit_step(step(&other_arn, 2 + k..=2 + k))
            .await
            .unwrap();
    }
    let check = |upto: u64, what: &str| {
        for n in [1, 2, 3, 5, 100] {
            let (asc, desc) = expect(upto, n);
            assert_eq!(all_pages(&store, &arn, n, false), asc, "{what}, page {n}");
            assert_eq!(all_pages(&store, &arn, n, true), desc, "{what}, page {n}");
        }
        assert_eq!(
            all_pages(&store, &other_arn, 100, false),
            vec![(1..=5).collect::<Vec<u64>>()],
            "{what}: the other execution"
        );
    };
    check(13, "all in the tail");
    assert!(store.tail.read().unwrap().pending_rows() > 0);
    store.compact_history().await.unwrap();
    assert_eq!(store.tail.read().unwrap().pending_rows(), 0);
    check(13, "all compacted");
    for k in 4..6u64 {
        store
            .commit_step(step(&arn, 2 + 3 * k..=4 + 3 * k))
            .await
            .unwrap();
    }
    check(19, "compacted runs, then the tail");
    store.compact_history().await.unwrap();
    store.commit_step(step(&arn, 20..=20)).await.unwrap();
    check(20, "two runs and the tail");
    // The tail and its index survive a reopen; a gap is still refused after it.
    assert!(store.tail.read().unwrap().pending_rows() > 0);
    drop(store);
    let store = Store::open_dir(dir.path()).unwrap();
    // The writer moves a tail left by the last run before its first batch.
    writer::wait(store.writer.submit(|_| Ok(()))).await.unwrap();
    assert_eq!(store.tail.read().unwrap().pending_rows(), 0);
    for n in [1, 4] {
        let (asc, desc) = expect(20, n);
        assert_eq!(all_pages(&store, &arn, n, false), asc, "reopened, page {n}");
        assert_eq!(all_pages(&store, &arn, n, true), desc, "reopened, page {n}");
    }
    assert!(matches!(
        store.commit_step(step(&arn, 22..=22)).await,
        Err(StoreError::HistoryOutOfOrder { expected: 21, .. })
    ));
}

#[tokio::test]
async fn a_version_1_history_is_migrated_to_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE_NAME);
    let arn = "arn:aws:states:local:t:execution:sm:old";
    {
        // The version-1 layout: one JSON event per `history` row, no `history_tail`.
        let db = Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(schema::META)
            .unwrap()
            .insert("schema_version", &1u64.to_be_bytes()[..])
            .unwrap();
        let mut h = txn.open_table(schema::HISTORY).unwrap();
        for id in 1..=3u64 {
            h.insert((arn, id), plain(&event(id, "X")).as_slice())
                .unwrap();
        }
        drop(h);
        txn.open_table(schema::HISTORY_HEADS)
            .unwrap()
            .insert(arn, 3u64)
            .unwrap();
        txn.commit().unwrap();
    }
    let store = Store::open(&path, Durability::Immediate).unwrap();
    assert_eq!(store.schema_version().unwrap(), schema::SCHEMA_VERSION);
    assert_eq!(all_pages(&store, arn, 2, false), vec![vec![1, 2], vec![3]]);
    assert_eq!(all_pages(&store, arn, 2, true), vec![vec![3, 2], vec![1]]);
}

#[tokio::test]
async fn a_version_2_tail_is_migrated_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE_NAME);
    let rec = record("t", "v2", "{}");
    let arn = rec.arn.clone();
    {
        // The version-2 layout: tail entries hold events only, heads and frames are
        // written at every step.
        let db = Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(schema::META)
            .unwrap()
            .insert("schema_version", &2u64.to_be_bytes()[..])
            .unwrap();
        txn.open_table(schema::EXECUTIONS)
            .unwrap()
            .insert(arn.as_str(), plain(&rec).as_slice())
            .unwrap();
        txn.open_table(schema::RUNNING)
            .unwrap()
            .insert(arn.as_str(), "t")
            .unwrap();
        txn.open_table(schema::FRAMES)
            .unwrap()
            .insert((arn.as_str(), 0u64), &b"f0"[..])
            .unwrap();
        txn.open_table(schema::HISTORY_HEADS)
            .unwrap()
            .insert(arn.as_str(), 3u64)
            .unwrap();
        let mut row = Vec::new();
        row.extend_from_slice(&(arn.len() as u16).to_le_bytes());
        row.extend_from_slice(arn.as_bytes());
        row.extend_from_slice(&3u32.to_le_bytes());
        for id in 1..=3u64 {
            tail::push_event(&mut row, id, &plain(&event(id, "X")));
        }
        txn.open_table(schema::HISTORY_TAIL)
            .unwrap()
            .insert(0u64, row.as_slice())
            .unwrap();
        txn.commit().unwrap();
    }
    let store = Store::open(&path, Durability::Immediate).unwrap();
    assert_eq!(store.schema_version().unwrap(), schema::SCHEMA_VERSION);
    assert_eq!(all_pages(&store, &arn, 2, false), vec![vec![1, 2], vec![3]]);
    let running = store.running_executions().unwrap();
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].last_event_id, 3);
    assert_eq!(running[0].frames, vec![(0, b"f0".to_vec())]);
    store
        .commit_step(StepCommit {
            execution_id: arn.clone(),
            events: vec![event(4, "X")],
            frames: vec![FrameUpdate {
                frame: 0,
                state: Some(b"f4".to_vec()),
            }],
            end: None,
        })
        .await
        .unwrap();
    store.compact_history().await.unwrap();
    assert_eq!(all_pages(&store, &arn, 10, false), vec![vec![1, 2, 3, 4]]);
    let again = store.running_execution(&arn).unwrap().unwrap();
    assert_eq!(again.last_event_id, 4);
    assert_eq!(again.frames, vec![(0, b"f4".to_vec())]);
}

#[tokio::test]
async fn frames_in_the_tail_read_the_same_before_and_after_compaction() {
    let (_d, store) = temp_store();
    let start = |name: &str| {
        let rec = record("t", name, "{}");
        let arn = rec.arn.clone();
        let store = store.clone();
        async move {
            store
                .start_execution(
                    rec,
                    vec![event(1, "ExecutionStarted")],
                    vec![FrameUpdate {
                        frame: 0,
                        state: Some(b"a".to_vec()),
                    }],
                    BIG,
                )
                .await
                .unwrap();
            arn
        }
    };
    let arn = start("kept").await;
    let ended = start("ended").await;
    let step = |arn: &str, id: u64, frames: Vec<(u64, Option<&[u8]>)>, end| StepCommit {
        execution_id: arn.to_string(),
        events: vec![event(id, "X")],
        frames: frames
            .into_iter()
            .map(|(frame, s)| FrameUpdate {
                frame,
                state: s.map(<[u8]>::to_vec),
            })
            .collect(),
        end,
    };
    store
        .commit_step(step(
            &arn,
            2,
            vec![(1, Some(b"child")), (0, Some(b"b"))],
            None,
        ))
        .await
        .unwrap();
    store
        .commit_step(step(&arn, 3, vec![(1, None), (0, Some(b"c"))], None))
        .await
        .unwrap();
    store
        .commit_step(step(&ended, 2, vec![(0, Some(b"z"))], None))
        .await
        .unwrap();
    let end = ExecutionEnd {
        status: ExecutionStatus::Succeeded,
        output: None,
        error: None,
        cause: None,
    };
    store
        .commit_step(step(&ended, 3, vec![], Some(end)))
        .await
        .unwrap();
    let check = |what: &str| {
        let e = store.running_execution(&arn).unwrap().unwrap();
        assert_eq!(e.frames, vec![(0, b"c".to_vec())], "{what}");
        assert_eq!(e.last_event_id, 3, "{what}");
        assert!(store.running_execution(&ended).unwrap().is_none(), "{what}");
        let all = store.running_executions().unwrap();
        assert_eq!(all.len(), 1, "{what}");
        assert_eq!(all[0].frames, e.frames, "{what}");
    };
    check("in the tail");
    store.compact_history().await.unwrap();
    check("compacted");
    // Compaction kept no frame of the ended execution.
    let txn = store.slot.begin_read().unwrap();
    let frames = txn.open_table(schema::FRAMES).unwrap();
    let rows: Vec<String> = frames
        .iter()
        .unwrap()
        .map(|r| r.unwrap().0.value().0.to_string())
        .collect();
    assert_eq!(rows, vec![arn.clone()]);
    drop((frames, txn));
    // After the compaction the heads come from the table: a repeat is still refused.
    assert!(matches!(
        store.commit_step(step(&arn, 3, vec![], None)).await,
        Err(StoreError::HistoryOutOfOrder { expected: 4, .. })
    ));
}

#[tokio::test]
async fn a_failed_batch_forgets_the_heads_its_steps_cached() {
    let (_d, store) = temp_store();
    let rec = record("t", "rolled-back", "{}");
    let arn = rec.arn.clone();
    store
        .start_execution(rec, vec![event(1, "ExecutionStarted")], vec![], BIG)
        .await
        .unwrap();
    let step = || StepCommit {
        execution_id: arn.clone(),
        events: vec![event(2, "X")],
        frames: vec![FrameUpdate {
            frame: 0,
            state: Some(b"two".to_vec()),
        }],
        end: None,
    };
    // Hold the writer inside a batch so the next two jobs queue up and share the next
    // one: a storage error in one job aborts the whole batch, the step with it.
    let (release, held) = std::sync::mpsc::channel::<()>();
    let (started, holding) = std::sync::mpsc::channel::<()>();
    let blocker = store.writer.submit(move |_| {
        let _ = started.send(());
        let _ = held.recv();
        Ok(())
    });
    holding.recv().unwrap();
    let poison = store.writer.submit(|_| -> Result<()> {
        Err(StoreError::Storage {
            detail: "injected".into(),
        })
    });
    let doomed = store.submit_step(step());
    release.send(()).unwrap();
    writer::wait(blocker).await.unwrap();
    assert!(writer::wait(poison).await.is_err());
    assert!(matches!(
        writer::wait(doomed).await,
        Err(StoreError::CommitFailed { .. })
    ));
    // Nothing of it is durable, and the writer's cache does not pretend otherwise: the
    // same step is accepted again (a stale head would refuse it as a repeat).
    let e = store.running_execution(&arn).unwrap().unwrap();
    assert_eq!(e.last_event_id, 1);
    assert!(e.frames.is_empty());
    store.commit_step(step()).await.unwrap();
    let e = store.running_execution(&arn).unwrap().unwrap();
    assert_eq!(e.last_event_id, 2);
    assert_eq!(e.frames, vec![(0, b"two".to_vec())]);
    assert_eq!(all_pages(&store, &arn, 10, false), vec![vec![1, 2]]);
}

fn names(range: std::ops::Range<usize>) -> Vec<Box<str>> {
    range.map(|i| format!("e{i}").into()).collect()
}

#[test]
fn a_compaction_slice_ends_where_few_executions_straddle_it() {
    // One-step executions, 64 per row: a slice ends once it holds 2,048 of them.
    let mut shallow = tail::TailIndex::default();
    for r in 0..100u64 {
        let r0 = r as usize * 64;
        shallow.committed(r, &names(r0..r0 + 64), 1000);
    }
    assert_eq!(shallow.slice_end(), Some(31));
    let moved = tail::Moved {
        last_row: 31,
        rows: 32,
        bytes: 32_000,
        all: false,
    };
    tail::compacted(&mut shallow, &moved);
    assert_eq!(shallow.pending_rows(), 68);
    assert!(shallow.rows_of("e0").is_empty());
    assert_eq!(shallow.rows_of("e2048"), &[32]);
    assert_eq!(shallow.slice_end(), Some(63));
    // Executions with a step in every row: no cut is cheap, the slice is the whole tail.
    let mut long = tail::TailIndex::default();
    for r in 0..100u64 {
        long.committed(r, &names(0..3000), 1000);
    }
    assert_eq!(long.slice_end(), Some(99));
    assert_eq!(tail::TailIndex::default().slice_end(), None);
}

#[tokio::test]
async fn a_tail_compacted_in_slices_reads_the_same() {
    let (_dir, store) = temp_store();
    let arns: Vec<String> = (0..3000)
        .map(|i| record("t", &format!("s{i}"), "{}").arn)
        .collect();
    // 100 executions start together, then take a step together: each execution's steps
    // lie in two neighbouring rows, so the tail has cheap cuts.
    for chunk in arns.chunks(100) {
        futures::future::join_all(chunk.iter().map(|arn| {
            let name = arn.rsplit(':').next().unwrap_or_default();
            let rec = record("t", name, "{}");
            store.start_execution(rec, vec![event(1, "ExecutionStarted")], vec![], BIG)
        }))
        .await
        .into_iter()
        .for_each(|r| {
            r.unwrap();
        });
        futures::future::join_all(chunk.iter().map(|arn| {
            store.commit_step(StepCommit {
                execution_id: arn.clone(),
                events: vec![event(2, "PassStateEntered"), event(3, "PassStateExited")],
                frames: vec![],
                end: None,
            })
        }))
        .await
        .into_iter()
        .for_each(|r| r.unwrap());
    }
    {
        let index = store.tail.read().unwrap();
        let end = index.slice_end().unwrap();
        assert!(end + 1 < index.next_row(), "one slice: {end}");
    }
    // More executions than one slice takes: the writer moves the tail in several.
    store.compact_history().await.unwrap();
    assert_eq!(store.tail.read().unwrap().pending_rows(), 0);
    for arn in &arns {
        assert_eq!(
            all_pages(&store, arn, 100, false),
            vec![vec![1, 2, 3]],
            "{arn}"
        );
    }
    // The heads reached the table: the next step must follow event 3.
    let gap = store
        .commit_step(StepCommit {
            execution_id: arns[0].clone(),
            events: vec![event(5, "PassStateEntered")],
            frames: vec![],
            end: None,
        })
        .await;
    assert!(gap.is_err(), "{gap:?}");
}
