//! Report revisions and exports against a real Postgres: sign-off and amendments keep their
//! history, each revision's SR is queued once in the transaction that made it, revisions go
//! out in order with their predecessor, and a confirmed export is audited once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use radraft_store::{
    Amended, Attempt, Decided, Decision, ExportRequest, JobStart, NewDraft, NewInstance,
    RevisionKind, Store,
};
use serde_json::json;
use sqlx::PgPool;

const STUDY: &str = "5.1";
const PACS: &str = "PACS@127.0.0.1:104";

async fn drafted_study(store: &Store) -> i64 {
    store
        .record_instance(&NewInstance {
            study_uid: STUDY.into(),
            series_uid: "5.1.1".into(),
            sop_instance_uid: "5.1.1.1".into(),
            sop_class_uid: "1.2.840.10008.5.1.4.1.1.1".into(),
            modality: Some("CR".into()),
            accession_number: Some("ACC5".into()),
            study_description: None,
            transfer_syntax_uid: "1.2.840.10008.1.2.1".into(),
            archive_key: "5.1/a".into(),
            sha256: "a".repeat(64),
            size_bytes: 1,
            calling_ae: None,
            source: "dimse",
        })
        .await
        .unwrap();
    store.settle_quiet_studies(Duration::ZERO).await.unwrap();
    let JobStart::Started { job_id, .. } = store
        .start_job(&Attempt {
            study_uid: STUDY,
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
            study_uid: STUDY.into(),
            study_version: 1,
            report_text: "FINDINGS:\nclear\n\nIMPRESSION:\nnormal".into(),
            findings: Some("clear".into()),
            impression: Some("normal".into()),
            triage_score: Some(0.1),
            triage_flag: false,
            triage_question: None,
            provenance: json!({ "model": { "id": "m", "revision": "r" } }),
        })
        .await
        .unwrap();
    store.current_draft(STUDY).await.unwrap().unwrap().draft_id
}

fn export(n: u32) -> ExportRequest {
    ExportRequest {
        destination: PACS.into(),
        sop_instance_uid: format!("2.25.{n}"),
        series_instance_uid: format!("2.25.{}", 1000 + n),
    }
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn sign_off_and_amendments_keep_history_and_export_in_order(pool: PgPool) {
    let store = Store::from_pool(pool);
    let draft = drafted_study(&store).await;
    let dr = store
        .create_user("dr-a", "Dr A", "radiologist", "$argon2id$v=19$x", "test")
        .await
        .unwrap()
        .id;

    // The draft's SR first (revision 0), then sign-off queues revision 1 with it.
    store
        .queue_export(draft, STUDY, 0, &export(0))
        .await
        .unwrap();
    assert!(
        store
            .drafts_awaiting_export(PACS, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .amend(STUDY, draft, "f", "i", "why", dr, "dr-a", None)
            .await
            .unwrap(),
        Amended::NotSigned
    );
    let edit = Decision::Edit {
        findings: "clear lungs".into(),
        impression: "normal chest".into(),
        edit_distance: 12,
    };
    let decided = store
        .decide(STUDY, draft, &edit, dr, "dr-a", Some(&export(1)))
        .await
        .unwrap();
    assert_eq!(decided, Decided::Recorded);
    let amended = store
        .amend(
            STUDY,
            draft,
            "clear lungs",
            "no acute disease",
            "typo",
            dr,
            "dr-a",
            Some(&export(2)),
        )
        .await
        .unwrap();
    assert_eq!(amended, Amended::Recorded { revision: 2 });

    let history = store.report_history(draft).await.unwrap().unwrap();
    let kinds: Vec<_> = history
        .revisions
        .iter()
        .map(|r| (r.revision, r.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            (0, RevisionKind::Draft),
            (1, RevisionKind::Signed),
            (2, RevisionKind::Amended)
        ]
    );
    assert_eq!(history.accession_number.as_deref(), Some("ACC5"));
    let signed = history.revision(1).unwrap();
    assert_eq!(signed.impression.as_deref(), Some("normal chest"));
    assert_eq!(
        signed.text,
        "FINDINGS:\nclear lungs\n\nIMPRESSION:\nnormal chest"
    );
    assert_eq!(signed.by, Some(("dr-a".into(), "Dr A".into())));
    let latest = history.latest().unwrap();
    assert_eq!(latest.impression.as_deref(), Some("no acute disease"));
    assert_eq!(latest.reason.as_deref(), Some("typo"));
    assert_eq!(
        history.revision(0).unwrap().impression.as_deref(),
        Some("normal")
    );

    // Revisions go out one at a time, in order, each naming the last one sent.
    let lease = Duration::from_secs(60);
    let first = store.claim_export(PACS, lease).await.unwrap().unwrap();
    assert_eq!((first.revision, first.attempts), (0, 1));
    assert_eq!(first.predecessor_sop_instance_uid, None);
    assert!(
        store.claim_export(PACS, lease).await.unwrap().is_none(),
        "revision 1 waits"
    );
    store
        .export_failed(&first, "association refused", Some(Duration::ZERO))
        .await
        .unwrap();
    let retry = store.claim_export(PACS, lease).await.unwrap().unwrap();
    assert_eq!((retry.revision, retry.attempts), (0, 2));
    store.export_sent(&retry, 0).await.unwrap();
    store.export_sent(&retry, 0).await.unwrap();
    let signed = store.claim_export(PACS, lease).await.unwrap().unwrap();
    assert_eq!(signed.revision, 1);
    assert_eq!(
        signed.predecessor_sop_instance_uid.as_deref(),
        Some("2.25.0")
    );
    assert_eq!(
        signed.series_instance_uid, "2.25.1000",
        "one series per report"
    );
    store.export_sent(&signed, 0).await.unwrap();
    let amendment = store.claim_export(PACS, lease).await.unwrap().unwrap();
    assert_eq!(
        amendment.predecessor_sop_instance_uid.as_deref(),
        Some("2.25.1")
    );
    store
        .export_failed(&amendment, "refused: 0xA900", None)
        .await
        .unwrap();
    assert!(store.claim_export(PACS, lease).await.unwrap().is_none());

    let states: Vec<_> = store
        .study_exports(STUDY)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.revision, e.state))
        .collect();
    assert_eq!(
        states,
        [(0, "sent".into()), (1, "sent".into()), (2, "failed".into())]
    );
    let kinds: Vec<String> = store
        .audit_trail(STUDY)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .filter(|k| k.starts_with("report.") || k.starts_with("draft.edited"))
        .collect();
    assert_eq!(
        kinds,
        [
            "draft.edited",
            "report.amended",
            "report.exported",
            "report.exported",
            "report.export_failed"
        ]
    );
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn a_rejected_draft_is_neither_exported_nor_amended(pool: PgPool) {
    let store = Store::from_pool(pool);
    let draft = drafted_study(&store).await;
    assert_eq!(
        store.drafts_awaiting_export(PACS, 10).await.unwrap(),
        [(draft, STUDY.to_string())]
    );
    let dr = store
        .create_user("dr-a", "Dr A", "radiologist", "$argon2id$v=19$x", "test")
        .await
        .unwrap()
        .id;
    let reject = Decision::Reject {
        reason: "wrong side".into(),
    };
    store
        .decide(STUDY, draft, &reject, dr, "dr-a", Some(&export(1)))
        .await
        .unwrap();
    assert!(
        store
            .claim_export(PACS, Duration::from_secs(60))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .drafts_awaiting_export(PACS, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .amend(STUDY, draft, "f", "i", "why", dr, "dr-a", None)
            .await
            .unwrap(),
        Amended::NotSigned
    );
    let history = store.report_history(draft).await.unwrap().unwrap();
    let rejected = history.latest().unwrap();
    assert_eq!(rejected.kind, RevisionKind::Rejected);
    assert_eq!(rejected.reason.as_deref(), Some("wrong side"));
}
