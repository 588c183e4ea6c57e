//! The Orthanc connector: follows Orthanc's `/changes` feed and pulls every `StableStudy`
//! in its original transfer syntax. The feed position is kept in Postgres and advanced only
//! after a study's instances are all stored, so a restart never skips one. Every request
//! has a timeout, and an instance over the size limit is refused from its declared size
//! without being downloaded (`client`).

mod client;

use std::time::Duration;

use radraft_store::Store;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::config::OrthancConfig;
use crate::ingest::{IngestError, Ingestor, Origin, Source};

pub use client::ClientError;
use client::OrthancClient;

const PAGE: u32 = 100;

#[derive(Debug, thiserror::Error)]
pub enum OrthancError {
    #[error("Orthanc could not be reached or refused a request: {0}")]
    Client(#[from] ClientError),
    #[error("could not store a pulled instance")]
    Ingest(#[from] IngestError),
    #[error("could not read or save the feed cursor")]
    Cursor(#[from] radraft_store::StoreError),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Changes {
    changes: Vec<Change>,
    done: bool,
    last: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Change {
    change_type: String,
    #[serde(rename = "ID")]
    id: String,
    seq: i64,
}

#[derive(Debug, Deserialize)]
struct Resource {
    #[serde(rename = "ID")]
    id: String,
}

#[derive(Debug, Clone)]
pub struct OrthancFollower {
    config: OrthancConfig,
    client: OrthancClient,
    ingestor: Ingestor,
    store: Store,
}

impl OrthancFollower {
    pub fn new(
        config: OrthancConfig,
        ingestor: Ingestor,
        store: Store,
    ) -> Result<Self, OrthancError> {
        Ok(Self {
            client: OrthancClient::new(config.clone())?,
            config,
            ingestor,
            store,
        })
    }

    fn feed(&self) -> String {
        format!("orthanc:{}", self.config.name)
    }

    /// Follows the feed until `shutdown`; transient failures are retried after a pause.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            let idle = match self.poll_once().await {
                Ok(done) => done,
                Err(error) => {
                    warn!(%error, feed = %self.feed(), "Orthanc feed poll failed; retrying");
                    true
                }
            };
            let pause = if idle {
                self.config.poll_interval
            } else {
                Duration::ZERO
            };
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = shutdown.cancelled() => return,
            }
        }
    }

    /// Processes one page of changes; returns whether the feed is exhausted.
    pub async fn poll_once(&self) -> Result<bool, OrthancError> {
        let feed = self.feed();
        let since = self.store.feed_cursor(&feed).await?.unwrap_or(0);
        let changes: Changes = self
            .client
            .json(&format!("/changes?since={since}&limit={PAGE}"))
            .await?;
        for change in &changes.changes {
            if change.change_type == "StableStudy" {
                self.pull_study(&change.id).await?;
            }
            self.store.save_feed_cursor(&feed, change.seq).await?;
        }
        if changes.changes.is_empty() && changes.last > since {
            self.store.save_feed_cursor(&feed, changes.last).await?;
        }
        Ok(changes.done)
    }

    async fn pull_study(&self, orthanc_id: &str) -> Result<(), OrthancError> {
        let path = format!("/studies/{orthanc_id}/instances");
        let instances: Vec<Resource> = match self.client.json(&path).await {
            Err(ClientError::NotFound { .. }) => {
                // Deleted from Orthanc since it settled: nothing left to pull.
                warn!(orthanc_study = %orthanc_id, "stable study no longer in Orthanc; skipped");
                return Ok(());
            }
            other => other?,
        };
        let origin = Origin {
            source: Source::Orthanc,
            calling_ae: Some(self.config.name.clone()),
        };
        let limit = self.ingestor.max_instance_bytes();
        let mut stored = 0;
        for instance in &instances {
            let path = format!("/instances/{}/file", instance.id);
            let file = match self.client.download(&path, limit).await {
                Ok(file) => file,
                // Too large to take: asking again will not shrink it. Keep going.
                Err(ClientError::TooLarge { size, limit }) => {
                    let error = IngestError::TooLarge { size, limit };
                    warn!(%error, code = error.code(), orthanc_instance = %instance.id, "refused pulled instance");
                    continue;
                }
                Err(error) => return Err(error.into()),
            };
            match self.ingestor.ingest_file(file, &origin).await {
                Ok(_) => stored += 1,
                // The object itself is bad: pulling it again will not help. Keep going.
                Err(error) if error.is_sender_fault() => {
                    warn!(%error, code = error.code(), orthanc_instance = %instance.id, "refused pulled instance");
                }
                Err(error) => return Err(error.into()),
            }
        }
        info!(orthanc_study = %orthanc_id, stored, total = instances.len(), "pulled stable study from Orthanc");
        Ok(())
    }
}
