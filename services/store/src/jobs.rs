//! The worker's side of a study version: what it holds and starting an attempt, plus the
//! locking and state helpers every outcome shares. One final outcome per version is
//! enforced by a unique index, so a redelivered message can never add a second.

use std::time::Duration;

use sqlx::{Postgres, Transaction};

use serde_json::json;

use crate::{Store, StoreError, audit, query_failed};

/// An instance of a study version, as the worker loads it from the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInstance {
    pub sop_instance_uid: String,
    pub archive_key: String,
    pub sha256: String,
}

/// A version's final outcome, once it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Drafted,
    Failed,
    OutOfScope,
}

impl Outcome {
    fn from_job_state(state: &str) -> Option<Self> {
        match state {
            "succeeded" => Some(Self::Drafted),
            "failed" => Some(Self::Failed),
            "out_of_scope" => Some(Self::OutOfScope),
            _ => None,
        }
    }
}

/// What [`Store::start_job`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobStart {
    /// A new attempt; `queued_for` is how long the version waited since it was cut.
    Started { job_id: i64, queued_for: Duration },
    /// The version already has its outcome (a redelivered message): nothing to do.
    AlreadyDone(Outcome),
    /// No such version: the message does not belong to this database.
    UnknownVersion,
}

/// Who runs an attempt, and which delivery of the message it is.
#[derive(Debug, Clone)]
pub struct Attempt<'a> {
    pub study_uid: &'a str,
    pub study_version: i32,
    /// The worker's retry count (1 for the first try).
    pub attempt: i32,
    /// The broker's redelivery count (crashes, requeues).
    pub delivery_count: i32,
    pub worker: &'a str,
    /// Sent back from the dead-letter queue by an operator: a recorded failure of the
    /// version is replaced by this attempt (a draft or out-of-scope verdict still stands).
    pub replay: bool,
}

/// Locks a version for the worker, in the announcer's order: first the version row (key
/// share, which waits for an announcer holding the version until it commits), then the
/// study row. Taking the study first would deadlock with an announcer that holds the
/// version and is about to mark the study queued. Returns the seconds since the version
/// was cut, or `None` when there is no such version.
pub(crate) async fn lock_version(
    tx: &mut Transaction<'_, Postgres>,
    study_uid: &str,
    version: i32,
) -> Result<Option<f64>, StoreError> {
    let waited: Option<f64> = sqlx::query_scalar(
        "SELECT extract(epoch FROM now() - settled_at)::float8
         FROM study_versions WHERE study_uid = $1 AND version = $2 FOR KEY SHARE",
    )
    .bind(study_uid)
    .bind(version)
    .fetch_optional(&mut **tx)
    .await
    .map_err(query_failed("lock version"))?;
    if waited.is_some() {
        lock_study(tx, study_uid).await?;
    }
    Ok(waited)
}

/// Locks the study row so attempts, outcomes and new arrivals for one study are serialised.
/// Alone (without [`lock_version`]) only for writers that never touch a version afterwards.
pub(crate) async fn lock_study(
    tx: &mut Transaction<'_, Postgres>,
    study_uid: &str,
) -> Result<bool, StoreError> {
    let found: Option<i32> =
        sqlx::query_scalar("SELECT version FROM studies WHERE study_uid = $1 FOR UPDATE")
            .bind(study_uid)
            .fetch_optional(&mut **tx)
            .await
            .map_err(query_failed("lock study"))?;
    Ok(found.is_some())
}

pub(crate) async fn final_outcome(
    tx: &mut Transaction<'_, Postgres>,
    study_uid: &str,
    version: i32,
) -> Result<Option<Outcome>, StoreError> {
    let state: Option<String> = sqlx::query_scalar(
        "SELECT state::text FROM jobs WHERE study_uid = $1 AND study_version = $2
             AND state IN ('succeeded', 'failed', 'out_of_scope')",
    )
    .bind(study_uid)
    .bind(version)
    .fetch_optional(&mut **tx)
    .await
    .map_err(query_failed("find version outcome"))?;
    Ok(state.as_deref().and_then(Outcome::from_job_state))
}

/// Moves the study to `state` only if `version` is still its current one and it is in one of
/// the worker's states: a study reopened by a late instance keeps `receiving`. `stable` is
/// among them because the worker may receive `study.ready` before the announcer has
/// committed the version as published (it marks it only after the broker's confirmation).
pub(crate) async fn set_study_state(
    tx: &mut Transaction<'_, Postgres>,
    study_uid: &str,
    version: i32,
    state: &str,
    failure_reason: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE studies SET state = $3::study_state, failure_reason = $4, updated_at = now()
         WHERE study_uid = $1 AND version = $2
           AND state IN ('stable', 'queued', 'processing', 'drafted', 'failed', 'out_of_scope')",
    )
    .bind(study_uid)
    .bind(version)
    .bind(state)
    .bind(failure_reason)
    .execute(&mut **tx)
    .await
    .map_err(query_failed("set study state"))?;
    Ok(())
}

/// Sets a running job's final state. A unique violation means another attempt already
/// recorded this version's outcome.
pub(crate) async fn finish_job(
    tx: &mut Transaction<'_, Postgres>,
    job_id: i64,
    state: &str,
    error: Option<&str>,
) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "UPDATE jobs SET state = $2::job_state, error = $3, finished_at = now() WHERE id = $1",
    )
    .bind(job_id)
    .bind(state)
    .bind(error)
    .execute(&mut **tx)
    .await;
    match result {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        Err(source) => Err(StoreError::Query {
            operation: "finish job",
            source,
        }),
    }
}

impl Store {
    /// The instances `version` of the study was cut with, in SOP instance UID order.
    pub async fn version_instances(
        &self,
        study_uid: &str,
        version: i32,
    ) -> Result<Vec<VersionInstance>, StoreError> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT i.sop_instance_uid, i.archive_key, i.sha256
             FROM study_version_instances m JOIN instances i ON i.id = m.instance_id
             WHERE m.study_uid = $1 AND m.version = $2
             ORDER BY i.sop_instance_uid",
        )
        .bind(study_uid)
        .bind(version)
        .fetch_all(&self.pool)
        .await
        .map_err(query_failed("read version instances"))?;
        Ok(rows
            .into_iter()
            .map(|(sop_instance_uid, archive_key, sha256)| VersionInstance {
                sop_instance_uid,
                archive_key,
                sha256,
            })
            .collect())
    }

    /// Starts an attempt at a version, unless it already has its outcome. Attempts left
    /// `running` by a worker that died are marked abandoned; the study shows `processing`.
    pub async fn start_job(&self, attempt: &Attempt<'_>) -> Result<JobStart, StoreError> {
        let mut tx = self.pool.begin().await.map_err(query_failed("begin"))?;
        let Some(waited) = lock_version(&mut tx, attempt.study_uid, attempt.study_version).await?
        else {
            return Ok(JobStart::UnknownVersion);
        };
        match final_outcome(&mut tx, attempt.study_uid, attempt.study_version).await? {
            Some(Outcome::Failed) if attempt.replay => {
                crate::outcomes::replace_failure(&mut tx, attempt).await?;
            }
            Some(outcome) => return Ok(JobStart::AlreadyDone(outcome)),
            None => {}
        }
        sqlx::query(
            "UPDATE jobs SET state = 'abandoned', finished_at = now(),
                 error = 'the worker stopped before finishing; the message was redelivered'
             WHERE study_uid = $1 AND study_version = $2 AND state = 'running'",
        )
        .bind(attempt.study_uid)
        .bind(attempt.study_version)
        .execute(&mut *tx)
        .await
        .map_err(query_failed("abandon stale jobs"))?;
        let job_id: i64 = sqlx::query_scalar(
            "INSERT INTO jobs (study_uid, study_version, attempt, delivery_count, worker)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(attempt.study_uid)
        .bind(attempt.study_version)
        .bind(attempt.attempt)
        .bind(attempt.delivery_count)
        .bind(attempt.worker)
        .fetch_one(&mut *tx)
        .await
        .map_err(query_failed("insert job"))?;
        audit::append(
            &mut *tx,
            attempt.worker,
            "draft.started",
            Some(attempt.study_uid),
            json!({ "study_version": attempt.study_version, "job_id": job_id,
                    "attempt": attempt.attempt, "delivery_count": attempt.delivery_count }),
        )
        .await?;
        sqlx::query(
            "UPDATE studies SET state = 'processing', updated_at = now()
             WHERE study_uid = $1 AND version = $2 AND state IN ('stable', 'queued')",
        )
        .bind(attempt.study_uid)
        .bind(attempt.study_version)
        .execute(&mut *tx)
        .await
        .map_err(query_failed("mark study processing"))?;
        tx.commit()
            .await
            .map_err(query_failed("commit job start"))?;
        Ok(JobStart::Started {
            job_id,
            queued_for: Duration::from_secs_f64(waited.max(0.0)),
        })
    }
}
