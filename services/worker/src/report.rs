//! What `draft` prints: per study a header, the draft as it streams, and a timing table; or,
//! with `--json`, one JSON object per study. Only UIDs identify a study: the draft is the
//! model's text, and no patient attribute is printed.

use std::io::Write;
use std::time::Duration;

use radraft_worker::{DraftError, StudyDraft};
use serde_json::json;

pub struct Report {
    json: bool,
    open: Duration,
    load: Duration,
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e5).round() / 100.0
}

fn per_second(count: usize, d: Duration) -> f64 {
    let secs = d.as_secs_f64();
    if secs > 0.0 {
        (count as f64 / secs * 10.0).round() / 10.0
    } else {
        0.0
    }
}

impl Report {
    pub fn new(json: bool, open: Duration, load: Duration) -> Self {
        Report { json, open, load }
    }

    pub fn study_header(&self, study_uid: &str, objects: usize) {
        if !self.json {
            println!("== study {study_uid} ({objects} objects)");
        }
    }

    pub fn token(&mut self, text: &str) {
        if !self.json {
            print!("{text}");
            // Streaming is the point: show each token as it comes.
            let _ = std::io::stdout().flush();
        }
    }

    pub fn failed(&self, study_uid: &str, error: &DraftError) {
        if self.json {
            println!(
                "{}",
                json!({"study_uid": study_uid, "error": error.to_string()})
            );
        } else {
            println!();
            eprintln!("study {study_uid} failed: {error}");
        }
    }

    pub fn drafted(&self, study_uid: &str, draft: &StudyDraft) {
        let g = &draft.generation;
        let new_tokens = g.token_ids.len();
        let rows = [
            ("open files (all studies)", self.open, String::new()),
            ("load model (once)", self.load, String::new()),
            ("prepare images", draft.timings.prepare, String::new()),
            ("preprocess", draft.timings.preprocess, String::new()),
            ("vision encoder", draft.timings.vision, String::new()),
            (
                "prefill",
                g.timings.prefill,
                format!(
                    "{} tokens, {} tok/s",
                    g.prompt_tokens,
                    per_second(g.prompt_tokens, g.timings.prefill)
                ),
            ),
            (
                "decode",
                g.timings.decode,
                format!(
                    "{} steps, {} tok/s",
                    g.timings.decode_steps,
                    per_second(g.timings.decode_steps, g.timings.decode)
                ),
            ),
            ("triage question", draft.timings.triage, String::new()),
        ];
        if self.json {
            let timings: serde_json::Map<_, _> = rows
                .iter()
                .map(|(name, d, _)| (name.replace(' ', "_"), json!(ms(*d))))
                .collect();
            let value = json!({
                "study_uid": study_uid,
                "recipe": format!("{:?}", draft.recipe),
                "images": draft.images.iter().map(|i| json!({
                    "sop_instance_uid": i.sop_instance_uid, "frame": i.frame})).collect::<Vec<_>>(),
                "skipped": draft.skipped.iter().map(|s| json!({
                    "sop_instance_uid": s.sop_instance_uid, "reason": s.reason})).collect::<Vec<_>>(),
                "draft": g.text,
                "findings": draft.sections.findings,
                "impression": draft.sections.impression,
                "template": {"id": draft.template.id, "sha256": draft.template.sha256},
                "triage": draft.triage.as_ref().map(|t| json!({
                    "question": t.question, "score": t.score, "flag": t.flag})),
                "model_inputs_sha256": draft.images.iter().map(|i| &i.input_sha256).collect::<Vec<_>>(),
                "token_ids": g.token_ids,
                "prompt_tokens": g.prompt_tokens,
                "stop": format!("{:?}", g.stop),
                "provider": g.provider,
                "pngs": draft.pngs,
                "timings_ms": timings,
            });
            println!("{value}");
            return;
        }
        println!("\n");
        println!(
            "{:?} recipe: {} image(s) shown, {} object(s) skipped",
            draft.recipe,
            draft.images.len(),
            draft.skipped.len()
        );
        for s in &draft.skipped {
            println!("  skipped {}: {}", s.sop_instance_uid, s.reason);
        }
        println!(
            "template {} (sha256 {})",
            draft.template.id, draft.template.sha256
        );
        if let Some(t) = &draft.triage {
            let flag = if t.flag { "FLAGGED" } else { "not flagged" };
            println!(
                "triage: {} -> {:.4} ({flag}, threshold {})",
                t.question, t.score, t.threshold
            );
        }
        println!("{:<26} {:>10}", "stage", "ms");
        for (name, d, note) in rows {
            println!("{name:<26} {:>10.2}  {note}", ms(d));
        }
        println!(
            "{new_tokens} new tokens, stop {:?}, provider {}",
            g.stop, g.provider
        );
        for p in &draft.pngs {
            println!("png {}", p.display());
        }
    }
}
