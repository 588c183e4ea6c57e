//! Study completeness: cutting a version once a study has been quiet, and the outbox of
//! `study.ready` messages those versions owe the broker.

use std::time::Duration;

use radraft_core::{StudyReady, StudyState, Uid};
use serde_json::json;
use sqlx::{Postgres, Transaction};

use crate::{Store, StoreError, audit, query_failed};

/// Versions claimed for publication; dropping it without [`PendingBatch::commit`] releases them.
#[derive(Debug)]
pub struct PendingBatch {
    tx: Transaction<'static, Postgres>,
    pub messages: Vec<StudyReady>,
}

impl PendingBatch {
    /// Records that the broker confirmed `message`: the version is published and the study queued.
    pub async fn mark_published(&mut self, message: &StudyReady) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE study_versions SET published_at = now() WHERE study_uid = $1 AND version = $2",
        )
        .bind(message.study_uid.as_str())
        .bind(message.study_version)
        .execute(&mut *self.tx)
        .await
        .map_err(query_failed("mark version published"))?;
        sqlx::query(
            "UPDATE studies SET state = 'queued', updated_at = now()
             WHERE study_uid = $1 AND version = $2 AND state = 'stable'",
        )
        .bind(message.study_uid.as_str())
        .bind(message.study_version)
        .execute(&mut *self.tx)
        .await
        .map_err(query_failed("mark study queued"))?;
        audit::append(
            &mut *self.tx,
            "gateway",
            "study.queued",
            Some(message.study_uid.as_str()),
            json!({ "study_version": message.study_version, "instance_count": message.instance_count }),
        )
        .await
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx
            .commit()
            .await
            .map_err(query_failed("commit published versions"))
    }
}

impl Store {
    /// Cuts a new version of every study that received nothing for `quiet`, returning them.
    /// The clock is the database's, so gateways on different hosts agree.
    pub async fn settle_quiet_studies(
        &self,
        quiet: Duration,
    ) -> Result<Vec<StudyReady>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(query_failed("begin"))?;
        let rows: Vec<(String, i32, i64)> = sqlx::query_as(
            "WITH settled AS (
                 UPDATE studies SET state = 'stable', version = version + 1, updated_at = now()
                 WHERE state = 'receiving' AND last_received_at <= now() - make_interval(secs => $1)
                 RETURNING study_uid, version
             )
             INSERT INTO study_versions (study_uid, version, instance_count)
             SELECT s.study_uid, s.version,
                    (SELECT count(*) FROM instances i
                     WHERE i.study_uid = s.study_uid AND i.superseded_at IS NULL)
             FROM settled s
             RETURNING study_uid, version, instance_count",
        )
        .bind(quiet.as_secs_f64())
        .fetch_all(&mut *tx)
        .await
        .map_err(query_failed("settle quiet studies"))?;
        record_membership(&mut tx, &rows).await?;
        let mut settled = Vec::with_capacity(rows.len());
        for (study_uid, version, instance_count) in rows {
            audit::append(
                &mut *tx,
                "gateway",
                "study.settled",
                Some(&study_uid),
                json!({ "study_version": version, "instance_count": instance_count }),
            )
            .await?;
            settled.push(to_message(study_uid, version, instance_count)?);
        }
        tx.commit().await.map_err(query_failed("commit settle"))?;
        Ok(settled)
    }

    /// Claims settled versions not yet confirmed by the broker, skipping any another gateway
    /// holds. Only each study's current version is claimed: a study reopened since is
    /// announced again when it settles, not twice.
    pub async fn claim_unpublished(&self, limit: i64) -> Result<PendingBatch, StoreError> {
        let mut tx = self.pool.begin().await.map_err(query_failed("begin"))?;
        let rows: Vec<(String, i32, i64)> = sqlx::query_as(
            "SELECT v.study_uid, v.version, v.instance_count
             FROM study_versions v JOIN studies s ON s.study_uid = v.study_uid
             WHERE v.published_at IS NULL AND s.version = v.version AND s.state = 'stable'
             ORDER BY v.settled_at
             LIMIT $1
             FOR UPDATE OF v SKIP LOCKED",
        )
        .bind(limit)
        .fetch_all(&mut *tx)
        .await
        .map_err(query_failed("claim unpublished versions"))?;
        let messages = rows
            .into_iter()
            .map(|(uid, version, count)| to_message(uid, version, count))
            .collect::<Result<_, _>>()?;
        Ok(PendingBatch { tx, messages })
    }

    /// The lifecycle state and current version of a study.
    pub async fn study_state(
        &self,
        study_uid: &str,
    ) -> Result<Option<(StudyState, i32)>, StoreError> {
        let row: Option<(String, i32)> =
            sqlx::query_as("SELECT state::text, version FROM studies WHERE study_uid = $1")
                .bind(study_uid)
                .fetch_optional(&self.pool)
                .await
                .map_err(query_failed("read study state"))?;
        row.map(|(state, version)| {
            let state = state
                .parse()
                .map_err(|e| StoreError::Corrupt(format!("{e}")))?;
            Ok((state, version))
        })
        .transpose()
    }
}

/// Records which instances each newly cut version holds: the worker loads exactly these,
/// even after a later instance version supersedes one of them.
async fn record_membership(
    tx: &mut Transaction<'static, Postgres>,
    versions: &[(String, i32, i64)],
) -> Result<(), StoreError> {
    let (uids, numbers): (Vec<&str>, Vec<i32>) =
        versions.iter().map(|(u, v, _)| (u.as_str(), *v)).unzip();
    sqlx::query(
        "INSERT INTO study_version_instances (study_uid, version, instance_id)
         SELECT v.study_uid, v.version, i.id
         FROM unnest($1::text[], $2::int[]) AS v (study_uid, version)
         JOIN instances i ON i.study_uid = v.study_uid AND i.superseded_at IS NULL",
    )
    .bind(&uids)
    .bind(&numbers)
    .execute(&mut **tx)
    .await
    .map_err(query_failed("record version membership"))?;
    Ok(())
}

fn to_message(
    study_uid: String,
    version: i32,
    instance_count: i64,
) -> Result<StudyReady, StoreError> {
    let study_uid = Uid::parse(&study_uid)
        .map_err(|e| StoreError::Corrupt(format!("study UID {study_uid:?}: {e}")))?;
    Ok(StudyReady {
        study_uid,
        study_version: version,
        instance_count,
    })
}
