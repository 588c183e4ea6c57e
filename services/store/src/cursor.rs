//! Positions in followed feeds (an Orthanc's `/changes`), so a restart resumes where it was.

use crate::{Store, StoreError, query_failed};

impl Store {
    pub async fn feed_cursor(&self, feed: &str) -> Result<Option<i64>, StoreError> {
        sqlx::query_scalar("SELECT last_seq FROM feed_cursors WHERE feed = $1")
            .bind(feed)
            .fetch_optional(&self.pool)
            .await
            .map_err(query_failed("read feed cursor"))
    }

    pub async fn save_feed_cursor(&self, feed: &str, last_seq: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO feed_cursors (feed, last_seq) VALUES ($1, $2)
             ON CONFLICT (feed) DO UPDATE SET last_seq = EXCLUDED.last_seq, updated_at = now()",
        )
        .bind(feed)
        .bind(last_seq)
        .execute(&self.pool)
        .await
        .map_err(query_failed("save feed cursor"))?;
        Ok(())
    }
}
