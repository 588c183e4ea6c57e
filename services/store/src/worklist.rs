//! The radiologists' worklist: every announced study with its AI state and current draft,
//! ordered by triage without hiding anything. Studies waiting longer than the ageing cap
//! come first (oldest first), so a low score never starves a study; then flagged studies,
//! then by score, then studies without a draft by waiting time. A draft made in shadow mode
//! counts as none: its study is listed by waiting time, never hidden, with the AI state
//! `shadow`, and its score orders nothing.
//!
//! The order is read as four segments, each one index scan in its own order, taken in turn
//! until the page is full: one query sorting every study would cost ~180 ms at 100,000
//! studies (docs/benchmarks.md).

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
    pub accession_number: Option<String>,
    pub description: Option<String>,
    /// Modalities of the study's series, comma-separated.
    pub modalities: String,
    /// The study's lifecycle state: `queued`, `processing` (drafting), `drafted`, `failed`,
    /// `out_of_scope`, or `receiving`/`stable` for a study being updated; `shadow` for one
    /// drafted by a model version in shadow mode, whose draft is withheld.
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
    Option<String>,
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

/// The columns of a worklist line, over `studies s` and its current shown draft `d`. A
/// drafted study without one was drafted in shadow mode (its draft is joined out).
const COLUMNS: &str = "SELECT s.study_uid, s.version, s.accession_number, s.study_description,
        array_to_string(s.modalities, ','),
        CASE WHEN s.state = 'drafted' AND d.id IS NULL THEN 'shadow' ELSE s.state::text END,
        s.failure_reason,
        d.id, d.triage_score, coalesce(d.triage_flag, false), d.review::text,
        extract(epoch FROM now() - s.first_received_at)::float8,
        s.first_received_at < $1";

/// The filters, bound as $2 (modality), $3 (review state), $4 (day, UTC); $1 is the
/// ageing cap's cutoff time.
const FILTERS: &str = "s.version >= 1
   AND ($2::text IS NULL OR $2 = ANY (s.modalities))
   AND ($3::text IS NULL OR d.review = $3::review_state)
   AND ($4::date IS NULL OR (s.first_received_at >= $4::date::timestamp AT TIME ZONE 'UTC'
        AND s.first_received_at < ($4::date + 1)::timestamp AT TIME ZONE 'UTC'))";

/// The segments in worklist order: `(from, condition, order)`.
const SEGMENTS: [(&str, &str, &str); 4] = [
    // Past the ageing cap, oldest first.
    (
        "studies s LEFT JOIN drafts d ON d.study_uid = s.study_uid AND d.superseded_at IS NULL
             AND NOT d.shadow",
        "s.first_received_at < $1",
        "s.first_received_at",
    ),
    // Flagged drafts, highest score first.
    (
        "drafts d JOIN studies s ON s.study_uid = d.study_uid",
        "d.superseded_at IS NULL AND d.triage_flag AND NOT d.shadow
         AND s.first_received_at >= $1",
        "d.triage_score DESC NULLS LAST, s.first_received_at",
    ),
    // Other drafts, highest score first.
    (
        "drafts d JOIN studies s ON s.study_uid = d.study_uid",
        "d.superseded_at IS NULL AND NOT d.triage_flag AND NOT d.shadow
         AND s.first_received_at >= $1",
        "d.triage_score DESC NULLS LAST, s.first_received_at",
    ),
    // Studies without a shown draft (queued, drafting, failed, out of scope, drafted in
    // shadow mode), oldest first.
    (
        "studies s LEFT JOIN drafts d ON d.study_uid = s.study_uid AND d.superseded_at IS NULL
             AND NOT d.shadow",
        "d.id IS NULL AND s.first_received_at >= $1",
        "s.first_received_at",
    ),
];

impl Store {
    /// At most `limit` worklist lines in triage order, with `max_wait` as the ageing cap.
    pub async fn worklist(
        &self,
        filter: &WorklistFilter,
        max_wait: Duration,
        limit: i64,
    ) -> Result<Vec<WorklistRow>, StoreError> {
        // The cap as a time, bound as a value: each query is planned for it (an unnamed
        // statement), so a short cap reads the few recent studies by arrival and a long one
        // reads drafts by score.
        let cutoff: chrono::DateTime<chrono::Utc> =
            sqlx::query_scalar("SELECT now() - make_interval(secs => $1)")
                .bind(max_wait.as_secs_f64())
                .fetch_one(&self.pool)
                .await
                .map_err(query_failed("read worklist cutoff"))?;
        let mut lines = Vec::new();
        for (from, condition, order) in SEGMENTS {
            let wanted = limit - lines.len() as i64;
            if wanted <= 0 {
                break;
            }
            let sql = format!(
                "{COLUMNS} FROM {from} WHERE {condition} AND {FILTERS} ORDER BY {order} LIMIT $5"
            );
            let rows: Vec<Row> = sqlx::query_as(&sql)
                .persistent(false)
                .bind(cutoff)
                .bind(&filter.modality)
                .bind(&filter.review)
                .bind(filter.received_on)
                .bind(wanted)
                .fetch_all(&self.pool)
                .await
                .map_err(query_failed("read worklist"))?;
            lines.extend(rows.into_iter().map(line));
        }
        Ok(lines)
    }
}

fn line(r: Row) -> WorklistRow {
    WorklistRow {
        study_uid: r.0,
        version: r.1,
        accession_number: r.2,
        description: r.3,
        modalities: r.4.unwrap_or_default(),
        ai_state: r.5,
        failure_reason: r.6,
        draft_id: r.7,
        triage_score: r.8,
        triage_flag: r.9,
        review: r.10,
        waiting: Duration::from_secs_f64(r.11.max(0.0)),
        overdue: r.12,
    }
}
