//! A PostgreSQL and a RabbitMQ of a test's own, on free ports, for the fault tests that
//! stop, crash and restart a server: the machine's shared servers serve every other test
//! running at the same time, so a restart there would fail tests that have nothing to do
//! with it. Each server lives in a temporary folder owned by its system user and is
//! killed and removed when dropped, even when the test fails.
//! (How to run a second node beside the machine's: `/work/shared/STACK-FACTS.md`.)

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use radraft_queue::Topology;

use crate::broker::WorkQueue;
use crate::db::TestDb;
use crate::gateway::Setup;

const RABBIT_BIN: &str = "/usr/lib/rabbitmq/bin";

/// The newest installed PostgreSQL's programs (Debian keeps each major version apart).
fn pg_bin() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (apt: postgresql)")
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("initdb").is_file())
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("an initdb under /usr/lib/postgresql")
        .1
}

/// A port nothing listens on now (on every interface: Erlang's distribution binds all).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("0.0.0.0:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A temporary folder owned by the system user `user`, who runs the server in it (and
/// reads the key files in it).
pub(crate) fn folder_for(user: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("radraft-e2e-server-")
        .tempdir()
        .unwrap();
    run(Command::new("chown")
        .arg(format!("{user}:"))
        .arg(dir.path()));
    dir
}

/// Runs `command` to completion, failing the test with its output if it fails.
pub(crate) fn run(command: &mut Command) -> String {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{command:?} failed:\n{text}");
    text
}

fn accepts(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// Polls until `port` accepts connections (or, with `up == false`, refuses them).
fn wait_port(port: u16, up: bool, timeout: Duration, log: &Path) {
    let deadline = Instant::now() + timeout;
    while accepts(port) != up {
        assert!(
            Instant::now() < deadline,
            "port {port} not {} within {timeout:?}; log:\n{}",
            if up { "accepting" } else { "closed" },
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A PostgreSQL cluster of the test's own: trust authentication for `root`.
pub struct PrivatePostgres {
    dir: tempfile::TempDir,
    pub port: u16,
}

impl PrivatePostgres {
    pub fn start() -> Self {
        let dir = folder_for("postgres");
        let port = free_port();
        let server = Self { dir, port };
        run(Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(pg_bin().join("initdb"))
            .arg("-D")
            .arg(server.data())
            .args(["-A", "trust", "-U", "root", "--no-sync"]));
        server.start_again();
        server
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn log(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    fn pg_ctl(&self, args: &[&str]) -> Command {
        let mut command = Command::new("runuser");
        command
            .args(["-u", "postgres", "--"])
            .arg(pg_bin().join("pg_ctl"))
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.log())
            .arg("-o")
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
                self.port,
                self.dir.path().display()
            ))
            .args(args);
        command
    }

    /// `postgres://root@127.0.0.1:PORT/postgres`, for [`TestDb::create_on`].
    pub fn admin_url(&self) -> String {
        format!("postgres://root@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start_again(&self) {
        run(&mut self.pg_ctl(&["-w", "-t", "30", "start"]));
        wait_port(self.port, true, Duration::from_secs(30), &self.log());
    }

    /// Stops the server as `pg_ctl stop -m fast` does (what a restart does first): open
    /// sessions are cut and their transactions rolled back.
    pub fn stop(&self) {
        run(&mut self.pg_ctl(&["-w", "-t", "30", "-m", "fast", "stop"]));
        wait_port(self.port, false, Duration::from_secs(30), &self.log());
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["-m", "immediate", "stop"]).output();
    }
}

/// A RabbitMQ node of the test's own (guest may connect over TCP), with its data kept
/// across [`PrivateRabbit::stop`] and [`PrivateRabbit::start_again`], as a restarted
/// server keeps its durable queues and their messages.
pub struct PrivateRabbit {
    dir: tempfile::TempDir,
    node: String,
    pub port: u16,
    dist_port: u16,
}

impl PrivateRabbit {
    pub fn start() -> Self {
        Self::start_with(|_, port| {
            format!("listeners.tcp.local = 127.0.0.1:{port}\nloopback_users = none\n")
        })
    }

    /// A node whose `rabbitmq.conf` is `config(folder, port)`: `folder` is the node's own
    /// (files written there, such as a certificate and key, end up owned by `rabbitmq`),
    /// `port` the one its listener must take.
    pub fn start_with(config: impl FnOnce(&Path, u16) -> String) -> Self {
        let dir = folder_for("rabbitmq");
        let node = format!(
            "e2e_{}@localhost",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let (port, dist_port) = (free_port(), free_port());
        let path = |name: &str| dir.path().join(name);
        std::fs::write(
            path("rabbitmq-env.conf"),
            format!("NODENAME={node}\nERL_EPMD_ADDRESS=127.0.0.1\n"),
        )
        .unwrap();
        std::fs::write(path("rabbitmq.conf"), config(dir.path(), port)).unwrap();
        std::fs::write(path("enabled_plugins"), "[].\n").unwrap();
        run(Command::new("chown")
            .args(["-R", "rabbitmq:"])
            .arg(dir.path()));
        let server = Self {
            dir,
            node,
            port,
            dist_port,
        };
        server.start_again();
        server
    }

    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    pub fn log(&self) -> PathBuf {
        self.dir
            .path()
            .join("log")
            .join(format!("{}.log", self.node))
    }

    /// A RabbitMQ script run as `rabbitmq` with this node's files.
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
            .arg(format!("{RABBIT_BIN}/{name}"));
        command
    }

    /// Starts the node and waits until it accepts AMQP connections (10 s or so here).
    pub fn start_again(&self) {
        run(self.script("rabbitmq-server").arg("-detached"));
        wait_port(self.port, true, Duration::from_secs(90), &self.log());
    }

    /// Stops the node cleanly (`rabbitmqctl stop`): connections are closed and the node
    /// halts; durable queues and their messages stay on disk.
    pub fn stop(&self) {
        run(self.script("rabbitmqctl").args(["-n", &self.node, "stop"]));
        wait_port(self.port, false, Duration::from_secs(30), &self.log());
    }
}

impl Drop for PrivateRabbit {
    fn drop(&mut self) {
        // The node's own pid file names the process this test started; killing it is
        // quicker than a clean stop and leaves nothing behind that the folder does not.
        if let Ok(pid) = std::fs::read_to_string(self.dir.path().join("pid")) {
            let _ = Command::new("kill").args(["-9", pid.trim()]).status();
        }
    }
}

/// A [`Setup`] whose database is on `postgres` (the machine's when `None`) and whose
/// queue reader is on `rabbit` (the machine's when `None`).
pub async fn setup_on(postgres: Option<&PrivatePostgres>, rabbit: Option<&PrivateRabbit>) -> Setup {
    let db = match postgres {
        Some(server) => TestDb::create_on(server.admin_url()).await,
        None => TestDb::create().await,
    };
    // As `Setup::new`: names of its own, a short retry delay.
    let topology = Topology::with_prefix(&format!("radraft-e2e-{}", uuid::Uuid::new_v4().simple()))
        .with_retry_delay(Duration::from_millis(1000));
    let queue = match rabbit {
        Some(server) => WorkQueue::open_at(&server.url(), &topology).await,
        None => WorkQueue::open(&topology).await,
    };
    Setup {
        db,
        archive: tempfile::tempdir().unwrap(),
        topology,
        queue,
    }
}
