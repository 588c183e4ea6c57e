//! The broker topology: a topic work exchange and quorum work queue, a dead-letter queue
//! that never loses messages, and a retry queue that delays and sends back.
//!
//! Declaration is idempotent: every service declares the same topology at start-up.

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Channel, ExchangeKind};
use radraft_core::StudyReady;

use crate::QueueError;

/// Names and limits of the topology. Every name derives from one prefix so tests and
/// parallel deployments can each have their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    pub exchange: String,
    pub work_queue: String,
    pub dead_letter_exchange: String,
    pub dead_letter_queue: String,
    pub retry_exchange: String,
    pub retry_queue: String,
    /// How long a message waits in the retry queue before it goes back to work.
    pub retry_delay_ms: u32,
    /// Deliveries before the broker dead-letters a message that keeps failing.
    pub delivery_limit: u32,
}

impl Topology {
    pub fn with_prefix(prefix: &str) -> Self {
        Self {
            exchange: prefix.to_owned(),
            work_queue: format!("{prefix}.study.ready"),
            dead_letter_exchange: format!("{prefix}.dead"),
            dead_letter_queue: format!("{prefix}.study.ready.dead"),
            retry_exchange: format!("{prefix}.retry"),
            retry_queue: format!("{prefix}.study.ready.retry"),
            retry_delay_ms: 30_000,
            delivery_limit: 5,
        }
    }

    /// The same topology with another retry delay (saturating at `u32::MAX` ms). Every
    /// service of a deployment must use the same: RabbitMQ refuses to redeclare a queue
    /// with other arguments.
    pub fn with_retry_delay(mut self, delay: std::time::Duration) -> Self {
        self.retry_delay_ms = u32::try_from(delay.as_millis()).unwrap_or(u32::MAX);
        self
    }

    pub async fn declare(&self, channel: &Channel) -> Result<(), QueueError> {
        for (name, kind) in [
            (&self.exchange, ExchangeKind::Topic),
            (&self.dead_letter_exchange, ExchangeKind::Fanout),
            (&self.retry_exchange, ExchangeKind::Fanout),
        ] {
            channel
                .exchange_declare(short(name), kind, durable_exchange(), FieldTable::default())
                .await
                .map_err(|source| QueueError::Declare {
                    what: "exchange",
                    name: name.clone(),
                    source,
                })?;
        }

        let mut work = quorum_args(&self.dead_letter_exchange);
        work.insert(
            "x-delivery-limit".into(),
            AMQPValue::LongUInt(self.delivery_limit),
        );
        self.declare_queue(channel, &self.work_queue, work).await?;
        self.declare_queue(channel, &self.dead_letter_queue, quorum_plain())
            .await?;
        // The retry queue dead-letters expired messages back to the work exchange; the
        // original routing key is kept, so they land on the work queue again.
        let mut retry = quorum_args(&self.exchange);
        retry.insert(
            "x-message-ttl".into(),
            AMQPValue::LongUInt(self.retry_delay_ms),
        );
        self.declare_queue(channel, &self.retry_queue, retry)
            .await?;

        self.bind(
            channel,
            &self.work_queue,
            &self.exchange,
            StudyReady::ROUTING_KEY,
        )
        .await?;
        self.bind(
            channel,
            &self.dead_letter_queue,
            &self.dead_letter_exchange,
            "",
        )
        .await?;
        self.bind(channel, &self.retry_queue, &self.retry_exchange, "")
            .await
    }

    async fn declare_queue(
        &self,
        channel: &Channel,
        name: &str,
        args: FieldTable,
    ) -> Result<(), QueueError> {
        let options = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        channel
            .queue_declare(short(name), options, args)
            .await
            .map(|_| ())
            .map_err(|source| QueueError::Declare {
                what: "queue",
                name: name.to_owned(),
                source,
            })
    }

    async fn bind(
        &self,
        channel: &Channel,
        queue: &str,
        exchange: &str,
        key: &str,
    ) -> Result<(), QueueError> {
        channel
            .queue_bind(
                short(queue),
                short(exchange),
                short(key),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|source| QueueError::Declare {
                what: "binding of queue",
                name: queue.to_owned(),
                source,
            })
    }
}

fn short(name: &str) -> ShortString {
    name.into()
}

fn durable_exchange() -> ExchangeDeclareOptions {
    ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    }
}

fn quorum_plain() -> FieldTable {
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    args
}

/// A quorum queue that dead-letters at-least-once: RabbitMQ's default (at-most-once) can
/// drop a dead-lettered message, and at-least-once requires `reject-publish` overflow.
fn quorum_args(dead_letter_exchange: &str) -> FieldTable {
    let mut args = quorum_plain();
    args.insert(
        "x-dead-letter-exchange".into(),
        AMQPValue::LongString(dead_letter_exchange.into()),
    );
    args.insert(
        "x-dead-letter-strategy".into(),
        AMQPValue::LongString("at-least-once".into()),
    );
    args.insert(
        "x-overflow".into(),
        AMQPValue::LongString("reject-publish".into()),
    );
    args
}
