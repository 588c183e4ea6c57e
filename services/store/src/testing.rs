//! Fixtures for tests against a real Postgres, shared by this crate's tests and the services'
//! (behind the `testing` feature, which only dev-dependencies turn on): an image received
//! and settled, a job started, a draft recorded, a radiologist.
//!
//! A fixture that cannot be set up fails the test that asked for it, so these panic rather
//! than return errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde_json::{Value, json};

use crate::{Attempt, DraftRecorded, JobStart, NewDraft, NewInstance, Store, report_text};

/// Image `sop` of series `{study}.1`, a CR whose bytes hash to `sha` repeated: the same `sop`
/// with another `sha` is a corrected copy.
pub fn instance(study: &str, sop: &str, sha: char) -> NewInstance {
    NewInstance {
        study_uid: study.into(),
        series_uid: format!("{study}.1"),
        sop_instance_uid: sop.into(),
        sop_class_uid: "1.2.840.10008.5.1.4.1.1.1".into(),
        modality: Some("CR".into()),
        accession_number: None,
        study_description: None,
        transfer_syntax_uid: "1.2.840.10008.1.2.1".into(),
        archive_key: format!("{study}/{sop}-{sha}"),
        sha256: sha.to_string().repeat(64),
        size_bytes: 1,
        calling_ae: None,
        source: "dimse",
    }
}

/// Records `instance` and settles every quiet study, which cuts its study's next version.
pub async fn settle(store: &Store, instance: &NewInstance) {
    store.record_instance(instance).await.unwrap();
    store.settle_quiet_studies(Duration::ZERO).await.unwrap();
}

/// Marks every settled version in the outbox published, as the announcer does once the
/// broker has confirmed them.
pub async fn announce(store: &Store) {
    let mut batch = store.claim_unpublished(10).await.unwrap();
    for message in std::mem::take(&mut batch.messages) {
        batch.mark_published(&message).await.unwrap();
    }
    batch.commit().await.unwrap();
}

/// The first delivery of `version` of `study` to worker `w`.
pub fn attempt(study: &str, version: i32) -> Attempt<'_> {
    Attempt {
        study_uid: study,
        study_version: version,
        attempt: 1,
        delivery_count: 0,
        worker: "w",
        replay: false,
    }
}

/// Starts a job on `version` of `study`; returns its id.
pub async fn start(store: &Store, study: &str, version: i32) -> i64 {
    match store.start_job(&attempt(study, version)).await.unwrap() {
        JobStart::Started { job_id, .. } => job_id,
        other => panic!("expected a new attempt, got {other:?}"),
    }
}

/// Provenance naming `model` revision `r1`, the version governance counts a draft under.
pub fn provenance(model: &str) -> Value {
    json!({ "model": { "model_id": model, "revision": "r1" } })
}

/// A flagged draft of version 1 of `study` by model `m`, with findings `x` and impression
/// `y`. [`record_draft`] fills in the job.
pub fn new_draft(study: &str) -> NewDraft {
    NewDraft {
        job_id: 0,
        study_uid: study.into(),
        study_version: 1,
        report_text: report_text("x", "y"),
        findings: Some("x".into()),
        impression: Some("y".into()),
        triage_score: Some(0.9),
        triage_flag: true,
        triage_question: Some("Pneumothorax?".into()),
        provenance: provenance("m"),
    }
}

/// Starts a job on `draft`'s study version and records `draft` as its outcome; returns the
/// draft's id.
pub async fn record_draft(store: &Store, draft: NewDraft) -> i64 {
    let job_id = start(store, &draft.study_uid, draft.study_version).await;
    match store
        .record_draft(&NewDraft { job_id, ..draft })
        .await
        .unwrap()
    {
        DraftRecorded::Created { draft_id, .. } => draft_id,
        other => panic!("expected a new draft, got {other:?}"),
    }
}

/// The usual set-up: one CR image of `study` received and settled as version 1, then
/// drafted (flagged) by `model`. Returns the draft's id.
pub async fn drafted_study(store: &Store, study: &str, model: &str) -> i64 {
    settle(store, &instance(study, &format!("{study}.1.1"), 'a')).await;
    let draft = NewDraft {
        provenance: provenance(model),
        ..new_draft(study)
    };
    record_draft(store, draft).await
}

/// Radiologist `dr-a`, shown as "Dr A"; returns the user's id.
pub async fn radiologist(store: &Store) -> i64 {
    store
        .create_user("dr-a", "Dr A", "radiologist", "$argon2id$v=19$x", "test")
        .await
        .unwrap()
        .id
}
