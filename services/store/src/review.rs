//! A radiologist's side of a draft: reading the current draft of a study (a view is an
//! audit event), and deciding on it: accept, edit and accept, or reject with a reason. A
//! decision is taken only on the study's current draft and only once, in one transaction
//! with its audit event.

use serde_json::{Value, json};
use sqlx::{Postgres, Transaction};

use crate::exports::{ExportRequest, queue_export};
use crate::jobs::lock_version;
use crate::{Store, StoreError, audit, query_failed};

/// The current draft of a study, as the study page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewDraft {
    pub draft_id: i64,
    pub study_uid: String,
    pub study_version: i32,
    pub report_text: String,
    pub findings: Option<String>,
    pub impression: Option<String>,
    pub triage_score: Option<f32>,
    pub triage_flag: bool,
    pub triage_question: Option<String>,
    pub provenance: Value,
    /// `pending`, `accepted`, `edited` or `rejected`.
    pub review: String,
    /// The study's current version is newer than this draft's (new images arrived).
    pub newer_version_pending: bool,
}

/// What a radiologist decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Accept,
    Edit {
        findings: String,
        impression: String,
        /// Characters changed from the draft's text (the caller measures it).
        edit_distance: i32,
    },
    Reject {
        reason: String,
    },
}

impl Decision {
    fn state(&self) -> &'static str {
        match self {
            Decision::Accept => "accepted",
            Decision::Edit { .. } => "edited",
            Decision::Reject { .. } => "rejected",
        }
    }
}

/// A recorded decision, with who took it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRecord {
    pub decision: String,
    pub findings: Option<String>,
    pub impression: Option<String>,
    pub reason: Option<String>,
    pub username: String,
    pub display_name: String,
    pub decided_at: chrono::DateTime<chrono::Utc>,
}

/// What [`Store::decide`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decided {
    Recorded,
    /// The draft is not the study's current one: newer images arrived (a newer draft
    /// supersedes it, or will).
    Superseded,
    /// The draft already has a decision.
    AlreadyDecided(String),
    NoSuchDraft,
}

type DraftRow = (
    i64,
    String,
    i32,
    String,
    Option<String>,
    Option<String>,
    Option<f32>,
    bool,
    Option<String>,
    Value,
    String,
    bool,
);

/// Finds draft `draft_id` of `study_uid` and locks its version and study (the lock order
/// every writer keeps): `(study version, made in shadow mode)`, or `None` when there is no
/// such draft. Decisions and amendments re-read what they check under this lock.
pub(crate) async fn lock_draft(
    tx: &mut Transaction<'_, Postgres>,
    study_uid: &str,
    draft_id: i64,
) -> Result<Option<(i32, bool)>, StoreError> {
    let found: Option<(i32, bool)> =
        sqlx::query_as("SELECT study_version, shadow FROM drafts WHERE id = $1 AND study_uid = $2")
            .bind(draft_id)
            .bind(study_uid)
            .fetch_optional(&mut **tx)
            .await
            .map_err(query_failed("read draft"))?;
    if let Some((version, _)) = found {
        lock_version(tx, study_uid, version).await?;
    }
    Ok(found)
}

impl Store {
    /// The study's current draft, if it has one. A shadow draft is never shown or signed,
    /// so it counts as none here and in [`Store::decide`].
    pub async fn current_draft(&self, study_uid: &str) -> Result<Option<ReviewDraft>, StoreError> {
        let row: Option<DraftRow> = sqlx::query_as(
            "SELECT d.id, d.study_uid, d.study_version, d.report_text, d.findings, d.impression,
                    d.triage_score, d.triage_flag, d.triage_question, d.provenance,
                    d.review::text, s.version > d.study_version
             FROM drafts d JOIN studies s ON s.study_uid = d.study_uid
             WHERE d.study_uid = $1 AND d.superseded_at IS NULL AND NOT d.shadow",
        )
        .bind(study_uid)
        .fetch_optional(&self.pool)
        .await
        .map_err(query_failed("read current draft"))?;
        Ok(row.map(|r| ReviewDraft {
            draft_id: r.0,
            study_uid: r.1,
            study_version: r.2,
            report_text: r.3,
            findings: r.4,
            impression: r.5,
            triage_score: r.6,
            triage_flag: r.7,
            triage_question: r.8,
            provenance: r.9,
            review: r.10,
            newer_version_pending: r.11,
        }))
    }

    /// Records that `username` opened a draft.
    pub async fn record_view(&self, draft: &ReviewDraft, username: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(query_failed("begin"))?;
        lock_version(&mut tx, &draft.study_uid, draft.study_version).await?;
        audit::append(
            &mut *tx,
            username,
            "draft.viewed",
            Some(&draft.study_uid),
            json!({ "draft_id": draft.draft_id, "study_version": draft.study_version }),
        )
        .await?;
        tx.commit().await.map_err(query_failed("commit view"))
    }

    /// Records `decision` on draft `draft_id` of `study_uid` by user `user_id`; a signed
    /// report's SR is queued for `export` in the same transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn decide(
        &self,
        study_uid: &str,
        draft_id: i64,
        decision: &Decision,
        user_id: i64,
        username: &str,
        export: Option<&ExportRequest>,
    ) -> Result<Decided, StoreError> {
        let mut tx = self.pool.begin().await.map_err(query_failed("begin"))?;
        // A draft made in shadow mode is never shown, so it cannot be decided either.
        let Some((version, false)) = lock_draft(&mut tx, study_uid, draft_id).await? else {
            return Ok(Decided::NoSuchDraft);
        };
        // Read again under the lock: a newer draft or another decision may have landed.
        // A draft whose study has newer images (a newer version, drafted or not) is not
        // signed: the radiologist reviews the newer one.
        let (superseded, review): (bool, String) = sqlx::query_as(
            "SELECT d.superseded_at IS NOT NULL OR s.version > d.study_version, d.review::text
             FROM drafts d JOIN studies s ON s.study_uid = d.study_uid WHERE d.id = $1",
        )
        .bind(draft_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(query_failed("read draft"))?;
        if superseded {
            return Ok(Decided::Superseded);
        }
        if review != "pending" {
            return Ok(Decided::AlreadyDecided(review));
        }
        let (findings, impression, reason, distance) = match decision {
            Decision::Accept => (None, None, None, Some(0)),
            Decision::Edit {
                findings,
                impression,
                edit_distance,
            } => (
                Some(findings.as_str()),
                Some(impression.as_str()),
                None,
                Some(*edit_distance),
            ),
            Decision::Reject { reason } => (None, None, Some(reason.as_str()), None),
        };
        let state = decision.state();
        sqlx::query(
            "INSERT INTO review_decisions (draft_id, study_uid, decision, findings, impression,
                 reason, user_id, edit_distance)
             VALUES ($1, $2, $3::review_state, $4, $5, $6, $7, $8)",
        )
        .bind(draft_id)
        .bind(study_uid)
        .bind(state)
        .bind(findings)
        .bind(impression)
        .bind(reason)
        .bind(user_id)
        .bind(distance)
        .execute(&mut *tx)
        .await
        .map_err(query_failed("insert decision"))?;
        sqlx::query("UPDATE drafts SET review = $2::review_state WHERE id = $1")
            .bind(draft_id)
            .bind(state)
            .execute(&mut *tx)
            .await
            .map_err(query_failed("mark draft reviewed"))?;
        audit::append(
            &mut *tx,
            username,
            &format!("draft.{state}"),
            Some(study_uid),
            json!({ "draft_id": draft_id, "study_version": version,
                    "findings": findings, "impression": impression, "reason": reason }),
        )
        .await?;
        if let (Some(export), false) = (export, matches!(decision, Decision::Reject { .. })) {
            queue_export(&mut tx, draft_id, study_uid, 1, export).await?;
        }
        tx.commit().await.map_err(query_failed("commit decision"))?;
        Ok(Decided::Recorded)
    }

    /// The decision taken on a draft, if any.
    pub async fn decision(&self, draft_id: i64) -> Result<Option<DecisionRecord>, StoreError> {
        type Row = (
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            String,
            String,
            chrono::DateTime<chrono::Utc>,
        );
        let row: Option<Row> = sqlx::query_as(
            "SELECT r.decision::text, r.findings, r.impression, r.reason, u.username,
                    u.display_name, r.decided_at
             FROM review_decisions r JOIN users u ON u.id = r.user_id
             WHERE r.draft_id = $1",
        )
        .bind(draft_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(query_failed("read decision"))?;
        Ok(row.map(|r| DecisionRecord {
            decision: r.0,
            findings: r.1,
            impression: r.2,
            reason: r.3,
            username: r.4,
            display_name: r.5,
            decided_at: r.6,
        }))
    }

    /// A study's audit trail with times, oldest first: `(id, at, actor, kind, detail)`.
    pub async fn audit_page(
        &self,
        study_uid: &str,
    ) -> Result<Vec<(i64, chrono::DateTime<chrono::Utc>, String, String, Value)>, StoreError> {
        sqlx::query_as(
            "SELECT id, at, actor, kind, detail FROM audit_events
             WHERE study_uid = $1 ORDER BY id",
        )
        .bind(study_uid)
        .fetch_all(&self.pool)
        .await
        .map_err(query_failed("read study audit"))
    }
}
