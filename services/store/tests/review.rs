//! Review decisions against a real Postgres: one decision per draft, none on a draft whose
//! study has newer images, views and decisions audited.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use radraft_store::{Attempt, Decided, Decision, JobStart, NewDraft, NewInstance, Store};
use serde_json::json;
use sqlx::PgPool;

fn instance(sop: &str, sha: char) -> NewInstance {
    NewInstance {
        study_uid: "4.1".into(),
        series_uid: "4.1.1".into(),
        sop_instance_uid: sop.into(),
        sop_class_uid: "1.2.840.10008.5.1.4.1.1.1".into(),
        modality: Some("CR".into()),
        accession_number: None,
        study_description: None,
        transfer_syntax_uid: "1.2.840.10008.1.2.1".into(),
        archive_key: format!("4.1/{sop}"),
        sha256: sha.to_string().repeat(64),
        size_bytes: 1,
        calling_ae: None,
        source: "dimse",
    }
}

async fn draft(store: &Store, version: i32) -> i64 {
    let JobStart::Started { job_id, .. } = store
        .start_job(&Attempt {
            study_uid: "4.1",
            study_version: version,
            attempt: 1,
            delivery_count: 0,
            worker: "w",
            replay: false,
        })
        .await
        .unwrap()
    else {
        panic!("started")
    };
    store
        .record_draft(&NewDraft {
            job_id,
            study_uid: "4.1".into(),
            study_version: version,
            report_text: format!("draft of version {version}"),
            findings: Some("f".into()),
            impression: Some("i".into()),
            triage_score: Some(0.5),
            triage_flag: false,
            triage_question: None,
            provenance: json!({}),
        })
        .await
        .unwrap();
    store.current_draft("4.1").await.unwrap().unwrap().draft_id
}

async fn user(store: &Store) -> i64 {
    store
        .create_user("dr-a", "Dr A", "radiologist", "$argon2id$v=19$x", "test")
        .await
        .unwrap()
        .id
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn a_draft_is_decided_once_and_not_over_newer_images(pool: PgPool) {
    let store = Store::from_pool(pool);
    let dr = user(&store).await;
    store
        .record_instance(&instance("4.1.1.1", 'a'))
        .await
        .unwrap();
    store.settle_quiet_studies(Duration::ZERO).await.unwrap();
    let first = draft(&store, 1).await;
    let current = store.current_draft("4.1").await.unwrap().unwrap();
    store.record_view(&current, "dr-a").await.unwrap();

    // New images: version 2 is cut but not drafted yet; version 1 can no longer be signed.
    store
        .record_instance(&instance("4.1.1.2", 'b'))
        .await
        .unwrap();
    store.settle_quiet_studies(Duration::ZERO).await.unwrap();
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
    let dr = user(&store).await;
    let mut drafts = Vec::new();
    for (n, model) in [(1, "m-a"), (2, "m-a"), (3, "m-a"), (4, "m-b")] {
        let uid = format!("5.{n}");
        let mut instance = instance(&format!("{uid}.1.1"), 'a');
        instance.study_uid = uid.clone();
        instance.series_uid = format!("{uid}.1");
        store.record_instance(&instance).await.unwrap();
        store.settle_quiet_studies(Duration::ZERO).await.unwrap();
        let JobStart::Started { job_id, .. } = store
            .start_job(&Attempt {
                study_uid: &uid,
                study_version: 1,
                attempt: 1,
                delivery_count: 0,
                worker: "w",
                replay: false,
            })
            .await
            .unwrap()
        else {
            panic!("started")
        };
        store
            .record_draft(&NewDraft {
                job_id,
                study_uid: uid.clone(),
                study_version: 1,
                report_text: "t".into(),
                findings: None,
                impression: None,
                triage_score: None,
                triage_flag: false,
                triage_question: None,
                provenance: json!({ "model": { "model_id": model, "revision": "r1" } }),
            })
            .await
            .unwrap();
        drafts.push((
            uid.clone(),
            store.current_draft(&uid).await.unwrap().unwrap().draft_id,
        ));
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
