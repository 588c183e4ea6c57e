//! One study version, from its `study.ready` to its outcome in Postgres: park it while
//! drafting is switched off, start the attempt (or find the version already done), load
//! exactly the version's objects from the archive, draft on a model thread, and record the
//! draft, failure or out-of-scope verdict in one transaction. The result says how to settle
//! the message; nothing here acks.

use std::sync::Arc;
use std::time::{Duration, Instant};

use radraft_archive::{Archive, ArchiveKey};
use radraft_core::StudyReady;
use radraft_store::{Attempt, JobStart, Store, StoreError};
use tracing::info;

use crate::draft::DraftOptions;
use crate::provenance::{InputObject, PipelineTimings};
use crate::serve::metrics::Metrics;
use crate::serve::model_pool::{ModelOutcome, ModelPool, StudyObjects};
use crate::serve::record::failure_stage;

/// How the message of a processed study is to be settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settle {
    /// Its outcome is in Postgres (or was already): acknowledge.
    Ack,
    /// Failed transiently: send it to the retry queue with the next attempt number.
    Retry { reason: String },
    /// Failed permanently (recorded where possible): send it to the dead-letter queue.
    DeadLetter { reason: String },
    /// Drafting is switched off: send it to the retry queue with the same attempt number
    /// (nothing failed), so it comes back after the retry delay and is looked at again.
    Park,
}

/// What the broker says about a delivery, beside its message.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryInfo {
    /// Our retry count (1 for the first try).
    pub attempt: u32,
    /// The broker's redelivery count.
    pub delivery_count: u32,
    /// Sent back from the dead-letter queue by an operator.
    pub replayed: bool,
}

/// What every study's processing shares.
#[derive(Debug)]
pub struct Context {
    pub store: Store,
    pub archive: Arc<dyn Archive>,
    pub pool: ModelPool,
    pub options: Arc<DraftOptions>,
    pub metrics: Arc<Metrics>,
    pub worker_name: String,
    pub max_attempts: u32,
    /// The work queue's delivery limit: past it the broker dead-letters the message itself.
    pub delivery_limit: u32,
}

/// A transient failure, before the attempt count decides whether to try again.
#[derive(Debug)]
pub(super) struct Transient(pub(super) String);

impl From<StoreError> for Transient {
    fn from(e: StoreError) -> Self {
        Transient(format!("database: {}", error_chain(&e)))
    }
}

pub(super) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl Context {
    pub async fn process(&self, message: &StudyReady, delivery: &DeliveryInfo) -> Settle {
        let mut job = None;
        let attempt = delivery.attempt;
        match self.try_process(message, delivery, &mut job).await {
            Ok(settle) => settle,
            Err(Transient(reason)) => self.transient(message, job, attempt, reason).await,
        }
    }

    async fn try_process(
        &self,
        message: &StudyReady,
        delivery: &DeliveryInfo,
        job: &mut Option<i64>,
    ) -> Result<Settle, Transient> {
        let uid = message.study_uid.as_str();
        let version = message.study_version;
        // The kill switch, read before anything is started: a parked study stays queued,
        // with no attempt recorded, until drafting is switched on again.
        if !self.store.drafting_enabled().await? {
            info!("drafting is switched off; parking the study in the retry queue");
            self.metrics.outcome("parked");
            return Ok(Settle::Park);
        }
        let start = self
            .store
            .start_job(&Attempt {
                study_uid: uid,
                study_version: version,
                attempt: i32::try_from(delivery.attempt).unwrap_or(i32::MAX),
                delivery_count: i32::try_from(delivery.delivery_count).unwrap_or(i32::MAX),
                worker: &self.worker_name,
                replay: delivery.replayed,
            })
            .await?;
        let (job_id, queued_for) = match start {
            JobStart::Started { job_id, queued_for } => (job_id, queued_for),
            JobStart::AlreadyDone(outcome) => {
                info!(
                    ?outcome,
                    "version already has its outcome; acknowledging the redelivery"
                );
                self.metrics.outcome("duplicate");
                return Ok(Settle::Ack);
            }
            JobStart::UnknownVersion => {
                self.metrics.outcome("unknown_version");
                return Ok(Settle::DeadLetter {
                    reason: format!("study version {version} is not in the database"),
                });
            }
        };
        *job = Some(job_id);
        tracing::Span::current().record("job_id", job_id);
        self.metrics.stage("queued", queued_for);
        // The broker's last delivery of a message that came back every time without an
        // outcome: whatever stops the workers on it (a crash, a kill by the memory limit)
        // would again. Record why before the broker dead-letters it without one.
        if delivery.delivery_count >= self.delivery_limit {
            let reason = format!(
                "returned {} times without an outcome (the workers holding it stopped); not tried again",
                delivery.delivery_count
            );
            return self.permanent(job_id, message, "poison", reason).await;
        }

        let started = Instant::now();
        let members = self.store.version_instances(uid, version).await?;
        if members.is_empty() {
            return self
                .permanent(
                    job_id,
                    message,
                    "imaging",
                    "the version holds no instances".into(),
                )
                .await;
        }
        let mut objects = Vec::with_capacity(members.len());
        for m in &members {
            let key = ArchiveKey::from_stored(m.archive_key.clone());
            let bytes = self
                .archive
                .get(&key)
                .await
                .map_err(|e| Transient(format!("archive: {}", error_chain(&e))))?;
            objects.push((m.sop_instance_uid.clone(), bytes));
        }
        let load = started.elapsed();
        self.metrics.stage("load", load);

        let outcome = self
            .pool
            .draft(StudyObjects { objects })
            .await
            .map_err(|e| Transient(e.to_string()))?;
        match outcome {
            ModelOutcome::Drafted { draft, open } => {
                let inputs: Vec<InputObject> = members
                    .iter()
                    .map(|m| InputObject {
                        sop_instance_uid: m.sop_instance_uid.clone(),
                        sha256: m.sha256.clone(),
                    })
                    .collect();
                let timings = PipelineTimings {
                    queued: queued_for,
                    load,
                    open,
                };
                self.persist(job_id, message, &draft, &inputs, &timings)
                    .await
            }
            ModelOutcome::OutOfScope(reason) => {
                self.store
                    .record_out_of_scope(job_id, uid, version, &reason)
                    .await?;
                info!(%reason, "study out of scope");
                self.metrics.outcome("out_of_scope");
                Ok(Settle::Ack)
            }
            ModelOutcome::Unreadable(reason) => {
                self.permanent(job_id, message, "unreadable", reason).await
            }
            ModelOutcome::Failed(error) => {
                let stage = failure_stage(&error);
                self.permanent(job_id, message, stage, error_chain(&error))
                    .await
            }
        }
    }
}

/// Backoff between reconnection attempts: doubling from 0.5 s up to 30 s.
pub fn backoff(failures: u32) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1 << failures.min(6))).min(Duration::from_secs(30))
}
