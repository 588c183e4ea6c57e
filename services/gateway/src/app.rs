//! Start-up and the run loop: connect to Postgres, migrate, bind the listeners, then serve
//! every door until shutdown, and drain. The broker is not needed to start: the announcer
//! connects when it can, and ingest never waits for it.

use std::net::SocketAddr;
use std::sync::Arc;

use radraft_archive::LocalArchive;
use radraft_queue::Topology;
use radraft_store::{PoolSettings, Store, StoreError};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::announce::{Announcer, Settler};
use crate::config::{AllowedAes, GatewayConfig};
use crate::dimse::{self, Admission, DimseContext, TlsHandshake, Transport};
use crate::drain::Drain;
use crate::http_edge;
use crate::http_serve::{self, Serving, Shutdown};
use crate::ingest::Ingestor;
use crate::orthanc::{OrthancError, OrthancFollower};
use crate::sweep::Sweeper;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database is not usable")]
    Store(#[from] StoreError),
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
    #[error("could not set up the Orthanc connector")]
    Orthanc(#[from] OrthancError),
}

#[derive(Debug, thiserror::Error)]
#[error("HTTP server failed")]
pub struct RunError(#[from] std::io::Error);

/// A gateway that has connected to Postgres and bound its ports, ready to run.
#[derive(Debug)]
pub struct App {
    config: GatewayConfig,
    store: Store,
    archive: LocalArchive,
    ingestor: Ingestor,
    orthanc: Option<OrthancFollower>,
    topology: Topology,
    /// `None` when the plain DICOM port is off (`DIMSE_ADDR=off`).
    dimse_listener: Option<TcpListener>,
    dimse_tls_listener: Option<TcpListener>,
    http_listener: TcpListener,
}

impl App {
    pub async fn build(config: GatewayConfig) -> Result<Self, StartError> {
        std::fs::create_dir_all(&config.archive_dir).map_err(|source| StartError::Archive {
            path: config.archive_dir.display().to_string(),
            source,
        })?;
        let pool = PoolSettings {
            acquire_timeout: config.database_acquire_timeout,
            ..PoolSettings::default()
        };
        let store = Store::connect_with(&config.database_url, pool).await?;
        store.migrate().await?;
        let topology =
            Topology::with_prefix(&config.queue_prefix).with_retry_delay(config.retry_delay);
        let archive = LocalArchive::new(&config.archive_dir);
        let ingestor = Ingestor::new(
            Arc::new(archive.clone()),
            store.clone(),
            config.max_instance_bytes,
        );
        let orthanc = match &config.orthanc {
            Some(orthanc) => Some(OrthancFollower::new(
                orthanc.clone(),
                ingestor.clone(),
                store.clone(),
            )?),
            None => None,
        };
        let dimse_listener = match config.dimse_addr {
            Some(addr) => Some(bind(addr).await?),
            None => None,
        };
        let dimse_tls_listener = match &config.tls.dimse {
            Some(tls) => Some(bind(tls.addr).await?),
            None => None,
        };
        if dimse_listener.is_none() && dimse_tls_listener.is_none() {
            warn!("no DICOM listener: DIMSE_ADDR is off and DIMSE_TLS_ADDR is not set");
        }
        if config
            .tls
            .dimse
            .as_ref()
            .is_some_and(|tls| !tls.client_certificates)
        {
            warn!(
                "DICOM TLS accepts peers without a client certificate; set RADRAFT_GATEWAY__TLS_CLIENT_CA_FILE to require one"
            );
        }
        let http_listener = bind(config.http_addr).await?;
        if config.allowed_calling_aes == AllowedAes::Any {
            warn!(
                "every calling AE title is allowed; set RADRAFT_GATEWAY__ALLOWED_CALLING_AES to restrict"
            );
        }
        if config.http.tokens.is_empty() {
            warn!(
                "HTTP endpoints (STOW-RS) accept requests without authentication; set RADRAFT_GATEWAY__HTTP_TOKENS to require a bearer token"
            );
        }
        Ok(Self {
            config,
            store,
            archive,
            ingestor,
            orthanc,
            topology,
            dimse_listener,
            dimse_tls_listener,
            http_listener,
        })
    }

    /// The plain DICOM listener's address; an error when that listener is off.
    pub fn dimse_addr(&self) -> std::io::Result<SocketAddr> {
        match &self.dimse_listener {
            Some(listener) => listener.local_addr(),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "the plain DICOM listener is off",
            )),
        }
    }

    /// The DICOM TLS listener's address, when there is one.
    pub fn dimse_tls_addr(&self) -> Option<SocketAddr> {
        self.dimse_tls_listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    pub fn http_addr(&self) -> std::io::Result<SocketAddr> {
        self.http_listener.local_addr()
    }

    /// Serves until `shutdown` is cancelled, then drains: no new associations or
    /// requests, open ones get the configured grace period, then are cut.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), RunError> {
        if let Ok(http_addr) = self.http_addr() {
            let dimse_addr = self
                .dimse_addr()
                .map_or("off".to_owned(), |a| a.to_string());
            let dimse_tls_addr = self
                .dimse_tls_addr()
                .map_or("off".to_owned(), |a| a.to_string());
            let https = self.config.tls.http.is_some();
            info!(ae_title = %self.config.ae_title, %dimse_addr, %dimse_tls_addr, %http_addr, https, "gateway listening");
        }
        let drain = Drain::new(shutdown, self.config.drain_grace);
        let dimse_context = Arc::new(DimseContext {
            ingestor: self.ingestor.clone(),
            ae_title: self.config.ae_title.clone(),
            allowed_calling_aes: self.config.allowed_calling_aes.clone(),
            admission: Admission::new(self.config.dimse.clone()),
        });
        let mut tasks = tokio::task::JoinSet::new();
        if let Some(listener) = self.dimse_listener {
            tasks.spawn(dimse::serve(
                listener,
                Arc::clone(&dimse_context),
                Transport::Plain,
                drain.stop.clone(),
                drain.abort.clone(),
            ));
        }
        if let (Some(listener), Some(tls)) = (self.dimse_tls_listener, &self.config.tls.dimse) {
            let handshake = TlsHandshake {
                server: Arc::clone(&tls.server),
                timeout: self.config.tls.handshake_timeout,
            };
            tasks.spawn(dimse::serve(
                listener,
                dimse_context,
                Transport::Tls(handshake),
                drain.stop.clone(),
                drain.abort.clone(),
            ));
        }
        let settled = Arc::new(Notify::new());
        let settler = Settler {
            store: self.store.clone(),
            quiet_period: self.config.quiet_period,
            settled: Arc::clone(&settled),
        };
        tasks.spawn(drain.bounded(settler.run(drain.stop.clone())));
        let announcer = Announcer {
            store: self.store.clone(),
            amqp_url: self.config.amqp_url.clone(),
            amqp_trust: self.config.amqp_trust.clone(),
            topology: self.topology,
            quiet_period: self.config.quiet_period,
            publish_timeout: self.config.publish_timeout,
            settled,
        };
        tasks.spawn(drain.bounded(announcer.run(drain.stop.clone())));
        let sweeper = Sweeper {
            archive: self.archive,
            store: self.store.clone(),
            grace: self.config.orphan_grace,
            interval: self.config.sweep_interval,
        };
        tasks.spawn(drain.bounded(sweeper.run(drain.stop.clone())));
        if let Some(follower) = self.orthanc {
            tasks.spawn(drain.bounded(follower.run(drain.stop.clone())));
        }
        let serving = Serving {
            tls: self.config.tls.http.clone(),
            handshake_timeout: self.config.tls.handshake_timeout,
            header_timeout: self.config.http.header_timeout,
        };
        let shutdown = Shutdown {
            stop: drain.stop.clone(),
            abort: drain.abort.clone(),
        };
        // Returns once stopped and drained (or cut by the abort).
        http_serve::serve(
            self.http_listener,
            http_edge::router(self.ingestor, &self.config.http),
            serving,
            shutdown,
        )
        .await;
        drain.stop.cancel();
        while tasks.join_next().await.is_some() {}
        drain.finish();
        info!("gateway stopped");
        Ok(())
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })
}
