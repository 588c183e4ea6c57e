//! STOW-RS parts are streamed to disk, on the real `radraft-gateway` process: a 300 MB
//! multi-frame part is stored byte for byte while the gateway's peak memory grows by a
//! small fraction of its size; a part over the per-object limit is refused as it streams,
//! leaving nothing behind; a tiny object declaring a 4 GB element is refused without the
//! memory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Read;
use std::path::Path;

use radraft_e2e::dimse_peer::peak_rss_of;
use radraft_e2e::gateway::Setup;
use radraft_e2e::gateway_process::GatewayProcess;
use radraft_e2e::hostile::{HUGE_LENGTH, huge_element_dataset, part10};
use radraft_e2e::multiframe::{MULTIFRAME_WORD_SC, write_multiframe};
use radraft_e2e::stow;
use radraft_e2e::synthetic::{CT_IMAGE_STORAGE, EXPLICIT_LE};
use sha2::{Digest, Sha256};

/// What one object may add to the gateway's peak memory.
const MAX_GROWTH: u64 = 100 << 20;

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1048576.0
}

/// The SHA-256 of a file, read in pieces.
fn sha256_of(path: &Path) -> String {
    let mut file = std::fs::File::open(path).unwrap();
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file.read(&mut buffer).unwrap();
        if read == 0 {
            return hex::encode(hasher.finalize());
        }
        hasher.update(&buffer[..read]);
    }
}

/// Files left in the archive's spool folder.
fn spool_leftovers(setup: &Setup) -> usize {
    let spool = setup.archive_dir().join(".incoming");
    std::fs::read_dir(&spool).map(|d| d.count()).unwrap_or(0)
}

/// A 315 MB multi-frame object in `dir`: 600 frames of 512 x 512 16-bit pixels.
fn large_object(dir: &Path, instance: &str) -> (std::path::PathBuf, u64) {
    let path = dir.join("large.dcm");
    let uids = (
        "1.2.826.0.1.3680043.10.1234.78",
        "1.2.826.0.1.3680043.10.1234.78.1",
        instance,
    );
    let size = write_multiframe(&path, uids, 512, 512, 600);
    (path, size)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_300_mb_part_is_stored_byte_for_byte_with_little_memory() {
    let setup = Setup::new().await;
    let gateway = GatewayProcess::spawn(&setup, &[], "stow-large");
    let dir = tempfile::tempdir().unwrap();
    let instance = "1.2.826.0.1.3680043.10.1234.78.1.1";
    let (path, size) = large_object(dir.path(), instance);
    let before = peak_rss_of(gateway.pid());
    let started = std::time::Instant::now();
    let response = stow::store_file(gateway.http_port, &path).await.unwrap();
    let elapsed = started.elapsed();
    let after = peak_rss_of(gateway.pid());
    println!(
        "{:.0} MB STOW-RS part stored in {elapsed:?}: gateway peak RSS {:.1} MiB before, \
         {:.1} MiB after",
        size as f64 / 1e6,
        mib(before),
        mib(after)
    );
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(stow::stored_count(&response.body), 1);
    assert_eq!(
        response.body["00081199"]["Value"][0]["00081150"]["Value"][0],
        MULTIFRAME_WORD_SC
    );

    let pool = setup.db.pool().await;
    let (key, stored_size, sha256): (String, i64, String) = sqlx::query_as(
        "SELECT archive_key, size_bytes, sha256 FROM instances WHERE sop_instance_uid = $1",
    )
    .bind(instance)
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    let archived = setup.archive_dir().join(&key);
    assert_eq!(stored_size as u64, size);
    assert_eq!(std::fs::metadata(&archived).unwrap().len(), size);
    let sent = sha256_of(&path);
    assert_eq!(sha256_of(&archived), sent, "archived byte for byte");
    assert_eq!(sha256, sent, "the recorded hash is the file's");
    assert!(
        after.saturating_sub(before) < MAX_GROWTH,
        "peak RSS grew from {before} to {after} bytes for a {size} byte part"
    );
    assert_eq!(spool_leftovers(&setup), 0, "spool files left behind");
    setup.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_over_the_limit_is_refused_as_it_streams_and_leaves_nothing() {
    let setup = Setup::new().await;
    let limit = 64 << 20;
    let gateway = GatewayProcess::spawn(
        &setup,
        &[("MAX_INSTANCE_BYTES", &limit.to_string())],
        "stow-over-limit",
    );
    let dir = tempfile::tempdir().unwrap();
    let (path, size) = large_object(dir.path(), "1.2.826.0.1.3680043.10.1234.78.1.2");
    let before = peak_rss_of(gateway.pid());
    // The gateway answers as soon as the part passes the limit and closes the connection:
    // the rest of the upload may meet a reset, and with it the answer may be lost.
    let response = stow::store_file(gateway.http_port, &path).await;
    let after = peak_rss_of(gateway.pid());
    println!(
        "{:.0} MB part over a {} MiB limit: gateway peak RSS {:.1} MiB before, {:.1} MiB after",
        size as f64 / 1e6,
        limit >> 20,
        mib(before),
        mib(after)
    );
    if let Some(response) = response {
        assert_eq!(response.status, 413, "{}", response.body);
        assert_eq!(response.body["error"]["code"], "too_large");
    }
    let log = gateway.logged("refused STOW-RS request").await;
    assert!(
        log.contains(&format!("a part is over the limit of {limit} bytes")),
        "{log}"
    );
    assert!(
        after.saturating_sub(before) < MAX_GROWTH,
        "{before} -> {after}"
    );
    assert_eq!(setup.count("SELECT count(*) FROM instances").await, 0);
    assert!(setup.archived_files().is_empty());
    assert_eq!(spool_leftovers(&setup), 0, "spool files left behind");
    setup.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_4_gb_element_by_stow_is_refused_without_the_memory() {
    let setup = Setup::new().await;
    let gateway = GatewayProcess::spawn(&setup, &[], "stow-huge-element");
    let uid = "1.2.826.0.1.3680043.10.1234.66.1.10";
    let file = part10(&huge_element_dataset(uid), uid, EXPLICIT_LE);
    assert!(file.len() < 1024, "a {} byte object", file.len());
    let url = format!("http://127.0.0.1:{}/dicom-web/studies", gateway.http_port);
    let before = peak_rss_of(gateway.pid());
    let response = stow::store(&url, &[file]).await;
    let after = peak_rss_of(gateway.pid());
    println!(
        "4 GB element refused by STOW-RS: gateway peak RSS {:.1} MiB before, {:.1} MiB after",
        mib(before),
        mib(after)
    );
    let warning = response.refused_one(0xC000, CT_IMAGE_STORAGE, uid);
    assert!(
        warning.contains("declared_length") && warning.contains(&HUGE_LENGTH.to_string()),
        "{warning}"
    );
    assert!(after < MAX_GROWTH, "peak RSS {after} bytes");
    assert_eq!(setup.count("SELECT count(*) FROM instances").await, 0);
    assert_eq!(spool_leftovers(&setup), 0, "spool files left behind");
    setup.teardown().await;
}
