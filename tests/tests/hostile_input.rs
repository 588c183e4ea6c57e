//! Objects built to exhaust the gateway: a few hundred bytes declaring a 4 GB element, a
//! deflate bomb, sequences nested 100,000 deep. Each is refused through both doors with a
//! specific status and reason, nothing is stored, and the gateway's peak memory (it runs in
//! this test process) does not jump.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use radraft_e2e::gateway::{Options, Running, SENDER_AE, Setup};
use radraft_e2e::hostile::{
    DEFLATED_LE, HUGE_LENGTH, deflate_bomb, element_flood, huge_element_dataset, nested_sequences,
    part10, peak_rss,
};
use radraft_e2e::scu::{StoreStatus, store_raw};
use radraft_e2e::synthetic::{CT_IMAGE_STORAGE, EXPLICIT_LE};
use radraft_e2e::{fixtures, pacs, stow};

/// What one refused object may add to the process's peak memory.
const MAX_GROWTH: u64 = 100 << 20;

/// The tests in this file measure the process's peak memory, so they run one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn c_store(port: u16, sop_instance: &str, ts: &'static str, dataset: Vec<u8>) -> StoreStatus {
    let sop_instance = sop_instance.to_owned();
    tokio::task::spawn_blocking(move || {
        store_raw(port, CT_IMAGE_STORAGE, &sop_instance, ts, &dataset)
    })
    .await
    .unwrap()
}

/// Runs `step` and fails if the process's peak memory grew by more than [`MAX_GROWTH`].
async fn bounded<T>(what: &str, step: impl std::future::Future<Output = T>) -> T {
    let before = peak_rss();
    let out = step.await;
    let after = peak_rss();
    println!(
        "{what}: peak RSS {} MiB -> {} MiB",
        before >> 20,
        after >> 20
    );
    assert!(
        after.saturating_sub(before) < MAX_GROWTH,
        "{what}: peak memory grew from {} MiB to {} MiB",
        before >> 20,
        after >> 20
    );
    out
}

/// How both doors must refuse an object: its status, a part of the C-STORE's Error Comment
/// and of the STOW-RS Warning.
struct Refusal<'a> {
    status: u16,
    comment: &'a str,
    warning: &'a str,
}

/// Sends `dataset` (in `ts`) by C-STORE, then as a Part 10 file by STOW-RS, each within
/// [`MAX_GROWTH`] of peak memory: both must be refused as `expected`, and nothing stored.
async fn refused_through_both_doors(
    setup: &Setup,
    gateway: &Running,
    uid: &str,
    ts: &'static str,
    dataset: Vec<u8>,
    expected: Refusal<'_>,
) {
    let Refusal {
        status,
        comment,
        warning,
    } = expected;
    let file = part10(&dataset, uid, ts);
    let refused = bounded("C-STORE", c_store(gateway.dimse_port, uid, ts, dataset)).await;
    assert_eq!(refused.status, status, "{refused:?}");
    assert!(refused.comment.contains(comment), "{refused:?}");

    let response = bounded("STOW-RS", stow::store(&gateway.stow_url(), &[file])).await;
    let sent_back = response.refused_one(u64::from(status), CT_IMAGE_STORAGE, uid);
    assert!(sent_back.contains(warning), "{sent_back}");

    assert_eq!(setup.count("SELECT count(*) FROM instances").await, 0);
    assert!(setup.archived_files().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiny_object_declaring_a_4_gb_element_is_refused_without_the_memory() {
    let _serial = SERIAL.lock().await;
    let setup = Setup::new().await;
    let gateway = setup.start(Options::default()).await;
    let uid = "1.2.826.0.1.3680043.10.1234.66.1.1";
    let dataset = huge_element_dataset(uid);
    let file = part10(&dataset, uid, EXPLICIT_LE);
    let body = stow::body(std::slice::from_ref(&file));
    assert!(body.len() < 1024, "a {} byte STOW body", body.len());

    refused_through_both_doors(
        &setup,
        &gateway,
        uid,
        EXPLICIT_LE,
        dataset,
        Refusal {
            status: 0xC000,
            comment: &format!("declares {HUGE_LENGTH} bytes"),
            warning: "declared_length",
        },
    )
    .await;
    gateway.stop().await;
    setup.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deflate_bomb_is_refused_before_it_is_inflated_in_memory() {
    let _serial = SERIAL.lock().await;
    let setup = Setup::new().await;
    // The harness's default limit: 64 MiB per object, inflated or not.
    let gateway = setup.start(Options::default()).await;
    let uid = "1.2.826.0.1.3680043.10.1234.66.1.2";
    let bomb = deflate_bomb(uid, 512 << 20);
    assert!(bomb.len() < 1 << 20, "{} compressed bytes", bomb.len());

    refused_through_both_doors(
        &setup,
        &gateway,
        uid,
        DEFLATED_LE,
        bomb,
        Refusal {
            status: 0xA700,
            comment: "inflates to more than",
            warning: "inflated_too_large",
        },
    )
    .await;
    gateway.stop().await;
    setup.teardown().await;
}

/// Millions of empty elements in a few kB deflated, inside the per-object limit: each would
/// cost the built object 112 bytes (7 million: 784 MB) where it took 8 on the wire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deflated_flood_of_empty_elements_is_refused_without_the_memory() {
    let _serial = SERIAL.lock().await;
    let setup = Setup::new().await;
    // The harness's default limit: 64 MiB per object; the flood inflates to 56 MB.
    let gateway = setup.start(Options::default()).await;
    let uid = "1.2.826.0.1.3680043.10.1234.66.1.5";
    let flood = element_flood(uid, 7_000_000);
    assert!(flood.len() < 1 << 20, "{} compressed bytes", flood.len());
    let limit = radraft_dicom_guard::MAX_ELEMENTS;

    refused_through_both_doors(
        &setup,
        &gateway,
        uid,
        DEFLATED_LE,
        flood,
        Refusal {
            status: 0xA700,
            comment: &format!("more than {limit} elements"),
            warning: "too_many_elements",
        },
    )
    .await;
    gateway.stop().await;
    setup.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequences_nested_without_end_are_refused_and_the_gateway_keeps_serving() {
    let _serial = SERIAL.lock().await;
    let setup = Setup::new().await;
    let gateway = setup.start(Options::default()).await;
    let port = gateway.dimse_port;
    let uid = "1.2.826.0.1.3680043.10.1234.66.1.3";
    // 100,000 levels in 3.6 MB: a recursive reader needs far more than a thread's stack.
    let dataset = nested_sequences(uid, 100_000);

    let refused = c_store(port, uid, EXPLICIT_LE, dataset.clone()).await;
    assert_eq!(refused.status, 0xC000, "{refused:?}");
    assert!(
        refused.comment.contains("nested deeper than"),
        "{refused:?}"
    );
    let response = stow::store(&gateway.stow_url(), &[part10(&dataset, uid, EXPLICIT_LE)]).await;
    assert_eq!(response.status, 409, "{}", response.body);

    assert_eq!(setup.count("SELECT count(*) FROM instances").await, 0);
    let mixed = fixtures::path("mixed");
    let good = tokio::task::spawn_blocking(move || pacs::dcmsend(port, SENDER_AE, &[&mixed]))
        .await
        .unwrap();
    assert!(pacs::all_stored(&good), "{}", pacs::describe(&good));
    gateway.stop().await;
    setup.teardown().await;
}
