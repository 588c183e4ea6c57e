//! A report's revisions: the AI draft (revision 0), the radiologist's decision (revision 1:
//! signed as drafted, signed with edits, or rejected) and amendments after sign-off (2, 3,
//! ...). Earlier revisions are never changed; the newest is what the hospital receives.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::exports::{ExportRequest, queue_export};
use crate::review::lock_draft;
use crate::{Store, StoreError, audit, query_failed};

/// What a revision is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevisionKind {
    /// The unreviewed AI draft.
    Draft,
    /// Signed by a radiologist, as drafted or edited.
    Signed,
    Rejected,
    Amended,
}

/// One revision of a report.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRevision {
    pub revision: i32,
    pub kind: RevisionKind,
    pub findings: Option<String>,
    pub impression: Option<String>,
    /// The whole text: the model's raw text for the draft, the signed sections after.
    pub text: String,
    /// Who signed, amended or rejected it: `(username, display name)`.
    pub by: Option<(String, String)>,
    pub at: DateTime<Utc>,
    /// The rejection or amendment reason.
    pub reason: Option<String>,
}

/// A report with every revision, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportHistory {
    pub draft_id: i64,
    pub study_uid: String,
    pub study_version: i32,
    pub accession_number: Option<String>,
    pub provenance: Value,
    pub shadow: bool,
    pub revisions: Vec<ReportRevision>,
}

impl ReportHistory {
    pub fn latest(&self) -> Option<&ReportRevision> {
        self.revisions.last()
    }

    pub fn revision(&self, revision: i32) -> Option<&ReportRevision> {
        self.revisions.iter().find(|r| r.revision == revision)
    }
}

/// What [`Store::amend`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Amended {
    Recorded {
        revision: i32,
    },
    /// Only a signed report can be amended (not a pending or rejected draft).
    NotSigned,
    NoSuchDraft,
}

/// Joins sections into the report text the way the draft's sections were read from it.
pub fn report_text(findings: &str, impression: &str) -> String {
    format!("FINDINGS:\n{findings}\n\nIMPRESSION:\n{impression}")
}

type DraftRow = (
    i64,
    String,
    i32,
    Option<String>,
    Value,
    bool,
    String,
    Option<String>,
    Option<String>,
    DateTime<Utc>,
);
type SignRow = (
    i32,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
    DateTime<Utc>,
);

impl Store {
    /// Every revision of the report on draft `draft_id`.
    pub async fn report_history(&self, draft_id: i64) -> Result<Option<ReportHistory>, StoreError> {
        let draft: Option<DraftRow> = sqlx::query_as(
            "SELECT d.id, d.study_uid, d.study_version, s.accession_number, d.provenance,
                    d.shadow, d.report_text, d.findings, d.impression, d.created_at
             FROM drafts d JOIN studies s ON s.study_uid = d.study_uid WHERE d.id = $1",
        )
        .bind(draft_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(query_failed("read report draft"))?;
        let Some(d) = draft else { return Ok(None) };
        let mut revisions = vec![ReportRevision {
            revision: 0,
            kind: RevisionKind::Draft,
            findings: d.7.clone(),
            impression: d.8.clone(),
            text: d.6,
            by: None,
            at: d.9,
            reason: None,
        }];
        // The decision (revision 1) and the amendments, with their signers, in order. An
        // accepted draft's signed text is the draft's own.
        let signed: Vec<SignRow> = sqlx::query_as(
            "SELECT 1, r.decision::text, r.findings, r.impression, r.reason,
                    u.username, u.display_name, r.decided_at
             FROM review_decisions r JOIN users u ON u.id = r.user_id WHERE r.draft_id = $1
             UNION ALL
             SELECT a.revision, 'amended', a.findings, a.impression, a.reason,
                    u.username, u.display_name, a.amended_at
             FROM report_amendments a JOIN users u ON u.id = a.user_id WHERE a.draft_id = $1
             ORDER BY 1",
        )
        .bind(draft_id)
        .fetch_all(&self.pool)
        .await
        .map_err(query_failed("read report revisions"))?;
        for (revision, decision, findings, impression, reason, username, name, at) in signed {
            let (kind, findings, impression) = match decision.as_str() {
                "rejected" => (RevisionKind::Rejected, None, None),
                "amended" => (RevisionKind::Amended, findings, impression),
                "edited" => (RevisionKind::Signed, findings, impression),
                _ => (RevisionKind::Signed, d.7.clone(), d.8.clone()),
            };
            let text = match (&findings, &impression) {
                (Some(f), Some(i)) => report_text(f, i),
                _ => revisions[0].text.clone(),
            };
            revisions.push(ReportRevision {
                revision,
                kind,
                findings,
                impression,
                text,
                by: Some((username, name)),
                at,
                reason,
            });
        }
        Ok(Some(ReportHistory {
            draft_id: d.0,
            study_uid: d.1,
            study_version: d.2,
            accession_number: d.3,
            provenance: d.4,
            shadow: d.5,
            revisions,
        }))
    }

    /// Amends the signed report on draft `draft_id` of `study_uid`: the next revision, with
    /// its audit event and, when `export` is given, its SR queued, in one transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn amend(
        &self,
        study_uid: &str,
        draft_id: i64,
        findings: &str,
        impression: &str,
        reason: &str,
        user_id: i64,
        username: &str,
        export: Option<&ExportRequest>,
    ) -> Result<Amended, StoreError> {
        let mut tx = self.pool.begin().await.map_err(query_failed("begin"))?;
        let Some((version, _)) = lock_draft(&mut tx, study_uid, draft_id).await? else {
            return Ok(Amended::NoSuchDraft);
        };
        // Under the study lock: the decision and the latest revision cannot change meanwhile.
        let latest: Option<(String, Option<i32>)> = sqlx::query_as(
            "SELECT r.decision::text,
                    (SELECT max(a.revision) FROM report_amendments a WHERE a.draft_id = r.draft_id)
             FROM review_decisions r WHERE r.draft_id = $1",
        )
        .bind(draft_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(query_failed("read latest revision"))?;
        let Some((decision, amended)) = latest else {
            return Ok(Amended::NotSigned);
        };
        if decision == "rejected" {
            return Ok(Amended::NotSigned);
        }
        let revision = amended.unwrap_or(1) + 1;
        sqlx::query(
            "INSERT INTO report_amendments (draft_id, study_uid, revision, findings, impression,
                 reason, user_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(draft_id)
        .bind(study_uid)
        .bind(revision)
        .bind(findings)
        .bind(impression)
        .bind(reason)
        .bind(user_id)
        .execute(&mut *tx)
        .await
        .map_err(query_failed("insert amendment"))?;
        audit::append(
            &mut *tx,
            username,
            "report.amended",
            Some(study_uid),
            json!({ "draft_id": draft_id, "study_version": version, "revision": revision,
                    "findings": findings, "impression": impression, "reason": reason }),
        )
        .await?;
        if let Some(export) = export {
            queue_export(&mut tx, draft_id, study_uid, revision, export).await?;
        }
        tx.commit()
            .await
            .map_err(query_failed("commit amendment"))?;
        Ok(Amended::Recorded { revision })
    }
}
