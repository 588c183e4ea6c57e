//! The topology and confirmed publishing against the real RabbitMQ.

use common::{amqp_url, cleanup};
use lapin::options::{BasicGetOptions, BasicRejectOptions};
use radraft_core::{StudyReady, Uid};
use radraft_queue::{Publisher, Topology, connect};

mod common;

#[tokio::test]
async fn publishes_confirmed_persistent_messages_and_dead_letters_rejects() {
    let topology = Topology::with_prefix(&format!("radraft-test-{}", uuid::Uuid::new_v4()));
    let connection = connect(&amqp_url()).await.unwrap();
    let publisher = Publisher::open(&connection, &topology).await.unwrap();
    // Declaring again (as a second service would) must be accepted unchanged.
    let channel = connection.create_channel().await.unwrap();
    topology.declare(&channel).await.unwrap();

    let message = StudyReady {
        study_uid: Uid::parse("1.2.826.0.1.3680043.10.1234.1").unwrap(),
        study_version: 1,
        instance_count: 3,
    };
    publisher.publish_study_ready(&message).await.unwrap();

    let delivery = channel
        .basic_get(
            topology.work_queue.as_str().into(),
            BasicGetOptions::default(),
        )
        .await
        .unwrap()
        .expect("the message is on the work queue");
    assert_eq!(delivery.properties.delivery_mode(), &Some(2));
    let body: StudyReady = serde_json::from_slice(&delivery.data).unwrap();
    assert_eq!(body, message);

    // A worker rejecting permanently sends the message to the dead-letter queue.
    delivery
        .reject(BasicRejectOptions { requeue: false })
        .await
        .unwrap();
    let mut dead = None;
    for _ in 0..50 {
        dead = channel
            .basic_get(
                topology.dead_letter_queue.as_str().into(),
                BasicGetOptions { no_ack: true },
            )
            .await
            .unwrap();
        if dead.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let dead = dead.expect("rejected message reaches the dead-letter queue");
    assert_eq!(
        serde_json::from_slice::<StudyReady>(&dead.data).unwrap(),
        message
    );

    cleanup(&channel, &topology).await;
}

#[tokio::test]
async fn the_retry_queue_delays_a_message_then_returns_it_to_work() {
    let mut topology = Topology::with_prefix(&format!("radraft-test-{}", uuid::Uuid::new_v4()));
    topology.retry_delay_ms = 500;
    let connection = connect(&amqp_url()).await.unwrap();
    Publisher::open(&connection, &topology).await.unwrap();
    let channel = connection.create_channel().await.unwrap();

    // A worker that failed transiently republishes to the retry exchange, keeping the key.
    let body = br#"{"study_uid":"1.2.3","study_version":1,"instance_count":1}"#;
    channel
        .basic_publish(
            topology.retry_exchange.as_str().into(),
            StudyReady::ROUTING_KEY.into(),
            lapin::options::BasicPublishOptions::default(),
            body,
            lapin::BasicProperties::default().with_delivery_mode(2),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    let get = || {
        channel.basic_get(
            topology.work_queue.as_str().into(),
            BasicGetOptions { no_ack: true },
        )
    };
    assert!(get().await.unwrap().is_none(), "not back before the delay");
    let mut back = None;
    for _ in 0..50 {
        back = get().await.unwrap();
        if back.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        back.expect("returned to the work queue after the delay")
            .data,
        body
    );
    cleanup(&channel, &topology).await;
}
