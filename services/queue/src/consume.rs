//! The worker's consumer: manual acknowledgements on the work queue, at most `prefetch`
//! unsettled deliveries at a time.
//!
//! lapin's consumer is read as a stream, not through a `ConsumerDelegate`: lapin drops the
//! delegate when a cancel starts, so a delegate never hears that the consumer ended.

use futures::StreamExt;
use lapin::options::{BasicCancelOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Connection};
use tracing::debug;

use crate::{Delivery, QueueError, Topology};

/// AMQP reply code for a normal channel close.
const REPLY_SUCCESS: u16 = 200;

/// Consumes the work queue on a channel of its own. After `None` from [`Consumer::next`]
/// (broker or connection gone) the worker opens a new connection and consumer.
pub struct Consumer {
    channel: Channel,
    /// Dropping lapin's consumer cancels it on the broker.
    consumer: lapin::Consumer,
    /// lapin's stream stays pending after its end; `next()` answers `None` from then on.
    ended: bool,
}

impl Consumer {
    /// Opens a channel, declares the topology, limits unsettled deliveries to `prefetch`
    /// and starts consuming the work queue with manual acknowledgements.
    pub async fn open(
        connection: &Connection,
        topology: &Topology,
        prefetch: u16,
        consumer_tag: &str,
    ) -> Result<Self, QueueError> {
        let channel = connection
            .create_channel()
            .await
            .map_err(QueueError::Channel)?;
        topology.declare(&channel).await?;
        // Per-consumer prefetch (`global: false`): quorum queues support no other.
        channel
            .basic_qos(prefetch, BasicQosOptions { global: false })
            .await
            .map_err(|source| QueueError::Qos { prefetch, source })?;
        let options = BasicConsumeOptions {
            no_ack: false,
            ..BasicConsumeOptions::default()
        };
        let consumer = channel
            .basic_consume(
                topology.work_queue.as_str().into(),
                consumer_tag.into(),
                options,
                FieldTable::default(),
            )
            .await
            .map_err(|source| QueueError::Consume {
                queue: topology.work_queue.clone(),
                source,
            })?;
        Ok(Self {
            channel,
            consumer,
            ended: false,
        })
    }

    /// The next delivery. `None` once the consumer has ended: after [`Consumer::cancel`]
    /// (when every delivery already received has been handed out), or when the broker or
    /// the connection went away, in which case the caller reconnects.
    pub async fn next(&mut self) -> Option<Result<Delivery, QueueError>> {
        if self.ended {
            return None;
        }
        match self.consumer.next().await {
            Some(Ok(delivery)) => Some(Ok(Delivery::new(delivery))),
            Some(Err(error)) => Some(Err(QueueError::Receive(error))),
            None => {
                self.ended = true;
                None
            }
        }
    }

    /// Stops new deliveries while the caller settles those it holds: the channel stays
    /// open, so they can still be acked. Deliveries received but not yet handed out come
    /// from [`Consumer::next`] before its `None`; whatever stays unsettled returns to the
    /// queue when the channel closes.
    pub async fn cancel(&self) -> Result<(), QueueError> {
        let consumer_tag = self.consumer.tag();
        debug!(%consumer_tag, "cancelling consumer");
        self.channel
            .basic_cancel(consumer_tag.clone(), BasicCancelOptions::default())
            .await
            .map_err(|source| QueueError::Cancel {
                consumer_tag: consumer_tag.to_string(),
                source,
            })
    }

    /// Closes the channel; the broker takes back every unsettled delivery.
    pub async fn close(self) -> Result<(), QueueError> {
        self.channel
            .close(REPLY_SUCCESS, "consumer closed".into())
            .await
            .map_err(QueueError::Close)
    }

    /// The consumer tag (the broker's when the caller gave an empty one).
    pub fn tag(&self) -> String {
        self.consumer.tag().to_string()
    }
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("tag", &self.consumer.tag())
            .field("channel", &self.channel.id())
            .finish_non_exhaustive()
    }
}
