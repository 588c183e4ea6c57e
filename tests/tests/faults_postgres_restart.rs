//! PostgreSQL stopped and started again while a real `radraft-gateway` receives a series on
//! one association: while it is away every C-STORE is answered "out of resources", never
//! a false success; once it is back the same gateway process accepts again, what it
//! confirmed is indexed and archived, the refused instances' files are swept, and the
//! study settles and is announced. The server is one of the test's own (see
//! `private_servers`), so the restart disturbs no other test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use radraft_e2e::dicom_file::{dataset_bytes, sha256_hex};
use radraft_e2e::gateway_process::GatewayProcess;
use radraft_e2e::outage::{eventually, study_uid};
use radraft_e2e::private_servers::{PrivatePostgres, setup_on};
use radraft_e2e::sender::{Instance, Progress, ct_series, send_ct};

const INSTANCES: u32 = 300;
/// Postgres is stopped once this many instances were stored...
const STOP_AFTER: usize = 30;
/// ...and started again once the sender has been refused this many.
const REFUSED_WHILE_DOWN: usize = 3;

async fn wait_until(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check() {
        assert!(Instant::now() < deadline, "{what} within 60 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_during_ingest_is_answered_out_of_resources_and_the_study_settles() {
    let postgres = Arc::new(
        tokio::task::spawn_blocking(PrivatePostgres::start)
            .await
            .unwrap(),
    );
    let setup = setup_on(Some(&postgres), None).await;
    let gateway = GatewayProcess::spawn(
        &setup,
        &[
            ("QUIET_PERIOD_MS", "1000"),
            ("DATABASE_ACQUIRE_TIMEOUT_MS", "1000"),
            ("ORPHAN_GRACE_MS", "3000"),
            ("SWEEP_INTERVAL_MS", "500"),
        ],
        "faults-postgres",
    );
    let study = study_uid(980);
    let instances = ct_series(&study, 0..INSTANCES, 8);
    let progress = Progress::default();
    let sending = tokio::spawn({
        let (port, instances, progress) = (gateway.dimse_port, instances.clone(), progress.clone());
        async move { send_ct(port, instances, &progress).await }
    });

    wait_until("instances stored", || progress.successes() >= STOP_AFTER).await;
    let server = Arc::clone(&postgres);
    tokio::task::spawn_blocking(move || server.stop())
        .await
        .unwrap();
    wait_until("instances refused while Postgres is down", || {
        progress.failures() >= REFUSED_WHILE_DOWN
    })
    .await;
    let server = Arc::clone(&postgres);
    tokio::task::spawn_blocking(move || server.start_again())
        .await
        .unwrap();
    let sent = sending.await.unwrap();
    assert!(
        sent.broken.is_none(),
        "the association lived: {:?}",
        sent.broken
    );
    assert_eq!(sent.answers.len(), INSTANCES as usize);

    // Success or out of resources, nothing else; and success again after the restart.
    let refused: Vec<&str> = sent
        .answers
        .iter()
        .filter(|(_, a)| a.status != 0x0000)
        .map(|(sop, a)| {
            assert_eq!(a.status & 0xFF00, 0xA700, "{sop}: {a:?}");
            sop.as_str()
        })
        .collect();
    assert!(refused.len() >= REFUSED_WHILE_DOWN);
    let (last, answer) = sent.answers.last().unwrap();
    assert_eq!(
        answer.status, 0x0000,
        "{last}: the same gateway accepts again"
    );
    assert_eq!(
        gateway.log_text().matches("gateway listening").count(),
        1,
        "one gateway process throughout"
    );

    // Every success is indexed and archived as sent. (An instance answered "out of
    // resources" whose commit reached the server just before it stopped may be indexed.)
    let confirmed = sent.succeeded();
    let rows = setup.indexed().await;
    let indexed: BTreeSet<String> = rows.keys().cloned().collect();
    assert!(confirmed.is_subset(&indexed));
    eprintln!(
        "{} stored, {} refused while Postgres was down; {} indexed",
        confirmed.len(),
        refused.len(),
        indexed.len()
    );
    let datasets: BTreeMap<&str, &[u8]> = instances
        .iter()
        .map(|i| (i.sop_instance_uid.as_str(), i.dataset.as_slice()))
        .collect();
    for (sop, (key, sha)) in &rows {
        let file = std::fs::read(setup.archive_dir().join(key)).unwrap();
        assert_eq!(&sha256_hex(&file), sha);
        assert_eq!(Some(&dataset_bytes(&file)), datasets.get(sop.as_str()));
    }

    // The sender retries what was refused; the study settles with all of it.
    let retry: Vec<Instance> = instances
        .iter()
        .filter(|i| !confirmed.contains(&i.sop_instance_uid))
        .cloned()
        .collect();
    let resent = send_ct(gateway.dimse_port, retry.clone(), &Progress::default()).await;
    assert_eq!(
        resent.succeeded().len(),
        retry.len(),
        "{:?}",
        resent.answers
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < deadline, "{}", gateway.log_text());
        let ready = setup.queue.next_ready(Duration::from_secs(1)).await;
        if ready.is_some_and(|r| r.instance_count == i64::from(INSTANCES)) {
            break;
        }
    }

    // The files the failed index writes left are swept once the grace period passes.
    eventually(
        "the archive holds only indexed objects",
        Duration::from_secs(20),
        || async { setup.archived_files().len() == setup.indexed().await.len() },
    )
    .await;
    assert_eq!(setup.archived_files().len(), INSTANCES as usize);
    gateway.kill9();
    setup.teardown().await;
}
