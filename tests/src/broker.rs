//! Reading what the gateway announced, straight from the work queue.

use std::time::{Duration, Instant};

use lapin::options::{BasicGetOptions, ExchangeDeleteOptions};
use radraft_core::StudyReady;
use radraft_queue::Topology;

pub fn amqp_url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

pub struct WorkQueue {
    channel: lapin::Channel,
    topology: Topology,
}

impl WorkQueue {
    pub async fn open(topology: &Topology) -> Self {
        Self::open_at(&amqp_url(), topology).await
    }

    /// On the broker `url` names (a private broker of a fault test).
    pub async fn open_at(url: &str, topology: &Topology) -> Self {
        let connection = radraft_queue::connect(url).await.unwrap();
        let channel = connection.create_channel().await.unwrap();
        Self {
            channel,
            topology: topology.clone(),
        }
    }

    /// Waits up to `timeout` for the next `study.ready`, acknowledging it.
    pub async fn next_ready(&self, timeout: Duration) -> Option<StudyReady> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let got = self
                .channel
                .basic_get(
                    self.topology.work_queue.as_str().into(),
                    BasicGetOptions { no_ack: true },
                )
                .await
                .unwrap();
            if let Some(message) = got {
                return Some(
                    serde_json::from_slice(&message.data).expect("study.ready is valid JSON"),
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }

    /// Every `study.ready` that arrives within `window`.
    pub async fn drain(&self, window: Duration) -> Vec<StudyReady> {
        let deadline = Instant::now() + window;
        let mut all = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.next_ready(left).await {
                Some(message) => all.push(message),
                None => break,
            }
        }
        all
    }

    /// Deletes the topology's exchanges and leaves its queues to expire (the broker policy
    /// `deploy/services.sh` sets on test queues). On RabbitMQ 3.10 a quorum queue deleted
    /// while another connection declares it (a gateway's announcer connecting as the test
    /// ends) takes the broker's dead-letter supervisor down: every later queue of every
    /// test is then refused.
    pub async fn delete(self) {
        let t = &self.topology;
        for exchange in [&t.exchange, &t.dead_letter_exchange, &t.retry_exchange] {
            let _ = self
                .channel
                .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                .await;
        }
    }
}
