//! Indexing received instances: new objects, identical re-sends, and new versions.

use serde_json::json;
use sqlx::{Postgres, Transaction};

use crate::{Store, StoreError, audit, query_failed};

/// A received object, already archived, to be indexed.
#[derive(Debug, Clone)]
pub struct NewInstance {
    pub study_uid: String,
    pub series_uid: String,
    pub sop_instance_uid: String,
    pub sop_class_uid: String,
    pub modality: Option<String>,
    /// Accession Number (0008,0050) and Study Description (0008,1030), when present.
    pub accession_number: Option<String>,
    pub study_description: Option<String>,
    pub transfer_syntax_uid: String,
    pub archive_key: String,
    pub sha256: String,
    pub size_bytes: i64,
    pub calling_ae: Option<String>,
    /// `dimse`, `stow` or `orthanc`.
    pub source: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// First time this SOP instance UID was seen.
    New,
    /// These exact bytes were already indexed; nothing changed.
    Duplicate,
    /// Same SOP instance UID, different bytes: kept as this version, the old one superseded.
    NewVersion { version: i32 },
}

impl Store {
    /// Indexes an archived instance and (re)opens its study for receiving, atomically.
    pub async fn record_instance(&self, new: &NewInstance) -> Result<Recorded, StoreError> {
        let mut tx = self.pool.begin().await.map_err(query_failed("begin"))?;
        let previous_state = lock_study(&mut tx, &new.study_uid).await?;
        ensure_series(&mut tx, new).await?;

        let known: Option<(i32, bool)> = sqlx::query_as(
            "SELECT max(instance_version), bool_or(sha256 = $2)
             FROM instances WHERE sop_instance_uid = $1 HAVING count(*) > 0",
        )
        .bind(&new.sop_instance_uid)
        .bind(&new.sha256)
        .fetch_optional(&mut *tx)
        .await
        .map_err(query_failed("find instance versions"))?;

        let recorded = match known {
            Some((_, true)) => return Ok(Recorded::Duplicate),
            Some((latest, false)) => Recorded::NewVersion {
                version: latest + 1,
            },
            None => Recorded::New,
        };
        let version = match recorded {
            Recorded::NewVersion { version } => {
                supersede(&mut tx, new, version).await?;
                version
            }
            _ => 1,
        };
        insert_instance(&mut tx, new, version).await?;

        sqlx::query(
            "UPDATE studies SET state = 'receiving', failure_reason = NULL,
                 last_received_at = now(), updated_at = now(),
                 accession_number = coalesce(accession_number, $2),
                 study_description = coalesce(study_description, $3)
             WHERE study_uid = $1",
        )
        .bind(&new.study_uid)
        .bind(&new.accession_number)
        .bind(&new.study_description)
        .execute(&mut *tx)
        .await
        .map_err(query_failed("mark study receiving"))?;
        match previous_state.as_deref() {
            // A study's first object: when and from whom it started arriving.
            None => {
                audit::append(
                    &mut *tx,
                    "gateway",
                    "study.received",
                    Some(&new.study_uid),
                    json!({ "source": new.source, "calling_ae": new.calling_ae,
                            "sop_instance_uid": new.sop_instance_uid }),
                )
                .await?;
            }
            Some("receiving") => {}
            Some(state) => {
                audit::append(
                    &mut *tx,
                    "gateway",
                    "study.reopened",
                    Some(&new.study_uid),
                    json!({ "previous_state": state, "sop_instance_uid": new.sop_instance_uid }),
                )
                .await?;
            }
        }
        tx.commit().await.map_err(query_failed("commit instance"))?;
        Ok(recorded)
    }

    /// How many current (not superseded) instances a study has.
    pub async fn current_instance_count(&self, study_uid: &str) -> Result<i64, StoreError> {
        sqlx::query_scalar(
            "SELECT count(*) FROM instances WHERE study_uid = $1 AND superseded_at IS NULL",
        )
        .bind(study_uid)
        .fetch_one(&self.pool)
        .await
        .map_err(query_failed("count instances"))
    }
}

/// Creates the study if new and locks its row, so concurrent arrivals and the settle loop
/// see each other's effects in order. Returns the state before this arrival (None if new).
async fn lock_study(
    tx: &mut Transaction<'_, Postgres>,
    study_uid: &str,
) -> Result<Option<String>, StoreError> {
    let inserted =
        sqlx::query("INSERT INTO studies (study_uid) VALUES ($1) ON CONFLICT DO NOTHING")
            .bind(study_uid)
            .execute(&mut **tx)
            .await
            .map_err(query_failed("insert study"))?
            .rows_affected();
    let state: String =
        sqlx::query_scalar("SELECT state::text FROM studies WHERE study_uid = $1 FOR UPDATE")
            .bind(study_uid)
            .fetch_one(&mut **tx)
            .await
            .map_err(query_failed("lock study"))?;
    Ok((inserted == 0).then_some(state))
}

async fn ensure_series(
    tx: &mut Transaction<'_, Postgres>,
    new: &NewInstance,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO series (series_uid, study_uid, modality) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(&new.series_uid)
    .bind(&new.study_uid)
    .bind(&new.modality)
    .execute(&mut **tx)
    .await
    .map_err(query_failed("insert series"))?;
    let owner: String = sqlx::query_scalar("SELECT study_uid FROM series WHERE series_uid = $1")
        .bind(&new.series_uid)
        .fetch_one(&mut **tx)
        .await
        .map_err(query_failed("read series owner"))?;
    if owner != new.study_uid {
        return Err(StoreError::SeriesInOtherStudy {
            series_uid: new.series_uid.clone(),
            study_uid: new.study_uid.clone(),
            existing_study: owner,
        });
    }
    Ok(())
}

async fn supersede(
    tx: &mut Transaction<'_, Postgres>,
    new: &NewInstance,
    version: i32,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE instances SET superseded_at = now() WHERE sop_instance_uid = $1 AND superseded_at IS NULL",
    )
    .bind(&new.sop_instance_uid)
    .execute(&mut **tx)
    .await
    .map_err(query_failed("supersede instance"))?;
    audit::append(
        &mut **tx,
        "gateway",
        "instance.new_version",
        Some(&new.study_uid),
        json!({
            "sop_instance_uid": new.sop_instance_uid,
            "instance_version": version,
            "sha256": new.sha256,
            "calling_ae": new.calling_ae,
            "source": new.source,
        }),
    )
    .await
}

async fn insert_instance(
    tx: &mut Transaction<'_, Postgres>,
    new: &NewInstance,
    version: i32,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO instances (sop_instance_uid, sop_class_uid, series_uid, study_uid,
             instance_version, transfer_syntax_uid, archive_key, sha256, size_bytes, calling_ae, source)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&new.sop_instance_uid)
    .bind(&new.sop_class_uid)
    .bind(&new.series_uid)
    .bind(&new.study_uid)
    .bind(version)
    .bind(&new.transfer_syntax_uid)
    .bind(&new.archive_key)
    .bind(&new.sha256)
    .bind(new.size_bytes)
    .bind(&new.calling_ae)
    .bind(new.source)
    .execute(&mut **tx)
    .await
    .map_err(query_failed("insert instance"))?;
    Ok(())
}
