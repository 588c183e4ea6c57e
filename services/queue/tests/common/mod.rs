//! Helpers shared by the integration tests: the broker URL, a topology of their own for
//! each test, and its removal.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use lapin::options::ExchangeDeleteOptions;
use radraft_core::{StudyReady, Uid};
use radraft_queue::Topology;

pub fn amqp_url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// A topology no other test shares, with a short retry delay and a small delivery limit.
pub fn topology() -> Topology {
    let mut topology = Topology::with_prefix(&format!("radraft-test-{}", uuid::Uuid::new_v4()));
    topology.retry_delay_ms = 200;
    topology.delivery_limit = 2;
    topology
}

pub fn study(uid: &str, version: i32) -> StudyReady {
    StudyReady {
        study_uid: Uid::parse(uid).unwrap(),
        study_version: version,
        instance_count: 3,
    }
}

/// Deletes the topology's exchanges; its queues expire on their own (the broker policy
/// `deploy/services.sh` sets on test queues). Deleting a quorum queue while another
/// connection declares it kills RabbitMQ 3.10's dead-letter supervisor for every test.
pub async fn cleanup(channel: &lapin::Channel, topology: &Topology) {
    for exchange in [
        &topology.exchange,
        &topology.dead_letter_exchange,
        &topology.retry_exchange,
    ] {
        let _ = channel
            .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
            .await;
    }
}

/// `future`'s output, or `None` when it takes longer than `millis`.
pub async fn within<F: Future>(millis: u64, future: F) -> Option<F::Output> {
    tokio::time::timeout(Duration::from_millis(millis), future)
        .await
        .ok()
}

/// The consumer's next delivery, which must come within 5 s.
pub async fn next_delivery(consumer: &mut radraft_queue::Consumer) -> radraft_queue::Delivery {
    within(5_000, consumer.next())
        .await
        .expect("a delivery within 5 s")
        .expect("the consumer is open")
        .expect("the delivery is received")
}

/// Polls `check` every 50 ms for up to 5 s until it returns `Some`.
pub async fn eventually<T, F, Fut>(mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    for _ in 0..100 {
        if let Some(value) = check().await {
            return Some(value);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}
