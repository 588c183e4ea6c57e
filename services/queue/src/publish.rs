//! Publishing with publisher confirms: a message counts as sent only once the broker
//! has written it to a queue. The gateway publishes `study.ready`; the worker moves a
//! message it cannot draft now to the retry or dead-letter exchange, then acks it.

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{BasicProperties, Channel, Connection};
use radraft_core::StudyReady;

use crate::{Delivery, QueueError, Topology, headers};

/// AMQP delivery mode 2: the broker keeps the message on disk.
const PERSISTENT: u8 = 2;

#[derive(Debug, Clone)]
pub struct Publisher {
    channel: Channel,
    exchange: String,
    retry_exchange: String,
    dead_letter_exchange: String,
}

impl Publisher {
    /// Opens a confirm-mode channel and declares the topology on it.
    pub async fn open(connection: &Connection, topology: &Topology) -> Result<Self, QueueError> {
        let channel = connection
            .create_channel()
            .await
            .map_err(QueueError::Channel)?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(QueueError::Channel)?;
        topology.declare(&channel).await?;
        Ok(Self {
            channel,
            exchange: topology.exchange.clone(),
            retry_exchange: topology.retry_exchange.clone(),
            dead_letter_exchange: topology.dead_letter_exchange.clone(),
        })
    }

    /// Publishes `study.ready` and waits for the broker's confirmation.
    pub async fn publish_study_ready(&self, message: &StudyReady) -> Result<(), QueueError> {
        let body = serde_json::to_vec(message)?;
        self.publish(&self.exchange, &body, study_ready_properties(message))
            .await
    }

    /// Sends `message` to the retry queue as attempt `next_attempt`; the broker returns it
    /// to the work queue after the topology's retry delay. The caller then acks the
    /// original delivery.
    pub async fn retry(&self, message: &StudyReady, next_attempt: u32) -> Result<(), QueueError> {
        let body = serde_json::to_vec(message)?;
        // Fresh headers: a copied `x-death` would look like a dead-letter cycle to the
        // broker, which would then drop the message when the retry delay expires.
        let properties =
            study_ready_properties(message).with_headers(headers::attempt_only(next_attempt));
        self.publish(&self.retry_exchange, &body, properties).await
    }

    /// Keeps `message` in the dead-letter queue with its attempt and the failure `reason`
    /// (a short technical string, never patient data). The caller then acks the original.
    pub async fn dead_letter(
        &self,
        message: &StudyReady,
        attempt: u32,
        reason: &str,
    ) -> Result<(), QueueError> {
        let body = serde_json::to_vec(message)?;
        self.dead_letter_raw(
            &body,
            Some(&study_ready_properties(message)),
            attempt,
            reason,
        )
        .await
    }

    /// Like [`Publisher::dead_letter`] for any body, such as one that does not decode, so
    /// it is kept byte for byte. The original `properties`, when given, are kept (headers
    /// included) with ours set over them.
    pub async fn dead_letter_raw(
        &self,
        body: &[u8],
        properties: Option<&BasicProperties>,
        attempt: u32,
        reason: &str,
    ) -> Result<(), QueueError> {
        let properties = properties
            .cloned()
            .unwrap_or_default()
            .with_delivery_mode(PERSISTENT);
        let properties = headers::with_radraft_headers(properties, attempt, Some(reason));
        self.publish(&self.dead_letter_exchange, body, properties)
            .await
    }

    /// Dead-letters a delivery as received: its raw body, properties and attempt.
    pub async fn dead_letter_delivery(
        &self,
        delivery: &Delivery,
        reason: &str,
    ) -> Result<(), QueueError> {
        self.dead_letter_raw(
            delivery.body(),
            Some(delivery.properties()),
            delivery.attempt(),
            reason,
        )
        .await
    }

    /// Publishes a dead message back to work as attempt 1 marked as replayed, keeping its
    /// properties but none of its other headers (see [`Publisher::retry`] on `x-death`).
    pub(crate) async fn replay(
        &self,
        body: &[u8],
        properties: &BasicProperties,
    ) -> Result<(), QueueError> {
        let properties = properties
            .clone()
            .with_delivery_mode(PERSISTENT)
            .with_headers(headers::replayed());
        self.publish(&self.exchange, body, properties).await
    }

    /// Every message keeps the `study.ready` routing key, whatever the exchange: fanout
    /// exchanges ignore it, and the retry queue's dead-lettering keeps it, which routes the
    /// message back to the work queue.
    async fn publish(
        &self,
        exchange: &str,
        body: &[u8],
        properties: BasicProperties,
    ) -> Result<(), QueueError> {
        let routing_key = StudyReady::ROUTING_KEY;
        let failed = |source| QueueError::Publish {
            exchange: exchange.to_owned(),
            routing_key: routing_key.to_owned(),
            source,
        };
        let options = BasicPublishOptions {
            mandatory: true,
            ..BasicPublishOptions::default()
        };
        let confirm = self
            .channel
            .basic_publish(
                exchange.into(),
                routing_key.into(),
                options,
                body,
                properties,
            )
            .await
            .map_err(failed)?
            .await
            .map_err(failed)?;
        if confirm.is_nack() {
            return Err(QueueError::Nacked {
                exchange: exchange.to_owned(),
                routing_key: routing_key.to_owned(),
            });
        }
        // A mandatory message that matched no queue comes back with the confirmation.
        if confirm.take_message().is_some() {
            return Err(QueueError::Unroutable {
                exchange: exchange.to_owned(),
                routing_key: routing_key.to_owned(),
            });
        }
        Ok(())
    }
}

fn study_ready_properties(message: &StudyReady) -> BasicProperties {
    let message_id = format!("{}#{}", message.study_uid, message.study_version);
    BasicProperties::default()
        .with_content_type("application/json".into())
        .with_delivery_mode(PERSISTENT)
        .with_message_id(message_id.as_str().into())
        .with_type(StudyReady::ROUTING_KEY.into())
}
