//! The Orthanc connector against a real Orthanc: a study stored into Orthanc is pulled from
//! its `/changes` feed once stable, in its original transfer syntaxes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use radraft_e2e::fixtures;
use radraft_e2e::gateway::{Options, Setup};
use radraft_e2e::orthanc::{self, Orthanc};
use radraft_gateway::config::OrthancConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stable_study_in_orthanc_is_pulled_and_announced() {
    let orthanc = Orthanc::start(1);
    let setup = Setup::new().await;
    let options = Options {
        orthanc: Some(OrthancConfig {
            name: "orthanc-e2e".into(),
            url: orthanc.url(),
            username: Some(orthanc::USER.into()),
            password: Some(orthanc::PASSWORD.to_owned().into()),
            poll_interval: Duration::from_millis(200),
            timeout: Duration::from_secs(10),
            download_timeout: Duration::from_secs(60),
            ca: None,
        }),
        ..Options::default()
    };
    let gateway = setup.start(options).await;

    // Fed through Orthanc's REST API, which keeps each file exactly as uploaded (dcmsend to
    // Debian's Orthanc 1.10 gets compressed objects decompressed during negotiation).
    let files = fixtures::files("mixed");
    let client = reqwest::Client::new();
    for file in &files {
        let response = client
            .post(format!("{}/instances", orthanc.url()))
            .basic_auth(orthanc::USER, Some(orthanc::PASSWORD))
            .body(std::fs::read(file).unwrap())
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "Orthanc refused {}: {}",
            file.display(),
            response.status()
        );
    }

    // Orthanc waits StableAge (1 s), the gateway polls, pulls, then waits its quiet period.
    let ready = setup
        .queue
        .next_ready(Duration::from_secs(30))
        .await
        .expect("study.ready after pulling from Orthanc");
    assert_eq!(
        (ready.study_version, ready.instance_count),
        (1, files.len() as i64)
    );
    assert_eq!(
        setup.count("SELECT count(*) FROM instances WHERE source = 'orthanc' AND calling_ae = 'orthanc-e2e'").await,
        files.len() as i64
    );
    assert!(
        setup
            .count("SELECT count(DISTINCT transfer_syntax_uid) FROM instances")
            .await
            >= 2,
        "pulled in the original (compressed and uncompressed) transfer syntaxes"
    );
    assert!(
        setup
            .count("SELECT last_seq FROM feed_cursors WHERE feed = 'orthanc:orthanc-e2e'")
            .await
            > 0
    );

    gateway.stop().await;
    setup.teardown().await;
}
