//! The worklist's order and filters against a real Postgres: overdue studies first (oldest
//! first), then flagged, then by score, then by waiting time; nothing hidden; filters by
//! modality, review state and day.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use radraft_store::testing::{instance, new_draft, record_draft};
use radraft_store::{NewDraft, NewInstance, Store, WorklistFilter};
use sqlx::PgPool;

async fn study(store: &Store, uid: &str, modality: &str, minutes_ago: i64) {
    let image = NewInstance {
        modality: Some(modality.into()),
        accession_number: Some(format!("ACC-{uid}")),
        study_description: Some(format!("{modality} study")),
        ..instance(uid, &format!("{uid}.1.1"), 'a')
    };
    store.record_instance(&image).await.unwrap();
    sqlx::query(
        "UPDATE studies SET first_received_at = now() - make_interval(mins => $2::int),
             last_received_at = now() - make_interval(mins => $2::int) WHERE study_uid = $1",
    )
    .bind(uid)
    .bind(minutes_ago as i32)
    .execute(store.pool())
    .await
    .unwrap();
    store.settle_quiet_studies(Duration::ZERO).await.unwrap();
}

async fn drafted(store: &Store, uid: &str, score: f32, flag: bool) {
    let draft = NewDraft {
        triage_score: Some(score),
        triage_flag: flag,
        ..new_draft(uid)
    };
    record_draft(store, draft).await;
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn triage_orders_and_the_ageing_cap_lifts_old_studies(pool: PgPool) {
    let store = Store::from_pool(pool);
    study(&store, "3.1", "CR", 5).await;
    drafted(&store, "3.1", 0.2, false).await;
    study(&store, "3.2", "CT", 10).await;
    drafted(&store, "3.2", 0.9, true).await;
    study(&store, "3.3", "CR", 20).await;
    drafted(&store, "3.3", 0.6, false).await;
    study(&store, "3.4", "MR", 30).await; // queued, no draft yet
    study(&store, "3.5", "CR", 200).await; // waiting past the cap, low score
    drafted(&store, "3.5", 0.1, false).await;

    let cap = Duration::from_secs(120 * 60);
    let order: Vec<String> = store
        .worklist(&WorklistFilter::default(), cap, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.study_uid)
        .collect();
    assert_eq!(order, ["3.5", "3.2", "3.3", "3.1", "3.4"]);

    let rows = store
        .worklist(&WorklistFilter::default(), cap, 100)
        .await
        .unwrap();
    assert!(rows[0].overdue && !rows[1].overdue);
    assert_eq!(rows[0].accession_number.as_deref(), Some("ACC-3.5"));
    assert_eq!(rows[0].description.as_deref(), Some("CR study"));
    assert_eq!(rows[1].ai_state, "drafted");
    assert_eq!(rows[4].ai_state, "stable", "settled, not yet announced");
    assert_eq!(
        rows[4].draft_id, None,
        "a study without a draft is still listed"
    );
    assert_eq!(rows[1].review.as_deref(), Some("pending"));

    let ct = WorklistFilter {
        modality: Some("CT".into()),
        ..WorklistFilter::default()
    };
    let only: Vec<String> = store
        .worklist(&ct, cap, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.study_uid)
        .collect();
    assert_eq!(only, ["3.2"]);
    // A second series of another modality: the study lists both and either filter finds it.
    let mr = NewInstance {
        series_uid: "3.2.2".into(),
        modality: Some("PT".into()),
        ..instance("3.2", "3.2.2.1", 'b')
    };
    store.record_instance(&mr).await.unwrap();
    let by_pt = WorklistFilter {
        modality: Some("PT".into()),
        ..WorklistFilter::default()
    };
    let rows = store.worklist(&by_pt, cap, 100).await.unwrap();
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(
        (rows[0].study_uid.as_str(), rows[0].modalities.as_str()),
        ("3.2", "CT,PT")
    );
    assert_eq!(store.worklist(&ct, cap, 100).await.unwrap().len(), 1);
    let pending = WorklistFilter {
        review: Some("pending".into()),
        ..WorklistFilter::default()
    };
    assert_eq!(store.worklist(&pending, cap, 100).await.unwrap().len(), 4);
    let today = chrono::Utc::now().date_naive();
    let older = today - chrono::Days::new(3);
    let on = |day| WorklistFilter {
        received_on: Some(day),
        ..WorklistFilter::default()
    };
    assert_eq!(store.worklist(&on(older), cap, 100).await.unwrap().len(), 0);
    assert!(
        !store
            .worklist(&on(today), cap, 100)
            .await
            .unwrap()
            .is_empty()
    );
}
