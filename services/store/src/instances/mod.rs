//! Indexing received instances: new objects, identical re-sends, and new versions.

mod rows;

use serde_json::json;
use sqlx::{Postgres, Transaction};

use crate::{Store, StoreError, audit, query_failed};
use rows::{
    check_series_owner, ensure_series, insert_instance, known_versions, open_study, series_owner,
    supersede,
};

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

/// An instance indexed by a transaction not yet committed (none when the exact object
/// was already indexed). [`commit`](Self::commit) makes it visible; dropped, it leaves no
/// trace.
#[derive(Debug)]
pub struct PreparedInstance {
    tx: Option<Transaction<'static, Postgres>>,
    recorded: Recorded,
}

impl PreparedInstance {
    fn unchanged() -> Self {
        Self {
            tx: None,
            recorded: Recorded::Duplicate,
        }
    }

    pub async fn commit(self) -> Result<Recorded, StoreError> {
        if let Some(tx) = self.tx {
            tx.commit().await.map_err(query_failed("commit instance"))?;
        }
        Ok(self.recorded)
    }
}

impl Store {
    /// Indexes an archived instance and (re)opens its study for receiving, atomically.
    ///
    /// Most instances join a study that is already receiving: they share a lock on its row,
    /// so instances of one study arriving on several associations commit together (one WAL
    /// flush for all) instead of queueing behind each other's commit. The settle loop takes
    /// the row exclusively, so it never cuts a version while one of them is in flight. An
    /// instance that creates, reopens or completes the study row, a new version of an
    /// instance, or one that met a concurrent copy of itself is recorded alone.
    pub async fn record_instance(&self, new: &NewInstance) -> Result<Recorded, StoreError> {
        self.prepare_instance(new).await?.commit().await
    }

    /// Runs every statement of [`record_instance`](Self::record_instance) but the commit:
    /// the caller makes the archived file durable meanwhile, then commits.
    pub async fn prepare_instance(
        &self,
        new: &NewInstance,
    ) -> Result<PreparedInstance, StoreError> {
        match self.record_joining(new).await? {
            Some(prepared) => Ok(prepared),
            None => self.record_alone(new).await,
        }
    }

    /// Records `new` under a shared lock on its study's row; `None` when it cannot be
    /// recorded that way (nothing is then written).
    async fn record_joining(
        &self,
        new: &NewInstance,
    ) -> Result<Option<PreparedInstance>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(query_failed("begin"))?;
        // Waits for a settle in progress, then sees its outcome: a settled study is not
        // receiving any more and is reopened by `record_alone`.
        let joined: Option<i32> = sqlx::query_scalar(
            "SELECT 1 FROM studies
             WHERE study_uid = $1 AND state = 'receiving'
               AND NOT (accession_number IS NULL AND $2::text IS NOT NULL)
               AND NOT (study_description IS NULL AND $3::text IS NOT NULL)
             FOR SHARE",
        )
        .bind(&new.study_uid)
        .bind(&new.accession_number)
        .bind(&new.study_description)
        .fetch_optional(&mut *tx)
        .await
        .map_err(query_failed("join receiving study"))?;
        if joined.is_none() {
            return Ok(None);
        }
        // A new series is recorded alone: recording it updates the study row's modalities.
        match series_owner(&mut tx, &new.series_uid).await? {
            None => return Ok(None),
            Some(owner) => check_series_owner(new, owner)?,
        }
        match known_versions(&mut tx, new).await? {
            Some((_, true)) => return Ok(Some(PreparedInstance::unchanged())),
            Some((_, false)) => return Ok(None),
            None => {}
        }
        // A concurrent copy of the same object got there first: recorded alone, it is seen.
        if !insert_instance(&mut tx, new, 1).await? {
            return Ok(None);
        }
        Ok(Some(PreparedInstance {
            tx: Some(tx),
            recorded: Recorded::New,
        }))
    }

    /// Records `new` holding its study's row alone: creating, reopening or completing it.
    async fn record_alone(&self, new: &NewInstance) -> Result<PreparedInstance, StoreError> {
        let mut tx = self.pool.begin().await.map_err(query_failed("begin"))?;
        let previous_state = open_study(&mut tx, new).await?;
        ensure_series(&mut tx, new).await?;
        let recorded = match known_versions(&mut tx, new).await? {
            Some((_, true)) => return Ok(PreparedInstance::unchanged()),
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
        if !insert_instance(&mut tx, new, version).await? {
            return Err(StoreError::Corrupt(format!(
                "instance {} version {version} appeared while its study was held",
                new.sop_instance_uid
            )));
        }
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
        Ok(PreparedInstance {
            tx: Some(tx),
            recorded,
        })
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
