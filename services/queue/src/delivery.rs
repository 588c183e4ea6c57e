//! One message from the work queue, settled exactly once by the worker.

use lapin::BasicProperties;
use lapin::options::{BasicAckOptions, BasicNackOptions};
use radraft_core::StudyReady;

use crate::{QueueError, headers};

/// A delivery from [`crate::Consumer`]. Settle it with [`Delivery::ack`] (done, or moved
/// on with [`crate::Publisher::retry`] / [`crate::Publisher::dead_letter`]) or
/// [`Delivery::requeue`]. Dropped unsettled, it goes back to the queue when the
/// consumer's channel closes.
#[derive(Debug)]
pub struct Delivery {
    inner: lapin::message::Delivery,
}

impl Delivery {
    pub(crate) fn new(inner: lapin::message::Delivery) -> Self {
        Self { inner }
    }

    /// The body decoded as `study.ready`. A [`DecodeError`] is permanent: the worker
    /// dead-letters the raw body with [`crate::Publisher::dead_letter_delivery`].
    pub fn message(&self) -> Result<StudyReady, DecodeError> {
        serde_json::from_slice(&self.inner.data).map_err(|source| DecodeError {
            delivery_tag: self.delivery_tag(),
            source,
        })
    }

    /// The raw body, as published.
    pub fn body(&self) -> &[u8] {
        &self.inner.data
    }

    /// The message properties, headers included.
    pub fn properties(&self) -> &BasicProperties {
        &self.inner.properties
    }

    /// Our attempt number (`x-radraft-attempt`): 1 unless the message came back from the
    /// retry queue.
    pub fn attempt(&self) -> u32 {
        headers::u32_header(&self.inner.properties, headers::ATTEMPT).unwrap_or(1)
    }

    /// How often the quorum queue took this message back (`x-delivery-count`): after a
    /// [`Delivery::requeue`] or a worker that died holding it. 0 on the first delivery.
    /// Returned once more than the topology's delivery limit, the message goes to the
    /// dead-letter queue instead (reason `delivery_limit`).
    pub fn delivery_count(&self) -> u32 {
        headers::u32_header(&self.inner.properties, headers::DELIVERY_COUNT).unwrap_or(0)
    }

    /// Whether an operator sent this message back from the dead-letter queue
    /// (`dead replay`): a recorded failure of its version may be retried.
    pub fn replayed(&self) -> bool {
        matches!(
            headers::get(&self.inner.properties, headers::REPLAY),
            Some(lapin::types::AMQPValue::Boolean(true))
        )
    }

    /// Whether the broker delivered this message before (to this or another consumer).
    pub fn redelivered(&self) -> bool {
        self.inner.redelivered
    }

    /// The channel-scoped tag, for the `delivery_tag` tracing field.
    pub fn delivery_tag(&self) -> u64 {
        self.inner.delivery_tag
    }

    /// Removes the message from the queue: call only once its outcome is durable.
    pub async fn ack(self) -> Result<(), QueueError> {
        self.settle(Settle::Ack).await
    }

    /// Puts the message back on the queue for another delivery. Each requeue counts toward
    /// the delivery limit, after which the broker dead-letters the message.
    pub async fn requeue(self) -> Result<(), QueueError> {
        self.settle(Settle::Requeue).await
    }

    async fn settle(self, how: Settle) -> Result<(), QueueError> {
        let delivery_tag = self.delivery_tag();
        let acker = &self.inner.acker;
        let settled = match how {
            Settle::Ack => acker
                .ack(BasicAckOptions::default())
                .await
                .map_err(|source| QueueError::Ack {
                    delivery_tag,
                    source,
                }),
            Settle::Requeue => {
                let options = BasicNackOptions {
                    multiple: false,
                    requeue: true,
                };
                acker
                    .nack(options)
                    .await
                    .map_err(|source| QueueError::Requeue {
                        delivery_tag,
                        source,
                    })
            }
        }?;
        // lapin answers `false` when the acker is unusable: its channel closed (the broker
        // then redelivers the message) or it was used, which consuming `self` rules out.
        if settled {
            Ok(())
        } else {
            Err(QueueError::ChannelClosed {
                operation: how.name(),
                delivery_tag,
            })
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Settle {
    Ack,
    Requeue,
}

impl Settle {
    fn name(self) -> &'static str {
        match self {
            Settle::Ack => "ack",
            Settle::Requeue => "requeue",
        }
    }
}

/// The body is not a `study.ready` message: permanent, so the worker dead-letters it.
#[derive(Debug, thiserror::Error)]
#[error("delivery {delivery_tag} is not a study.ready message")]
pub struct DecodeError {
    pub delivery_tag: u64,
    #[source]
    pub source: serde_json::Error,
}
