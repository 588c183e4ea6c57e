//! The instance index and the settle/outbox cycle against a real Postgres.

use std::time::Duration;

use radraft_core::StudyState;
use radraft_store::testing::{instance, settle};
use radraft_store::{AuditEvent, Recorded, Store};
use sqlx::PgPool;

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn identical_resend_is_a_no_op_and_changed_bytes_are_a_new_version(pool: PgPool) {
    let store = Store::from_pool(pool);
    assert_eq!(
        store
            .record_instance(&instance("1.2.3", "1.2.3.1.1", 'a'))
            .await
            .unwrap(),
        Recorded::New
    );
    assert_eq!(
        store
            .record_instance(&instance("1.2.3", "1.2.3.1.1", 'a'))
            .await
            .unwrap(),
        Recorded::Duplicate
    );
    assert_eq!(
        store
            .record_instance(&instance("1.2.3", "1.2.3.1.1", 'b'))
            .await
            .unwrap(),
        Recorded::NewVersion { version: 2 }
    );
    assert_eq!(store.current_instance_count("1.2.3").await.unwrap(), 1);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM instances")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(rows, 2, "the superseded version is kept");
    let trail = store.audit_trail("1.2.3").await.unwrap();
    assert_eq!(
        trail
            .iter()
            .filter(|e| e.kind == "instance.new_version")
            .count(),
        1
    );
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn a_quiet_study_settles_once_and_a_late_instance_reopens_it(pool: PgPool) {
    let store = Store::from_pool(pool);
    store
        .record_instance(&instance("1.2.4", "1.2.4.1.1", 'a'))
        .await
        .unwrap();
    store
        .record_instance(&instance("1.2.4", "1.2.4.1.2", 'b'))
        .await
        .unwrap();

    assert!(
        store
            .settle_quiet_studies(Duration::from_secs(60))
            .await
            .unwrap()
            .is_empty(),
        "not quiet yet"
    );
    let settled = store.settle_quiet_studies(Duration::ZERO).await.unwrap();
    assert_eq!(settled.len(), 1);
    assert_eq!(
        (settled[0].study_version, settled[0].instance_count),
        (1, 2)
    );
    assert!(
        store
            .settle_quiet_studies(Duration::ZERO)
            .await
            .unwrap()
            .is_empty(),
        "settles once"
    );

    let mut batch = store.claim_unpublished(10).await.unwrap();
    assert_eq!(batch.messages, settled);
    let message = batch.messages[0].clone();
    batch.mark_published(&message).await.unwrap();
    batch.commit().await.unwrap();
    assert!(
        store
            .claim_unpublished(10)
            .await
            .unwrap()
            .messages
            .is_empty()
    );
    assert_eq!(
        store.study_state("1.2.4").await.unwrap(),
        Some((StudyState::Queued, 1))
    );

    store
        .record_instance(&instance("1.2.4", "1.2.4.1.3", 'c'))
        .await
        .unwrap();
    assert_eq!(
        store.study_state("1.2.4").await.unwrap(),
        Some((StudyState::Receiving, 1))
    );
    let second = store.settle_quiet_studies(Duration::ZERO).await.unwrap();
    assert_eq!((second[0].study_version, second[0].instance_count), (2, 3));
    let kinds: Vec<String> = store
        .audit_trail("1.2.4")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            "study.received",
            "study.settled",
            "study.queued",
            "study.reopened",
            "study.settled"
        ]
    );
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn a_claim_holds_no_lock_and_lapses_unless_the_version_is_marked(pool: PgPool) {
    let store = Store::from_pool(pool);
    settle(&store, &instance("1.2.5", "1.2.5.1.1", 'a')).await;
    settle(&store, &instance("1.2.8", "1.2.8.1.1", 'a')).await;
    let batch = store
        .claim_unpublished_for(10, Duration::from_millis(300))
        .await
        .unwrap();
    assert_eq!(batch.messages.len(), 2);
    // The claim was committed: no transaction stays open while the broker is asked.
    let open: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity
         WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(open, 0);
    assert!(
        store
            .claim_unpublished(10)
            .await
            .unwrap()
            .messages
            .is_empty(),
        "a claimed version is not claimed twice while its lease runs"
    );
    // The broker confirm never came for either, and the publisher died: both are claimed
    // again once the lease lapses.
    drop(batch);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut again = store.claim_unpublished(10).await.unwrap();
    assert_eq!(again.messages.len(), 2);
    // One is confirmed and marked (once, even if marked twice); commit gives back the other.
    let confirmed = again.messages[0].clone();
    again.mark_published(&confirmed).await.unwrap();
    store.mark_published(&confirmed).await.unwrap();
    again.commit().await.unwrap();
    let left = store.claim_unpublished(10).await.unwrap();
    assert_eq!(left.messages.len(), 1);
    assert_ne!(left.messages[0], confirmed);
    let queued: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE kind = 'study.queued' AND study_uid = $1",
    )
    .bind(confirmed.study_uid.as_str())
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(queued, 1);
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn a_series_cannot_move_between_studies(pool: PgPool) {
    let store = Store::from_pool(pool);
    store
        .record_instance(&instance("1.2.6", "1.2.6.1.1", 'a'))
        .await
        .unwrap();
    let mut stray = instance("1.2.7", "1.2.7.1.1", 'b');
    stray.series_uid = "1.2.6.1".into();
    let err = store.record_instance(&stray).await.unwrap_err();
    assert!(
        err.to_string().contains("already belongs to study 1.2.6"),
        "{err}"
    );
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn the_audit_trail_is_append_only(pool: PgPool) {
    let store = Store::from_pool(pool);
    store
        .append_audit(&AuditEvent {
            actor: "radiologist:42".into(),
            kind: "draft.accepted".into(),
            study_uid: Some("1.2.8".into()),
            detail: serde_json::json!({}),
        })
        .await
        .unwrap();
    let update = sqlx::query("UPDATE audit_events SET kind = 'x'")
        .execute(store.pool())
        .await;
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = sqlx::query("DELETE FROM audit_events")
        .execute(store.pool())
        .await;
    assert!(delete.is_err());
    assert_eq!(store.audit_trail("1.2.8").await.unwrap().len(), 1);
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn feed_cursors_persist(pool: PgPool) {
    let store = Store::from_pool(pool);
    assert_eq!(store.feed_cursor("orthanc:a").await.unwrap(), None);
    store.save_feed_cursor("orthanc:a", 7).await.unwrap();
    store.save_feed_cursor("orthanc:a", 9).await.unwrap();
    assert_eq!(store.feed_cursor("orthanc:a").await.unwrap(), Some(9));
}
