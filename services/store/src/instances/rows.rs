//! The statements behind [`Store::record_instance`](crate::Store::record_instance), each
//! run inside the caller's transaction.

use serde_json::json;
use sqlx::{Postgres, Transaction};

use super::NewInstance;
use crate::{StoreError, audit, query_failed};

/// Creates the study, or locks its row and marks it receiving again (with the accession
/// number and description it lacked), so concurrent arrivals and the settle loop see each
/// other's effects in order. Returns the state before this arrival (None if new).
pub(super) async fn open_study(
    tx: &mut Transaction<'_, Postgres>,
    new: &NewInstance,
) -> Result<Option<String>, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO studies (study_uid, accession_number, study_description)
         VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(&new.study_uid)
    .bind(&new.accession_number)
    .bind(&new.study_description)
    .execute(&mut **tx)
    .await
    .map_err(query_failed("insert study"))?
    .rows_affected();
    if inserted > 0 {
        return Ok(None);
    }
    let state: String =
        sqlx::query_scalar("SELECT state::text FROM studies WHERE study_uid = $1 FOR UPDATE")
            .bind(&new.study_uid)
            .fetch_one(&mut **tx)
            .await
            .map_err(query_failed("lock study"))?;
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
    .execute(&mut **tx)
    .await
    .map_err(query_failed("mark study receiving"))?;
    Ok(Some(state))
}

/// The latest version of `new`'s SOP instance and whether one has its exact bytes.
pub(super) async fn known_versions(
    tx: &mut Transaction<'_, Postgres>,
    new: &NewInstance,
) -> Result<Option<(i32, bool)>, StoreError> {
    sqlx::query_as(
        "SELECT max(instance_version), bool_or(sha256 = $2)
         FROM instances WHERE sop_instance_uid = $1 HAVING count(*) > 0",
    )
    .bind(&new.sop_instance_uid)
    .bind(&new.sha256)
    .fetch_optional(&mut **tx)
    .await
    .map_err(query_failed("find instance versions"))
}

pub(super) async fn ensure_series(
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
    match series_owner(tx, &new.series_uid).await? {
        Some(owner) => check_series_owner(new, owner),
        None => Err(StoreError::Corrupt(format!(
            "series {} missing right after it was recorded",
            new.series_uid
        ))),
    }
}

pub(super) async fn series_owner(
    tx: &mut Transaction<'_, Postgres>,
    series_uid: &str,
) -> Result<Option<String>, StoreError> {
    sqlx::query_scalar("SELECT study_uid FROM series WHERE series_uid = $1")
        .bind(series_uid)
        .fetch_optional(&mut **tx)
        .await
        .map_err(query_failed("read series owner"))
}

pub(super) fn check_series_owner(new: &NewInstance, owner: String) -> Result<(), StoreError> {
    if owner != new.study_uid {
        return Err(StoreError::SeriesInOtherStudy {
            series_uid: new.series_uid.clone(),
            study_uid: new.study_uid.clone(),
            existing_study: owner,
        });
    }
    Ok(())
}

pub(super) async fn supersede(
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

pub(super) async fn insert_instance(
    tx: &mut Transaction<'_, Postgres>,
    new: &NewInstance,
    version: i32,
) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
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
    .await;
    match inserted {
        Ok(_) => Ok(true),
        // The same object (or the same version) committed by a concurrent transaction.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        Err(source) => Err(query_failed("insert instance")(source)),
    }
}
