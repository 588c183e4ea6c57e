//! `radraft-review audit verify` on a trail the real gateway and worker wrote: intact, then
//! broken by an edit made as the database owner, which it names and exits 1 for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use radraft_e2e::gateway::Setup;
use radraft_e2e::synthetic::one_slice_ct_study;
use radraft_e2e::worker::draft_all;
use radraft_e2e::worker_process::built_binary;

fn verify(setup: &Setup) -> (bool, String) {
    let out = std::process::Command::new(built_binary("radraft-review", "radraft-review"))
        .args(["audit", "verify"])
        .env("RADRAFT_REVIEW__DATABASE_URL", &setup.db.url)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drafting_trail_verifies_and_an_edited_event_is_named() {
    let setup = Setup::new().await;
    let dir = tempfile::tempdir().unwrap();
    let files = (600..603)
        .map(|n| one_slice_ct_study(dir.path(), n, 128))
        .collect();
    draft_all(&setup, files, 3).await;

    let (ok, text) = verify(&setup);
    assert!(ok, "{text}");
    assert!(
        text.starts_with("audit trail intact: 15 events in 3 chains"),
        "{text}"
    );

    // As the database owner: switch the append-only guard off and soften a decision.
    let pool = setup.db.pool().await;
    let created: i64 =
        sqlx::query_scalar("SELECT min(id) FROM audit_events WHERE kind = 'draft.created'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let mut tx = pool.begin().await.unwrap();
    for sql in [
        "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update".to_owned(),
        format!(
            "UPDATE audit_events SET detail = jsonb_set(detail, '{{triage_flag}}', 'false') WHERE id = {created}"
        ),
        "ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update".to_owned(),
    ] {
        sqlx::query(&sql).execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    pool.close().await;

    let (ok, text) = verify(&setup);
    assert!(!ok, "{text}");
    assert!(
        text.contains(&format!(
            "first break at event {created} (study 1.2.826.0.1.3680043.10.1234.77.60"
        )),
        "{text}"
    );
    assert!(text.contains("content does not match its hash"), "{text}");
    setup.teardown().await;
}
