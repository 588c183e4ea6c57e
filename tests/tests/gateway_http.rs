//! The gateway's HTTP edge: bearer tokens, total body limit, request timeout and
//! concurrency limit, tried against a real gateway.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use radraft_e2e::gateway::{Options, Running, Setup};
use radraft_e2e::{fixtures, stow};
use radraft_gateway::config::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TOKEN: &str = "e2e-token-0123456789abcdef";

fn parts() -> Vec<Vec<u8>> {
    fixtures::files("mixed")
        .iter()
        .map(|f| std::fs::read(f).unwrap())
        .collect()
}

/// Sends `head` (request line and headers) and `body` on a fresh connection, then reads
/// until the gateway answers or closes; the answer's status line, or "" on a close.
async fn raw_exchange(port: u16, head: &str, body: &[u8], pause: Duration) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    tokio::time::sleep(pause).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn stow_head(content_length: Option<usize>) -> String {
    let length = match content_length {
        Some(n) => format!("Content-Length: {n}\r\n"),
        None => "Transfer-Encoding: chunked\r\n".to_owned(),
    };
    format!(
        "POST /dicom-web/studies HTTP/1.1\r\nHost: localhost\r\nContent-Type: {}\r\n{length}\r\n",
        stow::content_type()
    )
}

async fn stored(setup: &Setup) -> i64 {
    setup.count("SELECT count(*) FROM instances").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stow_needs_a_configured_bearer_token_and_health_does_not() {
    let setup = Setup::new().await;
    let gateway = setup
        .start(Options {
            tune: Some(|config| config.http.tokens = vec![SecretString::from(TOKEN)]),
            ..Options::default()
        })
        .await;
    let parts = parts();
    let client = reqwest::Client::new();

    // Refused requests carry small bodies: a refusal is answered before the body is read,
    // and a large unread body can turn the answer into a connection reset.
    let anonymous = client
        .post(gateway.stow_url())
        .header("content-type", stow::content_type())
        .body(stow::body(&parts[..0]))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let challenge = anonymous.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer"), "{challenge}");

    let wrong = stow::store_with_token(
        &gateway.stow_url(),
        &parts[..0],
        Some("not-the-token-at-all-0000"),
    )
    .await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert_eq!(wrong.body["error"]["code"], "unauthorized");
    let basic = client
        .post(gateway.stow_url())
        .basic_auth("user", Some(TOKEN))
        .body(stow::body(&parts[..0]))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status().as_u16(), 401);
    assert_eq!(stored(&setup).await, 0, "nothing stored without the token");
    assert!(setup.archived_files().is_empty());

    let health = client.get(gateway.health_url()).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);

    let right = stow::store_with_token(&gateway.stow_url(), &parts, Some(TOKEN)).await;
    assert_eq!(right.status, 200, "{}", right.body);
    assert_eq!(stored(&setup).await, parts.len() as i64);

    gateway.stop().await;
    setup.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_total_limit_is_refused_and_nothing_is_archived() {
    let setup = Setup::new().await;
    let gateway = setup
        .start(Options {
            tune: Some(|config| config.http.max_body_bytes = 4096),
            ..Options::default()
        })
        .await;
    let parts = parts();
    let body = stow::body(&parts);
    assert!(body.len() > 4096, "the fixture must pass the limit");

    // Declared by Content-Length: refused before anything of the body is read (so none is
    // sent here).
    let status = raw_exchange(
        gateway.http_port,
        &stow_head(Some(body.len())),
        b"",
        Duration::ZERO,
    )
    .await;
    assert!(status.contains(" 413 "), "{status:?}");

    // Chunked: refused once the body passes the limit while being read. The first part
    // alone is over it, so nothing can have been stored before the refusal.
    let first = stow::body(&parts[..1]);
    assert!(
        first.len() > 4096 + 64,
        "the first part must pass the limit"
    );
    let mut chunked = format!("{:x}\r\n", first.len()).into_bytes();
    chunked.extend_from_slice(&first);
    chunked.extend_from_slice(b"\r\n0\r\n\r\n");
    let status = raw_exchange(
        gateway.http_port,
        &stow_head(None),
        &chunked,
        Duration::ZERO,
    )
    .await;
    assert!(status.contains(" 413 "), "{status:?}");

    assert_eq!(stored(&setup).await, 0);
    assert!(
        setup.archived_files().is_empty(),
        "{:?}",
        setup.archived_files()
    );

    gateway.stop().await;
    setup.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_is_cut_at_the_timeout_and_the_gateway_keeps_serving() {
    let setup = Setup::new().await;
    let gateway = setup
        .start(Options {
            tune: Some(|config| config.http.timeout = Duration::from_millis(500)),
            ..Options::default()
        })
        .await;

    // Declares 100 kB, sends a few bytes, then stalls past the timeout.
    let status = raw_exchange(
        gateway.http_port,
        &stow_head(Some(100_000)),
        format!("--{}\r\n", stow::BOUNDARY).as_bytes(),
        Duration::from_millis(1500),
    )
    .await;
    assert!(
        status.is_empty() || status.contains(" 408 "),
        "expected 408 or a closed connection, got {status:?}"
    );

    let parts = parts();
    let response = stow::store(&gateway.stow_url(), &parts).await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(stored(&setup).await, parts.len() as i64);

    gateway.stop().await;
    setup.teardown().await;
}

/// Holds one STOW request open (headers and a little of a large body) until dropped.
async fn stalled_upload(gateway: &Running) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", gateway.http_port))
        .await
        .unwrap();
    stream
        .write_all(stow_head(Some(1_000_000)).as_bytes())
        .await
        .unwrap();
    stream
        .write_all(format!("--{}\r\n", stow::BOUNDARY).as_bytes())
        .await
        .unwrap();
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_past_the_concurrency_limit_get_503_and_health_still_answers() {
    let setup = Setup::new().await;
    let gateway = setup
        .start(Options {
            tune: Some(|config| config.http.max_concurrent = 1),
            ..Options::default()
        })
        .await;
    let client = reqwest::Client::new();
    let parts = parts();

    let holder = stalled_upload(&gateway).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = client
        .post(gateway.stow_url())
        .header("content-type", stow::content_type())
        .body(stow::body(&parts[..0]))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 503);
    assert!(refused.headers().contains_key("retry-after"));
    let health = client.get(gateway.health_url()).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200, "health is outside the limit");

    // Once the slow upload is gone, its slot is free again.
    drop(holder);
    let mut last = 0;
    for _ in 0..50 {
        last = stow::store(&gateway.stow_url(), &parts).await.status;
        if last != 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last, 200);

    gateway.stop().await;
    setup.teardown().await;
}
