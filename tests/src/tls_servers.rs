//! Servers that speak TLS with certificates from a [`TestCa`](crate::test_ca::TestCa), for
//! the client-side TLS tests: a test's own Postgres ([`PrivatePostgres`]) switched to TLS,
//! and a RabbitMQ node of the test's own whose only listener is AMQPS. Neither touches the
//! machine's shared servers, which other tests use at the same time.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use sqlx::{Connection, Executor, PgConnection};

use crate::private_servers::{PrivatePostgres, PrivateRabbit, folder_for, run};
use crate::test_ca::Leaf;

/// Writes `leaf`'s certificate and key into `dir` for `user`: servers refuse a key that
/// others can read.
fn write_leaf(dir: &Path, leaf: &Leaf, user: &str) -> (PathBuf, PathBuf) {
    let files = leaf.write(dir, "server");
    run(Command::new("chown")
        .arg(format!("{user}:"))
        .arg(&files.cert)
        .arg(&files.key));
    run(Command::new("chmod").arg("600").arg(&files.key));
    (files.cert, files.key)
}

/// Turns TLS on in `server` with `leaf` as its certificate (a reload, no restart) and
/// waits until new connections can use it. The returned folder holds the files; keep it
/// while the server runs.
pub async fn enable_postgres_tls(server: &PrivatePostgres, leaf: &Leaf) -> tempfile::TempDir {
    let dir = folder_for("postgres");
    let (cert, key) = write_leaf(dir.path(), leaf, "postgres");
    let mut admin = PgConnection::connect(&server.admin_url()).await.unwrap();
    for (setting, value) in [
        ("ssl_cert_file", cert.display().to_string()),
        ("ssl_key_file", key.display().to_string()),
        ("ssl", "on".to_owned()),
    ] {
        admin
            .execute(format!("ALTER SYSTEM SET {setting} = '{value}'").as_str())
            .await
            .unwrap();
    }
    admin.execute("SELECT pg_reload_conf()").await.unwrap();
    // The postmaster applies the reload asynchronously; encrypted connections work once
    // it has loaded the certificate.
    let require = format!("{}?sslmode=require", server.admin_url());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match PgConnection::connect(&require).await {
            Ok(connection) => {
                let _ = connection.close().await;
                break;
            }
            Err(e) => assert!(
                Instant::now() < deadline,
                "Postgres did not turn TLS on: {e}; log:\n{}",
                std::fs::read_to_string(server.log()).unwrap_or_default()
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    dir
}

/// A RabbitMQ node of the test's own whose only listener is AMQPS (no plain TCP), with
/// `leaf` as its certificate; guest may connect from anywhere. Removed when dropped.
pub struct TlsRabbit {
    server: PrivateRabbit,
    /// How long the node took to accept connections.
    pub started_in: Duration,
}

impl TlsRabbit {
    pub fn start(leaf: &Leaf) -> Self {
        let started = Instant::now();
        let server = PrivateRabbit::start_with(|dir, port| {
            let (cert, key) = write_leaf(dir, leaf, "rabbitmq");
            // The server's chain is just its certificate: clients hold the CA.
            format!(
                "listeners.tcp = none\n\
                 listeners.ssl.default = 127.0.0.1:{port}\n\
                 ssl_options.certfile = {}\n\
                 ssl_options.keyfile = {}\n\
                 ssl_options.verify = verify_none\n\
                 ssl_options.fail_if_no_peer_cert = false\n\
                 loopback_users = none\n",
                cert.display(),
                key.display()
            )
        });
        Self {
            server,
            started_in: started.elapsed(),
        }
    }

    pub fn port(&self) -> u16 {
        self.server.port
    }

    /// `amqps://guest:guest@HOST:PORT/%2f`; `host` decides the name checked against the
    /// certificate.
    pub fn amqps_url(&self, host: &str) -> String {
        format!("amqps://guest:guest@{host}:{}/%2f", self.server.port)
    }

    pub fn log(&self) -> PathBuf {
        self.server.log()
    }
}
