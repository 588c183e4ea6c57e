//! How long the real `radraft-gateway` process waits for a DICOM peer: a connection that
//! never asks is closed after the negotiation timeout; an association that goes silent, or
//! that trickles a PDU a byte at a time to hold the gateway, is aborted after the idle
//! timeout, which bounds each whole PDU. Each is logged with the peer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use radraft_e2e::blocking;
use radraft_e2e::dimse_peer::{ABORT, ASSOCIATE_AC, RawPeer};
use radraft_e2e::gateway::Setup;
use radraft_e2e::gateway_process::GatewayProcess;
use radraft_e2e::synthetic::{CT_IMAGE_STORAGE, EXPLICIT_LE, ct_dataset};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_never_asks_is_closed_after_the_negotiation_timeout() {
    let setup = Setup::new().await;
    let gateway = GatewayProcess::spawn(
        &setup,
        &[("DIMSE_NEGOTIATION_TIMEOUT_MS", "1000")],
        "dimse-negotiation",
    );
    let port = gateway.dimse_port;
    let (local, elapsed, closed) = blocking(move || {
        let mut peer = RawPeer::connect(port);
        let started = Instant::now();
        let closed = peer.is_closed();
        (peer.local_addr(), started.elapsed(), closed)
    })
    .await;
    println!("silent connection closed after {elapsed:?}");
    assert!(closed, "the gateway closed the connection");
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(10),
        "{elapsed:?}"
    );
    let log = gateway
        .logged("no association request within the negotiation timeout")
        .await;
    assert!(
        log.contains(&local.to_string()),
        "the peer is named:\n{log}"
    );
    setup.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_association_that_goes_silent_is_aborted_after_the_idle_timeout() {
    let setup = Setup::new().await;
    let gateway = GatewayProcess::spawn(&setup, &[("DIMSE_IDLE_TIMEOUT_MS", "1000")], "dimse-idle");
    let port = gateway.dimse_port;
    let (status, answer, elapsed, closed) = blocking(move || {
        let mut peer = RawPeer::connect(port);
        assert_eq!(
            peer.associate(CT_IMAGE_STORAGE, EXPLICIT_LE)[0],
            ASSOCIATE_AC
        );
        let uid = "1.2.826.0.1.3680043.10.1234.99.1.1";
        // Busy, the association lives: the store is answered.
        let status = peer.store(CT_IMAGE_STORAGE, uid, &ct_dataset(uid));
        let started = Instant::now();
        let answer = peer.read_raw();
        (status, answer, started.elapsed(), peer.is_closed())
    })
    .await;
    assert_eq!(status, 0x0000);
    println!("silent association aborted after {elapsed:?}");
    let answer = answer.expect("an A-ABORT before the close");
    assert_eq!(answer[0], ABORT, "{answer:02x?}");
    assert!(closed);
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(10),
        "{elapsed:?}"
    );
    gateway
        .logged("association idle past the timeout; aborted")
        .await;
    setup.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pdu_trickled_byte_by_byte_is_aborted_after_the_idle_timeout() {
    let setup = Setup::new().await;
    let gateway = GatewayProcess::spawn(
        &setup,
        &[("DIMSE_IDLE_TIMEOUT_MS", "1000")],
        "dimse-trickle",
    );
    let port = gateway.dimse_port;
    let (elapsed, trickled) = blocking(move || {
        let mut peer = RawPeer::connect(port);
        assert_eq!(
            peer.associate(CT_IMAGE_STORAGE, EXPLICIT_LE)[0],
            ASSOCIATE_AC
        );
        // A P-DATA-TF PDU declaring 1,000 bytes, sent one byte every 100 ms: each byte
        // arrives well within the idle timeout, the whole PDU would take 100 s.
        let mut pdu = vec![0x04, 0x00];
        pdu.extend_from_slice(&1000u32.to_be_bytes());
        pdu.resize(6 + 1000, 0);
        let started = Instant::now();
        let trickle = peer.trickle(pdu, Duration::from_millis(100));
        // The A-ABORT, or (if the gateway's close overtook it) the end of the stream.
        if let Some(answer) = peer.read_raw() {
            assert_eq!(answer[0], ABORT, "{answer:02x?}");
        }
        let elapsed = started.elapsed();
        (elapsed, trickle.join().unwrap())
    })
    .await;
    println!("trickling peer aborted after {elapsed:?}, {trickled} bytes sent");
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(10),
        "{elapsed:?}"
    );
    assert!(
        trickled < 200,
        "the gateway stopped taking bytes: {trickled}"
    );
    gateway
        .logged("association idle past the timeout; aborted")
        .await;
    setup.teardown().await;
}
