//! The worker through outages of the real services: PostgreSQL stopped while the worker
//! holds studies (they land after recovery), then RabbitMQ restarted (the worker reconnects
//! and carries on). One test in its own binary: it restarts the machine's shared services,
//! so nothing else may run beside it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;
use std::time::{Duration, Instant};

use radraft_e2e::broker::amqp_url;
use radraft_e2e::gateway::Setup;
use radraft_e2e::synthetic::one_slice_ct_study;
use radraft_e2e::worker::{dcmsend, quick, start_worker, wait_for_count};
use radraft_queue::Publisher;

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn postgres_version() -> String {
    let dirs = std::fs::read_dir("/etc/postgresql").expect("Debian's PostgreSQL");
    dirs.flatten()
        .map(|d| d.file_name().to_string_lossy().into_owned())
        .next()
        .unwrap()
}

async fn wait_until(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !check() {
        assert!(Instant::now() < deadline, "{what} did not come back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drafts_land_after_a_postgres_restart_and_the_worker_reconnects_after_a_broker_restart() {
    let setup = Setup::new().await;
    let gateway = setup.start(quick()).await;
    let dir = tempfile::tempdir().unwrap();

    // Four studies announced before the worker runs; their messages are taken off the queue
    // and given to the worker only once PostgreSQL is down, so every one of them meets the
    // outage while it is being processed.
    let first: Vec<_> = (300..304)
        .map(|n| one_slice_ct_study(dir.path(), n, 128))
        .collect();
    dcmsend(gateway.dimse_port, first).await;
    let mut announced = Vec::new();
    while announced.len() < 4 {
        let message = setup.queue.next_ready(Duration::from_secs(30)).await;
        announced.push(message.expect("study.ready for each study"));
    }
    let worker = start_worker(&setup, &[("MAX_ATTEMPTS", "30")]).await;
    let connection = radraft_queue::connect(&amqp_url()).await.unwrap();
    let publisher = Publisher::open(&connection, &setup.topology).await.unwrap();

    let version = postgres_version();
    let cluster = version.clone();
    tokio::task::spawn_blocking(move || {
        run(
            "pg_ctlcluster",
            &["--skip-systemctl-redirect", &cluster, "main", "stop"],
        );
    })
    .await
    .unwrap();
    for message in &announced {
        publisher.publish_study_ready(message).await.unwrap();
    }
    // The worker holds a study while the database is down, and says it is not ready.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, metrics) = worker.get("/metrics").await;
        if metrics.contains("radraft_worker_in_flight 1\n") {
            break;
        }
        assert!(Instant::now() < deadline, "no study in hand:\n{metrics}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, ready) = worker.get("/readyz").await;
    assert_eq!(status, 503, "{ready}");
    assert!(ready.contains("\"database\":false"), "{ready}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    tokio::task::spawn_blocking(move || {
        run(
            "pg_ctlcluster",
            &["--skip-systemctl-redirect", &version, "main", "start"],
        );
    })
    .await
    .unwrap();
    wait_until("PostgreSQL", || {
        succeeds("pg_isready", &["-h", "127.0.0.1", "-q"])
    })
    .await;
    wait_for_count(
        &setup,
        "SELECT count(DISTINCT study_uid) FROM drafts",
        4,
        Duration::from_secs(90),
    )
    .await;
    assert_eq!(setup.count("SELECT count(*) FROM drafts").await, 4);
    assert_eq!(
        setup
            .count("SELECT count(*) FROM studies WHERE state <> 'drafted'")
            .await,
        0
    );
    tokio::task::spawn_blocking(|| {
        run("rabbitmqctl", &["stop_app"]);
        run("rabbitmqctl", &["start_app"]);
    })
    .await
    .unwrap();
    wait_until("RabbitMQ", || {
        succeeds("rabbitmq-diagnostics", &["-q", "check_port_connectivity"])
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, _) = worker.get("/readyz").await;
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the worker did not reconnect");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let second: Vec<_> = (304..308)
        .map(|n| one_slice_ct_study(dir.path(), n, 128))
        .collect();
    dcmsend(gateway.dimse_port, second).await;
    wait_for_count(
        &setup,
        "SELECT count(DISTINCT study_uid) FROM drafts",
        8,
        Duration::from_secs(90),
    )
    .await;
    assert_eq!(setup.count("SELECT count(*) FROM drafts").await, 8);
    assert_eq!(
        setup
            .count("SELECT count(*) FROM audit_events WHERE kind = 'draft.created'")
            .await,
        8
    );

    worker.stop().await;
    gateway.stop().await;
    // The broker restart closed the old connections; clean up over a new one.
    drop(connection);
    radraft_e2e::broker::WorkQueue::open(&setup.topology)
        .await
        .delete()
        .await;
    setup.teardown().await;
}
