//! One study version, from its `study.ready` to its outcome in Postgres: start the attempt
//! (or find the version already done), load exactly the version's objects from the archive,
//! draft on a model thread, and record the draft, failure or out-of-scope verdict in one
//! transaction. The result says how to settle the message; nothing here acks.

use std::sync::Arc;
use std::time::{Duration, Instant};

use radraft_archive::{Archive, ArchiveKey};
use radraft_core::StudyReady;
use radraft_store::{Attempt, DraftRecorded, JobStart, NewDraft, Store, StoreError};
use tracing::{info, warn};

use crate::draft::{DraftOptions, StudyDraft};
use crate::error::DraftError;
use crate::provenance::{InputObject, PipelineTimings, provenance};
use crate::serve::metrics::Metrics;
use crate::serve::model_pool::{ModelOutcome, ModelPool, StudyObjects};

/// How the message of a processed study is to be settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settle {
    /// Its outcome is in Postgres (or was already): acknowledge.
    Ack,
    /// Failed transiently: send it to the retry queue with the next attempt number.
    Retry { reason: String },
    /// Failed permanently (recorded where possible): send it to the dead-letter queue.
    DeadLetter { reason: String },
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
struct Transient(String);

impl From<StoreError> for Transient {
    fn from(e: StoreError) -> Self {
        Transient(format!("database: {}", error_chain(&e)))
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
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

    async fn persist(
        &self,
        job_id: i64,
        message: &StudyReady,
        draft: &StudyDraft,
        inputs: &[InputObject],
        timings: &PipelineTimings,
    ) -> Result<Settle, Transient> {
        let started = Instant::now();
        let new = NewDraft {
            job_id,
            study_uid: message.study_uid.as_str().to_owned(),
            study_version: message.study_version,
            report_text: draft.generation.text.clone(),
            findings: draft.sections.findings.clone(),
            impression: draft.sections.impression.clone(),
            triage_score: draft.triage.as_ref().map(|t| t.score as f32),
            triage_flag: draft.triage.as_ref().is_some_and(|t| t.flag),
            triage_question: draft.triage.as_ref().map(|t| t.question.clone()),
            provenance: provenance(draft, &self.pool.info, &self.options, inputs, timings),
        };
        let recorded = self.store.record_draft(&new).await?;
        self.metrics.stage("persist", started.elapsed());
        let g = &draft.generation;
        for (stage, took) in [
            ("open", timings.open),
            ("prepare", draft.timings.prepare),
            ("preprocess", draft.timings.preprocess),
            ("vision", draft.timings.vision),
            ("prefill", g.timings.prefill),
            ("decode", g.timings.decode),
            ("triage", draft.timings.triage),
        ] {
            self.metrics.stage(stage, took);
        }
        let tokens = "radraft_worker_generated_tokens_total";
        self.metrics
            .count(tokens, "kind", "prompt", g.prompt_tokens as f64);
        self.metrics
            .count(tokens, "kind", "generated", g.token_ids.len() as f64);
        self.metrics.count(
            "radraft_worker_decode_seconds_total",
            "kind",
            "decode",
            g.timings.decode.as_secs_f64(),
        );
        match recorded {
            DraftRecorded::Created {
                draft_id,
                superseded,
            } => {
                if draft.triage.as_ref().is_some_and(|t| t.flag) {
                    let recipe = format!("{:?}", draft.recipe).to_ascii_lowercase();
                    self.metrics
                        .count("radraft_worker_triage_flags_total", "recipe", &recipe, 1.0);
                }
                info!(draft_id, superseded = superseded.len(), "draft recorded");
                self.metrics.outcome("drafted");
            }
            DraftRecorded::AlreadyDone(outcome) => {
                info!(?outcome, "another attempt recorded this version first");
                self.metrics.outcome("duplicate");
            }
        }
        Ok(Settle::Ack)
    }

    async fn permanent(
        &self,
        job_id: i64,
        message: &StudyReady,
        stage: &'static str,
        reason: String,
    ) -> Result<Settle, Transient> {
        let uid = message.study_uid.as_str();
        let recorded = self
            .store
            .record_failure(job_id, uid, message.study_version, &reason)
            .await?;
        warn!(stage, %reason, "study failed");
        if recorded {
            self.metrics.failure(stage);
            self.metrics.outcome("failed");
        }
        Ok(Settle::DeadLetter { reason })
    }

    /// A transient failure: retry while attempts remain, else record it as permanent.
    async fn transient(
        &self,
        message: &StudyReady,
        job: Option<i64>,
        attempt: u32,
        reason: String,
    ) -> Settle {
        warn!(attempt, %reason, "transient failure");
        if attempt < self.max_attempts {
            if let Some(job_id) = job
                && let Err(e) = self.store.record_retry(job_id, &reason).await
            {
                warn!(error = %e, "could not record the retry");
            }
            self.metrics.outcome("retried");
            return Settle::Retry { reason };
        }
        let reason = format!("gave up after {attempt} attempts: {reason}");
        if let Some(job_id) = job {
            // Best effort: the database may be what keeps failing.
            match self
                .permanent(job_id, message, "gave_up", reason.clone())
                .await
            {
                Ok(settle) => return settle,
                Err(Transient(e)) => warn!(error = %e, "could not record the failure"),
            }
        }
        self.metrics.failure("gave_up");
        Settle::DeadLetter { reason }
    }
}

/// The stage a permanent failure is counted under (metrics labels are fixed words).
fn failure_stage(error: &DraftError) -> &'static str {
    match error {
        DraftError::Imaging(_) | DraftError::WritePng { .. } => "imaging",
        DraftError::Generate(radraft_medgemma::GenerateError::PromptTooLong { .. }) => {
            "context_limit"
        }
        _ => "model",
    }
}

/// Backoff between reconnection attempts: doubling from 0.5 s up to 30 s.
pub fn backoff(failures: u32) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1 << failures.min(6))).min(Duration::from_secs(30))
}
