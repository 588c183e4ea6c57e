//! Connecting with pool settings a service chooses, such as how long a request may wait for
//! a connection while the database is unreachable.

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;

use crate::{Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    pub max_connections: u32,
    /// How long a query waits for a connection before failing. While Postgres is down every
    /// query waits this long, so a sender waiting on the answer should not wait minutes.
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(30),
        }
    }
}

impl Store {
    /// Connects with `settings`. The pool checks each idle connection before handing it
    /// out, so connections broken by a database restart are replaced, not used.
    pub async fn connect_with(
        database_url: &str,
        settings: PoolSettings,
    ) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            .test_before_acquire(true)
            .connect(database_url)
            .await
            .map_err(StoreError::Connect)?;
        Ok(Self::from_pool(pool))
    }
}
