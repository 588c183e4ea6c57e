//! Governance against a real Postgres: a model version in shadow mode drafts drafts that
//! nobody sees (worklist, study, decisions) but governance counts; the drafting kill switch;
//! the critical-finding closed loop; rejections counted by reason code; every change audited.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use chrono::Utc;
use radraft_store::testing::{drafted_study, radiologist};
use radraft_store::{Communication, CriticalRecorded, Decided, Decision, Store, WorklistFilter};
use sqlx::PgPool;

async fn kinds(store: &Store, study: Option<&str>) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT kind FROM audit_events WHERE study_uid IS NOT DISTINCT FROM $1
           AND split_part(kind, '.', 1) IN ('model', 'drafting', 'critical')
         ORDER BY id",
    )
    .bind(study)
    .fetch_all(store.pool())
    .await
    .unwrap()
}

/// How many critical-finding loops are open and how many closed.
async fn critical_loops(store: &Store) -> (i64, i64) {
    let status = store.governance_status().await.unwrap();
    (
        status.open_critical_findings,
        status.closed_critical_findings,
    )
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn a_shadow_draft_is_stored_and_counted_but_never_shown(pool: PgPool) {
    let store = Store::from_pool(pool);
    let dr = radiologist(&store).await;
    assert!(
        store
            .set_model_mode("m-new", "r1", true, "ada")
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_model_mode("m-new", "r1", true, "ada")
            .await
            .unwrap(),
        "no change, no event"
    );
    let shadow = drafted_study(&store, "7.1", "m-new").await;
    let shown = drafted_study(&store, "7.2", "m-old").await;
    let drafts = store.drafts_of("7.1").await.unwrap();
    assert!(drafts[0].shadow);
    assert!(!store.drafts_of("7.2").await.unwrap()[0].shadow);

    // Nobody sees it: no current draft, no decision, and the worklist lists the study by
    // waiting time with its AI state withheld, not by its (high, flagged) score.
    assert!(store.current_draft("7.1").await.unwrap().is_none());
    assert_eq!(
        store
            .decide("7.1", shadow, &Decision::Accept, dr, "dr-a", None)
            .await
            .unwrap(),
        Decided::NoSuchDraft
    );
    let lines = store
        .worklist(&WorklistFilter::default(), Duration::from_secs(3600), 10)
        .await
        .unwrap();
    let uids: Vec<&str> = lines.iter().map(|l| l.study_uid.as_str()).collect();
    assert_eq!(uids, ["7.2", "7.1"]);
    let hidden = &lines[1];
    assert_eq!(hidden.ai_state, "shadow");
    assert_eq!(
        (hidden.draft_id, hidden.triage_score, hidden.triage_flag),
        (None, None, false)
    );
    assert_eq!(lines[0].ai_state, "drafted");
    let pending = WorklistFilter {
        review: Some("pending".into()),
        ..WorklistFilter::default()
    };
    let pending = store
        .worklist(&pending, Duration::from_secs(3600), 10)
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);

    // Back to active: later drafts are shown, the shadow one stays withheld.
    assert!(
        store
            .set_model_mode("m-new", "r1", false, "ada")
            .await
            .unwrap()
    );
    assert!(store.current_draft("7.1").await.unwrap().is_none());
    let modes = store.model_modes().await.unwrap();
    assert_eq!(modes.len(), 1);
    assert_eq!(
        (modes[0].shadow, modes[0].changed_by.as_str()),
        (false, "ada")
    );
    assert_eq!(
        kinds(&store, None).await,
        ["model.mode_changed", "model.mode_changed"]
    );

    store
        .decide("7.2", shown, &Decision::Accept, dr, "dr-a", None)
        .await
        .unwrap();
    let rows = store.governance().await.unwrap();
    let count = |model: &str| {
        let r = rows.iter().find(|r| r.model_id == model).unwrap();
        (r.drafts, r.shadow_drafts, r.reviewed, r.accepted)
    };
    assert_eq!(count("m-new"), (0, 1, 0, 0));
    assert_eq!(count("m-old"), (1, 0, 1, 1));
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn the_kill_switch_is_off_only_with_a_reason_and_every_change_is_audited(pool: PgPool) {
    let store = Store::from_pool(pool);
    assert!(store.drafting_enabled().await.unwrap());
    assert!(store.drafting_switch().await.unwrap().enabled);
    assert!(store.set_drafting(false, None, "ada").await.is_err());
    assert!(
        store
            .set_drafting(false, Some("model recalled"), "ada")
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_drafting(false, Some("again"), "ada")
            .await
            .unwrap()
    );
    assert!(!store.drafting_enabled().await.unwrap());
    let switch = store.drafting_switch().await.unwrap();
    assert_eq!(
        (
            switch.enabled,
            switch.reason.as_deref(),
            switch.changed_by.as_str()
        ),
        (false, Some("model recalled"), "ada")
    );
    assert!(!store.governance_status().await.unwrap().drafting_enabled);
    assert!(store.set_drafting(true, None, "bob").await.unwrap());
    assert!(store.drafting_enabled().await.unwrap());
    assert_eq!(
        kinds(&store, None).await,
        ["drafting.disabled", "drafting.enabled"]
    );
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn a_critical_finding_loop_opens_on_a_signed_draft_and_closes_once(pool: PgPool) {
    let store = Store::from_pool(pool);
    let dr = radiologist(&store).await;
    let id = drafted_study(&store, "8.1", "m").await;
    let told = Communication {
        recipient: "Dr B, ED".into(),
        method: "phone".into(),
        communicated_at: Utc::now(),
        note: Some("read back".into()),
    };
    let confirm = |note: &'static str| {
        let store = store.clone();
        async move {
            store
                .confirm_critical("8.1", id, Some(note), None, dr, "dr-a")
                .await
                .unwrap()
        }
    };
    let communicate = || {
        let (store, told) = (store.clone(), told.clone());
        async move {
            store
                .record_communication("8.1", id, &told, dr, "dr-a")
                .await
                .unwrap()
        }
    };
    assert_eq!(confirm("pneumothorax").await, CriticalRecorded::NotSigned);
    assert_eq!(
        store
            .confirm_critical("8.2", id, None, None, dr, "dr-a")
            .await
            .unwrap(),
        CriticalRecorded::NoSuchDraft
    );
    assert_eq!(communicate().await, CriticalRecorded::NotConfirmed);
    store
        .decide("8.1", id, &Decision::Accept, dr, "dr-a", None)
        .await
        .unwrap();
    assert_eq!(confirm("pneumothorax").await, CriticalRecorded::Recorded);
    assert_eq!(confirm("again").await, CriticalRecorded::AlreadyConfirmed);
    assert_eq!(critical_loops(&store).await, (1, 0));
    let open = store.open_critical_findings().await.unwrap();
    assert_eq!(
        (open[0].study_uid.as_str(), open[0].confirmed_by.as_str()),
        ("8.1", "Dr A")
    );

    assert_eq!(communicate().await, CriticalRecorded::Recorded);
    assert_eq!(communicate().await, CriticalRecorded::AlreadyCommunicated);
    let finding = store.critical_finding(id).await.unwrap().unwrap();
    assert_eq!(finding.recipient.as_deref(), Some("Dr B, ED"));
    assert_eq!(finding.method.as_deref(), Some("phone"));
    assert_eq!(finding.note.as_deref(), Some("pneumothorax\nread back"));
    assert_eq!(finding.recorded_by.as_deref(), Some("Dr A"));
    assert!(store.open_critical_findings().await.unwrap().is_empty());
    assert_eq!(
        kinds(&store, Some("8.1")).await,
        ["critical.confirmed", "critical.communicated"]
    );
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn confirming_with_the_communication_closes_the_loop_at_once(pool: PgPool) {
    let store = Store::from_pool(pool);
    let dr = radiologist(&store).await;
    let id = drafted_study(&store, "8.3", "m").await;
    let edit = Decision::Edit {
        findings: "f2".into(),
        impression: "i2".into(),
        edit_distance: 2,
    };
    store
        .decide("8.3", id, &edit, dr, "dr-a", None)
        .await
        .unwrap();
    let told = Communication {
        recipient: "ward 3 nurse in charge".into(),
        method: "in_person".into(),
        communicated_at: Utc::now(),
        note: None,
    };
    assert_eq!(
        store
            .confirm_critical("8.3", id, None, Some(&told), dr, "dr-a")
            .await
            .unwrap(),
        CriticalRecorded::Recorded
    );
    assert_eq!(critical_loops(&store).await, (0, 1));
    assert_eq!(
        kinds(&store, Some("8.3")).await,
        ["critical.confirmed", "critical.communicated"]
    );
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn rejections_count_by_code_and_sums_feed_the_metrics(pool: PgPool) {
    let store = Store::from_pool(pool);
    let dr = radiologist(&store).await;
    let mut ids = Vec::new();
    for n in 1..=5 {
        ids.push(drafted_study(&store, &format!("9.{n}"), "m").await);
    }
    for (n, reason) in [
        (0, "wrong_location: left, not right"),
        (1, "wrong_location"),
        (2, "free text from an API client"),
    ] {
        let reject = Decision::Reject {
            reason: reason.into(),
        };
        store
            .decide(&format!("9.{}", n + 1), ids[n], &reject, dr, "dr-a", None)
            .await
            .unwrap();
    }
    let edit = Decision::Edit {
        findings: "f".into(),
        impression: "i".into(),
        edit_distance: 7,
    };
    store
        .decide("9.4", ids[3], &edit, dr, "dr-a", None)
        .await
        .unwrap();
    store
        .decide("9.5", ids[4], &Decision::Accept, dr, "dr-a", None)
        .await
        .unwrap();

    let reasons: Vec<(String, i64)> = store
        .rejection_reasons()
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.reason, r.count))
        .collect();
    assert_eq!(
        reasons,
        [("wrong_location".to_owned(), 2), ("other".to_owned(), 1)]
    );
    let rows = store.governance().await.unwrap();
    let r = &rows[0];
    assert_eq!((r.rejected, r.edited, r.signed()), (3, 1, 2));
    assert_eq!((r.edit_distance_sum, r.mean_edit_distance), (7, Some(7.0)));
    assert!(r.seconds_to_sign_sum >= 0.0);
}
