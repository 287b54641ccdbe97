//! Store tests on real redb files in temp directories: schema check, tenants and keys,
//! components, state machines, executions, history integrity, frames, recovery after
//! reopen, and group commit sharing transactions. The history tail, its compaction and
//! schema migrations are in `tail_tests.rs`.

use std::sync::Arc;

use super::*;
use crate::engine::history::HistoryEvent;
use crate::engine::ports::{ExecutionEnd, ExecutionStatus, FrameUpdate, StepCommit};

pub(super) fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).unwrap();
    (dir, store)
}

pub(super) fn event(id: u64, kind: &str) -> HistoryEvent {
    HistoryEvent {
        id,
        previous_event_id: id - 1,
        timestamp: "2026-01-01T00:00:00.000Z".into(),
        event_type: kind.into(),
        details: serde_json::Map::new(),
    }
}

pub(super) fn record(tenant: &str, name: &str, input: &str) -> ExecutionRecord {
    ExecutionRecord {
        arn: format!("arn:aws:states:local:{tenant}:execution:sm:{name}"),
        tenant: tenant.into(),
        name: name.into(),
        state_machine: "sm".into(),
        state_machine_version: 1,
        published_version: None,
        alias: None,
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

pub(super) const BIG: u64 = u64::MAX;

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
        let new = NewRevision {
            definition: def.into(),
            machine_type: MachineType::Standard,
            role_arn: None,
            logging: LoggingConfiguration::default(),
            tracing: TracingConfiguration::default(),
        };
        let store = store.clone();
        async move {
            store
                .put_state_machine("t", "sm", new, rev, None, Vec::new(), BIG)
                .await
                .map(|(rec, _)| rec)
        }
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
    let page = store.list_executions("t", &f, None, 2).unwrap();
    let (p1, next) = (page.records, page.next);
    assert_eq!(
        p1.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        vec!["e4", "e3"]
    );
    let page = store.list_executions("t", &f, next, 2).unwrap();
    let (p2, next) = (page.records, page.next);
    assert_eq!(
        p2.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        vec!["e2", "e1"]
    );
    let page = store.list_executions("t", &f, next, 2).unwrap();
    let (p3, next) = (page.records, page.next);
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
            .records
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
