//! Review decisions against a real Postgres: one decision per draft, none on a draft whose
//! study has newer images, views and decisions audited.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use radraft_store::testing::{
    drafted_study, instance, new_draft, radiologist, record_draft, settle,
};
use radraft_store::{Decided, Decision, NewDraft, Store};
use sqlx::PgPool;

/// Drafts `version` of study 4.1; returns the draft's id.
async fn draft(store: &Store, version: i32) -> i64 {
    let draft = NewDraft {
        study_version: version,
        ..new_draft("4.1")
    };
    record_draft(store, draft).await
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn a_draft_is_decided_once_and_not_over_newer_images(pool: PgPool) {
    let store = Store::from_pool(pool);
    let dr = radiologist(&store).await;
    settle(&store, &instance("4.1", "4.1.1.1", 'a')).await;
    let first = draft(&store, 1).await;
    let current = store.current_draft("4.1").await.unwrap().unwrap();
    store.record_view(&current, "dr-a").await.unwrap();

    // New images: version 2 is cut but not drafted yet; version 1 can no longer be signed.
    settle(&store, &instance("4.1", "4.1.1.2", 'b')).await;
    assert!(
        store
            .current_draft("4.1")
            .await
            .unwrap()
            .unwrap()
            .newer_version_pending
    );
    assert_eq!(
        store
            .decide("4.1", first, &Decision::Accept, dr, "dr-a", None)
            .await
            .unwrap(),
        Decided::Superseded
    );
    let second = draft(&store, 2).await;
    assert_ne!(first, second);
    assert_eq!(
        store
            .decide("4.1", first, &Decision::Accept, dr, "dr-a", None)
            .await
            .unwrap(),
        Decided::Superseded
    );
    let reject = Decision::Reject {
        reason: "wrong side".into(),
    };
    assert_eq!(
        store
            .decide("4.1", second, &reject, dr, "dr-a", None)
            .await
            .unwrap(),
        Decided::Recorded
    );
    assert_eq!(
        store
            .decide("4.1", second, &Decision::Accept, dr, "dr-a", None)
            .await
            .unwrap(),
        Decided::AlreadyDecided("rejected".into())
    );
    assert_eq!(
        store
            .decide("4.1", 999, &Decision::Accept, dr, "dr-a", None)
            .await
            .unwrap(),
        Decided::NoSuchDraft
    );
    let record = store.decision(second).await.unwrap().unwrap();
    assert_eq!(
        (record.decision.as_str(), record.reason.as_deref()),
        ("rejected", Some("wrong side"))
    );
    let kinds: Vec<String> = store
        .audit_trail("4.1")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .filter(|k| k == "draft.viewed" || k == "draft.rejected" || k == "draft.accepted")
        .collect();
    assert_eq!(kinds, ["draft.viewed", "draft.rejected"]);
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn governance_counts_decisions_per_model_and_modality(pool: PgPool) {
    let store = Store::from_pool(pool);
    let dr = radiologist(&store).await;
    let mut drafts = Vec::new();
    for (n, model) in [(1, "m-a"), (2, "m-a"), (3, "m-a"), (4, "m-b")] {
        let uid = format!("5.{n}");
        let id = drafted_study(&store, &uid, model).await;
        drafts.push((uid, id));
    }
    let decide = |i: usize, d: Decision| {
        let (uid, id) = drafts[i].clone();
        let store = store.clone();
        async move { store.decide(&uid, id, &d, dr, "dr-a", None).await.unwrap() }
    };
    decide(0, Decision::Accept).await;
    decide(
        1,
        Decision::Edit {
            findings: "f".into(),
            impression: "i".into(),
            edit_distance: 12,
        },
    )
    .await;
    decide(
        3,
        Decision::Reject {
            reason: "not_present: hallucinated finding".into(),
        },
    )
    .await;

    let rows = store.governance().await.unwrap();
    assert_eq!(rows.len(), 2);
    let a = &rows[0];
    assert_eq!((a.model_id.as_str(), a.modality.as_str()), ("m-a", "CR"));
    assert_eq!(
        (a.drafts, a.reviewed, a.accepted, a.edited, a.rejected),
        (3, 2, 1, 1, 0)
    );
    assert_eq!(a.mean_edit_distance, Some(12.0));
    assert!(a.median_seconds_to_decision.is_some());
    let b = &rows[1];
    assert_eq!((b.model_id.as_str(), b.drafts, b.rejected), ("m-b", 1, 1));
    let reasons = store.rejection_reasons().await.unwrap();
    assert_eq!(reasons.len(), 1);
    assert_eq!(
        (reasons[0].reason.as_str(), reasons[0].count),
        ("not_present", 1)
    );
}
