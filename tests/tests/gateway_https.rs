//! The gateway's HTTP edge over TLS, and the guards that act before a request exists: a
//! real `radraft-gateway` serving HTTPS with a certificate from a CA made in the test
//! stores a STOW-RS request from a client that trusts that CA (bearer token still
//! checked); a client that does not trust it, and plain HTTP to the HTTPS port, fail and
//! store nothing; a client that stalls in its headers is cut after the header-read
//! timeout, over TLS and over plain TCP; SIGTERM lets an upload in progress over TLS
//! finish while new connections are refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use radraft_e2e::gateway::{Options, Setup};
use radraft_e2e::gateway_process::GatewayProcess;
use radraft_e2e::stow;
use radraft_e2e::test_ca::TestCa;
use radraft_e2e::tls_peer::{client_config, connect, https_client};
use radraft_e2e::{fixtures, outage};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

const TOKEN: &str = "https-e2e-token-0123456789";

async fn stored(setup: &Setup) -> i64 {
    setup.count("SELECT count(*) FROM instances").await
}

/// Waits until the peer closes `stream` (EOF or error) and returns how long that took.
async fn time_until_closed<S: AsyncRead + Unpin>(stream: &mut S) -> Duration {
    let started = Instant::now();
    let mut sink = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(15), stream.read_to_end(&mut sink)).await;
    assert!(read.is_ok(), "the gateway closed the connection");
    assert!(
        sink.is_empty(),
        "nothing answered: {:?}",
        String::from_utf8_lossy(&sink)
    );
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_stow_needs_a_client_that_trusts_the_ca_and_drains_on_sigterm() {
    let setup = Setup::new().await;
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("radraft test CA");
    let server = ca
        .issue_server(&["localhost", "127.0.0.1"])
        .write(dir.path(), "server");
    let vars = [
        ("HTTP_TLS", "true".to_owned()),
        ("TLS_CERT_FILE", server.cert.display().to_string()),
        ("TLS_KEY_FILE", server.key.display().to_string()),
        ("HTTP_TOKENS", TOKEN.to_owned()),
        ("HTTP_HEADER_TIMEOUT_MS", "1000".to_owned()),
        ("DRAIN_GRACE_MS", "20000".to_owned()),
    ];
    let extra: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut gateway = GatewayProcess::spawn(&setup, &extra, "gateway-https");
    let port = gateway.http_port;
    let url = format!("https://127.0.0.1:{port}/dicom-web/studies");
    let part = std::fs::read(&fixtures::files("mixed")[0]).unwrap();
    let post = |client: reqwest::Client, token: Option<&'static str>| {
        let mut request = client
            .post(url.clone())
            .header("content-type", stow::content_type())
            .body(stow::body(std::slice::from_ref(&part)));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };

    let trusting = https_client(ca.cert_pem());
    let anonymous = post(trusting.clone(), None).await.unwrap();
    assert_eq!(
        anonymous.status(),
        401,
        "the bearer token is still required"
    );
    let response = post(trusting.clone(), Some(TOKEN)).await.unwrap();
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    assert_eq!(stored(&setup).await, 1, "stored over HTTPS");

    let stranger = TestCa::new("someone else's CA");
    let error = post(https_client(stranger.cert_pem()), Some(TOKEN))
        .await
        .unwrap_err();
    let chain = format!("{error:?}");
    assert!(chain.contains("UnknownIssuer"), "{chain}");
    let plain = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/dicom-web/studies"))
        .bearer_auth(TOKEN)
        .header("content-type", stow::content_type())
        .body(stow::body(std::slice::from_ref(&part)))
        .send()
        .await;
    assert!(plain.is_err(), "plain HTTP to the HTTPS port: {plain:?}");
    let log = gateway.log_text();
    assert!(
        log.lines()
            .any(|l| l.contains("HTTPS handshake failed") && l.contains("peer=127.0.0.1:")),
        "{log}"
    );

    // Handshake done, then half a request line: cut after the 1 s header timeout.
    let mut stalled = connect(port, client_config(ca.cert_pem(), None))
        .await
        .unwrap();
    stalled.write_all(b"POST /dicom-web/stu").await.unwrap();
    stalled.flush().await.unwrap();
    let waited = time_until_closed(&mut stalled).await;
    println!("HTTPS client stalled in its request line, cut after {waited:?}");
    assert!(waited >= Duration::from_millis(900) && waited < Duration::from_secs(5));

    // SIGTERM during an upload over TLS: it finishes; a new connection is refused.
    let (_, part) = outage::slice(&outage::study_uid(971), 1, 8);
    let body = stow::body(&[part]);
    let head = format!(
        "POST /dicom-web/studies HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        stow::content_type(),
        body.len()
    );
    let mut upload = connect(port, client_config(ca.cert_pem(), None))
        .await
        .unwrap();
    upload.write_all(head.as_bytes()).await.unwrap();
    let split = body.len() - 16;
    upload.write_all(&body[..split]).await.unwrap();
    upload.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    gateway.sigterm();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        connect(port, client_config(ca.cert_pem(), None))
            .await
            .is_err(),
        "no new connection while draining"
    );
    upload.write_all(&body[split..]).await.unwrap();
    let mut answer = Vec::new();
    let _ = upload.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let status = gateway.wait(Duration::from_secs(20));
    assert!(status.success(), "{status:?}\n{}", gateway.log_text());
    assert_eq!(stored(&setup).await, 2);
    setup.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_http_client_that_stalls_in_its_headers_is_cut_after_the_header_timeout() {
    let setup = Setup::new().await;
    let gateway = setup
        .start(Options {
            tune: Some(|config| config.http.header_timeout = Duration::from_millis(1000)),
            ..Options::default()
        })
        .await;
    let addr = ("127.0.0.1", gateway.http_port);

    let mut half_line = tokio::net::TcpStream::connect(addr).await.unwrap();
    half_line.write_all(b"POST /dicom-web/stu").await.unwrap();
    let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    let waited = time_until_closed(&mut half_line).await;
    println!("plain HTTP client stalled in its request line, cut after {waited:?}");
    assert!(waited >= Duration::from_millis(900) && waited < Duration::from_secs(5));
    let waited = time_until_closed(&mut silent).await;
    assert!(
        waited < Duration::from_secs(5),
        "a silent client too: {waited:?}"
    );

    // A client that sends its request in time is served as before.
    let health = reqwest::get(gateway.health_url()).await.unwrap();
    assert_eq!(health.status(), 200);
    gateway.stop().await;
    setup.teardown().await;
}
