//! Governance controls seen by the real worker, with studies sent through the real gateway
//! and RabbitMQ: while the drafting kill switch is off, studies are parked in the retry
//! queue with their attempt number unchanged and stay queued, none lost; switched on, each
//! is drafted exactly once. A model version in shadow mode drafts, but its drafts are
//! marked shadow in the same transaction.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use radraft_e2e::broker::amqp_url;
use radraft_e2e::gateway::Setup;
use radraft_e2e::synthetic::one_slice_ct_study as ct_study;
use radraft_e2e::worker::{RunningWorker, dcmsend, quick, start_worker, wait_for_count};
use radraft_queue::dead;
use radraft_store::Store;

const WAIT: Duration = Duration::from_secs(60);

/// How many deliveries this worker has parked, from its `/metrics`.
async fn parked(worker: &RunningWorker) -> u64 {
    let (_, text) = worker.get("/metrics").await;
    text.lines()
        .find_map(|l| l.strip_prefix("radraft_worker_studies_total{outcome=\"parked\"} "))
        .map_or(0, |n| n.parse::<f64>().unwrap() as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn studies_wait_queued_while_drafting_is_off_and_are_drafted_once_when_it_is_on() {
    let setup = Setup::new().await;
    let gateway = setup.start(quick()).await;
    // The gateway has migrated the database; switch drafting off before any study arrives.
    let store = Store::connect(&setup.db.url).await.unwrap();
    assert!(
        store
            .set_drafting(false, Some("model under investigation"), "ada")
            .await
            .unwrap()
    );
    let worker = start_worker(&setup, &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = (300..303).map(|n| ct_study(dir.path(), n, 128)).collect();
    dcmsend(gateway.dimse_port, files).await;

    // Every study comes back from the retry queue (1 s here) and is parked again: at least
    // twice each, and nothing is started, drafted or dead-lettered meanwhile.
    let deadline = Instant::now() + WAIT;
    while parked(&worker).await < 6 {
        assert!(Instant::now() < deadline, "studies were not parked");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for sql in [
        "SELECT count(*) FROM drafts",
        "SELECT count(*) FROM jobs",
        "SELECT count(*) FROM studies WHERE state NOT IN ('stable', 'queued')",
    ] {
        assert_eq!(setup.count(sql).await, 0, "{sql}");
    }
    let connection = radraft_queue::connect(&amqp_url()).await.unwrap();
    assert!(
        dead::list(&connection, &setup.topology)
            .await
            .unwrap()
            .is_empty()
    );

    assert!(store.set_drafting(true, None, "ada").await.unwrap());
    wait_for_count(
        &setup,
        "SELECT count(*) FROM studies WHERE state = 'drafted'",
        3,
        WAIT,
    )
    .await;
    let parked_then = parked(&worker).await;
    // Longer than a retry round trip: a parked copy left behind would show up now.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(setup.count("SELECT count(*) FROM drafts").await, 3);
    assert_eq!(
        setup
            .count("SELECT count(DISTINCT study_uid) FROM drafts")
            .await,
        3
    );
    // Parking kept the first attempt's number: one attempt each, the first.
    assert_eq!(
        setup
            .count("SELECT count(*) FROM jobs WHERE state = 'succeeded' AND attempt = 1")
            .await,
        3
    );
    assert_eq!(setup.count("SELECT count(*) FROM jobs").await, 3);
    assert_eq!(parked(&worker).await, parked_then, "nothing parked once on");
    assert_eq!(
        setup
            .count(
                "SELECT count(*) FROM audit_events
                 WHERE kind IN ('drafting.disabled', 'drafting.enabled') AND actor = 'ada'"
            )
            .await,
        2
    );

    worker.stop().await;
    gateway.stop().await;
    connection.close(200, "done".into()).await.unwrap();
    setup.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_version_in_shadow_mode_drafts_unseen() {
    let setup = Setup::new().await;
    let gateway = setup.start(quick()).await;
    let store = Store::connect(&setup.db.url).await.unwrap();
    // The committed tiny model's id and revision (fixtures/medgemma-tiny/manifest.json).
    store
        .set_model_mode("radraft/medgemma-tiny-random", "seed-20261132", true, "ada")
        .await
        .unwrap();
    let worker = start_worker(&setup, &[]).await;
    let dir = tempfile::tempdir().unwrap();
    dcmsend(gateway.dimse_port, vec![ct_study(dir.path(), 310, 128)]).await;
    wait_for_count(&setup, "SELECT count(*) FROM drafts WHERE shadow", 1, WAIT).await;
    let uid: String = sqlx::query_scalar("SELECT study_uid FROM drafts")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert!(store.current_draft(&uid).await.unwrap().is_none());
    let audit: serde_json::Value = sqlx::query_scalar(
        "SELECT detail FROM audit_events WHERE kind = 'draft.created' AND study_uid = $1",
    )
    .bind(&uid)
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(audit["shadow"], true);

    worker.stop().await;
    gateway.stop().await;
    setup.teardown().await;
}
