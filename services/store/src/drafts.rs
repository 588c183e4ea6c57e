//! Drafts: the job, the draft, its provenance and its audit events in one transaction. A
//! later version's draft supersedes the earlier ones (kept, linked, audited).

use serde_json::{Value, json};

use crate::jobs::{final_outcome, finish_job, lock_version, set_study_state};
use crate::{Outcome, Store, StoreError, audit, query_failed};

/// A draft the worker produced for one study version.
#[derive(Debug, Clone)]
pub struct NewDraft {
    pub job_id: i64,
    pub study_uid: String,
    pub study_version: i32,
    /// The generated text, as it came.
    pub report_text: String,
    pub findings: Option<String>,
    pub impression: Option<String>,
    /// P(yes) / (P(yes) + P(no)) for the recipe's critical-finding question.
    pub triage_score: Option<f32>,
    pub triage_flag: bool,
    pub triage_question: Option<String>,
    pub provenance: Value,
}

/// What [`Store::record_draft`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DraftRecorded {
    Created {
        draft_id: i64,
        /// Earlier versions' drafts this one superseded.
        superseded: Vec<i64>,
        /// Made in shadow mode: never shown to radiologists.
        shadow: bool,
    },
    /// The version already had its outcome: nothing was written.
    AlreadyDone(Outcome),
}

/// A stored draft, as the worklist and tests read it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDraft {
    pub id: i64,
    pub job_id: i64,
    pub study_version: i32,
    pub report_text: String,
    pub findings: Option<String>,
    pub impression: Option<String>,
    pub triage_score: Option<f32>,
    pub triage_flag: bool,
    pub provenance: Value,
    pub supersedes: Option<i64>,
    pub superseded: bool,
    /// Made in shadow mode: never shown to radiologists.
    pub shadow: bool,
}

type DraftRow = (
    i64,
    i64,
    i32,
    String,
    Option<String>,
    Option<String>,
    Option<f32>,
    bool,
    Value,
    Option<i64>,
    bool,
    bool,
);

impl Store {
    /// Writes the draft with its job's success, the study's `drafted` state (if the version
    /// is still current) and the audit events, atomically. A version that already has its
    /// outcome gets nothing new: the unique keys on drafts and outcomes make sure of it.
    pub async fn record_draft(&self, draft: &NewDraft) -> Result<DraftRecorded, StoreError> {
        let mut tx = self.pool.begin().await.map_err(query_failed("begin"))?;
        lock_version(&mut tx, &draft.study_uid, draft.study_version).await?;
        if let Some(outcome) = final_outcome(&mut tx, &draft.study_uid, draft.study_version).await?
        {
            return Ok(DraftRecorded::AlreadyDone(outcome));
        }
        if !finish_job(&mut tx, draft.job_id, "succeeded", None).await? {
            return Ok(DraftRecorded::AlreadyDone(Outcome::Drafted));
        }
        let earlier: Vec<(i64, i32)> = sqlx::query_as(
            "SELECT id, study_version FROM drafts
             WHERE study_uid = $1 AND study_version < $2 AND superseded_at IS NULL
             ORDER BY study_version",
        )
        .bind(&draft.study_uid)
        .bind(draft.study_version)
        .fetch_all(&mut *tx)
        .await
        .map_err(query_failed("find earlier drafts"))?;
        // A later version drafted first (messages can overtake each other): this draft is
        // born superseded.
        let later_exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM drafts WHERE study_uid = $1 AND study_version > $2)",
        )
        .bind(&draft.study_uid)
        .bind(draft.study_version)
        .fetch_one(&mut *tx)
        .await
        .map_err(query_failed("find later drafts"))?;
        // The draft keeps the mode its model version is in now: a shadow draft is stored
        // and measured, never shown.
        let (draft_id, shadow): (i64, bool) = sqlx::query_as(
            "INSERT INTO drafts (job_id, study_uid, study_version, report_text, findings,
                 impression, triage_score, triage_flag, triage_question, provenance, supersedes,
                 superseded_at, shadow)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
                 CASE WHEN $12 THEN now() END,
                 EXISTS (SELECT 1 FROM model_modes m
                         WHERE m.model_id = $10 -> 'model' ->> 'model_id'
                           AND m.model_revision = $10 -> 'model' ->> 'revision'
                           AND m.mode = 'shadow'))
             RETURNING id, shadow",
        )
        .bind(draft.job_id)
        .bind(&draft.study_uid)
        .bind(draft.study_version)
        .bind(&draft.report_text)
        .bind(&draft.findings)
        .bind(&draft.impression)
        .bind(draft.triage_score)
        .bind(draft.triage_flag)
        .bind(&draft.triage_question)
        .bind(&draft.provenance)
        .bind(earlier.last().map(|(id, _)| *id))
        .bind(later_exists)
        .fetch_one(&mut *tx)
        .await
        .map_err(query_failed("insert draft"))?;
        for (old, old_version) in &earlier {
            sqlx::query("UPDATE drafts SET superseded_at = now() WHERE id = $1")
                .bind(old)
                .execute(&mut *tx)
                .await
                .map_err(query_failed("supersede draft"))?;
            audit::append(
                &mut *tx,
                "worker",
                "draft.superseded",
                Some(&draft.study_uid),
                json!({ "draft_id": old, "draft_version": old_version,
                        "superseded_by": draft_id, "by_version": draft.study_version }),
            )
            .await?;
        }
        set_study_state(
            &mut tx,
            &draft.study_uid,
            draft.study_version,
            "drafted",
            None,
        )
        .await?;
        audit::append(
            &mut *tx,
            "worker",
            "draft.created",
            Some(&draft.study_uid),
            json!({
                "study_version": draft.study_version,
                "draft_id": draft_id,
                "job_id": draft.job_id,
                "model_id": draft.provenance.get("model").and_then(|m| m.get("model_id")),
                "prompt_template": draft.provenance.get("prompt").and_then(|p| p.get("template_id")),
                "triage_score": draft.triage_score,
                "triage_flag": draft.triage_flag,
                "shadow": shadow,
            }),
        )
        .await?;
        tx.commit().await.map_err(query_failed("commit draft"))?;
        Ok(DraftRecorded::Created {
            draft_id,
            superseded: earlier.into_iter().map(|(id, _)| id).collect(),
            shadow,
        })
    }

    /// Every draft of a study, oldest version first.
    pub async fn drafts_of(&self, study_uid: &str) -> Result<Vec<StoredDraft>, StoreError> {
        let rows: Vec<DraftRow> = sqlx::query_as(
            "SELECT id, job_id, study_version, report_text, findings, impression, triage_score,
                    triage_flag, provenance, supersedes, superseded_at IS NOT NULL, shadow
             FROM drafts WHERE study_uid = $1 ORDER BY study_version",
        )
        .bind(study_uid)
        .fetch_all(&self.pool)
        .await
        .map_err(query_failed("read drafts"))?;
        Ok(rows
            .into_iter()
            .map(|r| StoredDraft {
                id: r.0,
                job_id: r.1,
                study_version: r.2,
                report_text: r.3,
                findings: r.4,
                impression: r.5,
                triage_score: r.6,
                triage_flag: r.7,
                provenance: r.8,
                supersedes: r.9,
                superseded: r.10,
                shadow: r.11,
            })
            .collect())
    }
}
