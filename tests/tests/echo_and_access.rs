//! C-ECHO and the calling-AE allow-list, with dcmtk's echoscu and dcmsend.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use radraft_e2e::gateway::{Options, SENDER_AE, Setup};
use radraft_e2e::{fixtures, pacs};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_callers_echo_and_others_are_rejected_without_storing_anything() {
    let setup = Setup::new().await;
    let gateway = setup.start(Options::default()).await;
    let port = gateway.dimse_port;

    let echo = tokio::task::spawn_blocking(move || pacs::echoscu(port, SENDER_AE))
        .await
        .unwrap();
    assert!(echo.status.success(), "{}", pacs::describe(&echo));

    let intruder = tokio::task::spawn_blocking(move || pacs::echoscu(port, "INTRUDER"))
        .await
        .unwrap();
    assert!(!intruder.status.success(), "{}", pacs::describe(&intruder));
    assert!(
        String::from_utf8_lossy(&intruder.stderr).contains("Calling AE Title Not Recognized"),
        "{}",
        pacs::describe(&intruder)
    );

    let mixed = fixtures::path("mixed");
    let sent = tokio::task::spawn_blocking(move || pacs::dcmsend(port, "INTRUDER", &[&mixed]))
        .await
        .unwrap();
    assert!(!pacs::all_stored(&sent), "{}", pacs::describe(&sent));
    assert_eq!(setup.count("SELECT count(*) FROM instances").await, 0);
    assert!(setup.archived_files().is_empty());

    gateway.stop().await;
    setup.teardown().await;
}
