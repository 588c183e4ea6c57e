//! Servers that speak TLS with certificates from a [`TestCa`](crate::test_ca::TestCa), for
//! the client-side TLS tests: a test's own Postgres ([`PrivatePostgres`]) switched to TLS,
//! and a RabbitMQ node of the test's own whose only listener is AMQPS. Neither touches the
//! machine's shared servers, which other tests use at the same time.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use sqlx::{Connection, Executor, PgConnection};

use crate::private_servers::PrivatePostgres;
use crate::test_ca::Leaf;

/// A temporary folder owned by the system user `user` (who must read the key in it).
fn folder_for(user: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("radraft-e2e-tls-")
        .tempdir()
        .unwrap();
    run(Command::new("chown")
        .arg(format!("{user}:"))
        .arg(dir.path()));
    dir
}

/// Runs `command` to completion, failing the test with its output if it fails.
fn run(command: &mut Command) {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

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

/// A port nothing listens on now (on every interface: Erlang's distribution binds all).
fn free_port() -> u16 {
    TcpListener::bind("0.0.0.0:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A RabbitMQ node of the test's own whose only listener is AMQPS (no plain TCP), with
/// `leaf` as its certificate; guest may connect from anywhere. Stopped when dropped.
pub struct TlsRabbit {
    dir: tempfile::TempDir,
    node: String,
    pub port: u16,
    dist_port: u16,
    /// How long the node took to accept connections.
    pub started_in: Duration,
}

impl TlsRabbit {
    pub fn start(leaf: &Leaf) -> Self {
        let dir = folder_for("rabbitmq");
        let (cert, key) = write_leaf(dir.path(), leaf, "rabbitmq");
        let suffix = &uuid::Uuid::new_v4().simple().to_string()[..12];
        let node = format!("radraft-tls-{suffix}@localhost");
        let (port, dist_port) = (free_port(), free_port());
        let path = |name: &str| dir.path().join(name);
        std::fs::write(
            path("rabbitmq-env.conf"),
            format!("NODENAME={node}\nERL_EPMD_ADDRESS=127.0.0.1\n"),
        )
        .unwrap();
        // The server's chain is just its certificate: clients hold the CA.
        std::fs::write(
            path("rabbitmq.conf"),
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
            ),
        )
        .unwrap();
        std::fs::write(path("enabled_plugins"), "[].\n").unwrap();
        run(Command::new("chown")
            .args(["-R", "rabbitmq:"])
            .arg(dir.path()));
        let mut server = Self {
            dir,
            node,
            port,
            dist_port,
            started_in: Duration::ZERO,
        };
        let started = Instant::now();
        run(server.script("rabbitmq-server").arg("-detached"));
        let deadline = started + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "RabbitMQ's TLS listener did not open within 60 s; log:\n{}",
                std::fs::read_to_string(server.log()).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server.started_in = started.elapsed();
        server
    }

    /// `amqps://guest:guest@HOST:PORT/%2f`; `host` decides the name checked against the
    /// certificate.
    pub fn amqps_url(&self, host: &str) -> String {
        format!("amqps://guest:guest@{host}:{}/%2f", self.port)
    }

    pub fn log(&self) -> PathBuf {
        self.dir
            .path()
            .join("log")
            .join(format!("{}.log", self.node))
    }

    /// A RabbitMQ script run as `rabbitmq` with this node's files (the machine's node keeps
    /// its own: the shared `rabbitmq-env.conf` would name it).
    fn script(&self, name: &str) -> Command {
        let path = |name: &str| self.dir.path().join(name).display().to_string();
        let mut command = Command::new("runuser");
        command
            .args(["-u", "rabbitmq", "--", "env", "HOME=/var/lib/rabbitmq"])
            .arg(format!(
                "RABBITMQ_CONF_ENV_FILE={}",
                path("rabbitmq-env.conf")
            ))
            .arg(format!("RABBITMQ_CONFIG_FILE={}", path("rabbitmq")))
            .arg(format!("RABBITMQ_NODENAME={}", self.node))
            .arg(format!("RABBITMQ_DIST_PORT={}", self.dist_port))
            .arg(format!("RABBITMQ_MNESIA_BASE={}", path("mnesia")))
            .arg(format!("RABBITMQ_LOG_BASE={}", path("log")))
            .arg(format!("RABBITMQ_PID_FILE={}", path("pid")))
            .arg(format!(
                "RABBITMQ_ENABLED_PLUGINS_FILE={}",
                path("enabled_plugins")
            ))
            .arg(format!("/usr/lib/rabbitmq/bin/{name}"));
        command
    }
}

impl Drop for TlsRabbit {
    fn drop(&mut self) {
        let stopped = self
            .script("rabbitmqctl")
            .args(["-n", &self.node, "stop"])
            .output()
            .is_ok_and(|out| out.status.success());
        // The pid file names the node this test started, and only it.
        if !stopped && let Ok(pid) = std::fs::read_to_string(self.dir.path().join("pid")) {
            let _ = Command::new("kill").args(["-9", pid.trim()]).status();
        }
    }
}
