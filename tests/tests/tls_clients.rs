//! TLS on the client side, against real servers with certificates from a CA made in the
//! test: Postgres with `sslmode=verify-full`, RabbitMQ over AMQPS, and the gateway following
//! Orthanc over HTTPS. The right CA and host connect; a certificate from another CA, a
//! certificate for another host, and a plain connection to a TLS port are refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use radraft_core::{StudyReady, Uid};
use radraft_e2e::fixtures;
use radraft_e2e::gateway::Setup;
use radraft_e2e::gateway_process::GatewayProcess;
use radraft_e2e::orthanc::{self, Orthanc};
use radraft_e2e::private_servers::PrivatePostgres;
use radraft_e2e::test_ca::TestCa;
use radraft_e2e::tls_servers::{TlsRabbit, enable_postgres_tls};
use radraft_queue::{BrokerTrust, Consumer, Publisher, Topology};
use radraft_store::Store;

/// The whole chain of causes, where the reason for a refusal is.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        text.push_str(&format!(": {e}"));
        cause = e.source();
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_verify_full_trusts_only_the_named_ca_and_host() {
    let files = tempfile::tempdir().unwrap();
    let ca = TestCa::new("radraft test CA");
    let ca_file = ca.write_cert(files.path(), "ca");
    let other_ca_file = TestCa::new("some other CA").write_cert(files.path(), "other-ca");
    let started = Instant::now();
    let server = PrivatePostgres::start();
    let url = |host: &str, query: &str| {
        format!("postgres://root@{host}:{}/postgres?{query}", server.port)
    };

    // TLS is off at first: a client that requires it is refused.
    let plain = Store::connect(&url("127.0.0.1", "sslmode=require")).await;
    let err = plain.expect_err("sslmode=require against a server without TLS");
    assert!(chain(&err).contains("TLS"), "{}", chain(&err));

    let _server_files = enable_postgres_tls(&server, &ca.issue_server(&["localhost"])).await;
    eprintln!("private Postgres with TLS ready in {:?}", started.elapsed());

    let good = url(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={}", ca_file.display()),
    );
    radraft_store::check_database_tls(&good).unwrap();
    let store = Store::connect(&good).await.unwrap();
    store.migrate().await.unwrap();
    let encrypted: bool =
        sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert!(encrypted, "the connection is encrypted");
    store.pool().close().await;

    let other = url(
        "localhost",
        &format!(
            "sslmode=verify-full&sslrootcert={}",
            other_ca_file.display()
        ),
    );
    let err = Store::connect(&other)
        .await
        .expect_err("a server the CA did not sign");
    assert!(chain(&err).contains("UnknownIssuer"), "{}", chain(&err));

    // The certificate names localhost, not 127.0.0.1.
    let wrong_host = url(
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={}", ca_file.display()),
    );
    let err = Store::connect(&wrong_host)
        .await
        .expect_err("a certificate for another host");
    assert!(
        chain(&err).contains("not valid for name"),
        "{}",
        chain(&err)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqps_verifies_the_broker_and_carries_study_ready() {
    let files = tempfile::tempdir().unwrap();
    let ca = TestCa::new("radraft test CA");
    let trust =
        BrokerTrust::Ca(radraft_queue::read_ca_file(&ca.write_cert(files.path(), "ca")).unwrap());
    let other_ca_file = TestCa::new("some other CA").write_cert(files.path(), "other-ca");
    let other = BrokerTrust::Ca(radraft_queue::read_ca_file(&other_ca_file).unwrap());
    let rabbit = TlsRabbit::start(&ca.issue_server(&["localhost"]));
    eprintln!("private RabbitMQ with TLS ready in {:?}", rabbit.started_in);
    let bounded = Duration::from_secs(20);

    // The right CA: publish and consume through radraft_queue.
    let connection = radraft_queue::connect_trusting(&rabbit.amqps_url("localhost"), &trust)
        .await
        .unwrap();
    let topology = Topology::with_prefix("radraft-tls");
    let publisher = Publisher::open(&connection, &topology).await.unwrap();
    let mut consumer = Consumer::open(&connection, &topology, 1, "tls-test")
        .await
        .unwrap();
    let sent = StudyReady {
        study_uid: Uid::parse("1.2.826.0.1.3680043.10.543.1").unwrap(),
        study_version: 1,
        instance_count: 3,
    };
    publisher.publish_study_ready(&sent).await.unwrap();
    let delivery = tokio::time::timeout(bounded, consumer.next())
        .await
        .expect("a delivery within 20 s")
        .expect("the consumer is open")
        .unwrap();
    assert_eq!(delivery.message().unwrap(), sent);
    delivery.ack().await.unwrap();
    connection.close(200, "done".into()).await.unwrap();

    // Another CA, the system's roots, another host name, plain AMQP: all refused.
    let refusals = [
        ("another CA", rabbit.amqps_url("localhost"), other.clone()),
        (
            "system roots",
            rabbit.amqps_url("localhost"),
            BrokerTrust::SystemRoots,
        ),
        ("another host", rabbit.amqps_url("127.0.0.1"), trust.clone()),
        (
            "plain AMQP",
            format!("amqp://guest:guest@localhost:{}/%2f", rabbit.port()),
            trust.clone(),
        ),
    ];
    for (what, url, trust) in refusals {
        let attempt = radraft_queue::connect_trusting(&url, &trust);
        let Ok(attempt) = tokio::time::timeout(bounded, attempt).await else {
            panic!("{what}: no answer within 20 s");
        };
        let err = attempt.expect_err(what);
        eprintln!("{what}: {}", chain(&err));
    }
}

/// An HTTPS front for a plain Orthanc: socat (OpenSSL) with a certificate from a test CA,
/// forwarding to Orthanc's HTTP port. Debian's Orthanc 1.10 cannot serve HTTPS itself here:
/// with `SslEnabled` its civetweb worker calls a null function on the first TLS connection
/// (OpenSSL 3). Killed when dropped.
struct HttpsFront(std::process::Child);

impl Drop for HttpsFront {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Orthanc behind an [`HttpsFront`] whose certificate (for `localhost`) `ca` signed, fed
/// the `mixed` fixture study through the front. Returns the front's URL.
async fn https_orthanc(ca: &TestCa, files: &std::path::Path) -> (Orthanc, HttpsFront, String) {
    let leaf = ca
        .issue_server(&["localhost"])
        .write(files, "orthanc-front");
    let orthanc = Orthanc::start(1);
    let port = orthanc::free_port();
    let front = std::process::Command::new("socat")
        .arg(format!(
            "OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,verify=0,cert={},key={}",
            leaf.cert.display(),
            leaf.key.display()
        ))
        .arg(format!("TCP:127.0.0.1:{}", orthanc.http_port))
        .spawn()
        .expect("socat is installed (apt: socat)");
    let front = HttpsFront(front);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "socat did not listen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = format!("https://localhost:{port}");
    let client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.cert_pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    for file in fixtures::files("mixed") {
        let response = client
            .post(format!("{url}/instances"))
            .basic_auth(orthanc::USER, Some(orthanc::PASSWORD))
            .body(std::fs::read(&file).unwrap())
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
    }
    (orthanc, front, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_follows_orthanc_over_https_only_with_its_ca() {
    let files = tempfile::tempdir().unwrap();
    let ca = TestCa::new("radraft test CA");
    let ca_file = ca.write_cert(files.path(), "ca").display().to_string();
    let other_ca_file = TestCa::new("some other CA")
        .write_cert(files.path(), "other-ca")
        .display()
        .to_string();
    let (_orthanc, _front, url) = https_orthanc(&ca, files.path()).await;
    let setup = Setup::new().await;
    let orthanc_vars = |ca_file: &str| {
        [
            ("ORTHANC__URL", url.clone()),
            ("ORTHANC__NAME", "orthanc-tls".to_owned()),
            ("ORTHANC__USERNAME", orthanc::USER.to_owned()),
            ("ORTHANC__PASSWORD", orthanc::PASSWORD.to_owned()),
            ("ORTHANC__POLL_MS", "200".to_owned()),
            ("ORTHANC__TIMEOUT_MS", "5000".to_owned()),
            ("ORTHANC__CA_FILE", ca_file.to_owned()),
        ]
    };

    // A CA that did not sign Orthanc's certificate: nothing is fetched, and the log says why.
    let vars = orthanc_vars(&other_ca_file);
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let gateway = GatewayProcess::spawn(&setup, &refs, "tls-orthanc-other-ca");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !gateway.log_text().contains("Orthanc feed poll failed") {
        assert!(
            Instant::now() < deadline,
            "no failure logged:\n{}",
            gateway.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A few more polls' worth of time: still nothing pulled.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let log = gateway.log_text();
    assert!(log.contains("UnknownIssuer"), "{log}");
    assert_eq!(setup.count("SELECT count(*) FROM instances").await, 0);
    gateway.kill9();

    // The right CA: the stable study is pulled over HTTPS, indexed and announced.
    let vars = orthanc_vars(&ca_file);
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let gateway = GatewayProcess::spawn(&setup, &refs, "tls-orthanc-right-ca");
    let expected = fixtures::files("mixed").len() as i64;
    let ready = setup
        .queue
        .next_ready(Duration::from_secs(60))
        .await
        .unwrap_or_else(|| {
            panic!(
                "study.ready after pulling over HTTPS:\n{}",
                gateway.log_text()
            )
        });
    assert_eq!(ready.instance_count, expected);
    assert_eq!(
        setup
            .count("SELECT count(*) FROM instances WHERE source = 'orthanc' AND calling_ae = 'orthanc-tls'")
            .await,
        expected
    );
    assert!(!gateway.log_text().contains("Orthanc feed poll failed"));
    gateway.kill9();
    setup.teardown().await;
}
