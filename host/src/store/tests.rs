//! Store tests on real redb files in temp directories: schema check, tenants and keys,
//! components, state machines, executions, history integrity, frames, recovery after
//! reopen, and group commit sharing transactions.

use std::sync::Arc;

use super::*;
use crate::engine::history::HistoryEvent;
use crate::engine::ports::{ExecutionEnd, ExecutionStatus, FrameUpdate, StepCommit};

fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).unwrap();
    (dir, store)
}

fn event(id: u64, kind: &str) -> HistoryEvent {
    HistoryEvent {
        id,
        previous_event_id: id - 1,
        timestamp: "2026-01-01T00:00:00.000Z".into(),
        event_type: kind.into(),
        details: serde_json::Map::new(),
    }
}

fn record(tenant: &str, name: &str, input: &str) -> ExecutionRecord {
    ExecutionRecord {
        arn: format!("arn:aws:states:local:{tenant}:execution:sm:{name}"),
        tenant: tenant.into(),
        name: name.into(),
        state_machine: "sm".into(),
        state_machine_version: 1,
        machine_type: MachineType::Standard,
        status: ExecutionStatus::Running,
        input: input.into(),
        output: None,
        error: None,
        cause: None,
        start_ms: now_ms(),
        stop_ms: None,
        seq: 0,
    }
}

const BIG: u64 = u64::MAX;

#[test]
fn new_file_gets_schema_version_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).unwrap();
    assert_eq!(store.schema_version().unwrap(), schema::SCHEMA_VERSION);
    drop(store);
    let store = Store::open_dir(dir.path()).unwrap();
    assert_eq!(store.schema_version().unwrap(), schema::SCHEMA_VERSION);
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE_NAME);
    {
        let db = Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(schema::META)
            .unwrap()
            .insert("schema_version", &99u64.to_be_bytes()[..])
            .unwrap();
        txn.commit().unwrap();
    }
    match Store::open(&path, Durability::Immediate) {
        Err(StoreError::SchemaTooNew {
            found: 99,
            supported,
        }) => {
            assert_eq!(supported, schema::SCHEMA_VERSION)
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

#[test]
fn garbage_file_is_an_open_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE_NAME);
    std::fs::write(&path, b"this is not a redb file at all, just some text").unwrap();
    assert!(matches!(
        Store::open(&path, Durability::Immediate),
        Err(StoreError::Open { .. })
    ));
}

#[tokio::test]
async fn tenants_and_keys() {
    let (_d, store) = temp_store();
    store
        .create_tenant("acme", Quotas::default())
        .await
        .unwrap();
    assert!(matches!(
        store.create_tenant("acme", Quotas::default()).await,
        Err(StoreError::AlreadyExists { .. })
    ));
    let hash = [7u8; 32];
    store.add_key("acme", hash).await.unwrap();
    assert_eq!(
        store.tenant_for_key(&hash).unwrap().as_deref(),
        Some("acme")
    );
    assert_eq!(store.tenant_for_key(&[8u8; 32]).unwrap(), None);
    assert!(matches!(
        store.add_key("nobody", [9u8; 32]).await,
        Err(StoreError::NotFound { .. })
    ));
    let q = Quotas {
        max_concurrent_executions: 3,
        ..Quotas::default()
    };
    store.set_quotas("acme", q.clone()).await.unwrap();
    assert_eq!(store.tenant("acme").unwrap().unwrap().quotas, q);
    assert_eq!(store.admin_key_hash().unwrap(), None);
    store.set_admin_key_hash([1; 32]).await.unwrap();
    assert_eq!(store.admin_key_hash().unwrap(), Some([1; 32]));
}

fn component(tenant: &str, name: &str, bytes: &[u8]) -> NewComponent {
    NewComponent {
        tenant: tenant.into(),
        name: name.into(),
        bytes: bytes.to_vec(),
        sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes)),
        imports: vec![],
        exports: vec!["stepwasm:task/run".into()],
    }
}

#[tokio::test]
async fn components_are_versioned_and_content_addressed() {
    let (_d, store) = temp_store();
    let v1 = store
        .put_component(component("t", "price", b"aaa"), BIG)
        .await
        .unwrap();
    let v2 = store
        .put_component(component("t", "price", b"bbbb"), BIG)
        .await
        .unwrap();
    let other = store
        .put_component(component("u", "price", b"aaa"), BIG)
        .await
        .unwrap();
    assert_eq!((v1.version, v2.version, other.version), (1, 2, 1));
    assert_eq!(store.blob_count().unwrap(), 2, "same bytes stored once");
    assert_eq!(
        store
            .component("t", "price", None)
            .unwrap()
            .unwrap()
            .version,
        2
    );
    assert_eq!(
        store
            .component("t", "price", Some(1))
            .unwrap()
            .unwrap()
            .size,
        3
    );
    assert_eq!(store.component_versions("t", "price").unwrap().len(), 2);
    assert_eq!(store.usage("t").unwrap(), 7);
    store
        .put_component(component("t", "alpha", b"c"), BIG)
        .await
        .unwrap();
    let names: Vec<_> = store
        .list_components("t", None, 10)
        .unwrap()
        .into_iter()
        .map(|c| (c.name, c.version))
        .collect();
    assert_eq!(names, vec![("alpha".into(), 1), ("price".into(), 2)]);
    let page2 = store.list_components("t", Some("alpha"), 10).unwrap();
    assert_eq!(page2.len(), 1);
    store
        .put_artifact(&v1.sha256, "fp", b"compiled".to_vec())
        .await
        .unwrap();
    assert_eq!(
        store.artifact(&v1.sha256, "fp").unwrap().unwrap(),
        b"compiled"
    );
    // Tenant u still pins the blob, so it survives t's delete.
    store
        .delete_component_version("t", "price", 1)
        .await
        .unwrap();
    assert!(store.component_bytes(&v1.sha256).unwrap().is_some());
    store
        .delete_component_version("u", "price", 1)
        .await
        .unwrap();
    assert!(store.component_bytes(&v1.sha256).unwrap().is_none());
    assert!(store.artifact(&v1.sha256, "fp").unwrap().is_none());
    assert!(matches!(
        store.delete_component_version("t", "price", 1).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(store.usage("t").unwrap(), 5);
}

#[tokio::test]
async fn stored_bytes_quota_is_enforced() {
    let (_d, store) = temp_store();
    store
        .put_component(component("t", "a", b"12345"), 8)
        .await
        .unwrap();
    let err = store.put_component(component("t", "b", b"12345"), 8).await;
    assert!(matches!(
        err,
        Err(StoreError::QuotaExceeded {
            needed: 10,
            limit: 8,
            ..
        })
    ));
    assert!(
        store.component("t", "b", None).unwrap().is_none(),
        "nothing written"
    );
}

#[tokio::test]
async fn state_machines_create_update_delete() {
    let (_d, store) = temp_store();
    let put = |rev, def: &str| {
        store.put_state_machine("t", "sm", def.into(), MachineType::Standard, rev, BIG)
    };
    assert!(matches!(
        put(Revision::Update, "{}").await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(put(Revision::Create, "{1}").await.unwrap().version, 1);
    assert!(matches!(
        put(Revision::Create, "{}").await,
        Err(StoreError::AlreadyExists { .. })
    ));
    assert_eq!(put(Revision::Update, "{2}").await.unwrap().version, 2);
    assert_eq!(
        store
            .state_machine("t", "sm", None)
            .unwrap()
            .unwrap()
            .definition,
        "{2}"
    );
    assert_eq!(
        store
            .state_machine("t", "sm", Some(1))
            .unwrap()
            .unwrap()
            .definition,
        "{1}"
    );
    assert!(store.state_machine("other", "sm", None).unwrap().is_none());
    assert_eq!(store.list_state_machines("t", None, 5).unwrap().len(), 1);
    store.delete_state_machine("t", "sm").await.unwrap();
    assert!(store.state_machine("t", "sm", None).unwrap().is_none());
    assert_eq!(store.usage("t").unwrap(), 0);
}

#[tokio::test]
async fn start_is_idempotent_only_for_same_input_while_running() {
    let (_d, store) = temp_store();
    let a = record("t", "e1", "{\"x\":1}");
    let first = store
        .start_execution(a.clone(), vec![event(1, "ExecutionStarted")], vec![], BIG)
        .await
        .unwrap();
    let StartOutcome::Created(created) = first else {
        panic!("not created")
    };
    assert!(created.seq > 0);
    let again = store
        .start_execution(a.clone(), vec![], vec![], BIG)
        .await
        .unwrap();
    assert_eq!(again, StartOutcome::Existing(created));
    let different = record("t", "e1", "{\"x\":2}");
    assert!(matches!(
        store.start_execution(different, vec![], vec![], BIG).await,
        Err(StoreError::AlreadyExists { .. })
    ));
}

#[tokio::test]
async fn steps_append_history_exactly_and_end_closes() {
    let (_d, store) = temp_store();
    let rec = record("t", "e", "{}");
    let arn = rec.arn.clone();
    store
        .start_execution(
            rec,
            vec![event(1, "ExecutionStarted")],
            vec![FrameUpdate {
                frame: 0,
                state: Some(b"f0".to_vec()),
            }],
            BIG,
        )
        .await
        .unwrap();
    let step = |ids: &[u64], end: Option<ExecutionEnd>| StepCommit {
        execution_id: arn.clone(),
        events: ids.iter().map(|&i| event(i, "PassStateEntered")).collect(),
        frames: vec![FrameUpdate {
            frame: 1,
            state: Some(vec![ids[0] as u8]),
        }],
        end,
    };
    store.commit_step(step(&[2, 3], None)).await.unwrap();
    // A repeat and a gap are both refused, and write nothing.
    assert!(matches!(
        store.commit_step(step(&[3], None)).await,
        Err(StoreError::HistoryOutOfOrder {
            expected: 4,
            got: 3,
            ..
        })
    ));
    assert!(matches!(
        store.commit_step(step(&[5], None)).await,
        Err(StoreError::HistoryOutOfOrder {
            expected: 4,
            got: 5,
            ..
        })
    ));
    let running = store.running_executions().unwrap();
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].last_event_id, 3);
    assert_eq!(running[0].frames, vec![(0, b"f0".to_vec()), (1, vec![2])]);
    let end = ExecutionEnd {
        status: ExecutionStatus::Succeeded,
        output: Some(serde_json::json!({"ok": true})),
        error: None,
        cause: None,
    };
    store.commit_step(step(&[4, 5], Some(end))).await.unwrap();
    let done = store.execution(&arn).unwrap().unwrap();
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(done.output.as_deref(), Some("{\"ok\":true}"));
    assert!(done.stop_ms.is_some());
    assert!(store.running_executions().unwrap().is_empty());
    assert!(matches!(
        store.commit_step(step(&[6], None)).await,
        Err(StoreError::NotRunning { .. })
    ));
    let ids: Vec<u64> = store
        .history(&arn, None, 100, false)
        .unwrap()
        .events
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, vec![1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn history_pages_both_ways() {
    let (_d, store) = temp_store();
    let rec = record("t", "e", "{}");
    let arn = rec.arn.clone();
    let events = (1..=7).map(|i| event(i, "X")).collect();
    store
        .start_execution(rec, events, vec![], BIG)
        .await
        .unwrap();
    let p1 = store.history(&arn, None, 3, false).unwrap();
    assert_eq!(
        p1.events.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(p1.next_after, Some(3));
    let p3 = store.history(&arn, Some(6), 3, false).unwrap();
    assert_eq!(p3.events.iter().map(|e| e.id).collect::<Vec<_>>(), vec![7]);
    assert_eq!(p3.next_after, None);
    let r1 = store.history(&arn, None, 4, true).unwrap();
    assert_eq!(
        r1.events.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![7, 6, 5, 4]
    );
    let r2 = store.history(&arn, r1.next_after, 4, true).unwrap();
    assert_eq!(
        r2.events.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![3, 2, 1]
    );
    assert_eq!(r2.next_after, None);
}

#[tokio::test]
async fn listing_is_newest_first_filtered_and_paged() {
    let (_d, store) = temp_store();
    for i in 0..5 {
        store
            .start_execution(record("t", &format!("e{i}"), "{}"), vec![], vec![], BIG)
            .await
            .unwrap();
    }
    store
        .start_execution(record("other", "x", "{}"), vec![], vec![], BIG)
        .await
        .unwrap();
    let f = ExecutionFilter::default();
    let (p1, next) = store.list_executions("t", &f, None, 2).unwrap();
    assert_eq!(
        p1.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        vec!["e4", "e3"]
    );
    let (p2, next) = store.list_executions("t", &f, next, 2).unwrap();
    assert_eq!(
        p2.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        vec!["e2", "e1"]
    );
    let (p3, next) = store.list_executions("t", &f, next, 2).unwrap();
    assert_eq!(
        p3.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        vec!["e0"]
    );
    assert_eq!(next, None);
    let done = ExecutionFilter {
        status: Some(ExecutionStatus::Succeeded),
        ..f
    };
    assert!(
        store
            .list_executions("t", &done, None, 10)
            .unwrap()
            .0
            .is_empty()
    );
}

#[tokio::test]
async fn everything_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let arn;
    {
        let store = Store::open_dir(dir.path()).unwrap();
        let rec = record("t", "e", "{}");
        arn = rec.arn.clone();
        store
            .start_execution(
                rec,
                vec![event(1, "ExecutionStarted")],
                vec![FrameUpdate {
                    frame: 0,
                    state: Some(b"wait-until".to_vec()),
                }],
                BIG,
            )
            .await
            .unwrap();
    }
    let store = Store::open_dir(dir.path()).unwrap();
    let running = store.running_executions().unwrap();
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].record.arn, arn);
    assert_eq!(running[0].frames, vec![(0, b"wait-until".to_vec())]);
    assert_eq!(store.running_counts().unwrap().get("t"), Some(&1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commits_share_transactions() {
    let (_d, store) = temp_store();
    let n = 200u64;
    for i in 0..n {
        store
            .start_execution(
                record("t", &format!("e{i}"), "{}"),
                vec![event(1, "ExecutionStarted")],
                vec![],
                BIG,
            )
            .await
            .unwrap();
    }
    let (tx_before, _) = store.commit_stats();
    let store = Arc::new(store);
    let mut tasks = Vec::new();
    for i in 0..n {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let arn = format!("arn:aws:states:local:t:execution:sm:e{i}");
            for id in 2..=6 {
                store
                    .commit_step(StepCommit {
                        execution_id: arn.clone(),
                        events: vec![event(id, "X")],
                        frames: vec![],
                        end: None,
                    })
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let (tx_after, jobs) = store.commit_stats();
    let txns = tx_after - tx_before;
    assert!(jobs >= n * 6);
    assert!(
        txns < n * 5,
        "{txns} transactions for {} commits: no grouping",
        n * 5
    );
}

/// Every page of `arn`'s history both ways, with page size `n`, as id lists.
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
            h.insert((arn, id), encode(&event(id, "X")).as_slice())
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
            .insert(arn.as_str(), encode(&rec).as_slice())
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
            tail::push_event(&mut row, id, &encode(&event(id, "X")));
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
    let txn = store.db.begin_read().unwrap();
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
