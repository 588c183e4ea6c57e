//! The worker's queries against a real Postgres: version membership, attempts, one outcome
//! per version (enforced by the database), drafts superseding drafts, failures, scope.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use radraft_core::StudyState;
use radraft_store::testing::{announce, attempt, instance, new_draft, provenance, settle, start};
use radraft_store::{Attempt, DraftRecorded, JobStart, NewDraft, Outcome, Store};
use sqlx::PgPool;

/// Version 1 of `study`, settled and announced.
async fn settled_study(store: &Store, study: &str) {
    settle(store, &instance(study, &format!("{study}.1.1"), 'a')).await;
    announce(store).await;
}

/// A draft of `version` of `study` by model `tiny`, reading `text`, for job `job_id`.
fn draft(job_id: i64, study: &str, version: i32, text: &str) -> NewDraft {
    NewDraft {
        job_id,
        study_version: version,
        report_text: text.into(),
        impression: Some(text.into()),
        triage_score: Some(0.25),
        provenance: provenance("tiny"),
        ..new_draft(study)
    }
}

async fn count(store: &Store, sql: &str, study: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(study)
        .fetch_one(store.pool())
        .await
        .unwrap()
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn a_version_holds_exactly_the_instances_it_was_cut_with(pool: PgPool) {
    let store = Store::from_pool(pool);
    store
        .record_instance(&instance("1.5", "1.5.1.1", 'a'))
        .await
        .unwrap();
    store
        .record_instance(&instance("1.5", "1.5.1.2", 'b'))
        .await
        .unwrap();
    store.settle_quiet_studies(Duration::ZERO).await.unwrap();
    // A corrected copy of one object and a late one: version 2.
    store
        .record_instance(&instance("1.5", "1.5.1.1", 'c'))
        .await
        .unwrap();
    store
        .record_instance(&instance("1.5", "1.5.1.3", 'd'))
        .await
        .unwrap();
    store.settle_quiet_studies(Duration::ZERO).await.unwrap();

    let shas = |v: Vec<radraft_store::VersionInstance>| -> Vec<(String, char)> {
        v.into_iter()
            .map(|i| (i.sop_instance_uid, i.sha256.chars().next().unwrap()))
            .collect()
    };
    assert_eq!(
        shas(store.version_instances("1.5", 1).await.unwrap()),
        [("1.5.1.1".to_owned(), 'a'), ("1.5.1.2".to_owned(), 'b')]
    );
    assert_eq!(
        shas(store.version_instances("1.5", 2).await.unwrap()),
        [
            ("1.5.1.1".to_owned(), 'c'),
            ("1.5.1.2".to_owned(), 'b'),
            ("1.5.1.3".to_owned(), 'd')
        ]
    );
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn a_version_gets_one_draft_however_often_it_is_delivered(pool: PgPool) {
    let store = Store::from_pool(pool);
    settled_study(&store, "1.6").await;
    // Two deliveries of the same message started before either finished (a redelivery
    // after a lost ack): both attempts run, only the first to commit writes.
    let first = start(&store, "1.6", 1).await;
    assert_eq!(
        store.study_state("1.6").await.unwrap(),
        Some((StudyState::Processing, 1))
    );
    let second = start(&store, "1.6", 1).await;
    let created = store
        .record_draft(&draft(second, "1.6", 1, "Normal."))
        .await
        .unwrap();
    assert!(
        matches!(created, DraftRecorded::Created { ref superseded, .. } if superseded.is_empty())
    );
    assert_eq!(
        store
            .record_draft(&draft(first, "1.6", 1, "Other."))
            .await
            .unwrap(),
        DraftRecorded::AlreadyDone(Outcome::Drafted)
    );
    assert_eq!(
        store.start_job(&attempt("1.6", 1)).await.unwrap(),
        JobStart::AlreadyDone(Outcome::Drafted)
    );
    assert_eq!(
        store.study_state("1.6").await.unwrap(),
        Some((StudyState::Drafted, 1))
    );
    let drafts = store.drafts_of("1.6").await.unwrap();
    assert_eq!(drafts.len(), 1);
    assert_eq!(drafts[0].report_text, "Normal.");
    assert_eq!(drafts[0].triage_score, Some(0.25));
    let events = store.audit_trail("1.6").await.unwrap();
    let created_events: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "draft.created")
        .collect();
    assert_eq!(created_events.len(), 1);
    assert_eq!(created_events[0].detail["model_id"], "tiny");
    assert_eq!(created_events[0].detail["study_version"], 1);

    // The database itself refuses a second draft or a second creation event.
    let dup = sqlx::query(
        "INSERT INTO drafts (job_id, study_uid, study_version, report_text, provenance)
         VALUES ($1, '1.6', 1, 'x', '{}')",
    )
    .bind(first)
    .execute(store.pool())
    .await;
    assert!(
        dup.unwrap_err()
            .as_database_error()
            .unwrap()
            .is_unique_violation()
    );
    let dup_event = sqlx::query(
        "INSERT INTO audit_events (actor, kind, study_uid, detail)
         VALUES ('worker', 'draft.created', '1.6', '{\"study_version\": 1}')",
    )
    .execute(store.pool())
    .await;
    assert!(dup_event.is_err());
    // The first attempt was marked abandoned when the second started; one success only.
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM jobs WHERE study_uid = $1 AND state = 'succeeded'",
            "1.6"
        )
        .await,
        1
    );
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn a_later_version_supersedes_the_earlier_draft(pool: PgPool) {
    let store = Store::from_pool(pool);
    settled_study(&store, "1.7").await;
    let job = start(&store, "1.7", 1).await;
    let DraftRecorded::Created {
        draft_id: first, ..
    } = store
        .record_draft(&draft(job, "1.7", 1, "v1"))
        .await
        .unwrap()
    else {
        panic!("not created")
    };
    settle(&store, &instance("1.7", "1.7.1.2", 'b')).await;
    // Version 2 is not announced yet; the worker may still be handed it (the outbox races).
    let job = start(&store, "1.7", 2).await;
    let recorded = store
        .record_draft(&draft(job, "1.7", 2, "v2"))
        .await
        .unwrap();
    let DraftRecorded::Created {
        draft_id: second,
        superseded,
        ..
    } = recorded
    else {
        panic!("not created")
    };
    assert_eq!(superseded, [first]);
    let drafts = store.drafts_of("1.7").await.unwrap();
    assert_eq!((drafts[0].id, drafts[0].superseded), (first, true));
    assert_eq!(
        (drafts[1].id, drafts[1].supersedes, drafts[1].superseded),
        (second, Some(first), false)
    );
    let superseded_events: Vec<_> = store
        .audit_trail("1.7")
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "draft.superseded")
        .collect();
    assert_eq!(superseded_events.len(), 1);
    assert_eq!(superseded_events[0].detail["superseded_by"], second);
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn failures_and_out_of_scope_are_final_and_audited_once(pool: PgPool) {
    let store = Store::from_pool(pool);
    settled_study(&store, "1.8").await;
    let job = start(&store, "1.8", 1).await;
    store
        .record_retry(job, "archive unavailable")
        .await
        .unwrap();
    let job = start(&store, "1.8", 1).await;
    assert!(
        store
            .record_failure(job, "1.8", 1, "imaging: no usable image")
            .await
            .unwrap()
    );
    assert!(!store.record_failure(job, "1.8", 1, "again").await.unwrap());
    assert_eq!(
        store.start_job(&attempt("1.8", 1)).await.unwrap(),
        JobStart::AlreadyDone(Outcome::Failed)
    );
    let (state, reason): (String, Option<String>) =
        sqlx::query_as("SELECT state::text, failure_reason FROM studies WHERE study_uid = '1.8'")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(
        (state.as_str(), reason.as_deref()),
        ("failed", Some("imaging: no usable image"))
    );
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM audit_events WHERE study_uid = $1 AND kind = 'study.failed'",
            "1.8"
        )
        .await,
        1
    );
    let states: Vec<String> =
        sqlx::query_scalar("SELECT state::text FROM jobs WHERE study_uid = '1.8' ORDER BY id")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(states, ["retrying", "failed"]);

    settled_study(&store, "1.9").await;
    let job = start(&store, "1.9", 1).await;
    assert!(
        store
            .record_out_of_scope(job, "1.9", 1, "modality MG is not drafted")
            .await
            .unwrap()
    );
    assert_eq!(
        store.study_state("1.9").await.unwrap(),
        Some((StudyState::OutOfScope, 1))
    );
    assert_eq!(
        store.start_job(&attempt("1.9", 1)).await.unwrap(),
        JobStart::AlreadyDone(Outcome::OutOfScope)
    );
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn an_attempt_left_running_by_a_dead_worker_is_marked_abandoned(pool: PgPool) {
    let store = Store::from_pool(pool);
    settled_study(&store, "1.10").await;
    start(&store, "1.10", 1).await;
    let job = start(&store, "1.10", 1).await;
    let states: Vec<String> =
        sqlx::query_scalar("SELECT state::text FROM jobs WHERE study_uid = '1.10' ORDER BY id")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(states, ["abandoned", "running"]);
    assert!(
        store
            .record_draft(&draft(job, "1.10", 1, "ok"))
            .await
            .is_ok()
    );
    assert_eq!(
        store.start_job(&attempt("1.10", 7)).await.unwrap(),
        JobStart::UnknownVersion
    );
    assert_eq!(
        store.start_job(&attempt("9.9.9", 1)).await.unwrap(),
        JobStart::UnknownVersion
    );
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn a_worker_faster_than_the_announcers_commit_waits_for_it_without_deadlock(pool: PgPool) {
    let store = Store::from_pool(pool);
    settle(&store, &instance("1.11", "1.11.1.1", 'a')).await;
    // The announcer has published study.ready and holds its claim while it waits for the
    // broker; the worker already has the message.
    let mut batch = store.claim_unpublished(10).await.unwrap();
    let worker_store = store.clone();
    let worker = tokio::spawn(async move {
        let job = start(&worker_store, "1.11", 1).await;
        worker_store
            .record_draft(&draft(job, "1.11", 1, "fast"))
            .await
            .unwrap()
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    for message in std::mem::take(&mut batch.messages) {
        batch.mark_published(&message).await.unwrap();
    }
    batch.commit().await.unwrap();
    let recorded = tokio::time::timeout(Duration::from_secs(10), worker)
        .await
        .expect("the worker is not blocked for good")
        .unwrap();
    assert!(
        matches!(recorded, DraftRecorded::Created { .. }),
        "{recorded:?}"
    );
    assert_eq!(
        store.study_state("1.11").await.unwrap(),
        Some((StudyState::Drafted, 1))
    );
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn a_replayed_failure_is_set_aside_for_a_new_attempt_but_a_draft_stands(pool: PgPool) {
    let store = Store::from_pool(pool);
    settled_study(&store, "1.12").await;
    let job = start(&store, "1.12", 1).await;
    assert!(
        store
            .record_failure(job, "1.12", 1, "decoder bug")
            .await
            .unwrap()
    );
    let replay = Attempt {
        replay: true,
        ..attempt("1.12", 1)
    };
    let JobStart::Started { job_id: again, .. } = store.start_job(&replay).await.unwrap() else {
        panic!("a replay starts a new attempt");
    };
    assert_eq!(
        store.study_state("1.12").await.unwrap(),
        Some((StudyState::Processing, 1))
    );
    assert!(
        store
            .record_failure(again, "1.12", 1, "still broken")
            .await
            .unwrap()
    );
    let states: Vec<String> =
        sqlx::query_scalar("SELECT state::text FROM jobs WHERE study_uid = '1.12' ORDER BY id")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(states, ["replaced", "failed"]);
    let kinds: Vec<String> = store
        .audit_trail("1.12")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .filter(|k| k == "study.failed" || k == "study.replayed")
        .collect();
    assert_eq!(kinds, ["study.failed", "study.replayed", "study.failed"]);

    // Once drafted, a replay changes nothing.
    let JobStart::Started { job_id: third, .. } = store.start_job(&replay).await.unwrap() else {
        panic!("a replay starts a new attempt");
    };
    store
        .record_draft(&draft(third, "1.12", 1, "fixed"))
        .await
        .unwrap();
    assert_eq!(
        store.start_job(&replay).await.unwrap(),
        JobStart::AlreadyDone(Outcome::Drafted)
    );
}
