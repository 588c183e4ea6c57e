//! RabbitMQ for radraft: the topology every service declares, confirmed publishing, the
//! worker's consumer with manual acknowledgements, and dead-letter inspection.
//!
//! - [`Topology`] names and declares the exchanges and queues (see ARCHITECTURE.md).
//! - [`Publisher`] publishes with confirms: `study.ready` for the gateway, and for the
//!   worker [`Publisher::retry`] (back to work after the retry delay) and
//!   [`Publisher::dead_letter`] / [`Publisher::dead_letter_raw`] (kept for inspection with
//!   the failure reason). The worker acks the original only after such a publish returns.
//! - [`Consumer`] consumes the work queue with a prefetch limit and yields [`Delivery`]s,
//!   each settled once by [`Delivery::ack`] or [`Delivery::requeue`].
//! - [`connect_trusting`] opens a connection, verifying an `amqps://` broker against the
//!   system's roots or only a deployment's CA ([`BrokerTrust`], [`read_ca_file`]).
//! - [`dead::list`] and [`dead::replay`] inspect and replay the dead-letter queue without
//!   losing messages.
//!
//! Message headers: `x-radraft-attempt` (our attempt number, 1 when absent) and
//! `x-radraft-failure` (why we dead-lettered a message); the broker adds
//! `x-delivery-count` (quorum queue redeliveries) and `x-death` (its own dead-lettering).

mod consume;
pub mod dead;
mod delivery;
mod headers;
mod publish;
mod tls;
mod topology;

pub use consume::Consumer;
pub use dead::DeadLetter;
pub use delivery::{DecodeError, Delivery};
pub use publish::Publisher;
pub use tls::{
    BrokerTrust, CA_FILE_SETTING, CaFileError, broker_trust_setting, connect_trusting, read_ca_file,
};
pub use topology::Topology;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("could not connect to the broker")]
    Connect(#[source] lapin::Error),
    #[error("could not open a channel")]
    Channel(#[source] lapin::Error),
    #[error("could not declare {what} {name:?}")]
    Declare {
        what: &'static str,
        name: String,
        #[source]
        source: lapin::Error,
    },
    #[error("could not publish to {exchange:?} with key {routing_key:?}")]
    Publish {
        exchange: String,
        routing_key: String,
        #[source]
        source: lapin::Error,
    },
    #[error(
        "the broker refused message to {exchange:?} for {routing_key:?} (negative acknowledgement)"
    )]
    Nacked {
        exchange: String,
        routing_key: String,
    },
    #[error(
        "the broker could not route message to {exchange:?} for {routing_key:?}: no queue is bound"
    )]
    Unroutable {
        exchange: String,
        routing_key: String,
    },
    #[error("could not encode message")]
    Encode(#[from] serde_json::Error),
    #[error("could not set the prefetch limit to {prefetch}")]
    Qos {
        prefetch: u16,
        #[source]
        source: lapin::Error,
    },
    #[error("could not start consuming {queue:?}")]
    Consume {
        queue: String,
        #[source]
        source: lapin::Error,
    },
    #[error("the consumer's channel failed")]
    Receive(#[source] lapin::Error),
    #[error("could not cancel consumer {consumer_tag:?}")]
    Cancel {
        consumer_tag: String,
        #[source]
        source: lapin::Error,
    },
    #[error("could not close the channel")]
    Close(#[source] lapin::Error),
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("could not ack delivery {delivery_tag}")]
    Ack {
        delivery_tag: u64,
        #[source]
        source: lapin::Error,
    },
    #[error("could not requeue delivery {delivery_tag}")]
    Requeue {
        delivery_tag: u64,
        #[source]
        source: lapin::Error,
    },
    /// The channel closed before the delivery was settled: the broker redelivers it.
    #[error("could not {operation} delivery {delivery_tag}: its channel has closed")]
    ChannelClosed {
        operation: &'static str,
        delivery_tag: u64,
    },
    #[error("could not get a message from {queue:?}")]
    Get {
        queue: String,
        #[source]
        source: lapin::Error,
    },
}

/// Opens a connection with the tokio runtime lapin ships by default; an `amqps://` broker
/// is verified against the system's roots (see [`connect_trusting`] for a private CA).
pub async fn connect(amqp_url: &str) -> Result<lapin::Connection, QueueError> {
    connect_trusting(amqp_url, &BrokerTrust::SystemRoots).await
}
