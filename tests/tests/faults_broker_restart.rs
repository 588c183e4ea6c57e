//! RabbitMQ stopped and started while a real `radraft-gateway` ingests a stream of studies:
//! ingest and settling go on while it is away, and every settled version is announced
//! exactly once after it is back. The broker is one of the test's own (see
//! `private_servers`), so stopping it disturbs no other test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use radraft_e2e::broker::WorkQueue;
use radraft_e2e::dicom_file::dataset_bytes;
use radraft_e2e::gateway::Setup;
use radraft_e2e::gateway_process::GatewayProcess;
use radraft_e2e::outage::{eventually, slice, study_uid, versions};
use radraft_e2e::private_servers::{PrivateRabbit, setup_on};
use radraft_e2e::scu::StoreStatus;
use radraft_e2e::sender::{Instance, Progress, send_all};
use radraft_e2e::synthetic::{CT_IMAGE_STORAGE, EXPLICIT_LE};

/// Sends one-instance studies, one after another, until `stop`; returns every answer.
/// `sent` counts the studies sent so far.
fn feed(port: u16, stop: &AtomicBool, sent: &AtomicUsize) -> Vec<StoreStatus> {
    let mut answers = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::SeqCst) {
        let (sop, file) = slice(&study_uid(2000 + n), 0, 8);
        let instance = Instance {
            sop_instance_uid: sop,
            dataset: dataset_bytes(&file).to_vec(),
        };
        let done = send_all(
            port,
            CT_IMAGE_STORAGE,
            EXPLICIT_LE,
            &[instance],
            Duration::from_secs(30),
            &Progress::default(),
        );
        assert!(done.broken.is_none(), "{:?}", done.broken);
        answers.extend(done.answers.into_iter().map(|(_, answer)| answer));
        sent.fetch_add(1, Ordering::SeqCst);
        n += 1;
        // Studies arrive faster than they settle: some are always in flight.
        std::thread::sleep(Duration::from_millis(100));
    }
    answers
}

async fn wait_sent(sent: &AtomicUsize, at_least: usize) {
    eventually("studies sent", Duration::from_secs(60), || async {
        sent.load(Ordering::SeqCst) >= at_least
    })
    .await;
}

/// Every `study.ready` the work queue holds, counted per (study, version).
async fn announced(url: &str, setup: &Setup) -> BTreeMap<(String, i32), usize> {
    let queue = WorkQueue::open_at(url, &setup.topology).await;
    let mut seen = BTreeMap::new();
    for message in queue.drain(Duration::from_secs(2)).await {
        *seen
            .entry((message.study_uid.to_string(), message.study_version))
            .or_default() += 1;
    }
    queue.delete().await;
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rabbitmq_stopped_and_started_during_ingest_announces_every_version_exactly_once() {
    let rabbit = tokio::task::spawn_blocking(PrivateRabbit::start)
        .await
        .unwrap();
    let rabbit = Arc::new(rabbit);
    let url = rabbit.url();
    let setup = setup_on(None, Some(&rabbit)).await;
    let gateway = GatewayProcess::spawn(
        &setup,
        &[
            ("AMQP_URL", &url),
            ("QUIET_PERIOD_MS", "300"),
            ("PUBLISH_TIMEOUT_MS", "1000"),
        ],
        "faults-broker",
    );
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let feeding = tokio::task::spawn_blocking({
        let (port, stop, sent) = (gateway.dimse_port, stop.clone(), sent.clone());
        move || feed(port, &stop, &sent)
    });

    // Announced while the broker is up.
    eventually(
        "three versions published",
        Duration::from_secs(30),
        || async { versions(&setup).await.1 >= 3 },
    )
    .await;
    let stopping = Arc::clone(&rabbit);
    tokio::task::spawn_blocking(move || stopping.stop())
        .await
        .unwrap();
    let published_while_up = versions(&setup).await.1;
    let sent_at_stop = sent.load(Ordering::SeqCst);

    // Ingest and settling carry on while it is away; nothing is confirmed.
    wait_sent(&sent, sent_at_stop + 5).await;
    eventually(
        "versions cut while down",
        Duration::from_secs(10),
        || async { versions(&setup).await.0.len() as i64 >= published_while_up + 3 },
    )
    .await;
    assert_eq!(
        versions(&setup).await.1,
        published_while_up,
        "nothing published while the broker is stopped"
    );

    // Started again while studies keep arriving (it takes seconds to start).
    let starting = Arc::clone(&rabbit);
    tokio::task::spawn_blocking(move || starting.start_again())
        .await
        .unwrap();
    let sent_at_start = sent.load(Ordering::SeqCst);
    wait_sent(&sent, sent_at_start + 5).await;
    stop.store(true, Ordering::SeqCst);
    let answers = feeding.await.unwrap();
    assert!(
        answers.iter().all(|a| a.status == 0x0000),
        "ingest needs no broker: {answers:?}"
    );
    let studies = answers.len();
    assert!(
        sent_at_start > sent_at_stop,
        "studies arrived while it was down"
    );

    // Every study settles and its version is confirmed, then announced exactly once.
    eventually(
        "every version cut and published",
        Duration::from_secs(30),
        || async {
            let (cut, published) = versions(&setup).await;
            cut.len() == studies && published as usize == studies
        },
    )
    .await;
    let cut = versions(&setup).await.0;
    let seen = announced(&url, &setup).await;
    let duplicates: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    eprintln!(
        "{studies} studies, {published_while_up} published before the stop, \
         {} sent while stopped or starting; duplicates: {duplicates:?}",
        sent_at_start - sent_at_stop
    );
    assert_eq!(seen.keys().cloned().collect::<BTreeSet<_>>(), cut);
    assert!(
        duplicates.is_empty(),
        "each version exactly once: {duplicates:?}"
    );
    let log = gateway.log_text();
    assert!(
        log.contains("broker unavailable") || log.contains("reconnecting"),
        "{log}"
    );
    gateway.kill9();
}
