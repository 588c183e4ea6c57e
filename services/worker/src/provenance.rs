//! A draft's provenance: everything needed to say where it came from and to reproduce it
//! bit for bit with `radraft-worker draft` (the same model files, template, options and
//! objects give the same tokens): model and file hashes, template, preprocessing, inputs
//! and their hashes, execution provider, token counts, timings, worker version.

use std::path::Path;
use std::time::Duration;

use radraft_medgemma::MedGemma;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::draft::{DraftOptions, StudyDraft};

/// The worker's version, as built.
pub const WORKER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The loaded model, described once at start-up.
#[derive(Debug, Clone)]
pub struct ModelInfo {
    pub model_id: String,
    pub value: Value,
}

impl ModelInfo {
    /// Reads the manifest's identity and the checksums it lists; hashes `manifest.json`.
    pub fn describe(model: &MedGemma, dir: &Path) -> std::io::Result<Self> {
        let manifest_bytes = std::fs::read(dir.join("manifest.json"))?;
        let m = model.manifest();
        let files = &m.files;
        let mut hashes = serde_json::Map::new();
        if let Some(v) = &files.vision_encoder {
            hashes.insert(v.path.clone(), json!(v.sha256));
        }
        for f in [&files.embed_tokens, &files.decoder, &files.tokenizer] {
            hashes.insert(f.path.clone(), json!(f.sha256));
        }
        Ok(ModelInfo {
            model_id: m.model_id.clone(),
            value: json!({
                "model_id": m.model_id,
                "revision": m.revision,
                "dtype": m.dtype,
                "exporter_format_version": m.format_version,
                "manifest_sha256": hex::encode(Sha256::digest(&manifest_bytes)),
                "file_sha256": hashes,
                "context_limit": model.context_limit(),
            }),
        })
    }
}

/// An object of the study version, as indexed.
#[derive(Debug, Clone)]
pub struct InputObject {
    pub sop_instance_uid: String,
    pub sha256: String,
}

/// Time spent around the model, for the provenance's timing table.
#[derive(Debug, Clone, Default)]
pub struct PipelineTimings {
    /// Waiting in the queue since the version was cut.
    pub queued: Duration,
    /// Reading the objects from the archive.
    pub load: Duration,
    /// Parsing them.
    pub open: Duration,
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

pub fn provenance(
    draft: &StudyDraft,
    model: &ModelInfo,
    options: &DraftOptions,
    objects: &[InputObject],
    pipeline: &PipelineTimings,
) -> Value {
    let g = &draft.generation;
    let t = &draft.timings;
    json!({
        "worker_version": WORKER_VERSION,
        "model": model.value,
        "execution_provider": g.provider,
        "prompt": {
            "template_id": draft.template.id,
            "template_sha256": draft.template.sha256,
            "max_new_tokens": options.max_new_tokens,
        },
        "preprocessing": {
            "recipe": format!("{:?}", draft.recipe),
            "input_side": draft.input_side,
            "max_slices": options.study.max_slices,
            "max_samples": options.study.max_samples,
            "j2k_reduce_to": options.study.j2k_reduce_to,
        },
        "inputs": {
            "objects": objects.iter().map(|o| json!({
                "sop_instance_uid": o.sop_instance_uid, "sha256": o.sha256 })).collect::<Vec<_>>(),
            "images": draft.images.iter().map(|i| json!({
                "sop_instance_uid": i.sop_instance_uid, "frame": i.frame,
                "model_input_sha256": i.input_sha256 })).collect::<Vec<_>>(),
            "skipped": draft.skipped.iter().map(|s| json!({
                "sop_instance_uid": s.sop_instance_uid, "reason": s.reason })).collect::<Vec<_>>(),
        },
        "tokens": {
            "prompt": g.prompt_tokens,
            "generated": g.token_ids.len(),
            "stop": format!("{:?}", g.stop),
            "generated_ids": g.token_ids,
        },
        "triage": draft.triage.as_ref().map(|tr| json!({
            "question": tr.question,
            "score": tr.score,
            "threshold": tr.threshold,
            "flag": tr.flag,
            "prompt_tokens": tr.prompt_tokens,
            "yes": options.triage.as_ref().map(|c| c.yes.clone()),
            "no": options.triage.as_ref().map(|c| c.no.clone()),
        })),
        "timings_ms": {
            "queued": ms(pipeline.queued),
            "load": ms(pipeline.load),
            "open": ms(pipeline.open),
            "prepare": ms(t.prepare),
            "preprocess": ms(t.preprocess),
            "vision": ms(t.vision),
            "prefill": ms(g.timings.prefill),
            "decode": ms(g.timings.decode),
            "decode_steps": g.timings.decode_steps,
            "triage": ms(t.triage),
        },
    })
}
