//! The orphan sweep's index lookup and connecting with chosen pool settings.

use std::time::Duration;

use radraft_store::testing::instance;
use radraft_store::{ArchivedFile, PoolSettings, Store};
use sqlx::PgPool;

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn only_keys_some_row_names_are_indexed(pool: PgPool) {
    let store = Store::from_pool(pool);
    let first = instance("3.1", "3.1.1.1", 'a');
    store.record_instance(&first).await.unwrap();
    // A corrected copy supersedes the first row; the first file is still named by it.
    let second = instance("3.1", "3.1.1.1", 'b');
    store.record_instance(&second).await.unwrap();
    let file = |sop: &str, key: &str| ArchivedFile {
        sop_instance_uid: sop.into(),
        archive_key: key.into(),
    };
    let files = [
        file("3.1.1.1", &first.archive_key),
        file("3.1.1.1", &second.archive_key),
        file("3.1.1.1", "3.1/3.1.1/3.1.1.1-cccccccccccccccc.dcm"),
        file("3.1.1.2", "3.1/3.1.1/3.1.1.2-aaaaaaaaaaaaaaaa.dcm"),
    ];
    let indexed = store.indexed_archive_keys(&files).await.unwrap();
    assert_eq!(indexed.len(), 2);
    assert!(indexed.contains(&first.archive_key));
    assert!(indexed.contains(&second.archive_key));
    assert!(store.indexed_archive_keys(&[]).await.unwrap().is_empty());
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn connects_with_chosen_pool_settings(pool: PgPool) {
    let options = pool.connect_options();
    let url = format!(
        "postgres://{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("postgres"),
    );
    let settings = PoolSettings {
        max_connections: 2,
        acquire_timeout: Duration::from_millis(500),
    };
    let store = Store::connect_with(&url, settings).await.unwrap();
    store.ping().await.unwrap();
    assert_eq!(store.pool().options().get_max_connections(), 2);
    assert_eq!(
        store.pool().options().get_acquire_timeout(),
        Duration::from_millis(500)
    );
}
