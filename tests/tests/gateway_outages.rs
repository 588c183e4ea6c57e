//! The gateway through outages of RabbitMQ and Postgres. Each test puts a TCP proxy of its
//! own between its gateway and the machine's shared server and cuts, stalls or restores
//! that, so the outage is one gateway's alone and other tests carry on beside it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use radraft_archive::LocalArchive;
use radraft_e2e::broker::amqp_url;
use radraft_e2e::gateway::{Options, Running, Setup};
use radraft_e2e::outage::{
    eventually, idle_in_transaction, indexed, slice, study_uid, upstream_of, versions,
};
use radraft_e2e::proxy::Proxy;
use radraft_e2e::synthetic::{CT_IMAGE_STORAGE, EXPLICIT_LE, one_slice_ct_study};
use radraft_e2e::worker::dcmsend;
use radraft_e2e::{dicom_file, scu, stow};
use radraft_gateway::Sweeper;
use radraft_store::Store;

/// A gateway on `setup` whose broker connection goes through `proxy`; it gives up on the
/// broker after a second.
async fn through_broker(setup: &Setup, proxy: &Proxy) -> Running {
    setup
        .start(Options {
            quiet_period: Duration::from_millis(400),
            amqp_url: Some(proxy.url_for(&amqp_url())),
            tune: Some(|c| c.publish_timeout = Duration::from_secs(1)),
            ..Options::default()
        })
        .await
}

/// Every `study.ready` the broker holds, counted per (study, version), once all cut
/// versions are confirmed.
async fn announced(setup: &Setup) -> BTreeMap<(String, i32), usize> {
    let mut seen = BTreeMap::new();
    for message in setup.queue.drain(Duration::from_millis(1500)).await {
        *seen
            .entry((message.study_uid.to_string(), message.study_version))
            .or_default() += 1;
    }
    seen
}

/// The broker holds exactly one `study.ready` for each version in `cut`.
async fn assert_announced_once(setup: &Setup, cut: &BTreeSet<(String, i32)>) {
    let seen = announced(setup).await;
    assert_eq!(&seen.keys().cloned().collect::<BTreeSet<_>>(), cut);
    assert!(
        seen.values().all(|&n| n == 1),
        "each version exactly once: {seen:?}"
    );
}

async fn wait_published(setup: &Setup, want: i64, timeout: Duration) -> BTreeSet<(String, i32)> {
    eventually("every version confirmed", timeout, || async {
        let (all, published) = versions(setup).await;
        all.len() as i64 == want && published == want
    })
    .await;
    versions(setup).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_starts_and_ingests_with_the_broker_down_and_announces_once_it_is_back() {
    let setup = Setup::new().await;
    let broker = Proxy::start_down(upstream_of(&amqp_url())).await;
    let gateway = through_broker(&setup, &broker).await;
    let dir = tempfile::tempdir().unwrap();
    let files = (600..603)
        .map(|n| one_slice_ct_study(dir.path(), n, 128))
        .collect();
    dcmsend(gateway.dimse_port, files).await;
    // Settled while the broker is away; nothing published yet.
    eventually("three versions cut", Duration::from_secs(10), || async {
        versions(&setup).await.0.len() == 3
    })
    .await;
    assert_eq!(versions(&setup).await.1, 0);

    broker.up().await;
    let cut = wait_published(&setup, 3, Duration::from_secs(20)).await;
    assert_announced_once(&setup, &cut).await;
    gateway.stop().await;
    setup.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_outage_during_ingest_announces_every_settled_version_exactly_once() {
    let setup = Setup::new().await;
    let broker = Proxy::start(upstream_of(&amqp_url())).await;
    let gateway = through_broker(&setup, &broker).await;
    let dir = tempfile::tempdir().unwrap();
    let study = |n| one_slice_ct_study(dir.path(), n, 128);
    dcmsend(gateway.dimse_port, vec![study(700), study(701)]).await;
    wait_published(&setup, 2, Duration::from_secs(15)).await;

    // The broker goes away; studies keep arriving, a late instance reopens study 700, and
    // all of them settle during the outage.
    broker.down().await;
    let late = dir.path().join("late");
    std::fs::create_dir(&late).unwrap();
    let (_, second) = slice(&one_slice_study_uid(700), 2, 8);
    let reopen = late.join("700-2.dcm");
    std::fs::write(&reopen, second).unwrap();
    dcmsend(gateway.dimse_port, vec![study(702), study(703), reopen]).await;
    eventually("five versions cut", Duration::from_secs(10), || async {
        versions(&setup).await.0.len() == 5
    })
    .await;
    assert_eq!(versions(&setup).await.1, 2, "nothing published while down");

    broker.up().await;
    dcmsend(gateway.dimse_port, vec![study(704)]).await;
    let cut = wait_published(&setup, 6, Duration::from_secs(20)).await;
    assert_announced_once(&setup, &cut).await;
    let study_700 = one_slice_study_uid(700);
    assert!(
        cut.contains(&(study_700, 2)),
        "the reopened study's version 2"
    );
    gateway.stop().await;
    setup.teardown().await;
}

/// The study UID [`one_slice_ct_study`] gives study `n`.
fn one_slice_study_uid(n: u32) -> String {
    format!("1.2.826.0.1.3680043.10.1234.77.{n}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_broker_stops_neither_ingest_nor_settling_and_holds_no_transaction() {
    let setup = Setup::new().await;
    let broker = Proxy::start(upstream_of(&amqp_url())).await;
    let gateway = through_broker(&setup, &broker).await;
    let dir = tempfile::tempdir().unwrap();
    let study = |n| one_slice_ct_study(dir.path(), n, 128);
    dcmsend(gateway.dimse_port, vec![study(800)]).await;
    wait_published(&setup, 1, Duration::from_secs(15)).await;

    // As under a memory alarm: connections stay open, nothing is read or confirmed.
    broker.stall();
    dcmsend(gateway.dimse_port, vec![study(801), study(802), study(803)]).await;
    eventually("settled while blocked", Duration::from_secs(10), || async {
        versions(&setup).await.0.len() == 4
    })
    .await;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(3) {
        assert_eq!(
            idle_in_transaction(&setup).await,
            0,
            "no transaction waits on the broker"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        versions(&setup).await.1,
        1,
        "nothing confirmed while blocked"
    );

    broker.resume();
    let cut = wait_published(&setup, 4, Duration::from_secs(30)).await;
    // A publish the broker held may be delivered as well as its retry: consumers
    // de-duplicate on (study, version), so at least once is the promise here.
    let seen = announced(&setup).await;
    assert_eq!(seen.keys().cloned().collect::<BTreeSet<_>>(), cut);
    gateway.stop().await;
    setup.teardown().await;
}

/// One C-STORE of slice `i` of study 900: its status and how long the answer took.
async fn store(port: u16, i: u32) -> (String, u16, Duration) {
    let (sop, file) = slice(&study_uid(900), i, 8);
    let started = Instant::now();
    let status = tokio::task::spawn_blocking({
        let sop = sop.clone();
        move || {
            let dataset = dicom_file::dataset_bytes(&file).to_vec();
            scu::store_raw(port, CT_IMAGE_STORAGE, &sop, EXPLICIT_LE, &dataset).status
        }
    })
    .await
    .unwrap();
    (sop, status, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_is_answered_out_of_resources_and_the_gateway_recovers_by_itself() {
    let setup = Setup::new().await;
    let database = Proxy::start(upstream_of(&setup.db.url)).await;
    let gateway = setup
        .start(Options {
            quiet_period: Duration::from_secs(2),
            database_url: Some(database.url_for(&setup.db.url)),
            tune: Some(|c| c.database_acquire_timeout = Duration::from_secs(1)),
            ..Options::default()
        })
        .await;
    let port = gateway.dimse_port;
    let mut stored = BTreeSet::new();
    let mut next = 0;
    for _ in 0..3 {
        let (sop, status, _) = store(port, next).await;
        assert_eq!(status, 0x0000);
        stored.insert(sop);
        next += 1;
    }

    database.down().await;
    for _ in 0..3 {
        let (_, status, took) = store(port, next).await;
        assert_eq!(
            status & 0xFF00,
            0xA700,
            "out of resources, got {status:#06x}"
        );
        assert!(took < Duration::from_secs(5), "answered in {took:?}");
        next += 1;
    }
    let (_, part) = slice(&study_uid(900), 99, 8);
    let response = stow::store(&gateway.stow_url(), &[part]).await;
    assert_eq!(response.status, 503, "{:?}", response.body);

    // Back without restarting the gateway: the pool replaces its broken connections.
    database.up().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut recovered = 0;
    while recovered < 3 {
        assert!(Instant::now() < deadline, "the gateway did not recover");
        let (sop, status, _) = store(port, next).await;
        next += 1;
        if status == 0x0000 {
            stored.insert(sop);
            recovered += 1;
        }
    }
    let rows = indexed(&setup).await;
    let names: BTreeSet<String> = rows.iter().map(|(sop, _)| sop.clone()).collect();
    assert_eq!(names, stored, "indexed exactly what was answered success");
    assert!(
        rows.iter().all(|(_, file)| *file),
        "every indexed file archived"
    );

    // The refused instances were archived before their index write failed; the sweep
    // collects them once they are older than the grace period, and nothing else.
    let orphans = setup.archived_files().len() - rows.len();
    assert!(orphans >= 3, "{:?}", setup.archived_files());
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let sweeper = Sweeper {
        archive: LocalArchive::new(setup.archive_dir()),
        store: Store::connect(&setup.db.url).await.unwrap(),
        grace: Duration::from_secs(1),
        interval: Duration::from_secs(3600),
    };
    let swept = sweeper.sweep_once().await.unwrap();
    assert_eq!(swept.orphans_removed, orphans);
    assert_eq!(setup.archived_files().len(), rows.len());
    assert!(indexed(&setup).await.iter().all(|(_, file)| *file));

    // The study settles with what was stored and is announced.
    let want = stored.len() as i64;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let message = setup.queue.next_ready(Duration::from_secs(5)).await;
        if message.is_some_and(|m| m.instance_count == want) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no study.ready with {want} instances"
        );
    }
    gateway.stop().await;
    setup.teardown().await;
}
