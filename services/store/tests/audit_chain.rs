//! The audit trail's hash chains against a real Postgres: events written by the services
//! verify, and changing, removing or truncating events as the database owner (triggers
//! disabled, as an attacker with that role could) is found at the first broken link.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use radraft_store::testing::{announce, instance, settle};
use radraft_store::{AuditEvent, Store};
use serde_json::json;
use sqlx::PgPool;

/// Two studies settled and announced, one reopened and settled again, one event about no
/// study: three chains.
async fn trail(store: &Store) {
    for study in ["2.1", "2.2"] {
        settle(store, &instance(study, &format!("{study}.1.1"), 'a')).await;
    }
    announce(store).await;
    settle(store, &instance("2.1", "2.1.1.2", 'a')).await;
    store
        .append_audit(&AuditEvent {
            actor: "admin".into(),
            kind: "user.created".into(),
            study_uid: None,
            detail: json!({ "user": "dr-a" }),
        })
        .await
        .unwrap();
}

async fn as_owner(store: &Store, sql: &str) {
    let mut tx = store.pool().begin().await.unwrap();
    for statement in [
        "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update",
        sql,
        "ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update",
    ] {
        sqlx::query(statement).execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
}

async fn event_id(store: &Store, study: &str, kind: &str) -> i64 {
    sqlx::query_scalar("SELECT min(id) FROM audit_events WHERE study_uid = $1 AND kind = $2")
        .bind(study)
        .bind(kind)
        .fetch_one(store.pool())
        .await
        .unwrap()
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn the_services_trail_verifies(pool: PgPool) {
    let store = Store::from_pool(pool);
    trail(&store).await;
    let report = store.verify_audit_chain().await.unwrap();
    assert_eq!(report.first_break, None);
    assert_eq!(report.chains, 3);
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(report.events, total as u64);
    // Each event names its predecessor in its own chain.
    let links: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events e JOIN audit_events p
           ON p.hash = e.prev_hash AND p.study_uid = e.study_uid AND p.id < e.id",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(
        links,
        total - 3,
        "all but the first of each chain link back"
    );
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn a_changed_event_is_the_first_break(pool: PgPool) {
    let store = Store::from_pool(pool);
    trail(&store).await;
    let queued = event_id(&store, "2.1", "study.queued").await;
    as_owner(
        &store,
        &format!("UPDATE audit_events SET actor = 'someone-else' WHERE id = {queued}"),
    )
    .await;
    let report = store.verify_audit_chain().await.unwrap();
    let broken = report.first_break.expect("the change is found");
    assert_eq!(broken.event_id, queued);
    assert_eq!(broken.study_uid.as_deref(), Some("2.1"));
    assert!(
        broken.problem.contains("content does not match"),
        "{}",
        broken.problem
    );
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn a_removed_event_breaks_the_next_link(pool: PgPool) {
    let store = Store::from_pool(pool);
    trail(&store).await;
    let queued = event_id(&store, "2.2", "study.queued").await;
    let settled = event_id(&store, "2.2", "study.settled").await;
    as_owner(
        &store,
        &format!("DELETE FROM audit_events WHERE id = {settled}"),
    )
    .await;
    let broken = store
        .verify_audit_chain()
        .await
        .unwrap()
        .first_break
        .unwrap();
    assert_eq!(broken.event_id, queued, "{broken:?}");
    assert!(
        broken.problem.contains("link does not match"),
        "{}",
        broken.problem
    );
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn removing_the_newest_event_is_seen_at_the_head(pool: PgPool) {
    let store = Store::from_pool(pool);
    trail(&store).await;
    let last = event_id(&store, "2.1", "study.settled").await;
    let newest: i64 =
        sqlx::query_scalar("SELECT max(id) FROM audit_events WHERE study_uid = '2.1'")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert!(newest > last);
    as_owner(
        &store,
        &format!("DELETE FROM audit_events WHERE id = {newest}"),
    )
    .await;
    let broken = store
        .verify_audit_chain()
        .await
        .unwrap()
        .first_break
        .unwrap();
    assert!(
        broken.problem.contains("newest events were removed"),
        "{}",
        broken.problem
    );
    assert_eq!(broken.study_uid.as_deref(), Some("2.1"));
}

#[sqlx::test(migrations = false)]
async fn events_written_before_the_chain_existed_are_linked_by_its_migration(pool: PgPool) {
    // The schema as it was before the chain, and a trail written then.
    let (before, chain): (Vec<_>, Vec<_>) = radraft_store::MIGRATOR
        .iter()
        .partition(|m| !m.description.contains("audit chain"));
    for migration in &before {
        sqlx::raw_sql(&migration.sql).execute(&pool).await.unwrap();
    }
    let store = Store::from_pool(pool.clone());
    trail(&store).await;
    assert_eq!(chain.len(), 1);
    sqlx::raw_sql(&chain[0].sql).execute(&pool).await.unwrap();

    let report = store.verify_audit_chain().await.unwrap();
    assert_eq!(report.first_break, None);
    assert_eq!(report.chains, 3);
    // New events continue the migrated chains.
    settle(&store, &instance("2.2", "2.2.1.9", 'a')).await;
    assert_eq!(store.verify_audit_chain().await.unwrap().first_break, None);
}
