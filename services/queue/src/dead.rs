//! Dead-letter inspection: list what the dead-letter queue holds and replay one study's
//! messages to work, never losing a message.
//!
//! AMQP cannot peek, so both take every message with `basic.get` and manual acks, and
//! close the channel at the end: the broker takes back whatever was not acked. While one
//! of them runs, the messages it holds are invisible to another. Each listing counts as a
//! return in the quorum queue's `x-delivery-count`; the dead-letter queue has no delivery
//! limit on RabbitMQ 3.x, so that costs nothing (RabbitMQ 4 gives every quorum queue a
//! default limit of 20: set one explicitly before upgrading).

use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicGetOptions};
use lapin::{Channel, Connection};
use radraft_core::StudyReady;
use tracing::info;

use crate::{Publisher, QueueError, Topology, headers};

/// AMQP reply code for a normal channel close.
const REPLY_SUCCESS: u16 = 200;

/// One message in the dead-letter queue, without its body (which holds UIDs only, but
/// need not be a valid message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// From the body's `study_uid`, when the body is JSON with one.
    pub study_uid: Option<String>,
    /// From the body's `study_version`, when the body is JSON with one.
    pub study_version: Option<i32>,
    /// Whether the body is a valid `study.ready` message, which [`replay`] can send back.
    pub replayable: bool,
    /// Our `x-radraft-attempt`, 1 when absent.
    pub attempt: u32,
    /// Our `x-radraft-failure`; else the broker's own reason from `x-death`
    /// (`delivery_limit` when the message failed too often, `rejected`, `expired`).
    pub reason: Option<String>,
    pub message_id: Option<String>,
    pub body_len: usize,
}

impl DeadLetter {
    fn of(delivery: &Delivery) -> Self {
        let properties = &delivery.properties;
        let json = serde_json::from_slice::<serde_json::Value>(&delivery.data).ok();
        let field = |name: &str| json.as_ref().and_then(|value| value.get(name).cloned());
        Self {
            study_uid: field("study_uid").and_then(|uid| uid.as_str().map(str::to_owned)),
            study_version: field("study_version")
                .and_then(|version| version.as_i64())
                .and_then(|version| i32::try_from(version).ok()),
            replayable: serde_json::from_slice::<StudyReady>(&delivery.data).is_ok(),
            attempt: headers::u32_header(properties, headers::ATTEMPT).unwrap_or(1),
            reason: headers::string_header(properties, headers::FAILURE)
                .or_else(|| headers::death_reason(properties)),
            message_id: properties
                .message_id()
                .as_ref()
                .map(|id| id.as_str().to_owned()),
            body_len: delivery.data.len(),
        }
    }
}

/// Every message in the dead-letter queue, oldest first; all of them stay there.
pub async fn list(
    connection: &Connection,
    topology: &Topology,
) -> Result<Vec<DeadLetter>, QueueError> {
    let channel = open(connection, topology).await?;
    let outcome = take_all(&channel, &topology.dead_letter_queue)
        .await
        .map(|held| held.iter().map(DeadLetter::of).collect());
    close(channel, outcome).await
}

/// Moves every dead message of `study_uid` whose body is a valid `study.ready` back to the
/// work exchange as attempt 1, acking each dead copy only once its republish is
/// confirmed; every other message stays. Returns how many were replayed.
pub async fn replay(
    connection: &Connection,
    topology: &Topology,
    study_uid: &str,
) -> Result<usize, QueueError> {
    let publisher = Publisher::open(connection, topology).await?;
    let channel = open(connection, topology).await?;
    let outcome = replay_on(&channel, &publisher, topology, study_uid).await;
    close(channel, outcome).await
}

async fn replay_on(
    channel: &Channel,
    publisher: &Publisher,
    topology: &Topology,
    study_uid: &str,
) -> Result<usize, QueueError> {
    let mut replayed = 0;
    for delivery in take_all(channel, &topology.dead_letter_queue).await? {
        let matches = serde_json::from_slice::<StudyReady>(&delivery.data)
            .is_ok_and(|message| message.study_uid.as_str() == study_uid);
        if !matches {
            continue;
        }
        publisher
            .replay(&delivery.data, &delivery.properties)
            .await?;
        let delivery_tag = delivery.delivery_tag;
        let acked = delivery
            .acker
            .ack(BasicAckOptions::default())
            .await
            .map_err(|source| QueueError::Ack {
                delivery_tag,
                source,
            })?;
        if !acked {
            // The channel closed after the republish: the dead copy stays as well, a
            // duplicate rather than a loss.
            return Err(QueueError::ChannelClosed {
                operation: "ack",
                delivery_tag,
            });
        }
        replayed += 1;
    }
    info!(study_uid, replayed, "replayed dead letters");
    Ok(replayed)
}

async fn open(connection: &Connection, topology: &Topology) -> Result<Channel, QueueError> {
    let channel = connection
        .create_channel()
        .await
        .map_err(QueueError::Channel)?;
    topology.declare(&channel).await?;
    Ok(channel)
}

/// Takes, unacked, the messages that were in `queue` when it started: the first
/// `basic.get` says how many, so messages arriving meanwhile are left alone.
async fn take_all(channel: &Channel, queue: &str) -> Result<Vec<Delivery>, QueueError> {
    let get = || async {
        channel
            .basic_get(queue.into(), BasicGetOptions { no_ack: false })
            .await
            .map_err(|source| QueueError::Get {
                queue: queue.to_owned(),
                source,
            })
    };
    let Some(first) = get().await? else {
        return Ok(Vec::new());
    };
    let total = usize::try_from(first.message_count)
        .unwrap_or(usize::MAX)
        .saturating_add(1);
    let mut held = Vec::with_capacity(total.min(1024));
    held.push(first.delivery);
    while held.len() < total {
        match get().await? {
            Some(message) => held.push(message.delivery),
            None => break,
        }
    }
    Ok(held)
}

/// Closes the channel, which returns every unacked message, whatever `outcome` was; an
/// error of the work itself is reported before one of the close.
async fn close<T>(channel: Channel, outcome: Result<T, QueueError>) -> Result<T, QueueError> {
    let closed = channel
        .close(REPLY_SUCCESS, "dead-letter inspection done".into())
        .await
        .map_err(QueueError::Close);
    let value = outcome?;
    closed?;
    Ok(value)
}
