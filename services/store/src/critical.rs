//! The closed loop of a critical finding (ACR's actionable findings): a radiologist confirms
//! a critical finding on a signed draft, and records who was told, when and how, at once or
//! later. A confirmation without its communication is an open loop, listed for governance.
//! Each step is an audit event written while holding the study's row.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{Postgres, Transaction};

use crate::jobs::lock_version;
use crate::{Store, StoreError, audit, query_failed};

/// Who was told, when and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Communication {
    pub recipient: String,
    /// One of `radraft_core::review::COMMUNICATION_METHODS` (the table checks it too).
    pub method: String,
    pub communicated_at: DateTime<Utc>,
    pub note: Option<String>,
}

/// A confirmed critical finding, as the study page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CriticalFinding {
    pub draft_id: i64,
    pub study_uid: String,
    pub confirmed_by: String,
    pub confirmed_at: DateTime<Utc>,
    pub note: Option<String>,
    pub recipient: Option<String>,
    pub method: Option<String>,
    pub communicated_at: Option<DateTime<Utc>>,
    pub recorded_by: Option<String>,
}

/// What a critical-finding step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CriticalRecorded {
    Recorded,
    /// No such draft for the study (shadow drafts are not reviewed, so none of theirs).
    NoSuchDraft,
    /// The draft is not signed (pending or rejected).
    NotSigned,
    AlreadyConfirmed,
    NotConfirmed,
    AlreadyCommunicated,
}

type FindingRow = (
    i64,
    String,
    String,
    DateTime<Utc>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<String>,
);

const FINDINGS: &str = "SELECT c.draft_id, c.study_uid, cu.display_name, c.confirmed_at, c.note,
        c.recipient, c.method, c.communicated_at, ru.display_name
    FROM critical_findings c JOIN users cu ON cu.id = c.confirmed_by
    LEFT JOIN users ru ON ru.id = c.recorded_by";

fn finding(r: FindingRow) -> CriticalFinding {
    CriticalFinding {
        draft_id: r.0,
        study_uid: r.1,
        confirmed_by: r.2,
        confirmed_at: r.3,
        note: r.4,
        recipient: r.5,
        method: r.6,
        communicated_at: r.7,
        recorded_by: r.8,
    }
}

/// Locks the draft's study and says whether the draft is signed; `None` for no such draft.
async fn lock_signed_draft(
    tx: &mut Transaction<'_, Postgres>,
    study_uid: &str,
    draft_id: i64,
) -> Result<Option<(i32, bool)>, StoreError> {
    let version: Option<i32> = sqlx::query_scalar(
        "SELECT study_version FROM drafts WHERE id = $1 AND study_uid = $2 AND NOT shadow",
    )
    .bind(draft_id)
    .bind(study_uid)
    .fetch_optional(&mut **tx)
    .await
    .map_err(query_failed("read draft"))?;
    let Some(version) = version else {
        return Ok(None);
    };
    lock_version(tx, study_uid, version).await?;
    // Read under the lock: a decision may have landed since.
    let signed: bool =
        sqlx::query_scalar("SELECT review IN ('accepted', 'edited') FROM drafts WHERE id = $1")
            .bind(draft_id)
            .fetch_one(&mut **tx)
            .await
            .map_err(query_failed("read draft review"))?;
    Ok(Some((version, signed)))
}

async fn audit_communication(
    tx: &mut Transaction<'_, Postgres>,
    username: &str,
    study_uid: &str,
    draft_id: i64,
    c: &Communication,
) -> Result<(), StoreError> {
    audit::append(
        &mut **tx,
        username,
        "critical.communicated",
        Some(study_uid),
        json!({ "draft_id": draft_id, "recipient": c.recipient, "method": c.method,
                "communicated_at": c.communicated_at, "note": c.note }),
    )
    .await
}

impl Store {
    /// Confirms a critical finding on a signed draft, with its communication when already
    /// made (else the loop stays open).
    pub async fn confirm_critical(
        &self,
        study_uid: &str,
        draft_id: i64,
        note: Option<&str>,
        communication: Option<&Communication>,
        user_id: i64,
        username: &str,
    ) -> Result<CriticalRecorded, StoreError> {
        let mut tx = self.pool.begin().await.map_err(query_failed("begin"))?;
        let Some((version, signed)) = lock_signed_draft(&mut tx, study_uid, draft_id).await? else {
            return Ok(CriticalRecorded::NoSuchDraft);
        };
        if !signed {
            return Ok(CriticalRecorded::NotSigned);
        }
        let c = communication;
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO critical_findings (draft_id, study_uid, confirmed_by, note, recipient,
                 method, communicated_at, recorded_by, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $5 IS NOT NULL THEN $3 END,
                 CASE WHEN $5 IS NOT NULL THEN now() END)
             ON CONFLICT (draft_id) DO NOTHING RETURNING id",
        )
        .bind(draft_id)
        .bind(study_uid)
        .bind(user_id)
        .bind(note)
        .bind(c.map(|c| c.recipient.as_str()))
        .bind(c.map(|c| c.method.as_str()))
        .bind(c.map(|c| c.communicated_at))
        .fetch_optional(&mut *tx)
        .await
        .map_err(query_failed("insert critical finding"))?;
        if inserted.is_none() {
            return Ok(CriticalRecorded::AlreadyConfirmed);
        }
        audit::append(
            &mut *tx,
            username,
            "critical.confirmed",
            Some(study_uid),
            json!({ "draft_id": draft_id, "study_version": version, "note": note }),
        )
        .await?;
        if let Some(c) = c {
            audit_communication(&mut tx, username, study_uid, draft_id, c).await?;
        }
        tx.commit()
            .await
            .map_err(query_failed("commit critical finding"))?;
        Ok(CriticalRecorded::Recorded)
    }

    /// Records who was told of a confirmed critical finding, closing its loop. Once only: a
    /// correction is a new audit event by other means, not an overwrite.
    pub async fn record_communication(
        &self,
        study_uid: &str,
        draft_id: i64,
        communication: &Communication,
        user_id: i64,
        username: &str,
    ) -> Result<CriticalRecorded, StoreError> {
        let mut tx = self.pool.begin().await.map_err(query_failed("begin"))?;
        if lock_signed_draft(&mut tx, study_uid, draft_id)
            .await?
            .is_none()
        {
            return Ok(CriticalRecorded::NoSuchDraft);
        }
        // The study's row is held: no other step on this finding runs meanwhile.
        let done: Option<bool> = sqlx::query_scalar(
            "SELECT recipient IS NOT NULL FROM critical_findings WHERE draft_id = $1",
        )
        .bind(draft_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(query_failed("read critical finding"))?;
        match done {
            None => return Ok(CriticalRecorded::NotConfirmed),
            Some(true) => return Ok(CriticalRecorded::AlreadyCommunicated),
            Some(false) => {}
        }
        let c = communication;
        // A note given now follows the confirmation's note rather than replacing it.
        sqlx::query(
            "UPDATE critical_findings SET recipient = $2, method = $3, communicated_at = $4,
                 note = CASE WHEN $5::text IS NULL THEN note WHEN note IS NULL THEN $5
                             ELSE note || E'\\n' || $5 END,
                 recorded_by = $6, recorded_at = now()
             WHERE draft_id = $1",
        )
        .bind(draft_id)
        .bind(&c.recipient)
        .bind(&c.method)
        .bind(c.communicated_at)
        .bind(&c.note)
        .bind(user_id)
        .execute(&mut *tx)
        .await
        .map_err(query_failed("record communication"))?;
        audit_communication(&mut tx, username, study_uid, draft_id, c).await?;
        tx.commit()
            .await
            .map_err(query_failed("commit communication"))?;
        Ok(CriticalRecorded::Recorded)
    }

    /// The critical finding confirmed on a draft, if any.
    pub async fn critical_finding(
        &self,
        draft_id: i64,
    ) -> Result<Option<CriticalFinding>, StoreError> {
        let row: Option<FindingRow> = sqlx::query_as(&format!("{FINDINGS} WHERE c.draft_id = $1"))
            .bind(draft_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(query_failed("read critical finding"))?;
        Ok(row.map(finding))
    }

    /// Confirmed critical findings nobody has recorded telling anyone about, oldest first.
    pub async fn open_critical_findings(&self) -> Result<Vec<CriticalFinding>, StoreError> {
        let rows: Vec<FindingRow> = sqlx::query_as(&format!(
            "{FINDINGS} WHERE c.recipient IS NULL ORDER BY c.confirmed_at"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(query_failed("read open critical findings"))?;
        Ok(rows.into_iter().map(finding).collect())
    }
}
