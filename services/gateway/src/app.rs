//! Start-up and the run loop: connect, migrate, declare the broker topology, bind the
//! listeners, then serve every door until shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use radraft_archive::LocalArchive;
use radraft_queue::{Publisher, QueueError, Topology};
use radraft_store::{Store, StoreError};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::announce::Announcer;
use crate::config::{AllowedAes, GatewayConfig};
use crate::dimse::{self, DimseContext};
use crate::ingest::Ingestor;
use crate::orthanc::OrthancFollower;
use crate::stow;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database is not usable")]
    Store(#[from] StoreError),
    #[error("broker is not usable")]
    Queue(#[from] QueueError),
    #[error("could not listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("could not create archive folder {path}")]
    Archive {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Debug, thiserror::Error)]
#[error("HTTP server failed")]
pub struct RunError(#[from] std::io::Error);

/// A gateway that has connected everything and bound its ports, ready to run.
#[derive(Debug)]
pub struct App {
    config: GatewayConfig,
    store: Store,
    ingestor: Ingestor,
    publisher: Publisher,
    topology: Topology,
    dimse_listener: TcpListener,
    http_listener: TcpListener,
}

impl App {
    pub async fn build(config: GatewayConfig) -> Result<Self, StartError> {
        std::fs::create_dir_all(&config.archive_dir).map_err(|source| StartError::Archive {
            path: config.archive_dir.display().to_string(),
            source,
        })?;
        let store = Store::connect(&config.database_url).await?;
        store.migrate().await?;
        let topology =
            Topology::with_prefix(&config.queue_prefix).with_retry_delay(config.retry_delay);
        let connection = radraft_queue::connect(&config.amqp_url).await?;
        let publisher = Publisher::open(&connection, &topology).await?;
        let archive = Arc::new(LocalArchive::new(&config.archive_dir));
        let ingestor = Ingestor::new(archive, store.clone(), config.max_instance_bytes);
        let dimse_listener = bind(config.dimse_addr).await?;
        let http_listener = bind(config.http_addr).await?;
        if config.allowed_calling_aes == AllowedAes::Any {
            warn!(
                "every calling AE title is allowed; set RADRAFT_GATEWAY__ALLOWED_CALLING_AES to restrict"
            );
        }
        Ok(Self {
            config,
            store,
            ingestor,
            publisher,
            topology,
            dimse_listener,
            http_listener,
        })
    }

    pub fn dimse_addr(&self) -> std::io::Result<SocketAddr> {
        self.dimse_listener.local_addr()
    }

    pub fn http_addr(&self) -> std::io::Result<SocketAddr> {
        self.http_listener.local_addr()
    }

    pub async fn run(self, shutdown: CancellationToken) -> Result<(), RunError> {
        info!(
            ae_title = %self.config.ae_title,
            dimse = ?self.dimse_listener.local_addr().ok(),
            http = ?self.http_listener.local_addr().ok(),
            "gateway listening"
        );
        let dimse_context = Arc::new(DimseContext {
            ingestor: self.ingestor.clone(),
            ae_title: self.config.ae_title.clone(),
            allowed_calling_aes: self.config.allowed_calling_aes.clone(),
        });
        let mut tasks = tokio::task::JoinSet::new();
        tasks.spawn(dimse::serve(
            self.dimse_listener,
            dimse_context,
            shutdown.clone(),
        ));
        let announcer = Announcer {
            store: self.store.clone(),
            amqp_url: self.config.amqp_url.clone(),
            topology: self.topology,
            quiet_period: self.config.quiet_period,
        };
        tasks.spawn(announcer.run(self.publisher, shutdown.clone()));
        if let Some(orthanc) = self.config.orthanc {
            let follower = OrthancFollower::new(orthanc, self.ingestor.clone(), self.store.clone());
            tasks.spawn(follower.run(shutdown.clone()));
        }
        let http_shutdown = shutdown.clone();
        let served = axum::serve(self.http_listener, stow::router(self.ingestor))
            .with_graceful_shutdown(async move { http_shutdown.cancelled().await })
            .await;
        shutdown.cancel();
        while tasks.join_next().await.is_some() {}
        served.map_err(RunError)
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })
}
