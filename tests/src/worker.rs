//! A draft worker running in-process against a gateway [`Setup`]'s database, archive and
//! queues, with the committed tiny random-weight MedGemma on the CPU; and waiting for what
//! it writes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use radraft_worker::serve::{App, WorkerConfig};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::broker::amqp_url;
use crate::gateway::{Options, SENDER_AE, Setup};
use crate::pacs;

/// Gateway options for worker tests: a study settles 0.4 s after its last instance.
pub fn quick() -> Options {
    Options {
        quiet_period: Duration::from_millis(400),
        ..Options::default()
    }
}

/// Sends `files` with dcmtk's dcmsend and requires every one stored.
pub async fn dcmsend(port: u16, files: Vec<PathBuf>) {
    let out = tokio::task::spawn_blocking(move || {
        let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
        pacs::dcmsend(port, SENDER_AE, &refs)
    })
    .await
    .unwrap();
    assert!(pacs::all_stored(&out), "{}", pacs::describe(&out));
}

pub fn tiny_model_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/medgemma-tiny")
}

/// The worker's variables for `setup`: its database, archive and queue names, the tiny
/// model (one intra-op thread, short drafts, three slices: its context is 256 tokens).
pub fn worker_vars(setup: &Setup, extra: &[(&str, &str)]) -> HashMap<String, String> {
    let mut vars: HashMap<String, String> = [
        ("DATABASE_URL", setup.db.url.clone()),
        ("AMQP_URL", amqp_url()),
        ("QUEUE_PREFIX", setup.topology.exchange.clone()),
        ("RETRY_DELAY_MS", setup.topology.retry_delay_ms.to_string()),
        ("MODEL_DIR", tiny_model_dir().display().to_string()),
        ("PROVIDERS", "cpu".into()),
        ("INTRA_THREADS", "1".into()),
        ("ARCHIVE_DIR", setup.archive_dir().display().to_string()),
        ("HTTP_ADDR", "127.0.0.1:0".into()),
        ("MAX_NEW_TOKENS", "12".into()),
        ("MAX_SLICES", "3".into()),
        ("DRAIN_GRACE_MS", "10000".into()),
    ]
    .into_iter()
    .map(|(k, v)| (format!("RADRAFT_WORKER__{k}"), v))
    .collect();
    for (k, v) in extra {
        vars.insert(format!("RADRAFT_WORKER__{k}"), (*v).to_owned());
    }
    vars
}

pub struct RunningWorker {
    pub http_port: u16,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

pub async fn start_worker(setup: &Setup, extra: &[(&str, &str)]) -> RunningWorker {
    let config = WorkerConfig::from_vars(worker_vars(setup, extra)).expect("worker config");
    let app = App::build(config).await.expect("worker starts");
    let http_port = app.http_addr().unwrap().port();
    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
    let task = tokio::spawn(async move {
        app.run(token).await.expect("worker runs cleanly");
    });
    RunningWorker {
        http_port,
        shutdown,
        task,
    }
}

impl RunningWorker {
    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = reqwest::get(format!("http://127.0.0.1:{}{path}", self.http_port))
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("worker stops within 30 s")
            .expect("worker task did not panic");
    }
}

/// Polls `sql` (one bigint) until it returns `want`, or fails after `timeout`.
pub async fn wait_for_count(setup: &Setup, sql: &str, want: i64, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let mut last = -1;
    while Instant::now() < deadline {
        last = setup.count(sql).await;
        if last == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("after {timeout:?}, `{sql}` gave {last}, not {want}");
}

/// Sends `files` through a gateway and a worker on `setup` and waits for `drafts` drafts;
/// both services are stopped again, leaving the database and archive for the test.
pub async fn draft_all(setup: &Setup, files: Vec<PathBuf>, drafts: i64) {
    let gateway = setup.start(quick()).await;
    let worker = start_worker(setup, &[]).await;
    dcmsend(gateway.dimse_port, files).await;
    wait_for_count(
        setup,
        "SELECT count(*) FROM drafts",
        drafts,
        Duration::from_secs(60),
    )
    .await;
    worker.stop().await;
    gateway.stop().await;
}

/// The dead-letter queue's messages, once there are `want` (within 5 s).
pub async fn dead_letters(
    connection: &lapin::Connection,
    topology: &radraft_queue::Topology,
    want: usize,
) -> Vec<radraft_queue::DeadLetter> {
    let mut letters = Vec::new();
    for _ in 0..50 {
        letters = radraft_queue::dead::list(connection, topology)
            .await
            .unwrap();
        if letters.len() >= want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    letters
}
