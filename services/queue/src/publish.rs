//! Publishing with publisher confirms: a message counts as sent only once the broker
//! has written it to a queue.

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{BasicProperties, Channel, Connection};
use radraft_core::StudyReady;

use crate::{QueueError, Topology};

/// AMQP delivery mode 2: the broker keeps the message on disk.
const PERSISTENT: u8 = 2;

#[derive(Debug, Clone)]
pub struct Publisher {
    channel: Channel,
    exchange: String,
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
        })
    }

    /// Publishes `study.ready` and waits for the broker's confirmation.
    pub async fn publish_study_ready(&self, message: &StudyReady) -> Result<(), QueueError> {
        let body = serde_json::to_vec(message)?;
        let message_id = format!("{}#{}", message.study_uid, message.study_version);
        let properties = BasicProperties::default()
            .with_content_type("application/json".into())
            .with_delivery_mode(PERSISTENT)
            .with_message_id(message_id.as_str().into())
            .with_type(StudyReady::ROUTING_KEY.into());
        self.publish(StudyReady::ROUTING_KEY, &body, properties)
            .await
    }

    async fn publish(
        &self,
        routing_key: &str,
        body: &[u8],
        properties: BasicProperties,
    ) -> Result<(), QueueError> {
        let failed = |source| QueueError::Publish {
            exchange: self.exchange.clone(),
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
                self.exchange.as_str().into(),
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
                routing_key: routing_key.to_owned(),
            });
        }
        // A mandatory message that matched no queue comes back with the confirmation.
        if confirm.take_message().is_some() {
            return Err(QueueError::Unroutable {
                routing_key: routing_key.to_owned(),
            });
        }
        Ok(())
    }
}
