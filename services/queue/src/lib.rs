//! RabbitMQ for radraft: the topology every service declares, and publishing with confirms.

mod publish;
mod topology;

pub use publish::Publisher;
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
    #[error("the broker refused message for {routing_key:?} (negative acknowledgement)")]
    Nacked { routing_key: String },
    #[error("the broker could not route message for {routing_key:?}: no queue is bound")]
    Unroutable { routing_key: String },
    #[error("could not encode message")]
    Encode(#[from] serde_json::Error),
}

/// Opens a connection with the tokio runtime lapin ships by default.
pub async fn connect(amqp_url: &str) -> Result<lapin::Connection, QueueError> {
    lapin::Connection::connect(amqp_url, lapin::ConnectionProperties::default())
        .await
        .map_err(QueueError::Connect)
}
