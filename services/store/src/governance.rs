//! How a department sees whether the model helps: per model version and modality, how many
//! drafts were reviewed, accepted as is, edited or rejected, how much edited drafts were
//! changed, how long signing took, and why drafts were rejected.

use crate::{Store, StoreError, query_failed};

/// One model version on one modality.
#[derive(Debug, Clone, PartialEq)]
pub struct GovernanceRow {
    pub model_id: String,
    pub model_revision: String,
    pub modality: String,
    pub drafts: i64,
    pub reviewed: i64,
    pub accepted: i64,
    pub edited: i64,
    pub rejected: i64,
    /// Mean characters changed in edited drafts.
    pub mean_edit_distance: Option<f64>,
    /// Median seconds from draft to decision.
    pub median_seconds_to_decision: Option<f64>,
}

/// A rejection reason and how often it was given, per model version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectionReason {
    pub model_id: String,
    pub reason: String,
    pub count: i64,
}

type Row = (
    String,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    i64,
    Option<f64>,
    Option<f64>,
);

/// A draft's model and its study's modalities, shared by both queries.
const DRAFTS: &str = "SELECT d.id, d.created_at,
        coalesce(d.provenance -> 'model' ->> 'model_id', 'unknown') AS model_id,
        coalesce(d.provenance -> 'model' ->> 'revision', 'unknown') AS revision,
        coalesce((SELECT string_agg(DISTINCT se.modality, ',' ORDER BY se.modality)
                  FROM series se WHERE se.study_uid = d.study_uid), '') AS modality
    FROM drafts d";

impl Store {
    pub async fn governance(&self) -> Result<Vec<GovernanceRow>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "WITH g AS ({DRAFTS})
             SELECT g.model_id, g.revision, g.modality, count(*), count(r.id),
                    count(*) FILTER (WHERE r.decision = 'accepted'),
                    count(*) FILTER (WHERE r.decision = 'edited'),
                    count(*) FILTER (WHERE r.decision = 'rejected'),
                    (avg(r.edit_distance) FILTER (WHERE r.decision = 'edited'))::float8,
                    percentile_cont(0.5) WITHIN GROUP (
                        ORDER BY extract(epoch FROM r.decided_at - g.created_at))
             FROM g LEFT JOIN review_decisions r ON r.draft_id = g.id
             GROUP BY g.model_id, g.revision, g.modality
             ORDER BY g.model_id, g.revision, g.modality"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(query_failed("read governance"))?;
        Ok(rows
            .into_iter()
            .map(|r| GovernanceRow {
                model_id: r.0,
                model_revision: r.1,
                modality: r.2,
                drafts: r.3,
                reviewed: r.4,
                accepted: r.5,
                edited: r.6,
                rejected: r.7,
                mean_edit_distance: r.8,
                median_seconds_to_decision: r.9,
            })
            .collect())
    }

    /// The most frequent rejection reasons per model version (at most 10 each).
    pub async fn rejection_reasons(&self) -> Result<Vec<RejectionReason>, StoreError> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(&format!(
            "WITH g AS ({DRAFTS}), counted AS (
                 SELECT g.model_id, r.reason, count(*) AS n,
                        row_number() OVER (PARTITION BY g.model_id ORDER BY count(*) DESC, r.reason) AS rank
                 FROM g JOIN review_decisions r ON r.draft_id = g.id
                 WHERE r.decision = 'rejected'
                 GROUP BY g.model_id, r.reason)
             SELECT model_id, reason, n FROM counted WHERE rank <= 10
             ORDER BY model_id, n DESC, reason"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(query_failed("read rejection reasons"))?;
        Ok(rows
            .into_iter()
            .map(|(model_id, reason, count)| RejectionReason {
                model_id,
                reason,
                count,
            })
            .collect())
    }
}
