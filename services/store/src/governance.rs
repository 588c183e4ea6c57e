//! How a department sees whether the model helps: per model version and modality, how many
//! drafts were shown or kept in shadow, reviewed, accepted as is, edited or rejected, how
//! much edited drafts were changed, how long signing took, and why drafts were rejected
//! (by reason code); beside them the kill switch and the open critical-finding loops.

use radraft_core::review::{OTHER_REASON, rejection_codes};

use crate::{Store, StoreError, query_failed};

/// One model version on one modality. The page and `/metrics` both read these rows, so
/// they agree.
#[derive(Debug, Clone, PartialEq)]
pub struct GovernanceRow {
    pub model_id: String,
    pub model_revision: String,
    pub modality: String,
    /// Drafts shown to radiologists (made while the model version was active).
    pub drafts: i64,
    /// Drafts made in shadow mode: stored and counted, never shown.
    pub shadow_drafts: i64,
    pub reviewed: i64,
    pub accepted: i64,
    pub edited: i64,
    pub rejected: i64,
    /// Characters changed, summed over edited drafts.
    pub edit_distance_sum: i64,
    /// Mean characters changed in edited drafts.
    pub mean_edit_distance: Option<f64>,
    /// Seconds from draft to sign-off (accepted or edited), summed over signed drafts.
    pub seconds_to_sign_sum: f64,
    /// Median seconds from draft to decision.
    pub median_seconds_to_decision: Option<f64>,
}

impl GovernanceRow {
    /// Drafts signed off (accepted as is or edited).
    pub fn signed(&self) -> i64 {
        self.accepted + self.edited
    }
}

/// Rejections of one model version on one modality under one reason code
/// (`radraft_core::review::REJECTION_REASONS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectionReason {
    pub model_id: String,
    pub model_revision: String,
    pub modality: String,
    pub reason: String,
    pub count: i64,
}

/// What governance watches beside the drafts: the kill switch, the critical-finding loops,
/// and the studies waiting for a draft (which pile up while drafting is off).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GovernanceStatus {
    pub drafting_enabled: bool,
    pub open_critical_findings: i64,
    pub closed_critical_findings: i64,
    pub awaiting_draft: i64,
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
    i64,
    i64,
    f64,
    Option<f64>,
);

/// A draft's model, mode and its study's modalities, shared by both queries.
const DRAFTS: &str = "SELECT d.id, d.created_at, d.shadow,
        coalesce(d.provenance -> 'model' ->> 'model_id', 'unknown') AS model_id,
        coalesce(d.provenance -> 'model' ->> 'revision', 'unknown') AS revision,
        coalesce((SELECT string_agg(DISTINCT se.modality, ',' ORDER BY se.modality)
                  FROM series se WHERE se.study_uid = d.study_uid), '') AS modality
    FROM drafts d";

impl Store {
    pub async fn governance(&self) -> Result<Vec<GovernanceRow>, StoreError> {
        // Shadow drafts are never reviewed, so every decision counted is on a shown draft.
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "WITH g AS ({DRAFTS}), j AS (
                 SELECT g.*, r.id AS decision_id, r.decision, r.edit_distance,
                        extract(epoch FROM r.decided_at - g.created_at)::float8 AS seconds
                 FROM g LEFT JOIN review_decisions r ON r.draft_id = g.id)
             SELECT model_id, revision, modality,
                    count(*) FILTER (WHERE NOT shadow), count(*) FILTER (WHERE shadow),
                    count(decision_id),
                    count(*) FILTER (WHERE decision = 'accepted'),
                    count(*) FILTER (WHERE decision = 'edited'),
                    count(*) FILTER (WHERE decision = 'rejected'),
                    coalesce(sum(edit_distance) FILTER (WHERE decision = 'edited'), 0)::int8,
                    coalesce(sum(seconds) FILTER (WHERE decision IN ('accepted', 'edited')), 0),
                    percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds)
             FROM j
             GROUP BY model_id, revision, modality
             ORDER BY model_id, revision, modality"
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
                shadow_drafts: r.4,
                reviewed: r.5,
                accepted: r.6,
                edited: r.7,
                rejected: r.8,
                edit_distance_sum: r.9,
                mean_edit_distance: (r.7 > 0).then(|| r.9 as f64 / r.7 as f64),
                seconds_to_sign_sum: r.10,
                median_seconds_to_decision: r.11,
            })
            .collect())
    }

    /// Rejections per model version, modality and reason code. A reason counts under the
    /// text before its first `:` when that is a known code, else under `other`: free text
    /// never becomes a label.
    pub async fn rejection_reasons(&self) -> Result<Vec<RejectionReason>, StoreError> {
        let rows: Vec<(String, String, String, String, i64)> = sqlx::query_as(&format!(
            "WITH g AS ({DRAFTS})
             SELECT g.model_id, g.revision, g.modality,
                    CASE WHEN split_part(r.reason, ':', 1) = ANY($1)
                         THEN split_part(r.reason, ':', 1) ELSE $2 END AS code,
                    count(*)
             FROM g JOIN review_decisions r ON r.draft_id = g.id
             WHERE r.decision = 'rejected'
             GROUP BY 1, 2, 3, 4
             ORDER BY 1, 2, 3, count(*) DESC, 4"
        ))
        .bind(rejection_codes())
        .bind(OTHER_REASON)
        .fetch_all(&self.pool)
        .await
        .map_err(query_failed("read rejection reasons"))?;
        Ok(rows
            .into_iter()
            .map(|r| RejectionReason {
                model_id: r.0,
                model_revision: r.1,
                modality: r.2,
                reason: r.3,
                count: r.4,
            })
            .collect())
    }

    pub async fn governance_status(&self) -> Result<GovernanceStatus, StoreError> {
        let (drafting_enabled, open, closed, awaiting): (bool, i64, i64, i64) = sqlx::query_as(
            "SELECT coalesce((SELECT enabled FROM drafting_switch), true),
                    (SELECT count(*) FROM critical_findings WHERE recipient IS NULL),
                    (SELECT count(*) FROM critical_findings WHERE recipient IS NOT NULL),
                    (SELECT count(*) FROM studies
                     WHERE version >= 1 AND state IN ('stable', 'queued'))",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(query_failed("read governance status"))?;
        Ok(GovernanceStatus {
            drafting_enabled,
            open_critical_findings: open,
            closed_critical_findings: closed,
            awaiting_draft: awaiting,
        })
    }
}
