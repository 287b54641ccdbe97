//! Published versions, aliases and tags in the store: numbering never reused, the
//! revision check, an alias pinning its versions, count limits, and a state machine's
//! delete taking all of it along.

use super::tests::{BIG, temp_store};
use super::*;

fn revision(def: &str) -> NewRevision {
    NewRevision {
        definition: def.into(),
        machine_type: MachineType::Standard,
        role_arn: None,
        logging: LoggingConfiguration::default(),
        tracing: TracingConfiguration::default(),
    }
}

async fn put(store: &Store, rev: Revision, def: &str, publish: bool) -> StateMachineVersion {
    store
        .put_state_machine(
            "t",
            "sm",
            revision(def),
            rev,
            publish.then_some(None),
            Vec::new(),
            BIG,
        )
        .await
        .unwrap()
        .0
}

fn alias(routes: &[(u64, u32)]) -> AliasRecord {
    AliasRecord {
        name: "sm".into(),
        alias: "live".into(),
        description: None,
        routing: routes
            .iter()
            .map(|&(version, weight)| RouteWeight { version, weight })
            .collect(),
        created_ms: 0,
        updated_ms: 0,
    }
}

#[tokio::test]
async fn versions_are_numbered_once_and_pinned_by_aliases() {
    let (_d, store) = temp_store();
    let first = put(&store, Revision::Create, "{1}", true).await;
    assert_eq!(first.revision_id, None);
    let second = put(&store, Revision::Update, "{2}", false).await;
    let id = second.revision_id.clone().unwrap();
    // The revision check: INITIAL (None) is stale now; the current id publishes.
    let stale = store
        .publish_version("t", "sm", RevisionCheck::Expect(None), None)
        .await;
    assert!(
        matches!(stale, Err(StoreError::Conflict { .. })),
        "{stale:?}"
    );
    let v2 = store
        .publish_version("t", "sm", RevisionCheck::Expect(Some(id)), Some("d".into()))
        .await
        .unwrap();
    assert_eq!((v2.version, v2.revision), (2, 2));
    // Publishing an already published revision returns its version.
    let again = store
        .publish_version("t", "sm", RevisionCheck::Any, None)
        .await
        .unwrap();
    assert_eq!(again, v2);
    // An alias pins its versions; a route to a missing version is refused.
    let missing = store.create_alias("t", alias(&[(9, 100)])).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "{missing:?}"
    );
    store
        .create_alias("t", alias(&[(1, 50), (2, 50)]))
        .await
        .unwrap();
    let pinned = store.delete_published_version("t", "sm", 1).await;
    assert!(
        matches!(pinned, Err(StoreError::Conflict { .. })),
        "{pinned:?}"
    );
    store
        .update_alias(
            "t",
            "sm",
            "live",
            None,
            Some(vec![RouteWeight {
                version: 2,
                weight: 100,
            }]),
        )
        .await
        .unwrap();
    store.delete_published_version("t", "sm", 1).await.unwrap();
    // Deleted numbers are not handed out again.
    put(&store, Revision::Update, "{3}", true).await;
    let listed: Vec<u64> = store
        .published_versions("t", "sm", None, 10)
        .unwrap()
        .iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(listed, vec![3, 2]);
    assert_eq!(
        store.published_versions("t", "sm", Some(3), 10).unwrap()[0].version,
        2
    );
    // Deleting the state machine takes versions, aliases and tags along.
    store
        .tag_machine(
            "t",
            "sm",
            vec![Tag {
                key: "k".into(),
                value: "v".into(),
            }],
        )
        .await
        .unwrap();
    store.delete_state_machine("t", "sm").await.unwrap();
    let recreated = put(&store, Revision::Create, "{new}", true).await;
    assert_eq!(
        recreated.version, 4,
        "revision numbers are never reused for a name"
    );
    let listed = store.published_versions("t", "sm", None, 10).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].version, 1,
        "a new state machine numbers from 1 again"
    );
    assert!(store.aliases("t", "sm").unwrap().is_empty());
    assert!(store.machine_tags("t", "sm").unwrap().is_empty());
}

#[tokio::test]
async fn tags_merge_and_stop_at_the_limit() {
    let (_d, store) = temp_store();
    let tag = |k: &str, v: &str| Tag {
        key: k.into(),
        value: v.into(),
    };
    let missing = store.tag_machine("t", "sm", vec![tag("a", "1")]).await;
    assert!(matches!(missing, Err(StoreError::NotFound { .. })));
    put(&store, Revision::Create, "{1}", false).await;
    store
        .tag_machine("t", "sm", vec![tag("a", "1"), tag("b", "2")])
        .await
        .unwrap();
    store
        .tag_machine("t", "sm", vec![tag("a", "3")])
        .await
        .unwrap();
    assert_eq!(
        store.machine_tags("t", "sm").unwrap(),
        vec![tag("a", "3"), tag("b", "2")]
    );
    let many: Vec<Tag> = (0..49).map(|i| tag(&format!("k{i}"), "")).collect();
    let over = store.tag_machine("t", "sm", many).await;
    assert!(
        matches!(over, Err(StoreError::LimitExceeded { .. })),
        "{over:?}"
    );
    assert_eq!(
        store.machine_tags("t", "sm").unwrap().len(),
        2,
        "nothing written"
    );
    store
        .untag_machine("t", "sm", vec!["a".into(), "zzz".into()])
        .await
        .unwrap();
    assert_eq!(store.machine_tags("t", "sm").unwrap(), vec![tag("b", "2")]);
}
