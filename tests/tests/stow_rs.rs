//! DICOMweb STOW-RS uploads.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use radraft_e2e::gateway::{Options, Setup};
use radraft_e2e::{fixtures, stow};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stow_upload_is_stored_byte_for_byte_and_announced() {
    let setup = Setup::new().await;
    let gateway = setup.start(Options::default()).await;
    let files = fixtures::files("mixed");
    let parts: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();

    let response = stow::store(&gateway.stow_url(), &parts).await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(stow::stored_count(&response.body), parts.len());
    assert_eq!(
        setup
            .count("SELECT count(*) FROM instances WHERE source = 'stow'")
            .await,
        parts.len() as i64
    );

    // A STOW part is a whole Part 10 file: the archive keeps exactly those bytes.
    let mut sent: Vec<&Vec<u8>> = parts.iter().collect();
    sent.sort();
    let mut kept: Vec<Vec<u8>> = setup
        .archived_files()
        .iter()
        .map(|f| std::fs::read(f).unwrap())
        .collect();
    kept.sort();
    assert_eq!(kept.iter().collect::<Vec<_>>(), sent);

    let ready = setup
        .queue
        .next_ready(Duration::from_secs(15))
        .await
        .expect("study.ready");
    assert_eq!(ready.instance_count, parts.len() as i64);

    gateway.stop().await;
    setup.teardown().await;
}
