//! Worker processes stopped in the middle of a study: with SIGKILL, after a restart every
//! study has exactly one draft and the interrupted attempt is recorded as abandoned; with
//! SIGTERM, the study in hand is finished, the rest stay queued, and nothing is abandoned.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use radraft_e2e::gateway::{Running, Setup};
use radraft_e2e::synthetic::one_slice_ct_study;
use radraft_e2e::worker::{dcmsend, quick, wait_for_count};
use radraft_e2e::worker_process::WorkerProcess;

const STUDIES: i64 = 24;

/// A gateway on `setup` that has received and announced STUDIES one-slice CT studies
/// (study numbers from `first`); no worker has taken any yet.
async fn queued_studies(setup: &Setup, first: u32) -> Running {
    let gateway = setup.start(quick()).await;
    let dir = tempfile::tempdir().unwrap();
    let files = (first..first + STUDIES as u32)
        .map(|n| one_slice_ct_study(dir.path(), n, 128))
        .collect();
    dcmsend(gateway.dimse_port, files).await;
    gateway
}

/// Waits until `worker` holds a study (a running job) after at least one draft, failing if
/// every study was drafted before one was seen in hand.
async fn study_in_hand(setup: &Setup, worker: &WorkerProcess) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let running = setup
            .count("SELECT count(*) FROM jobs WHERE state = 'running'")
            .await;
        let drafted = setup.count("SELECT count(*) FROM drafts").await;
        assert!(
            drafted < STUDIES,
            "every study drafted before one was seen in hand"
        );
        if running == 1 && drafted >= 1 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no study in progress seen:\n{}",
            worker.log_text()
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_study_leaves_exactly_one_draft_per_study_after_restart() {
    let setup = Setup::new().await;
    let gateway = queued_studies(&setup, 200).await;
    // Kill a worker as soon as a study is in progress. The study may still commit in the
    // moment between seeing it and the kill; then another worker is started and killed the
    // same way, until one dies holding a study.
    let mut interrupted = None;
    for _ in 0..8 {
        let worker = WorkerProcess::spawn(&setup, &[("NAME", "doomed")], "worker-crash");
        study_in_hand(&setup, &worker).await;
        worker.kill9();
        let held: Option<i64> =
            sqlx::query_scalar("SELECT min(id) FROM jobs WHERE state = 'running'")
                .fetch_one(&setup.db.pool().await)
                .await
                .unwrap();
        if held.is_some() {
            interrupted = held;
            break;
        }
    }
    let interrupted = interrupted.expect("a worker was killed holding a study");

    let again = WorkerProcess::spawn(&setup, &[("NAME", "survivor")], "worker-restart");
    wait_for_count(
        &setup,
        "SELECT count(DISTINCT study_uid) FROM drafts",
        STUDIES,
        Duration::from_secs(120),
    )
    .await;
    assert_eq!(
        setup.count("SELECT count(*) FROM drafts").await,
        STUDIES,
        "{}",
        again.log_text()
    );
    assert_eq!(
        setup
            .count("SELECT count(*) FROM audit_events WHERE kind = 'draft.created'")
            .await,
        STUDIES
    );
    let state: i64 = setup
        .count(&format!(
            "SELECT count(*) FROM jobs WHERE id = {interrupted} AND state = 'abandoned'"
        ))
        .await;
    assert_eq!(state, 1, "the interrupted attempt is recorded as abandoned");
    let redelivered = setup
        .count("SELECT count(*) FROM jobs WHERE state = 'succeeded' AND delivery_count >= 1")
        .await;
    assert!(
        redelivered >= 1,
        "the study in hand when the worker died was redelivered and drafted"
    );
    let status = again.terminate(Duration::from_secs(30));
    assert!(
        status.success(),
        "SIGTERM drains and exits cleanly: {status:?}"
    );
    gateway.stop().await;
    setup.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_study_in_hand_and_leaves_the_rest_queued() {
    let setup = Setup::new().await;
    let gateway = queued_studies(&setup, 500).await;
    let worker = WorkerProcess::spawn(&setup, &[("NAME", "drainer")], "worker-drain");
    study_in_hand(&setup, &worker).await;
    let log_path = worker.log.clone();
    let status = worker.terminate(Duration::from_secs(30));
    assert!(status.success(), "{status:?}");
    let log = std::fs::read_to_string(log_path).unwrap();
    assert!(log.contains("draining"), "{log}");
    assert_eq!(
        setup
            .count("SELECT count(*) FROM jobs WHERE state = 'running'")
            .await,
        0,
        "the study in hand was finished, not left running"
    );
    let drafted = setup.count("SELECT count(*) FROM drafts").await;
    assert!(drafted < STUDIES, "the rest stayed queued");

    let next = WorkerProcess::spawn(&setup, &[("NAME", "next")], "worker-next");
    wait_for_count(
        &setup,
        "SELECT count(DISTINCT study_uid) FROM drafts",
        STUDIES,
        Duration::from_secs(120),
    )
    .await;
    assert_eq!(setup.count("SELECT count(*) FROM drafts").await, STUDIES);
    assert_eq!(
        setup
            .count("SELECT count(*) FROM jobs WHERE state = 'abandoned'")
            .await,
        0,
        "a drained worker abandons nothing"
    );
    next.terminate(Duration::from_secs(30));
    gateway.stop().await;
    setup.teardown().await;
}
