//! Dead-letter inspection against the real RabbitMQ: listing loses nothing, replay moves
//! only the chosen study, and the broker's delivery limit is listed with its reason.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{amqp_url, cleanup, eventually, next_delivery, study, topology, within};
use radraft_queue::{Consumer, DeadLetter, Publisher, connect, dead};

/// What a listing says about a message: study UID, version, attempt and reason.
type Summary = (Option<String>, Option<i32>, u32, Option<String>);

fn summary(listed: &[DeadLetter]) -> Vec<Summary> {
    let mut summary: Vec<_> = listed
        .iter()
        .map(|dead| {
            (
                dead.study_uid.clone(),
                dead.study_version,
                dead.attempt,
                dead.reason.clone(),
            )
        })
        .collect();
    summary.sort();
    summary
}

#[tokio::test]
async fn listing_shows_reason_and_attempt_and_keeps_every_message() {
    let topology = topology();
    let connection = connect(&amqp_url()).await.unwrap();
    let publisher = Publisher::open(&connection, &topology).await.unwrap();
    let a = study("1.2.826.0.1.3680043.10.1234.10", 1);
    let b = study("1.2.826.0.1.3680043.10.1234.11", 4);
    publisher
        .dead_letter(&a, 3, "model_shape_mismatch")
        .await
        .unwrap();
    publisher
        .dead_letter(&b, 1, "undecodable_dicom")
        .await
        .unwrap();

    let expected = vec![
        (
            Some(a.study_uid.to_string()),
            Some(1),
            3,
            Some("model_shape_mismatch".to_owned()),
        ),
        (
            Some(b.study_uid.to_string()),
            Some(4),
            1,
            Some("undecodable_dicom".to_owned()),
        ),
    ];
    let first = dead::list(&connection, &topology).await.unwrap();
    assert_eq!(summary(&first), expected);
    assert!(
        first
            .iter()
            .all(|dead| dead.replayable && dead.body_len > 0)
    );
    // Listing again, straight away and on another connection, finds the same messages.
    for _ in 0..3 {
        let other = connect(&amqp_url()).await.unwrap();
        assert_eq!(
            summary(&dead::list(&other, &topology).await.unwrap()),
            expected
        );
        assert_eq!(
            summary(&dead::list(&connection, &topology).await.unwrap()),
            expected
        );
    }

    let channel = connection.create_channel().await.unwrap();
    cleanup(&channel, &topology).await;
}

#[tokio::test]
async fn replay_moves_only_the_chosen_study_back_to_work() {
    let topology = topology();
    let connection = connect(&amqp_url()).await.unwrap();
    let publisher = Publisher::open(&connection, &topology).await.unwrap();
    let chosen_v1 = study("1.2.826.0.1.3680043.10.1234.20", 1);
    let chosen_v2 = study("1.2.826.0.1.3680043.10.1234.20", 2);
    let other = study("1.2.826.0.1.3680043.10.1234.21", 1);
    publisher
        .dead_letter(&chosen_v1, 3, "timeout")
        .await
        .unwrap();
    publisher.dead_letter(&other, 2, "timeout").await.unwrap();
    publisher
        .dead_letter(&chosen_v2, 5, "timeout")
        .await
        .unwrap();

    let replayed = dead::replay(&connection, &topology, chosen_v1.study_uid.as_str())
        .await
        .unwrap();
    assert_eq!(replayed, 2);
    let left = dead::list(&connection, &topology).await.unwrap();
    assert_eq!(
        summary(&left),
        vec![(
            Some(other.study_uid.to_string()),
            Some(1),
            2,
            Some("timeout".to_owned())
        )]
    );
    let none = dead::replay(&connection, &topology, "1.2.3.4")
        .await
        .unwrap();
    assert_eq!(none, 0);

    let mut consumer = Consumer::open(&connection, &topology, 10, "")
        .await
        .unwrap();
    let mut back = Vec::new();
    for _ in 0..2 {
        let delivery = next_delivery(&mut consumer).await;
        assert_eq!(delivery.attempt(), 1, "a replay starts again at attempt 1");
        assert!(delivery.replayed(), "and says it is a replay");
        assert_eq!(delivery.delivery_count(), 0);
        back.push(delivery.message().unwrap());
        delivery.ack().await.unwrap();
    }
    back.sort_by_key(|message| message.study_version);
    assert_eq!(back, vec![chosen_v1, chosen_v2]);
    assert!(within(500, consumer.next()).await.is_none(), "nothing else");

    consumer.close().await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    cleanup(&channel, &topology).await;
}

#[tokio::test]
async fn a_message_requeued_past_the_delivery_limit_is_listed_as_delivery_limit() {
    let topology = topology();
    let connection = connect(&amqp_url()).await.unwrap();
    let publisher = Publisher::open(&connection, &topology).await.unwrap();
    let message = study("1.2.826.0.1.3680043.10.1234.30", 1);
    publisher.publish_study_ready(&message).await.unwrap();

    let mut consumer = Consumer::open(&connection, &topology, 1, "").await.unwrap();
    let mut deliveries = 0;
    while let Some(item) = within(2_000, consumer.next()).await {
        let delivery = item.unwrap().unwrap();
        assert_eq!(delivery.delivery_count(), deliveries);
        deliveries += 1;
        assert!(deliveries <= 10, "the broker never dead-lettered it");
        delivery.requeue().await.unwrap();
    }
    assert_eq!(deliveries, topology.delivery_limit + 1);

    let listed = eventually(|| async {
        let listed = dead::list(&connection, &topology).await.unwrap();
        (!listed.is_empty()).then_some(listed)
    })
    .await
    .expect("the broker dead-lettered the message");
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].study_uid.as_deref(),
        Some(message.study_uid.as_str())
    );
    assert_eq!(listed[0].reason.as_deref(), Some("delivery_limit"));
    assert_eq!(listed[0].attempt, 1);

    consumer.close().await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    cleanup(&channel, &topology).await;
}
