//! The draft worker's failures end to end: a study that cannot be drafted is recorded as
//! failed with its reason and dead-lettered while the next one is drafted; the operator's
//! `dead list` and `dead replay`; a message that keeps coming back without an outcome.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use radraft_e2e::broker::amqp_url;
use radraft_e2e::gateway::Setup;
use radraft_e2e::synthetic::one_slice_ct_study as ct_study;
use radraft_e2e::worker::{dcmsend, dead_letters, quick, start_worker, wait_for_count};
use radraft_e2e::worker_process::dead_command;

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_study_fails_and_is_dead_lettered_while_the_next_is_drafted() {
    let setup = Setup::new().await;
    let gateway = setup.start(quick()).await;
    let worker = start_worker(&setup, &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let bad = ct_study(dir.path(), 1, 10);
    let good = ct_study(dir.path(), 2, 128);
    dcmsend(gateway.dimse_port, vec![bad]).await;
    dcmsend(gateway.dimse_port, vec![good]).await;

    wait_for_count(
        &setup,
        "SELECT count(*) FROM studies WHERE state IN ('drafted', 'failed')",
        2,
        WAIT,
    )
    .await;
    let (reason,): (String,) =
        sqlx::query_as("SELECT failure_reason FROM studies WHERE state = 'failed'")
            .fetch_one(&setup.db.pool().await)
            .await
            .unwrap();
    assert!(
        reason.contains("1.2.826.0.1.3680043.10.1234.77.1.1.1"),
        "{reason}"
    );
    assert_eq!(
        setup
            .count(
                "SELECT count(*) FROM studies WHERE state = 'drafted' AND study_uid LIKE '%.77.2'"
            )
            .await,
        1
    );
    assert_eq!(
        setup
            .count("SELECT count(*) FROM jobs WHERE state = 'failed'")
            .await,
        1
    );
    assert_eq!(
        setup
            .count("SELECT count(*) FROM audit_events WHERE kind = 'study.failed'")
            .await,
        1
    );

    let connection = radraft_queue::connect(&amqp_url()).await.unwrap();
    let letters = dead_letters(&connection, &setup.topology, 1).await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(
        letters[0].study_uid.as_deref(),
        Some("1.2.826.0.1.3680043.10.1234.77.1")
    );
    assert_eq!(letters[0].reason.as_deref(), Some(reason.as_str()));

    // The operator's view: `dead list` names the study and why; `dead replay` sends it back
    // to work, where it is tried again (and, still broken, fails and is dead-lettered again).
    let bad_uid = "1.2.826.0.1.3680043.10.1234.77.1";
    let listed = dead_command(&setup, &["list"]);
    assert!(listed.status.success());
    let text = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(text.contains("1 dead-lettered message(s)"), "{text}");
    assert!(
        text.contains(&format!("study {bad_uid} version 1 attempt 1: {reason}")),
        "{text}"
    );
    let replayed = dead_command(&setup, &["replay", bad_uid]);
    let text = String::from_utf8_lossy(&replayed.stdout).into_owned();
    assert!(
        replayed.status.success() && text.starts_with("1 message(s)"),
        "{text}"
    );
    wait_for_count(
        &setup,
        "SELECT count(*) FROM jobs WHERE state = 'replaced'",
        1,
        WAIT,
    )
    .await;
    wait_for_count(
        &setup,
        "SELECT count(*) FROM jobs WHERE state = 'failed'",
        1,
        WAIT,
    )
    .await;
    assert_eq!(
        setup
            .count("SELECT count(*) FROM audit_events WHERE kind = 'study.replayed'")
            .await,
        1
    );
    let again = dead_letters(&connection, &setup.topology, 1).await;
    assert_eq!(again.len(), 1, "dead-lettered again: {again:?}");
    let nothing = dead_command(&setup, &["replay", "1.2.3.4.5"]);
    assert!(
        !nothing.status.success(),
        "replaying an unknown study says so"
    );

    worker.stop().await;
    gateway.stop().await;
    connection.close(200, "done".into()).await.unwrap();
    setup.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_study_returned_up_to_the_delivery_limit_is_failed_as_poison_with_its_reason() {
    let setup = Setup::new().await;
    let gateway = setup.start(quick()).await;
    let dir = tempfile::tempdir().unwrap();
    dcmsend(gateway.dimse_port, vec![ct_study(dir.path(), 400, 128)]).await;

    // As if five workers had died holding it: the message comes back five times.
    let connection = radraft_queue::connect(&amqp_url()).await.unwrap();
    let mut consumer = radraft_queue::Consumer::open(&connection, &setup.topology, 1, "")
        .await
        .unwrap();
    for returned in 0..5 {
        let delivery = tokio::time::timeout(WAIT, consumer.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(delivery.delivery_count(), returned);
        if returned == 4 {
            // Stop receiving first, so the last return stays in the queue for the worker.
            consumer.cancel().await.unwrap();
        }
        delivery.requeue().await.unwrap();
    }
    consumer.close().await.unwrap();

    let worker = start_worker(&setup, &[]).await;
    wait_for_count(
        &setup,
        "SELECT count(*) FROM studies WHERE state = 'failed'",
        1,
        WAIT,
    )
    .await;
    let (reason,): (String,) = sqlx::query_as("SELECT failure_reason FROM studies")
        .fetch_one(&setup.db.pool().await)
        .await
        .unwrap();
    assert!(
        reason.starts_with("returned 5 times without an outcome"),
        "{reason}"
    );
    assert_eq!(setup.count("SELECT count(*) FROM drafts").await, 0);
    let letters = dead_letters(&connection, &setup.topology, 1).await;
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].reason.as_deref(), Some(reason.as_str()));

    worker.stop().await;
    gateway.stop().await;
    connection.close(200, "done".into()).await.unwrap();
    setup.teardown().await;
}
