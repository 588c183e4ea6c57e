//! Reports out to the PACS: one SR per report revision and destination, queued in the
//! transaction that made the revision, sent by an exporter that claims due rows, and
//! retried until the PACS confirms. Each confirmed export is an audit event.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{Postgres, Transaction};

use crate::jobs::lock_study;
use crate::{Store, StoreError, audit, query_failed};

/// Where a revision goes and the UIDs its SR will carry (fixed now, so a retry resends the
/// same object). A report's later revisions reuse the series of its first export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRequest {
    pub destination: String,
    pub sop_instance_uid: String,
    pub series_instance_uid: String,
}

/// An export claimed for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueExport {
    pub id: i64,
    pub draft_id: i64,
    pub study_uid: String,
    pub revision: i32,
    pub destination: String,
    pub sop_instance_uid: String,
    pub series_instance_uid: String,
    /// Including this one.
    pub attempts: i32,
    /// The SR this one supersedes: the latest earlier revision's, if it reached the PACS.
    pub predecessor_sop_instance_uid: Option<String>,
    pub predecessor_series_uid: Option<String>,
}

/// An export as the study page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportStatus {
    pub revision: i32,
    pub destination: String,
    pub sop_instance_uid: String,
    /// `pending`, `sent` or `failed`.
    pub state: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// An image the SR references: `(series, SOP class, SOP instance, archive key)`.
pub type ReferencedObject = (String, String, String, String);

/// Queues revision `revision` of the report on `draft_id` for `request.destination`, once.
pub(crate) async fn queue_export(
    tx: &mut Transaction<'_, Postgres>,
    draft_id: i64,
    study_uid: &str,
    revision: i32,
    request: &ExportRequest,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO report_exports (draft_id, study_uid, revision, destination,
             sop_instance_uid, series_instance_uid)
         VALUES ($1, $2, $3, $4, $5, coalesce(
             (SELECT series_instance_uid FROM report_exports
              WHERE draft_id = $1 AND destination = $4 ORDER BY revision LIMIT 1), $6))
         ON CONFLICT (draft_id, revision, destination) DO NOTHING",
    )
    .bind(draft_id)
    .bind(study_uid)
    .bind(revision)
    .bind(&request.destination)
    .bind(&request.sop_instance_uid)
    .bind(&request.series_instance_uid)
    .execute(&mut **tx)
    .await
    .map_err(query_failed("queue export"))?;
    Ok(())
}

type DueRow = (
    i64,
    i64,
    String,
    i32,
    String,
    String,
    String,
    i32,
    Option<String>,
    Option<String>,
);

impl Store {
    /// Queues revision `revision` of the report on `draft_id` (drafts are queued this way;
    /// decisions and amendments queue theirs in their own transaction).
    pub async fn queue_export(
        &self,
        draft_id: i64,
        study_uid: &str,
        revision: i32,
        request: &ExportRequest,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(query_failed("begin"))?;
        queue_export(&mut tx, draft_id, study_uid, revision, request).await?;
        tx.commit().await.map_err(query_failed("commit export"))
    }

    /// Current unreviewed drafts (not in shadow mode) whose draft SR is not yet queued for
    /// `destination`: `(draft_id, study_uid)`, oldest first.
    pub async fn drafts_awaiting_export(
        &self,
        destination: &str,
        limit: i64,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        sqlx::query_as(
            "SELECT d.id, d.study_uid FROM drafts d
             WHERE d.superseded_at IS NULL AND d.review = 'pending' AND NOT d.shadow
               AND NOT EXISTS (SELECT 1 FROM report_exports e
                               WHERE e.draft_id = d.id AND e.destination = $1)
             ORDER BY d.id LIMIT $2",
        )
        .bind(destination)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(query_failed("read drafts awaiting export"))
    }

    /// Claims the next due export for `destination`, holding it for `lease` (another
    /// exporter skips it meanwhile; a crashed one's claim lapses). A report's revisions go
    /// out in order: a revision waits while an earlier one is still pending.
    pub async fn claim_export(
        &self,
        destination: &str,
        lease: Duration,
    ) -> Result<Option<DueExport>, StoreError> {
        let row: Option<DueRow> = sqlx::query_as(
            "WITH claimed AS (
                 UPDATE report_exports x
                 SET next_attempt_at = now() + make_interval(secs => $2), attempts = attempts + 1
                 WHERE x.id = (
                     SELECT e.id FROM report_exports e
                     WHERE e.state = 'pending' AND e.destination = $1
                       AND e.next_attempt_at <= now()
                       AND NOT EXISTS (SELECT 1 FROM report_exports p
                                       WHERE p.draft_id = e.draft_id
                                         AND p.destination = e.destination
                                         AND p.revision < e.revision AND p.state = 'pending')
                     ORDER BY e.next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED)
                 RETURNING x.id, x.draft_id, x.study_uid, x.revision, x.destination,
                     x.sop_instance_uid, x.series_instance_uid, x.attempts)
             SELECT c.*, p.sop_instance_uid, p.series_instance_uid
             FROM claimed c LEFT JOIN LATERAL (
                 SELECT p.sop_instance_uid, p.series_instance_uid FROM report_exports p
                 WHERE p.draft_id = c.draft_id AND p.destination = c.destination
                   AND p.revision < c.revision AND p.state = 'sent'
                 ORDER BY p.revision DESC LIMIT 1) p ON true",
        )
        .bind(destination)
        .bind(lease.as_secs_f64())
        .fetch_optional(&self.pool)
        .await
        .map_err(query_failed("claim export"))?;
        Ok(row.map(|r| DueExport {
            id: r.0,
            draft_id: r.1,
            study_uid: r.2,
            revision: r.3,
            destination: r.4,
            sop_instance_uid: r.5,
            series_instance_uid: r.6,
            attempts: r.7,
            predecessor_sop_instance_uid: r.8,
            predecessor_series_uid: r.9,
        }))
    }

    /// The PACS confirmed `export` (status `status`): marked sent, with its audit event.
    pub async fn export_sent(&self, export: &DueExport, status: u16) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(query_failed("begin"))?;
        // Audit events are appended holding the study row (ARCHITECTURE: lock order).
        lock_study(&mut tx, &export.study_uid).await?;
        let updated = sqlx::query(
            "UPDATE report_exports SET state = 'sent', sent_at = now(), last_error = NULL
             WHERE id = $1 AND state = 'pending'",
        )
        .bind(export.id)
        .execute(&mut *tx)
        .await
        .map_err(query_failed("mark export sent"))?;
        if updated.rows_affected() == 1 {
            audit::append(
                &mut *tx,
                "exporter",
                "report.exported",
                Some(&export.study_uid),
                json!({ "draft_id": export.draft_id, "revision": export.revision,
                        "destination": export.destination,
                        "sop_instance_uid": export.sop_instance_uid,
                        "status": format!("{status:04X}"), "attempts": export.attempts }),
            )
            .await?;
        }
        tx.commit()
            .await
            .map_err(query_failed("commit export sent"))
    }

    /// Sending `export` failed with `error`: tried again after `retry_after`, or, when the
    /// PACS refused it for good (`None`), marked failed with an audit event.
    pub async fn export_failed(
        &self,
        export: &DueExport,
        error: &str,
        retry_after: Option<Duration>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(query_failed("begin"))?;
        lock_study(&mut tx, &export.study_uid).await?;
        match retry_after {
            Some(delay) => {
                sqlx::query(
                    "UPDATE report_exports SET last_error = $2,
                         next_attempt_at = now() + make_interval(secs => $3)
                     WHERE id = $1 AND state = 'pending'",
                )
                .bind(export.id)
                .bind(error)
                .bind(delay.as_secs_f64())
                .execute(&mut *tx)
                .await
                .map_err(query_failed("reschedule export"))?;
            }
            None => {
                sqlx::query(
                    "UPDATE report_exports SET state = 'failed', last_error = $2
                     WHERE id = $1 AND state = 'pending'",
                )
                .bind(export.id)
                .bind(error)
                .execute(&mut *tx)
                .await
                .map_err(query_failed("mark export failed"))?;
                audit::append(
                    &mut *tx,
                    "exporter",
                    "report.export_failed",
                    Some(&export.study_uid),
                    json!({ "draft_id": export.draft_id, "revision": export.revision,
                            "destination": export.destination,
                            "sop_instance_uid": export.sop_instance_uid,
                            "error": error, "attempts": export.attempts }),
                )
                .await?;
            }
        }
        tx.commit()
            .await
            .map_err(query_failed("commit export failure"))
    }

    /// The exports of a study's reports, by revision.
    pub async fn study_exports(&self, study_uid: &str) -> Result<Vec<ExportStatus>, StoreError> {
        type Row = (
            i32,
            String,
            String,
            String,
            i32,
            Option<String>,
            Option<DateTime<Utc>>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT revision, destination, sop_instance_uid, state::text, attempts, last_error,
                    sent_at
             FROM report_exports WHERE study_uid = $1 ORDER BY draft_id, revision, destination",
        )
        .bind(study_uid)
        .fetch_all(&self.pool)
        .await
        .map_err(query_failed("read study exports"))?;
        Ok(rows
            .into_iter()
            .map(|r| ExportStatus {
                revision: r.0,
                destination: r.1,
                sop_instance_uid: r.2,
                state: r.3,
                attempts: r.4,
                last_error: r.5,
                sent_at: r.6,
            })
            .collect())
    }

    /// The images of a study version, for an SR's evidence.
    pub async fn version_objects(
        &self,
        study_uid: &str,
        version: i32,
    ) -> Result<Vec<ReferencedObject>, StoreError> {
        sqlx::query_as(
            "SELECT i.series_uid, i.sop_class_uid, i.sop_instance_uid, i.archive_key
             FROM study_version_instances v JOIN instances i ON i.id = v.instance_id
             WHERE v.study_uid = $1 AND v.version = $2
             ORDER BY i.series_uid, i.sop_instance_uid",
        )
        .bind(study_uid)
        .bind(version)
        .fetch_all(&self.pool)
        .await
        .map_err(query_failed("read version objects"))
    }
}
