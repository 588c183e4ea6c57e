//! The outcomes of an attempt that are not a draft: a permanent failure, out of scope, a
//! transient failure sent to the retry queue, and an operator's replay of a failure.

use serde_json::json;
use sqlx::{Postgres, Transaction};

use crate::jobs::{Attempt, final_outcome, finish_job, lock_version, set_study_state};
use crate::{Store, StoreError, audit, query_failed};

/// Sets the version's failed outcome aside for a replayed attempt, audited; the study
/// leaves `failed` for `processing`.
pub(crate) async fn replace_failure(
    tx: &mut Transaction<'_, Postgres>,
    attempt: &Attempt<'_>,
) -> Result<(), StoreError> {
    let replaced: Vec<i64> = sqlx::query_scalar(
        "UPDATE jobs SET state = 'replaced'
         WHERE study_uid = $1 AND study_version = $2 AND state = 'failed' RETURNING id",
    )
    .bind(attempt.study_uid)
    .bind(attempt.study_version)
    .fetch_all(&mut **tx)
    .await
    .map_err(query_failed("replace failed outcome"))?;
    set_study_state(
        tx,
        attempt.study_uid,
        attempt.study_version,
        "processing",
        None,
    )
    .await?;
    audit::append(
        &mut **tx,
        attempt.worker,
        "study.replayed",
        Some(attempt.study_uid),
        json!({ "study_version": attempt.study_version, "replaced_jobs": replaced }),
    )
    .await
}

impl Store {
    /// Records that the version cannot be drafted: the job failed, the study is `failed` with
    /// `reason`, audited. False when the version already had an outcome.
    pub async fn record_failure(
        &self,
        job_id: i64,
        study_uid: &str,
        version: i32,
        reason: &str,
    ) -> Result<bool, StoreError> {
        self.record_final(job_id, study_uid, version, "failed", reason)
            .await
    }

    /// Records that the version is outside the deployment's scope: neither drafted nor failed.
    pub async fn record_out_of_scope(
        &self,
        job_id: i64,
        study_uid: &str,
        version: i32,
        reason: &str,
    ) -> Result<bool, StoreError> {
        self.record_final(job_id, study_uid, version, "out_of_scope", reason)
            .await
    }

    async fn record_final(
        &self,
        job_id: i64,
        study_uid: &str,
        version: i32,
        state: &str,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(query_failed("begin"))?;
        lock_version(&mut tx, study_uid, version).await?;
        if final_outcome(&mut tx, study_uid, version).await?.is_some()
            || !finish_job(&mut tx, job_id, state, Some(reason)).await?
        {
            return Ok(false);
        }
        let (study_state, kind) = match state {
            "failed" => ("failed", "study.failed"),
            _ => ("out_of_scope", "study.out_of_scope"),
        };
        let failure = (study_state == "failed").then_some(reason);
        set_study_state(&mut tx, study_uid, version, study_state, failure).await?;
        audit::append(
            &mut *tx,
            "worker",
            kind,
            Some(study_uid),
            json!({ "study_version": version, "job_id": job_id, "reason": reason }),
        )
        .await?;
        tx.commit().await.map_err(query_failed("commit outcome"))?;
        Ok(true)
    }

    /// Records a transient failure: the attempt ends `retrying`; the message goes to the
    /// retry queue and a later attempt takes over.
    pub async fn record_retry(&self, job_id: i64, reason: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(query_failed("begin"))?;
        finish_job(&mut tx, job_id, "retrying", Some(reason)).await?;
        tx.commit().await.map_err(query_failed("commit retry"))
    }
}
