//! The DICOM listener's limits on the real `radraft-gateway` process, against real peers
//! (its timeouts are in `dimse_timeouts.rs`): 200 associations at once past the limit are
//! rejected in DICOM terms while every accepted one stores; unsupported and unreadable commands are answered or
//! aborted, never left hanging; a 4 GB element costs no memory, and a 300 MB instance is
//! stored with the gateway's peak memory far below its size (it is streamed to disk).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

use dicom_ul::pdu::PDataValueType;
use radraft_e2e::blocking;
use radraft_e2e::dimse_crowd::{Outcome, associate_at_once};
use radraft_e2e::dimse_peer::{
    ABORT, ASSOCIATE_AC, ASSOCIATE_RJ, LOCAL_LIMIT_RJ, RawPeer, pdata, peak_rss_of, request,
};
use radraft_e2e::gateway::{SENDER_AE, Setup};
use radraft_e2e::gateway_process::GatewayProcess;
use radraft_e2e::hostile::{HUGE_LENGTH, huge_element_dataset};
use radraft_e2e::multiframe::write_multiframe;
use radraft_e2e::pacs;
use radraft_e2e::scu::store_raw;
use radraft_e2e::synthetic::{CT_IMAGE_STORAGE, EXPLICIT_LE, ct_dataset, ct_image, encode_dataset};

const STUDY_ROOT_FIND: &str = "1.2.840.10008.5.1.4.1.2.2.1";

async fn indexed_in_study(setup: &Setup, study: u32) -> i64 {
    setup
        .count(&format!(
            "SELECT count(*) FROM instances WHERE study_uid = '1.2.826.0.1.3680043.10.1234.{study}'"
        ))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_associations_past_the_limit_are_rejected_in_dicom_terms() {
    let setup = Setup::new().await;
    let gateway = GatewayProcess::spawn(&setup, &[("DIMSE_MAX_ASSOCIATIONS", "50")], "dimse-limit");
    let port = gateway.dimse_port;
    let started = Instant::now();
    let outcomes = blocking(move || associate_at_once(port, 200, 501)).await;
    println!("200 at once, limit 50: {:?}", started.elapsed());
    let stored: Vec<u16> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Stored(status) => Some(*status),
            _ => None,
        })
        .collect();
    let rejected: Vec<&Vec<u8>> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Rejected(pdu) => Some(pdu),
            _ => None,
        })
        .collect();
    assert_eq!(stored.len(), 50, "{outcomes:?}");
    assert!(stored.iter().all(|s| *s == 0x0000), "{stored:?}");
    assert_eq!(rejected.len(), 150, "{outcomes:?}");
    for pdu in &rejected {
        assert_eq!(pdu[0], ASSOCIATE_RJ);
        assert_eq!(pdu.as_slice(), LOCAL_LIMIT_RJ, "{pdu:02x?}");
    }
    assert_eq!(indexed_in_study(&setup, 501).await, 50);
    let log = gateway.logged("too many associations open").await;
    let refusals = log.matches("too many associations open").count();
    assert_eq!(refusals, 150, "each refusal logged once");
    assert!(log.contains("peer=127.0.0.1:"), "refusals name the peer");
    drop(gateway);

    // The same 200 with room for all: every one stores.
    let gateway = GatewayProcess::spawn(
        &setup,
        &[("DIMSE_MAX_ASSOCIATIONS", "200")],
        "dimse-limit-200",
    );
    let port = gateway.dimse_port;
    let started = Instant::now();
    let outcomes = blocking(move || associate_at_once(port, 200, 502)).await;
    println!("200 at once, limit 200: {:?}", started.elapsed());
    assert!(
        outcomes.iter().all(|o| matches!(o, Outcome::Stored(0))),
        "{outcomes:?}"
    );
    assert_eq!(indexed_in_study(&setup, 502).await, 200);
    setup.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_requests_are_answered_unrecognized_and_the_association_goes_on() {
    let setup = Setup::new().await;
    let gateway = GatewayProcess::spawn(&setup, &[], "dimse-unsupported");
    let port = gateway.dimse_port;
    let (find, get, status) = blocking(move || {
        let mut peer = RawPeer::connect(port);
        assert_eq!(
            peer.associate(CT_IMAGE_STORAGE, EXPLICIT_LE)[0],
            ASSOCIATE_AC
        );
        // A C-FIND with its identifier, on the storage context (the only one accepted).
        let identifier = encode_dataset(&ct_image(CT_IMAGE_STORAGE, None));
        peer.send_message(
            request(0x0020, 42, STUDY_ROOT_FIND, None, true),
            Some(&identifier),
        );
        let find = peer.read_response();
        // An N-GET, no data set.
        peer.send_message(request(0x0110, 43, CT_IMAGE_STORAGE, None, false), None);
        let get = peer.read_response();
        let uid = "1.2.826.0.1.3680043.10.1234.99.1.7";
        let status = peer.store(CT_IMAGE_STORAGE, uid, &ct_dataset(uid));
        peer.release();
        (find, get, status)
    })
    .await;
    assert_eq!(
        find,
        (0x8020, 42, 0x0211),
        "C-FIND-RSP, unrecognized operation"
    );
    assert_eq!(
        get,
        (0x8110, 43, 0x0211),
        "N-GET-RSP, unrecognized operation"
    );
    assert_eq!(status, 0x0000, "the association still stores");
    gateway.logged("unsupported DIMSE request answered").await;
    setup.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_and_endless_command_sets_abort_the_association() {
    let setup = Setup::new().await;
    let gateway = GatewayProcess::spawn(&setup, &[], "dimse-unreadable");
    let port = gateway.dimse_port;
    let (unreadable, endless) = blocking(move || {
        // CommandField declaring 1 GiB in a command set of 8 bytes.
        let mut peer = RawPeer::connect(port);
        assert_eq!(
            peer.associate(CT_IMAGE_STORAGE, EXPLICIT_LE)[0],
            ASSOCIATE_AC
        );
        let mut lying = vec![0x00, 0x00, 0x00, 0x01];
        lying.extend_from_slice(&0x4000_0000_u32.to_le_bytes());
        peer.send(&pdata(PDataValueType::Command, true, lying));
        let unreadable = (peer.read_raw(), peer.is_closed());
        // A command set that never ends: 16 KiB fragments, none the last.
        let mut peer = RawPeer::connect(port);
        assert_eq!(
            peer.associate(CT_IMAGE_STORAGE, EXPLICIT_LE)[0],
            ASSOCIATE_AC
        );
        for _ in 0..5 {
            peer.send(&pdata(PDataValueType::Command, false, vec![0; 16_000]));
        }
        let endless = (peer.read_raw(), peer.is_closed());
        (unreadable, endless)
    })
    .await;
    for (what, (answer, closed)) in [("unreadable", unreadable), ("endless", endless)] {
        let answer = answer.unwrap_or_else(|| panic!("{what}: an A-ABORT before the close"));
        assert_eq!(answer[0], ABORT, "{what}: {answer:02x?}");
        assert!(closed, "{what}: closed");
    }
    let log = gateway.logged("command set over 65536 bytes").await;
    assert!(log.contains("could not read DIMSE command"), "{log}");
    assert_eq!(log.matches("DIMSE protocol breach").count(), 2, "{log}");
    setup.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_4_gb_element_by_c_store_is_refused_without_the_memory() {
    let setup = Setup::new().await;
    let gateway = GatewayProcess::spawn(&setup, &[], "dimse-huge-element");
    let port = gateway.dimse_port;
    let uid = "1.2.826.0.1.3680043.10.1234.66.1.9";
    let dataset = huge_element_dataset(uid);
    assert!(dataset.len() < 1024, "a {} byte object", dataset.len());
    let before = peak_rss_of(gateway.pid());
    let refused =
        blocking(move || store_raw(port, CT_IMAGE_STORAGE, uid, EXPLICIT_LE, &dataset)).await;
    let after = peak_rss_of(gateway.pid());
    println!(
        "4 GB element refused: gateway peak RSS {:.1} MiB before, {:.1} MiB after",
        before as f64 / 1048576.0,
        after as f64 / 1048576.0
    );
    assert_eq!(refused.status, 0xC000, "{refused:?}");
    assert!(
        refused
            .comment
            .contains(&format!("declares {HUGE_LENGTH} bytes")),
        "{refused:?}"
    );
    assert!(after < 100 << 20, "peak RSS {after} bytes");
    assert_eq!(setup.count("SELECT count(*) FROM instances").await, 0);
    setup.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_300_mb_instance_is_stored_with_far_less_memory_than_its_size() {
    let setup = Setup::new().await;
    let gateway = GatewayProcess::spawn(&setup, &[], "dimse-large");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large.dcm");
    let uids = (
        "1.2.826.0.1.3680043.10.1234.77",
        "1.2.826.0.1.3680043.10.1234.77.1",
        "1.2.826.0.1.3680043.10.1234.77.1.1",
    );
    // 600 frames of 512 x 512 16-bit pixels: 315 MB.
    let size = write_multiframe(&path, uids, 512, 512, 600);
    let before = peak_rss_of(gateway.pid());
    let port = gateway.dimse_port;
    let started = Instant::now();
    let sent = blocking(move || pacs::dcmsend(port, SENDER_AE, &[path.as_path()])).await;
    let elapsed = started.elapsed();
    let after = peak_rss_of(gateway.pid());
    println!(
        "{:.0} MB instance stored in {elapsed:?}: gateway peak RSS {:.1} MiB before, {:.1} MiB after",
        size as f64 / 1e6,
        before as f64 / 1048576.0,
        after as f64 / 1048576.0
    );
    assert!(pacs::all_stored(&sent), "{}", pacs::describe(&sent));
    let pool = setup.db.pool().await;
    let (key, stored_size): (String, i64) =
        sqlx::query_as("SELECT archive_key, size_bytes FROM instances WHERE sop_instance_uid = $1")
            .bind(uids.2)
            .fetch_one(&pool)
            .await
            .unwrap();
    pool.close().await;
    let archived = std::fs::metadata(setup.archive_dir().join(&key))
        .unwrap()
        .len();
    assert_eq!(archived, stored_size as u64);
    assert!(archived > size - 1024, "{archived} of {size} bytes");
    assert!(
        after < size / 4,
        "peak RSS {after} bytes for a {size} byte instance"
    );
    // Nothing left in the spool folder.
    let spool = setup.archive_dir().join(".incoming");
    let left = std::fs::read_dir(&spool).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "spool files left behind");
    setup.teardown().await;
}
