//! Which archive keys the index refers to, for the gateway's sweep of orphaned archive
//! files (written, but never indexed because the index write failed).

use std::collections::HashSet;

use crate::{Store, StoreError, query_failed};

/// An archived file the sweep found: its key and the SOP instance UID the key names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedFile {
    pub sop_instance_uid: String,
    pub archive_key: String,
}

impl Store {
    /// The keys among `files` that some instance row (current or superseded) refers to.
    /// Looked up by SOP instance UID first, so the query uses that column's index.
    pub async fn indexed_archive_keys(
        &self,
        files: &[ArchivedFile],
    ) -> Result<HashSet<String>, StoreError> {
        let (uids, keys): (Vec<&str>, Vec<&str>) = files
            .iter()
            .map(|f| (f.sop_instance_uid.as_str(), f.archive_key.as_str()))
            .unzip();
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT archive_key FROM instances
             WHERE sop_instance_uid = ANY($1::text[]) AND archive_key = ANY($2::text[])",
        )
        .bind(&uids)
        .bind(&keys)
        .fetch_all(&self.pool)
        .await
        .map_err(query_failed("look up archive keys"))?;
        Ok(rows.into_iter().collect())
    }
}
