//! A gateway running in-process on free ports, with its own database, archive and queues.
//! The parts outlive one gateway, so a test can stop it and start another on the same state.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use radraft_gateway::config::{AllowedAes, OrthancConfig};
use radraft_gateway::{App, GatewayConfig};
use radraft_queue::Topology;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::broker::{WorkQueue, amqp_url};
use crate::db::TestDb;

pub const AE_TITLE: &str = "RADRAFT";
pub const SENDER_AE: &str = "MODALITY1";

/// Everything a gateway keeps between runs.
pub struct Setup {
    pub db: TestDb,
    pub archive: tempfile::TempDir,
    pub topology: Topology,
    pub queue: WorkQueue,
}

#[derive(Clone)]
pub struct Options {
    pub quiet_period: Duration,
    pub max_instance_bytes: u64,
    pub allowed_calling_aes: AllowedAes,
    pub orthanc: Option<OrthancConfig>,
    /// Instead of the setup's database and the shared broker (a proxy's URL, say).
    pub database_url: Option<String>,
    pub amqp_url: Option<String>,
    /// Any other setting, applied last.
    pub tune: Option<fn(&mut GatewayConfig)>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            quiet_period: Duration::from_millis(1000),
            max_instance_bytes: 64 << 20,
            allowed_calling_aes: AllowedAes::Only(vec![SENDER_AE.into(), "ORTHANC".into()]),
            orthanc: None,
            database_url: None,
            amqp_url: None,
            tune: None,
        }
    }
}

pub struct Running {
    pub dimse_port: u16,
    pub http_port: u16,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

impl Setup {
    pub async fn new() -> Self {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("warn")
            .try_init();
        let db = TestDb::create().await;
        // A short retry delay, so tests of transient failures do not wait 30 s.
        let topology =
            Topology::with_prefix(&format!("radraft-e2e-{}", uuid::Uuid::new_v4().simple()))
                .with_retry_delay(Duration::from_millis(1000));
        let queue = WorkQueue::open(&topology).await;
        Self {
            db,
            archive: tempfile::tempdir().unwrap(),
            topology,
            queue,
        }
    }

    pub fn archive_dir(&self) -> &Path {
        self.archive.path()
    }

    pub async fn start(&self, options: Options) -> Running {
        // Every setting not named here keeps its default.
        let mut config = GatewayConfig::from_vars(HashMap::new()).expect("default config");
        config.database_url = options.database_url.unwrap_or_else(|| self.db.url.clone());
        config.amqp_url = options.amqp_url.unwrap_or_else(amqp_url);
        config.queue_prefix = self.topology.exchange.clone();
        config.retry_delay = Duration::from_millis(self.topology.retry_delay_ms.into());
        config.ae_title = AE_TITLE.into();
        config.dimse_addr = Some("127.0.0.1:0".parse().unwrap());
        config.http_addr = "127.0.0.1:0".parse().unwrap();
        config.allowed_calling_aes = options.allowed_calling_aes;
        config.archive_dir = PathBuf::from(self.archive.path());
        config.quiet_period = options.quiet_period;
        config.max_instance_bytes = options.max_instance_bytes;
        config.orthanc = options.orthanc;
        // Short enough for `Running::stop`; tests of the drain set their own.
        config.drain_grace = Duration::from_secs(5);
        if let Some(tune) = options.tune {
            tune(&mut config);
        }
        let app = App::build(config).await.expect("gateway starts");
        let dimse_port = app.dimse_addr().unwrap().port();
        let http_port = app.http_addr().unwrap().port();
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let task = tokio::spawn(async move {
            app.run(token).await.expect("gateway runs cleanly");
        });
        Running {
            dimse_port,
            http_port,
            shutdown,
            task,
        }
    }

    /// Every file in the archive (temporary files included, so leftovers are caught).
    pub fn archived_files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push(path);
                }
            }
        }
        let mut files = Vec::new();
        walk(self.archive.path(), &mut files);
        files.sort();
        files
    }

    /// Every indexed instance: SOP instance UID → (archive key, sha256).
    pub async fn indexed(&self) -> std::collections::BTreeMap<String, (String, String)> {
        let pool = self.db.pool().await;
        let rows: Vec<(String, String, String)> =
            sqlx::query_as("SELECT sop_instance_uid, archive_key, sha256 FROM instances")
                .fetch_all(&pool)
                .await
                .unwrap();
        pool.close().await;
        rows.into_iter()
            .map(|(sop, key, sha)| (sop, (key, sha)))
            .collect()
    }

    pub async fn count(&self, sql: &str) -> i64 {
        let pool = self.db.pool().await;
        let n = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
        pool.close().await;
        n
    }

    pub async fn teardown(self) {
        self.queue.delete().await;
    }
}

impl Running {
    pub fn stow_url(&self) -> String {
        format!("http://127.0.0.1:{}/dicom-web/studies", self.http_port)
    }

    pub fn health_url(&self) -> String {
        format!("http://127.0.0.1:{}/health", self.http_port)
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("gateway stops within 10 s")
            .expect("gateway task did not panic");
    }
}
