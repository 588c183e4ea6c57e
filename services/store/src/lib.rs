//! Postgres access for radraft. Every query lives here, behind typed methods, and each is
//! exercised by this crate's tests against a real database.

mod accounts;
mod audit;
mod audit_chain;
mod connect;
mod critical;
mod cursor;
mod drafts;
mod exports;
mod governance;
mod instances;
mod jobs;
mod orphans;
mod outcomes;
mod reports;
mod review;
mod settle;
mod switches;
#[cfg(feature = "testing")]
pub mod testing;
mod tls;
mod worklist;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

pub use accounts::{Session, User};
pub use audit::AuditEvent;
pub use audit_chain::{ChainBreak, ChainReport};
pub use connect::PoolSettings;
pub use critical::{Communication, CriticalFinding, CriticalRecorded};
pub use drafts::{DraftRecorded, NewDraft, StoredDraft};
pub use exports::{DueExport, ExportRequest, ExportStatus, ReferencedObject};
pub use governance::{GovernanceRow, GovernanceStatus, RejectionReason};
pub use instances::{NewInstance, PreparedInstance, Recorded};
pub use jobs::{Attempt, JobStart, Outcome, VersionInstance};
pub use orphans::ArchivedFile;
pub use reports::{Amended, ReportHistory, ReportRevision, RevisionKind, report_text};
pub use review::{Decided, Decision, DecisionRecord, ReviewDraft};
pub use settle::PendingBatch;
pub use switches::{DraftingSwitch, ModelMode};
pub use tls::{DatabaseTlsError, check_database_tls};
pub use worklist::{WorklistFilter, WorklistRow};

/// The migrations in `migrations/`, embedded so every service can bring a database up to date.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("could not connect to Postgres")]
    Connect(#[source] sqlx::Error),
    #[error("could not apply migrations")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database query `{operation}` failed")]
    Query {
        operation: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("series {series_uid} already belongs to study {existing_study}, not {study_uid}")]
    SeriesInOtherStudy {
        series_uid: String,
        study_uid: String,
        existing_study: String,
    },
    #[error("stored value is invalid: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Whether retrying later may succeed (the database was unreachable or busy) rather
    /// than the request itself being wrong.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Connect(_) => true,
            Self::Query { source, .. } => matches!(
                source,
                sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed
            ),
            _ => false,
        }
    }
}

/// Attaches the operation name to a sqlx error.
pub(crate) fn query_failed(operation: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Query { operation, source }
}

#[derive(Debug, Clone)]
pub struct Store {
    pool: PgPool,
}

impl Store {
    pub async fn connect(database_url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect(database_url)
            .await
            .map_err(StoreError::Connect)?;
        Ok(Self { pool })
    }

    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Whether the database answers (readiness checks).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(query_failed("ping"))?;
        Ok(())
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }
}
