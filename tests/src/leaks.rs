//! Everything a deployment lets out that might carry patient data, collected for the PHI
//! canary: a copy of every message published to a topology's exchanges (work, retry and
//! dead letter, headers included), every row of every table, and a worker process whose
//! whole output (stdout and stderr) is kept at a chosen log level.

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus};
use std::time::Duration;

use lapin::options::{BasicGetOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use radraft_queue::Topology;

use crate::gateway::Setup;
use crate::worker::worker_vars;
use crate::worker_process::{sigterm, wait_for_exit, worker_binary};

/// Queues of the test's own bound to every exchange of a topology, so each message
/// published there is also kept here, whoever consumes the original.
pub struct Tap {
    channel: lapin::Channel,
    /// (what the queue copies, its name)
    queues: Vec<(&'static str, String)>,
}

impl Tap {
    /// Declares the topology (as every service does) and binds the copies; bind before
    /// anything publishes.
    pub async fn bind(url: &str, topology: &Topology) -> Self {
        let connection = radraft_queue::connect(url).await.unwrap();
        let channel = connection.create_channel().await.unwrap();
        topology.declare(&channel).await.unwrap();
        let mut queues = Vec::new();
        for (what, exchange, key) in [
            ("study.ready", &topology.exchange, "#"),
            ("retry", &topology.retry_exchange, ""),
            ("dead letter", &topology.dead_letter_exchange, ""),
        ] {
            let name = format!("{exchange}.tap");
            let options = QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..QueueDeclareOptions::default()
            };
            channel
                .queue_declare(name.as_str().into(), options, FieldTable::default())
                .await
                .unwrap();
            channel
                .queue_bind(
                    name.as_str().into(),
                    exchange.as_str().into(),
                    key.into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .unwrap();
            queues.push((what, name));
        }
        Self { channel, queues }
    }

    /// Every message copied so far, as `(what, text)`: the body (lossy UTF-8) and the
    /// properties with their headers, as Rust's debug output writes them.
    pub async fn messages(&self) -> Vec<(&'static str, String)> {
        let mut all = Vec::new();
        for (what, queue) in &self.queues {
            while let Some(message) = self
                .channel
                .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true })
                .await
                .unwrap()
            {
                let text = format!(
                    "{}\n{:?}",
                    String::from_utf8_lossy(&message.delivery.data),
                    message.delivery.properties
                );
                all.push((*what, text));
            }
        }
        all
    }
}

/// Every row of every table in the setup's database: `(table, column, value as text)`,
/// JSON and arrays as their JSON text.
pub async fn every_value(setup: &Setup) -> Vec<(String, String, String)> {
    let pool = setup.db.pool().await;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut values = Vec::new();
    for table in tables {
        let rows: Vec<serde_json::Value> =
            sqlx::query_scalar(&format!("SELECT to_jsonb(t) FROM \"{table}\" t"))
                .fetch_all(&pool)
                .await
                .unwrap();
        for row in rows {
            let Some(columns) = row.as_object() else {
                continue;
            };
            for (column, value) in columns {
                let text = match value {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Null => continue,
                    other => other.to_string(),
                };
                values.push((table.clone(), column.clone(), text));
            }
        }
    }
    pool.close().await;
    values
}

/// `radraft-worker serve` with everything it writes (stdout and stderr) kept in one file.
pub struct LoggedWorker {
    child: Child,
    pub log: PathBuf,
}

impl LoggedWorker {
    /// Starts the worker on `setup` with `extra` settings, logging what `filter` lets
    /// through (a `RUST_LOG` filter).
    pub fn spawn(setup: &Setup, extra: &[(&str, &str)], filter: &str, log_name: &str) -> Self {
        let log =
            std::env::temp_dir().join(format!("{log_name}-{}.log", uuid::Uuid::new_v4().simple()));
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(worker_binary())
            .arg("serve")
            .envs(worker_vars(setup, extra))
            .env("RUST_LOG", filter)
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("radraft-worker starts");
        Self { child, log }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then waits up to `timeout` for the exit.
    pub fn terminate(&mut self, timeout: Duration) -> ExitStatus {
        sigterm(&self.child);
        let log = self.log.clone();
        wait_for_exit(&mut self.child, timeout, || {
            std::fs::read_to_string(&log).unwrap_or_default()
        })
    }
}

impl Drop for LoggedWorker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A local port nothing listens on now, for a service that does not log its address.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
