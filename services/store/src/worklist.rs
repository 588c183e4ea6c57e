//! The radiologists' worklist: every announced study with its AI state and current draft,
//! ordered by triage without hiding anything. Studies waiting longer than the ageing cap
//! come first (oldest first), so a low score never starves a study; then flagged studies,
//! then by score, then by waiting time.

use std::time::Duration;

use chrono::NaiveDate;

use crate::{Store, StoreError, query_failed};

/// Optional filters; `None` lets everything through.
#[derive(Debug, Clone, Default)]
pub struct WorklistFilter {
    pub modality: Option<String>,
    /// A draft review state: `pending`, `accepted`, `edited`, `rejected`.
    pub review: Option<String>,
    /// Studies first received on this day (UTC).
    pub received_on: Option<NaiveDate>,
}

/// One worklist line.
#[derive(Debug, Clone, PartialEq)]
pub struct WorklistRow {
    pub study_uid: String,
    pub version: i32,
    /// Modalities of the study's series, comma-separated.
    pub modalities: String,
    /// The study's lifecycle state: `queued`, `processing` (drafting), `drafted`, `failed`,
    /// `out_of_scope`, or `receiving`/`stable` for a study being updated.
    pub ai_state: String,
    pub failure_reason: Option<String>,
    pub draft_id: Option<i64>,
    pub triage_score: Option<f32>,
    pub triage_flag: bool,
    pub review: Option<String>,
    pub waiting: Duration,
    /// Waiting longer than the ageing cap.
    pub overdue: bool,
}

type Row = (
    String,
    i32,
    Option<String>,
    String,
    Option<String>,
    Option<i64>,
    Option<f32>,
    bool,
    Option<String>,
    f64,
    bool,
);

impl Store {
    /// At most `limit` worklist lines in triage order, with `max_wait` as the ageing cap.
    pub async fn worklist(
        &self,
        filter: &WorklistFilter,
        max_wait: Duration,
        limit: i64,
    ) -> Result<Vec<WorklistRow>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT s.study_uid, s.version,
                    (SELECT string_agg(DISTINCT se.modality, ',' ORDER BY se.modality)
                     FROM series se WHERE se.study_uid = s.study_uid),
                    s.state::text, s.failure_reason,
                    d.id, d.triage_score, coalesce(d.triage_flag, false), d.review::text,
                    extract(epoch FROM now() - s.first_received_at)::float8,
                    now() - s.first_received_at > make_interval(secs => $1)
             FROM studies s
             LEFT JOIN drafts d ON d.study_uid = s.study_uid AND d.superseded_at IS NULL
             WHERE s.version >= 1
               AND ($2::text IS NULL OR EXISTS (
                     SELECT 1 FROM series se WHERE se.study_uid = s.study_uid AND se.modality = $2))
               AND ($3::text IS NULL OR d.review::text = $3)
               AND ($4::date IS NULL OR (s.first_received_at AT TIME ZONE 'UTC')::date = $4)
             ORDER BY 11 DESC,
                      CASE WHEN now() - s.first_received_at > make_interval(secs => $1)
                           THEN s.first_received_at END ASC NULLS LAST,
                      8 DESC, d.triage_score DESC NULLS LAST, s.first_received_at ASC
             LIMIT $5",
        )
        .bind(max_wait.as_secs_f64())
        .bind(&filter.modality)
        .bind(&filter.review)
        .bind(filter.received_on)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(query_failed("read worklist"))?;
        Ok(rows
            .into_iter()
            .map(|r| WorklistRow {
                study_uid: r.0,
                version: r.1,
                modalities: r.2.unwrap_or_default(),
                ai_state: r.3,
                failure_reason: r.4,
                draft_id: r.5,
                triage_score: r.6,
                triage_flag: r.7,
                review: r.8,
                waiting: Duration::from_secs_f64(r.9.max(0.0)),
                overdue: r.10,
            })
            .collect())
    }
}
