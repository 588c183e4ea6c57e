//! The worker's consumer against the real RabbitMQ: prefetch, manual acks, requeue, retry
//! and undecodable bodies.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Instant;

use common::{amqp_url, cleanup, eventually, next_delivery, study, topology, within};
use lapin::BasicProperties;
use lapin::options::{BasicGetOptions, BasicPublishOptions};
use radraft_core::StudyReady;
use radraft_queue::{Consumer, Publisher, QueueError, connect, dead};

#[tokio::test]
async fn prefetch_one_holds_the_second_message_until_the_first_is_acked() {
    let topology = topology();
    let connection = connect(&amqp_url()).await.unwrap();
    let publisher = Publisher::open(&connection, &topology).await.unwrap();
    let first = study("1.2.826.0.1.3680043.10.1234.1", 1);
    let second = study("1.2.826.0.1.3680043.10.1234.2", 1);
    publisher.publish_study_ready(&first).await.unwrap();
    publisher.publish_study_ready(&second).await.unwrap();

    let mut consumer = Consumer::open(&connection, &topology, 1, "prefetch-test")
        .await
        .unwrap();
    assert_eq!(consumer.tag(), "prefetch-test");
    let delivery = next_delivery(&mut consumer).await;
    assert_eq!(delivery.message().unwrap(), first);
    assert_eq!(delivery.attempt(), 1);
    assert_eq!(delivery.delivery_count(), 0);
    assert!(!delivery.redelivered());

    assert!(
        within(500, consumer.next()).await.is_none(),
        "prefetch 1: nothing more until the first is acked"
    );
    delivery.ack().await.unwrap();
    let delivery = next_delivery(&mut consumer).await;
    assert_eq!(delivery.message().unwrap(), second);

    // Draining: no new deliveries, but the one in hand can still be acked.
    consumer.cancel().await.unwrap();
    delivery.ack().await.unwrap();
    assert!(within(5_000, consumer.next()).await.unwrap().is_none());
    assert!(consumer.next().await.is_none(), "stays ended");
    consumer.close().await.unwrap();

    let channel = connection.create_channel().await.unwrap();
    let left = channel
        .basic_get(
            topology.work_queue.as_str().into(),
            BasicGetOptions { no_ack: true },
        )
        .await
        .unwrap();
    assert!(left.is_none(), "both messages were acked");
    cleanup(&channel, &topology).await;
}

#[tokio::test]
async fn requeue_counts_a_redelivery() {
    let topology = topology();
    let connection = connect(&amqp_url()).await.unwrap();
    let publisher = Publisher::open(&connection, &topology).await.unwrap();
    let message = study("1.2.826.0.1.3680043.10.1234.3", 2);
    publisher.publish_study_ready(&message).await.unwrap();

    let mut consumer = Consumer::open(&connection, &topology, 1, "").await.unwrap();
    let delivery = next_delivery(&mut consumer).await;
    assert_eq!(delivery.delivery_count(), 0);
    delivery.requeue().await.unwrap();
    let delivery = next_delivery(&mut consumer).await;
    assert_eq!(delivery.message().unwrap(), message);
    assert_eq!(delivery.delivery_count(), 1);
    assert!(delivery.redelivered());
    delivery.ack().await.unwrap();

    consumer.close().await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    cleanup(&channel, &topology).await;
}

#[tokio::test]
async fn a_retried_message_comes_back_after_the_delay_with_the_next_attempt() {
    let topology = topology();
    let connection = connect(&amqp_url()).await.unwrap();
    let publisher = Publisher::open(&connection, &topology).await.unwrap();
    let message = study("1.2.826.0.1.3680043.10.1234.4", 1);
    publisher.publish_study_ready(&message).await.unwrap();

    let mut consumer = Consumer::open(&connection, &topology, 1, "").await.unwrap();
    let mut delivery = next_delivery(&mut consumer).await;
    // Twice: a second trip through the retry queue must not look like a dead-letter
    // cycle to the broker (which would drop the message).
    for next_attempt in [2, 3] {
        let sent = Instant::now();
        publisher
            .retry(&delivery.message().unwrap(), next_attempt)
            .await
            .unwrap();
        delivery.ack().await.unwrap();
        delivery = within(5_000, consumer.next())
            .await
            .expect("back from the retry queue")
            .unwrap()
            .unwrap();
        assert!(
            sent.elapsed().as_millis() >= 150,
            "held for the retry delay"
        );
        assert_eq!(delivery.message().unwrap(), message);
        assert_eq!(delivery.attempt(), next_attempt);
        assert_eq!(delivery.delivery_count(), 0, "a retry is not a redelivery");
    }
    delivery.ack().await.unwrap();

    consumer.close().await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    cleanup(&channel, &topology).await;
}

#[tokio::test]
async fn an_undecodable_body_is_a_typed_error_and_is_dead_lettered_byte_for_byte() {
    let topology = topology();
    let connection = connect(&amqp_url()).await.unwrap();
    let publisher = Publisher::open(&connection, &topology).await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    let body = b"\x00not json {";
    channel
        .basic_publish(
            topology.exchange.as_str().into(),
            StudyReady::ROUTING_KEY.into(),
            BasicPublishOptions::default(),
            body,
            BasicProperties::default().with_message_id("poison-1".into()),
        )
        .await
        .unwrap()
        .await
        .unwrap();

    let mut consumer = Consumer::open(&connection, &topology, 1, "").await.unwrap();
    let delivery = next_delivery(&mut consumer).await;
    let error = delivery.message().unwrap_err();
    assert_eq!(error.delivery_tag, delivery.delivery_tag());
    // The worker's code sees it as a queue error too.
    assert!(matches!(QueueError::from(error), QueueError::Decode(_)));
    publisher
        .dead_letter_delivery(&delivery, "undecodable_message")
        .await
        .unwrap();
    delivery.ack().await.unwrap();

    let listed = dead::list(&connection, &topology).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    let dead = &listed[0];
    assert_eq!(dead.study_uid, None);
    assert!(!dead.replayable);
    assert_eq!(dead.reason.as_deref(), Some("undecodable_message"));
    assert_eq!(dead.attempt, 1);
    assert_eq!(dead.body_len, body.len());
    assert_eq!(dead.message_id.as_deref(), Some("poison-1"));

    let kept = eventually(|| async {
        channel
            .basic_get(
                topology.dead_letter_queue.as_str().into(),
                BasicGetOptions { no_ack: true },
            )
            .await
            .unwrap()
    })
    .await
    .expect("the poison message is still in the dead-letter queue");
    assert_eq!(kept.delivery.data, body);
    assert_eq!(kept.delivery.properties.delivery_mode(), &Some(2));

    consumer.close().await.unwrap();
    cleanup(&channel, &topology).await;
}

#[tokio::test]
async fn the_consumer_ends_when_its_connection_goes() {
    let topology = topology();
    let connection = connect(&amqp_url()).await.unwrap();
    let mut consumer = Consumer::open(&connection, &topology, 1, "").await.unwrap();
    connection.close(200, "test".into()).await.unwrap();
    // An error may come first; the end always follows.
    let mut ended = false;
    for _ in 0..3 {
        match within(5_000, consumer.next())
            .await
            .expect("the consumer ends")
        {
            None => {
                ended = true;
                break;
            }
            Some(item) => assert!(item.is_err(), "no delivery expected"),
        }
    }
    assert!(ended);

    let connection = connect(&amqp_url()).await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    cleanup(&channel, &topology).await;
}
