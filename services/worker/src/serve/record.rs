//! Recording what became of a study: the draft (with its provenance and stage timings),
//! a permanent failure, or a transient one that is retried while attempts remain; each
//! counted in the metrics.

use std::time::Instant;

use radraft_core::StudyReady;
use radraft_store::{DraftRecorded, NewDraft};
use tracing::{info, warn};

use crate::draft::StudyDraft;
use crate::error::DraftError;
use crate::provenance::{InputObject, PipelineTimings, provenance};
use crate::serve::process::{Context, Settle, Transient};

impl Context {
    pub(super) async fn persist(
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
                shadow,
            } => {
                if draft.triage.as_ref().is_some_and(|t| t.flag) {
                    let recipe = format!("{:?}", draft.recipe).to_ascii_lowercase();
                    self.metrics
                        .count("radraft_worker_triage_flags_total", "recipe", &recipe, 1.0);
                }
                info!(
                    draft_id,
                    superseded = superseded.len(),
                    shadow,
                    "draft recorded"
                );
                self.metrics.outcome("drafted");
            }
            DraftRecorded::AlreadyDone(outcome) => {
                info!(?outcome, "another attempt recorded this version first");
                self.metrics.outcome("duplicate");
            }
        }
        Ok(Settle::Ack)
    }

    pub(super) async fn permanent(
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
    pub(super) async fn transient(
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
pub(super) fn failure_stage(error: &DraftError) -> &'static str {
    match error {
        DraftError::Imaging(_) | DraftError::WritePng { .. } => "imaging",
        DraftError::Generate(radraft_medgemma::GenerateError::PromptTooLong { .. }) => {
            "context_limit"
        }
        _ => "model",
    }
}
