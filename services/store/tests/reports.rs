//! Report revisions and exports against a real Postgres: sign-off and amendments keep their
//! history, each revision's SR is queued once in the transaction that made it, revisions go
//! out in order with their predecessor, and a confirmed export is audited once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use radraft_store::testing::{instance, new_draft, radiologist, record_draft, settle};
use radraft_store::{
    Amended, Decided, Decision, ExportRequest, NewDraft, NewInstance, RevisionKind, Store,
    report_text,
};
use sqlx::PgPool;

const STUDY: &str = "5.1";
const PACS: &str = "PACS@127.0.0.1:104";

/// Version 1 of [`STUDY`], with an accession number, drafted as a normal chest.
async fn drafted_study(store: &Store) -> i64 {
    let image = NewInstance {
        accession_number: Some("ACC5".into()),
        ..instance(STUDY, "5.1.1.1", 'a')
    };
    settle(store, &image).await;
    let draft = NewDraft {
        report_text: report_text("clear", "normal"),
        findings: Some("clear".into()),
        impression: Some("normal".into()),
        triage_score: Some(0.1),
        triage_flag: false,
        ..new_draft(STUDY)
    };
    record_draft(store, draft).await
}

/// Drafts whose SR has yet to be queued for PACS.
async fn awaiting_export(store: &Store) -> Vec<(i64, String)> {
    store.drafts_awaiting_export(PACS, 10).await.unwrap()
}

/// An amendment attempt by `dr`, with placeholder text and no export.
async fn amend(store: &Store, draft: i64, dr: i64) -> Amended {
    store
        .amend(STUDY, draft, "f", "i", "why", dr, "dr-a", None)
        .await
        .unwrap()
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
    let dr = radiologist(&store).await;

    // The draft's SR first (revision 0), then sign-off queues revision 1 with it.
    store
        .queue_export(draft, STUDY, 0, &export(0))
        .await
        .unwrap();
    assert!(awaiting_export(&store).await.is_empty());
    assert_eq!(amend(&store, draft, dr).await, Amended::NotSigned);
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
    assert_eq!(awaiting_export(&store).await, [(draft, STUDY.to_string())]);
    let dr = radiologist(&store).await;
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
    assert!(awaiting_export(&store).await.is_empty());
    assert_eq!(amend(&store, draft, dr).await, Amended::NotSigned);
    let history = store.report_history(draft).await.unwrap().unwrap();
    let rejected = history.latest().unwrap();
    assert_eq!(rejected.kind, RevisionKind::Rejected);
    assert_eq!(rejected.reason.as_deref(), Some("wrong side"));
}
