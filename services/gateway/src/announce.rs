//! Study completeness: cuts a version of every study that has been quiet long enough and
//! publishes its `study.ready`, marking it published only after the broker confirms.

use std::time::Duration;

use radraft_queue::{Publisher, QueueError, Topology};
use radraft_store::{Store, StoreError};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

const BATCH: i64 = 100;

#[derive(Debug, thiserror::Error)]
pub enum AnnounceError {
    #[error("could not settle or claim studies")]
    Store(#[from] StoreError),
    #[error("could not publish study.ready")]
    Queue(#[from] QueueError),
}

#[derive(Debug)]
pub struct Announcer {
    pub store: Store,
    pub amqp_url: String,
    pub topology: Topology,
    pub quiet_period: Duration,
}

impl Announcer {
    /// Checks often enough that a study is announced soon after its quiet period ends.
    fn tick(&self) -> Duration {
        (self.quiet_period / 4).clamp(Duration::from_millis(50), Duration::from_secs(1))
    }

    pub async fn run(self, publisher: Publisher, shutdown: CancellationToken) {
        let mut publisher = Some(publisher);
        loop {
            tokio::select! {
                () = tokio::time::sleep(self.tick()) => {}
                () = shutdown.cancelled() => return,
            }
            if let Err(error) = self.settle().await {
                warn!(%error, "settling quiet studies failed; will retry");
            }
            if publisher.is_none() {
                publisher = self.reconnect().await;
            }
            if let Some(open) = &publisher
                && let Err(error) = self.publish_pending(open).await
            {
                warn!(%error, "publishing study.ready failed; will retry");
                if matches!(error, AnnounceError::Queue(_)) {
                    publisher = None;
                }
            }
        }
    }

    async fn settle(&self) -> Result<(), StoreError> {
        for study in self.store.settle_quiet_studies(self.quiet_period).await? {
            info!(study_uid = %study.study_uid, study_version = study.study_version, instance_count = study.instance_count, "study settled");
        }
        Ok(())
    }

    async fn reconnect(&self) -> Option<Publisher> {
        let attempt = async {
            let connection = radraft_queue::connect(&self.amqp_url).await?;
            Publisher::open(&connection, &self.topology).await
        };
        match attempt.await {
            Ok(publisher) => Some(publisher),
            Err(error) => {
                warn!(%error, "broker unavailable");
                None
            }
        }
    }

    /// Publishes every claimed version; what was confirmed is committed even if a later
    /// publish fails, and the rest stays pending for the next tick.
    pub async fn publish_pending(&self, publisher: &Publisher) -> Result<(), AnnounceError> {
        let mut batch = self.store.claim_unpublished(BATCH).await?;
        let messages = std::mem::take(&mut batch.messages);
        let mut failure = None;
        for message in &messages {
            if let Err(error) = publisher.publish_study_ready(message).await {
                failure = Some(error);
                break;
            }
            batch.mark_published(message).await?;
            info!(study_uid = %message.study_uid, study_version = message.study_version, "study.ready published");
        }
        batch.commit().await?;
        match failure {
            Some(error) => Err(AnnounceError::Queue(error)),
            None => Ok(()),
        }
    }
}
