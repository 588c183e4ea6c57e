//! Study completeness: cutting a version once a study has been quiet, and the outbox of
//! `study.ready` messages those versions owe the broker (claimed for a lease, published
//! outside any transaction, then marked).

use std::time::Duration;

use radraft_core::{StudyReady, StudyState, Uid};
use serde_json::json;
use sqlx::{Postgres, Transaction};

use crate::{Store, StoreError, audit, query_failed};

/// How long [`Store::claim_unpublished`] holds its claim when the caller does not say.
const DEFAULT_LEASE: Duration = Duration::from_secs(60);

/// Versions claimed for publication. Nothing is locked while it lives: each version is
/// marked published on its own as the broker confirms it, and [`PendingBatch::commit`]
/// gives back the claim on the rest. Dropped without that, the rest wait for the lease to
/// lapse.
#[derive(Debug)]
pub struct PendingBatch {
    store: Store,
    pub messages: Vec<StudyReady>,
    unmarked: Vec<StudyReady>,
}

impl PendingBatch {
    /// Records that the broker confirmed `message` (see [`Store::mark_published`]).
    pub async fn mark_published(&mut self, message: &StudyReady) -> Result<(), StoreError> {
        self.store.mark_published(message).await?;
        self.unmarked.retain(|m| m != message);
        Ok(())
    }

    /// Ends the batch: what was marked stays published, every other version is released
    /// for the next claim at once.
    pub async fn commit(self) -> Result<(), StoreError> {
        if self.unmarked.is_empty() {
            return Ok(());
        }
        self.store.release_claims(&self.unmarked).await
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
        // A study whose row an arriving instance holds (see `record_instance`) is receiving
        // right now: skipped. Once locked here, no instance joins it until this commits.
        let candidates: Vec<String> = sqlx::query_scalar(
            "SELECT study_uid FROM studies
             WHERE state = 'receiving' AND last_received_at <= now() - make_interval(secs => $1)
             ORDER BY study_uid
             FOR UPDATE SKIP LOCKED",
        )
        .bind(quiet.as_secs_f64())
        .fetch_all(&mut *tx)
        .await
        .map_err(query_failed("lock quiet studies"))?;
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        // A statement of its own, so its snapshot holds every instance committed before the
        // locks above were granted: the last arrival and the count are both current.
        let rows: Vec<(String, i32, i64)> = sqlx::query_as(
            "WITH settled AS (
                 UPDATE studies s SET state = 'stable', version = version + 1, updated_at = now()
                 WHERE s.study_uid = ANY($2)
                   AND NOT EXISTS (SELECT 1 FROM instances i
                                   WHERE i.study_uid = s.study_uid
                                     AND i.received_at > now() - make_interval(secs => $1))
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
        .bind(&candidates)
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

    /// Claims up to `limit` settled versions not yet confirmed by the broker, oldest first,
    /// for `lease`. The claim is committed at once: the publisher then talks to the broker
    /// with no transaction open, so a blocked broker holds no lock and no connection. While
    /// the lease runs no other gateway claims the version; once it lapses (the publisher
    /// died, or gave up waiting for a confirm) the version is claimed again. Only each
    /// study's current version is claimed: a study reopened since is announced again when it
    /// settles, not twice.
    pub async fn claim_unpublished_for(
        &self,
        limit: i64,
        lease: Duration,
    ) -> Result<PendingBatch, StoreError> {
        let rows: Vec<(String, i32, i64)> = sqlx::query_as(
            "WITH claimable AS (
                 SELECT v.study_uid, v.version
                 FROM study_versions v JOIN studies s ON s.study_uid = v.study_uid
                 WHERE v.published_at IS NULL AND s.version = v.version AND s.state = 'stable'
                   AND (v.claimed_until IS NULL OR v.claimed_until <= now())
                 ORDER BY v.settled_at
                 LIMIT $1
                 FOR UPDATE OF v SKIP LOCKED
             ), claimed AS (
                 UPDATE study_versions v
                 SET claimed_until = now() + make_interval(secs => $2)
                 FROM claimable c
                 WHERE v.study_uid = c.study_uid AND v.version = c.version
                 RETURNING v.study_uid, v.version, v.instance_count, v.settled_at
             )
             SELECT study_uid, version, instance_count FROM claimed ORDER BY settled_at",
        )
        .bind(limit)
        .bind(lease.as_secs_f64())
        .fetch_all(&self.pool)
        .await
        .map_err(query_failed("claim unpublished versions"))?;
        let messages: Vec<StudyReady> = rows
            .into_iter()
            .map(|(uid, version, count)| to_message(uid, version, count))
            .collect::<Result<_, _>>()?;
        Ok(PendingBatch {
            store: self.clone(),
            unmarked: messages.clone(),
            messages,
        })
    }

    /// [`Store::claim_unpublished_for`] with a one-minute lease.
    pub async fn claim_unpublished(&self, limit: i64) -> Result<PendingBatch, StoreError> {
        self.claim_unpublished_for(limit, DEFAULT_LEASE).await
    }

    /// Records that the broker confirmed `message`: the version is published and, if it is
    /// still `stable` at that version, the study `queued`. Marking a version twice (two
    /// gateways after a lapsed lease) records it once.
    pub async fn mark_published(&self, message: &StudyReady) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(query_failed("begin"))?;
        // Lock order: the version row, then the study row (see ARCHITECTURE.md).
        let marked = sqlx::query(
            "UPDATE study_versions SET published_at = now(), claimed_until = NULL
             WHERE study_uid = $1 AND version = $2 AND published_at IS NULL",
        )
        .bind(message.study_uid.as_str())
        .bind(message.study_version)
        .execute(&mut *tx)
        .await
        .map_err(query_failed("mark version published"))?
        .rows_affected();
        if marked == 0 {
            return Ok(());
        }
        // The study's row is held for the audit append even when the worker has already
        // moved the study on, so the chain head lock never comes first.
        sqlx::query("SELECT 1 FROM studies WHERE study_uid = $1 FOR UPDATE")
            .bind(message.study_uid.as_str())
            .execute(&mut *tx)
            .await
            .map_err(query_failed("lock study"))?;
        sqlx::query(
            "UPDATE studies SET state = 'queued', updated_at = now()
             WHERE study_uid = $1 AND version = $2 AND state = 'stable'",
        )
        .bind(message.study_uid.as_str())
        .bind(message.study_version)
        .execute(&mut *tx)
        .await
        .map_err(query_failed("mark study queued"))?;
        audit::append(
            &mut *tx,
            "gateway",
            "study.queued",
            Some(message.study_uid.as_str()),
            json!({ "study_version": message.study_version, "instance_count": message.instance_count }),
        )
        .await?;
        tx.commit()
            .await
            .map_err(query_failed("commit published version"))
    }

    /// Gives back the claim on versions whose publication failed, so the next attempt need
    /// not wait for the lease to lapse.
    pub async fn release_claims(&self, messages: &[StudyReady]) -> Result<(), StoreError> {
        let (uids, versions): (Vec<&str>, Vec<i32>) = messages
            .iter()
            .map(|m| (m.study_uid.as_str(), m.study_version))
            .unzip();
        sqlx::query(
            "UPDATE study_versions v SET claimed_until = NULL
             FROM unnest($1::text[], $2::int[]) AS r (study_uid, version)
             WHERE v.study_uid = r.study_uid AND v.version = r.version
               AND v.published_at IS NULL",
        )
        .bind(&uids)
        .bind(&versions)
        .execute(&self.pool)
        .await
        .map_err(query_failed("release claims"))?;
        Ok(())
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
