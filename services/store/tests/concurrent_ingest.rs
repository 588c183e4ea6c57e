//! Instances of one study recorded at once, as several associations send them, while the
//! settle loop runs: they share the study's row (see `Store::record_instance`), and no
//! version is ever cut that misses one of them or counts one twice.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use radraft_store::testing::instance;
use radraft_store::{Recorded, Store};
use sqlx::PgPool;

const STUDY: &str = "1.2.9";

async fn scalar(store: &Store, study: &str, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(study)
        .fetch_one(store.pool())
        .await
        .unwrap()
}

/// Four senders of 25 instances each into `study` (which already has one), while the
/// settle loop runs with no quiet period at all, cutting a version at every gap.
async fn send_while_settling(store: &Store, study: &str) -> usize {
    store
        .record_instance(&instance(study, &format!("{study}.1.0"), 'a'))
        .await
        .unwrap();
    let senders: Vec<_> = (0..4)
        .map(|sender| {
            let (store, study) = (store.clone(), study.to_owned());
            tokio::spawn(async move {
                for n in 1..=25 {
                    let sop = format!("{study}.1.{}", sender * 100 + n);
                    let recorded = store.record_instance(&instance(&study, &sop, 'a')).await;
                    assert_eq!(recorded.unwrap(), Recorded::New, "{sop}");
                }
            })
        })
        .collect();
    let settler = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut cuts = 0;
            for _ in 0..200 {
                cuts += store
                    .settle_quiet_studies(Duration::ZERO)
                    .await
                    .unwrap()
                    .len();
                tokio::task::yield_now().await;
            }
            cuts
        })
    };
    for sender in senders {
        sender.await.unwrap();
    }
    let cuts = settler.await.unwrap();
    store.settle_quiet_studies(Duration::ZERO).await.unwrap();
    cuts
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn instances_recorded_at_once_while_the_study_settles_all_land_in_its_last_version(
    pool: PgPool,
) {
    let store = Store::from_pool(pool);
    // A lost race shows in some rounds only.
    for round in 0..5 {
        let study = format!("{STUDY}.{round}");
        let cuts = send_while_settling(&store, &study).await;
        let state: String =
            sqlx::query_scalar("SELECT state::text FROM studies WHERE study_uid = $1")
                .bind(&study)
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert_eq!(state, "stable", "{cuts} versions cut while sending");
        let members = scalar(
            &store,
            &study,
            "SELECT count(*) FROM study_version_instances m JOIN studies s
                 ON s.study_uid = m.study_uid AND s.version = m.version
             WHERE m.study_uid = $1",
        )
        .await;
        assert_eq!(
            members, 101,
            "the last of {cuts} versions holds every instance"
        );
        // Every version's count is its membership: none counted an instance it lacks.
        let mismatched = scalar(
            &store,
            &study,
            "SELECT count(*) FROM study_versions v
             WHERE v.study_uid = $1 AND v.instance_count <> (SELECT count(*)
                 FROM study_version_instances m
                 WHERE m.study_uid = v.study_uid AND m.version = v.version)",
        )
        .await;
        assert_eq!(mismatched, 0);
    }
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn copies_of_one_object_recorded_at_once_are_indexed_once(pool: PgPool) {
    let store = Store::from_pool(pool);
    store
        .record_instance(&instance(STUDY, "1.2.9.1.0", 'a'))
        .await
        .unwrap();
    let copies: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .record_instance(&instance(STUDY, "1.2.9.1.1", 'b'))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for copy in copies {
        outcomes.push(copy.await.unwrap());
    }
    let new = outcomes.iter().filter(|o| **o == Recorded::New).count();
    let duplicates = outcomes
        .iter()
        .filter(|o| **o == Recorded::Duplicate)
        .count();
    assert_eq!((new, duplicates), (1, 7), "{outcomes:?}");
    let rows = scalar(
        &store,
        STUDY,
        "SELECT count(*) FROM instances WHERE study_uid = $1",
    )
    .await;
    assert_eq!(rows, 2);
}
