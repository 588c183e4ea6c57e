//! The append-only audit trail: every AI suggestion, every human decision, every version.

use serde_json::Value;
use sqlx::{PgExecutor, Row};

use crate::{Store, StoreError, query_failed};

#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub actor: String,
    pub kind: String,
    pub study_uid: Option<String>,
    pub detail: Value,
}

pub(crate) async fn append<'e>(
    executor: impl PgExecutor<'e>,
    actor: &str,
    kind: &str,
    study_uid: Option<&str>,
    detail: Value,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_events (actor, kind, study_uid, detail) VALUES ($1, $2, $3, $4)",
    )
    .bind(actor)
    .bind(kind)
    .bind(study_uid)
    .bind(detail)
    .execute(executor)
    .await
    .map_err(query_failed("append audit event"))?;
    Ok(())
}

impl Store {
    pub async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        append(
            &self.pool,
            &event.actor,
            &event.kind,
            event.study_uid.as_deref(),
            event.detail.clone(),
        )
        .await
    }

    /// The audit trail of one study, oldest first.
    pub async fn audit_trail(&self, study_uid: &str) -> Result<Vec<AuditEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT actor, kind, study_uid, detail FROM audit_events WHERE study_uid = $1 ORDER BY id",
        )
        .bind(study_uid)
        .fetch_all(&self.pool)
        .await
        .map_err(query_failed("read audit trail"))?;
        rows.into_iter()
            .map(|row| {
                Ok(AuditEvent {
                    actor: row
                        .try_get("actor")
                        .map_err(query_failed("decode audit actor"))?,
                    kind: row
                        .try_get("kind")
                        .map_err(query_failed("decode audit kind"))?,
                    study_uid: row
                        .try_get("study_uid")
                        .map_err(query_failed("decode audit study"))?,
                    detail: row
                        .try_get("detail")
                        .map_err(query_failed("decode audit detail"))?,
                })
            })
            .collect()
    }
}
