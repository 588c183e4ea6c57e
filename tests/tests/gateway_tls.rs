//! DICOM TLS on the gateway's SCP against dcmtk's real `storescu`/`echoscu`, with a CA made
//! in the test: a client with a certificate from that CA stores; a certificate from another
//! CA, no certificate, plain TCP and a peer that never shakes hands are refused and logged
//! with the peer and the reason; without a client CA an anonymous TLS client stores, and
//! the plain port can be off. Start-up refuses unreadable or mismatched TLS files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use radraft_e2e::blocking;
use radraft_e2e::gateway::Setup;
use radraft_e2e::gateway_process::{GatewayProcess, gateway_vars};
use radraft_e2e::outage::write_series;
use radraft_e2e::pacs::describe;
use radraft_e2e::test_ca::{LeafFiles, TestCa};
use radraft_e2e::tls_peer::{DicomClient, echoscu, port_in_log, storescu};
use radraft_e2e::worker_process::built_binary;
use radraft_gateway::{App, GatewayConfig};
use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;

/// The test's certificates, as files.
struct Pki {
    dir: tempfile::TempDir,
    ca_file: PathBuf,
    server: LeafFiles,
    client: LeafFiles,
    /// A client certificate from a CA the gateway does not trust.
    stranger: LeafFiles,
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("radraft test CA");
    let other = TestCa::new("someone else's CA");
    Pki {
        ca_file: ca.write_cert(dir.path(), "ca"),
        server: ca
            .issue_server(&["localhost", "127.0.0.1"])
            .write(dir.path(), "server"),
        client: ca.issue_client("MODALITY1").write(dir.path(), "client"),
        stranger: other
            .issue_client("MODALITY1")
            .write(dir.path(), "stranger"),
        dir,
    }
}

fn path(p: &std::path::Path) -> String {
    p.display().to_string()
}

/// One small uncompressed CT instance of study `n`: storescu proposes only uncompressed
/// transfer syntaxes.
fn instance(dir: &std::path::Path, n: u32) -> PathBuf {
    write_series(dir, n, 0..1, 32).remove(0)
}

async fn stored(setup: &Setup) -> i64 {
    setup.count("SELECT count(*) FROM instances").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dicom_tls_stores_for_a_trusted_client_and_refuses_every_other_peer() {
    let setup = Setup::new().await;
    let pki = pki();
    let file = instance(pki.dir.path(), 801);
    let vars = [
        ("DIMSE_TLS_ADDR", "127.0.0.1:0".to_owned()),
        ("TLS_CERT_FILE", path(&pki.server.cert)),
        ("TLS_KEY_FILE", path(&pki.server.key)),
        ("TLS_CLIENT_CA_FILE", path(&pki.ca_file)),
        ("TLS_HANDSHAKE_TIMEOUT_MS", "1500".to_owned()),
    ];
    let extra: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let gateway = GatewayProcess::spawn(&setup, &extra, "gateway-tls");
    let port = port_in_log(&gateway.log_text(), "dimse_tls_addr=").expect("TLS port logged");

    let (client, ca) = (pki.client.clone(), pki.ca_file.clone());
    let echo = blocking(move || echoscu(port, DicomClient::Certificate(&client, &ca))).await;
    assert!(echo.status.success(), "{}", describe(&echo));
    let (client, ca) = (pki.client.clone(), pki.ca_file.clone());
    let sent = blocking({
        let file = file.clone();
        move || storescu(port, DicomClient::Certificate(&client, &ca), &file)
    })
    .await;
    assert!(sent.status.success(), "{}", describe(&sent));
    assert_eq!(stored(&setup).await, 1, "stored over DICOM TLS");

    // (b) a certificate from another CA, (c) no certificate at all, (d) plain TCP.
    let (stranger, ca) = (pki.stranger.clone(), pki.ca_file.clone());
    let refused = [
        blocking({
            let file = file.clone();
            move || storescu(port, DicomClient::Certificate(&stranger, &ca), &file)
        })
        .await,
        blocking({
            let (ca, file) = (pki.ca_file.clone(), file.clone());
            move || storescu(port, DicomClient::Anonymous(&ca), &file)
        })
        .await,
        blocking({
            let file = file.clone();
            move || storescu(port, DicomClient::Plain, &file)
        })
        .await,
    ];
    for output in &refused {
        assert!(!output.status.success(), "refused: {}", describe(output));
    }
    assert_eq!(stored(&setup).await, 1, "nothing stored by a refused peer");

    // A peer that connects and never starts the handshake is cut at the timeout.
    let mut silent = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(10), silent.read(&mut buf)).await;
    let waited = started.elapsed();
    assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "{read:?}");
    assert!(
        waited >= Duration::from_millis(1300) && waited < Duration::from_secs(5),
        "cut after the 1.5 s handshake timeout, not {waited:?}"
    );
    println!("silent TLS peer cut after {waited:?}");

    let log = gateway.log_text();
    let failures: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("DICOM TLS handshake failed"))
        .collect();
    println!("{}", failures.join("\n"));
    assert_eq!(failures.len(), 3, "one line per refused peer:\n{log}");
    assert!(failures.iter().all(|line| line.contains("peer=127.0.0.1:")));
    assert!(failures[0].contains("UnknownIssuer"), "{}", failures[0]);
    assert!(failures[1].contains("no certificates"), "{}", failures[1]);
    assert!(log.contains("DICOM TLS handshake or association request timed out"));
    drop(pki.dir);
    setup.teardown().await;
}

/// With no client CA configured, TLS without a client certificate is accepted; with
/// `DIMSE_ADDR=off` there is no plain listener at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_client_ca_an_anonymous_tls_client_stores_and_the_plain_port_can_be_off() {
    let setup = Setup::new().await;
    let pki = pki();
    let file = instance(pki.dir.path(), 802);
    let vars = gateway_vars(
        &setup,
        &[
            ("DIMSE_ADDR", "off"),
            ("DIMSE_TLS_ADDR", "127.0.0.1:0"),
            ("TLS_CERT_FILE", &path(&pki.server.cert)),
            ("TLS_KEY_FILE", &path(&pki.server.key)),
        ],
    );
    let app = App::build(GatewayConfig::from_vars(vars).unwrap())
        .await
        .unwrap();
    assert!(app.dimse_addr().is_err(), "no plain DICOM listener");
    let port = app.dimse_tls_addr().expect("a TLS listener").port();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(app.run(shutdown.clone()));

    let ca = pki.ca_file.clone();
    let sent = blocking({
        let file = file.clone();
        move || storescu(port, DicomClient::Anonymous(&ca), &file)
    })
    .await;
    assert!(sent.status.success(), "{}", describe(&sent));
    assert_eq!(stored(&setup).await, 1);
    let plain = blocking({
        let file = file.clone();
        move || storescu(port, DicomClient::Plain, &file)
    })
    .await;
    assert!(
        !plain.status.success(),
        "still TLS only: {}",
        describe(&plain)
    );

    shutdown.cancel();
    running.await.unwrap().unwrap();
    setup.teardown().await;
}

/// Every problem with the TLS files is reported at start-up, naming the file.
#[tokio::test]
async fn bad_tls_files_are_configuration_errors() {
    let pki = pki();
    let dir = pki.dir.path();
    let garbage = dir.join("garbage.pem");
    std::fs::write(&garbage, "not a certificate").unwrap();
    let missing = dir.join("missing.crt");
    let check = |pairs: &[(&str, String)]| {
        let vars = pairs
            .iter()
            .map(|(k, v)| (format!("RADRAFT_GATEWAY__{k}"), v.clone()))
            .collect();
        GatewayConfig::from_vars(vars)
            .map(|_| ())
            .unwrap_err()
            .to_string()
    };
    let tls_on = ("DIMSE_TLS_ADDR", "127.0.0.1:0".to_owned());
    let cases = [
        (
            vec![
                tls_on.clone(),
                ("TLS_CERT_FILE", path(&missing)),
                ("TLS_KEY_FILE", path(&pki.server.key)),
            ],
            vec!["cannot read", "missing.crt"],
        ),
        (
            vec![
                tls_on.clone(),
                ("TLS_CERT_FILE", path(&garbage)),
                ("TLS_KEY_FILE", path(&pki.server.key)),
            ],
            vec!["holds no PEM certificate", "garbage.pem"],
        ),
        (
            // The client's key with the server's certificate.
            vec![
                tls_on.clone(),
                ("TLS_CERT_FILE", path(&pki.server.cert)),
                ("TLS_KEY_FILE", path(&pki.client.key)),
            ],
            vec!["does not belong to the certificate", "client.key"],
        ),
        (
            vec![
                tls_on.clone(),
                ("TLS_CERT_FILE", path(&pki.server.cert)),
                ("TLS_KEY_FILE", path(&pki.server.key)),
                ("TLS_CLIENT_CA_FILE", path(&garbage)),
            ],
            vec!["no CA certificate", "garbage.pem"],
        ),
        (vec![tls_on.clone()], vec!["DIMSE_TLS_ADDR needs"]),
        (
            vec![("HTTP_TLS", "true".to_owned())],
            vec!["HTTP_TLS needs"],
        ),
        (
            vec![("TLS_CERT_FILE", path(&pki.server.cert))],
            vec!["must be set together"],
        ),
        (
            vec![("DIMSE_ADDR", "nowhere".to_owned())],
            vec!["DIMSE_ADDR", "or off"],
        ),
    ];
    for (pairs, expected) in cases {
        let error = check(&pairs);
        for fragment in expected {
            assert!(error.contains(fragment), "{fragment:?} in {error}");
        }
        assert!(!error.contains("PRIVATE KEY"), "no key material: {error}");
    }

    // The real binary stops with the message, not a panic.
    let output = std::process::Command::new(built_binary("radraft-gateway", "radraft-gateway"))
        .env("RADRAFT_GATEWAY__DIMSE_TLS_ADDR", "127.0.0.1:0")
        .env("RADRAFT_GATEWAY__TLS_CERT_FILE", &missing)
        .env("RADRAFT_GATEWAY__TLS_KEY_FILE", &pki.server.key)
        .output()
        .unwrap();
    let text = describe(&output);
    assert!(!output.status.success(), "{text}");
    assert!(
        text.contains("cannot read") && text.contains("missing.crt"),
        "{text}"
    );
    assert!(!text.contains("panicked"), "{text}");
}
