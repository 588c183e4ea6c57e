//! `radraft-gateway` as a real process on a [`Setup`]'s database, archive and queues, for
//! the signal tests: stopped with SIGTERM, its log kept, its ports read from the log.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use crate::broker::amqp_url;
use crate::gateway::{SENDER_AE, Setup};
use crate::worker_process::{built_binary, sigterm, wait_for_exit};

pub struct GatewayProcess {
    child: Child,
    pub log: PathBuf,
    pub dimse_port: u16,
    pub http_port: u16,
}

/// The gateway's variables for `setup`, on free ports, with `extra` on top.
pub fn gateway_vars(setup: &Setup, extra: &[(&str, &str)]) -> HashMap<String, String> {
    let mut vars: HashMap<String, String> = [
        ("DATABASE_URL", setup.db.url.clone()),
        ("AMQP_URL", amqp_url()),
        ("QUEUE_PREFIX", setup.topology.exchange.clone()),
        ("RETRY_DELAY_MS", setup.topology.retry_delay_ms.to_string()),
        ("ARCHIVE_DIR", setup.archive_dir().display().to_string()),
        ("DIMSE_ADDR", "127.0.0.1:0".into()),
        ("HTTP_ADDR", "127.0.0.1:0".into()),
        ("ALLOWED_CALLING_AES", SENDER_AE.into()),
        ("QUIET_PERIOD_MS", "1000".into()),
    ]
    .into_iter()
    .map(|(k, v)| (format!("RADRAFT_GATEWAY__{k}"), v))
    .collect();
    for (k, v) in extra {
        vars.insert(format!("RADRAFT_GATEWAY__{k}"), (*v).to_owned());
    }
    vars
}

impl GatewayProcess {
    /// Starts the gateway and waits until it listens.
    pub fn spawn(setup: &Setup, extra: &[(&str, &str)], log_name: &str) -> Self {
        Self::spawn_logging(setup, extra, "info,sqlx=warn,lapin=warn", log_name)
    }

    /// As [`GatewayProcess::spawn`], logging what the `RUST_LOG` filter `filter` lets through.
    pub fn spawn_logging(
        setup: &Setup,
        extra: &[(&str, &str)],
        filter: &str,
        log_name: &str,
    ) -> Self {
        let binary = built_binary("radraft-gateway", "radraft-gateway");
        let log =
            std::env::temp_dir().join(format!("{log_name}-{}.log", uuid::Uuid::new_v4().simple()));
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(binary)
            .envs(gateway_vars(setup, extra))
            .env("RUST_LOG", filter)
            .env("NO_COLOR", "1")
            // The gateway logs to stdout; anything on stderr (a panic) goes to the log too.
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("radraft-gateway starts");
        let mut process = Self {
            child,
            log,
            dimse_port: 0,
            http_port: 0,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = process.log_text();
            if let (Some(dimse), Some(http)) =
                (port_in(&text, "dimse_addr="), port_in(&text, "http_addr="))
            {
                process.dimse_port = dimse;
                process.http_port = http;
                return process;
            }
            if let Some(status) = process.child.try_wait().unwrap() {
                panic!("gateway exited at start ({status}):\n{text}");
            }
            assert!(Instant::now() < deadline, "gateway did not listen:\n{text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits up to 10 s until the log holds `needle`, and returns the log.
    pub async fn logged(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.log_text();
            if log.contains(needle) {
                return log;
            }
            assert!(Instant::now() < deadline, "no {needle:?} in:\n{log}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The process id, to read its memory from `/proc`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no drain, no clean-up; waits until the process is gone.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Sends SIGTERM and returns at once; see [`GatewayProcess::wait`].
    pub fn sigterm(&self) {
        sigterm(&self.child);
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let log = self.log.clone();
        wait_for_exit(&mut self.child, timeout, || {
            std::fs::read_to_string(&log).unwrap_or_default()
        })
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port of the first `label` address in the log (`dimse_addr=127.0.0.1:40123`).
fn port_in(log: &str, label: &str) -> Option<u16> {
    let start = log.find(label)? + label.len();
    let addr: String = log[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    addr.rsplit(':').next()?.parse().ok()
}
