//! Study completeness and its announcement, as two loops that never wait on each other:
//! the settler cuts a version of every study that has been quiet long enough (Postgres
//! only), and the announcer publishes each version's `study.ready`, marking it published
//! only after the broker confirms. The announcer claims versions for a lease and talks to
//! the broker with no transaction open and a timeout on every wait, so a blocked or absent
//! broker holds no lock and stops neither ingest nor settling.

use std::sync::Arc;
use std::time::Duration;

use radraft_queue::{Publisher, QueueError, Topology};
use radraft_store::{Store, StoreError};
use tokio::sync::Notify;
use tokio::time::{Instant, timeout_at};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

const BATCH: i64 = 100;

/// The longest pause between attempts to reach an absent broker.
const MAX_RECONNECT_WAIT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum AnnounceError {
    #[error("could not claim or mark versions")]
    Store(#[from] StoreError),
    #[error("could not reach the broker")]
    Connect(#[source] QueueError),
    #[error("could not publish study.ready")]
    Publish(#[source] QueueError),
    #[error("the broker did not answer within {0:?}")]
    Timeout(Duration),
}

/// Checks often enough that a study settles soon after its quiet period ends.
fn tick(quiet_period: Duration) -> Duration {
    (quiet_period / 4).clamp(Duration::from_millis(50), Duration::from_secs(1))
}

/// Cuts versions of quiet studies; wakes the announcer when it did.
#[derive(Debug)]
pub struct Settler {
    pub store: Store,
    pub quiet_period: Duration,
    pub settled: Arc<Notify>,
}

impl Settler {
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                () = tokio::time::sleep(tick(self.quiet_period)) => {}
                () = shutdown.cancelled() => return,
            }
            match self.store.settle_quiet_studies(self.quiet_period).await {
                Ok(settled) => {
                    for study in &settled {
                        info!(study_uid = %study.study_uid, study_version = study.study_version, instance_count = study.instance_count, "study settled");
                    }
                    if !settled.is_empty() {
                        self.settled.notify_one();
                    }
                }
                Err(error) => warn!(%error, "settling quiet studies failed; will retry"),
            }
        }
    }
}

/// Publishes the outbox: every settled, unpublished current version.
#[derive(Debug)]
pub struct Announcer {
    pub store: Store,
    pub amqp_url: String,
    /// Which CA vouches for an `amqps://` broker.
    pub amqp_trust: radraft_queue::BrokerTrust,
    pub topology: Topology,
    pub quiet_period: Duration,
    pub publish_timeout: Duration,
    pub settled: Arc<Notify>,
}

impl Announcer {
    /// Runs until `shutdown`. The broker need not be up: the announcer connects when it
    /// can, waiting longer between failed attempts, and publishes what accumulated.
    pub async fn run(self, shutdown: CancellationToken) {
        let regular = tick(self.quiet_period);
        let mut publisher = None;
        let mut wait = Duration::ZERO;
        loop {
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.settled.notified() => {}
                () = shutdown.cancelled() => return,
            }
            if publisher.is_none() {
                match self.connect().await {
                    Ok(open) => {
                        info!("connected to the broker");
                        publisher = Some(open);
                    }
                    Err(error) => {
                        wait = (wait * 2).clamp(regular, MAX_RECONNECT_WAIT);
                        warn!(%error, retry_in_ms = wait.as_millis(), "broker unavailable; studies will be announced once it is back");
                        continue;
                    }
                }
            }
            let Some(open) = &publisher else { continue };
            wait = match self.publish_pending(open).await {
                Ok(full) if full => Duration::ZERO,
                Ok(_) => regular,
                Err(error @ AnnounceError::Store(_)) => {
                    warn!(%error, "publishing study.ready failed; will retry");
                    regular
                }
                Err(error) => {
                    // Dropping the publisher closes its connection; the next tick opens a
                    // fresh one. What was not confirmed is published again then.
                    warn!(%error, "publishing study.ready failed; reconnecting");
                    publisher = None;
                    regular
                }
            };
        }
    }

    async fn connect(&self) -> Result<Publisher, AnnounceError> {
        let deadline = Instant::now() + self.publish_timeout;
        let attempt = async {
            let connection =
                radraft_queue::connect_trusting(&self.amqp_url, &self.amqp_trust).await?;
            Publisher::open(&connection, &self.topology).await
        };
        match timeout_at(deadline, attempt).await {
            Ok(result) => result.map_err(AnnounceError::Connect),
            Err(_) => Err(AnnounceError::Timeout(self.publish_timeout)),
        }
    }

    /// Claims a batch, publishes it within one publish timeout, marks each confirmed
    /// version at once and gives back the claim on the rest. Returns whether the batch was
    /// full (more may be waiting).
    async fn publish_pending(&self, publisher: &Publisher) -> Result<bool, AnnounceError> {
        // Twice the publish time: a version is not claimed by another gateway while this
        // one may still be waiting for its confirm.
        let lease = self.publish_timeout * 2;
        let mut batch = self.store.claim_unpublished_for(BATCH, lease).await?;
        let messages = std::mem::take(&mut batch.messages);
        let deadline = Instant::now() + self.publish_timeout;
        let mut failure = None;
        for message in &messages {
            match timeout_at(deadline, publisher.publish_study_ready(message)).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    failure = Some(AnnounceError::Publish(error));
                    break;
                }
                Err(_) => {
                    failure = Some(AnnounceError::Timeout(self.publish_timeout));
                    break;
                }
            }
            batch.mark_published(message).await?;
            info!(study_uid = %message.study_uid, study_version = message.study_version, "study.ready published");
        }
        if let Err(error) = batch.commit().await {
            // The claims lapse on their own; only the retry waits longer.
            debug!(%error, "could not release unpublished claims");
        }
        match failure {
            Some(error) => Err(error),
            None => Ok(messages.len() as i64 == BATCH),
        }
    }
}
