//! Prefill and decode speed of the Rust runtime on a model directory, as JSON on stdout (with
//! the prompt ids, so services/medgemma/exporter/bench.py can drive the same ONNX files with
//! the same prompt from Python). Run by services/medgemma/exporter/bench.sh.
//!
//!     cargo run --release -p radraft-medgemma --example bench -- <model dir> [new tokens] [runs] [threads]

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::Instant;

use ndarray::Array3;
use radraft_medgemma::{MedGemma, Part, Provider, Request, RuntimeConfig};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(
        args.get(1)
            .expect("usage: bench <model dir> [new] [runs] [threads]"),
    );
    let new: usize = args.get(2).map_or(64, |s| s.parse().unwrap());
    let runs: usize = args.get(3).map_or(5, |s| s.parse().unwrap());
    let threads: usize = args.get(4).map_or(1, |s| s.parse().unwrap());
    let cfg = RuntimeConfig {
        providers: vec![Provider::Cpu],
        intra_threads: Some(threads),
        ..RuntimeConfig::default()
    };
    let started = Instant::now();
    let mut model = MedGemma::load(&dir, &cfg).expect("load");
    let load_s = started.elapsed().as_secs_f64();
    let mut parts = vec![Part::Text("Describe this X-ray".into())];
    if let Some(v) = &model.manifest().vision {
        parts.push(Part::Image(Array3::from_elem(
            (3, v.image_size, v.image_size),
            0.25,
        )));
    }
    let request = Request {
        system: Some("You are an expert radiologist.".into()),
        parts,
        max_new_tokens: new,
    };
    let prompt_ids = model.prompt_ids(&request).unwrap();
    let mut best: Option<radraft_medgemma::Generation> = None;
    let mut wall = f64::MAX;
    for _ in 0..runs {
        let t = Instant::now();
        let out = model.generate(&request, |_| {}).unwrap();
        wall = wall.min(t.elapsed().as_secs_f64());
        let better = best.as_ref().is_none_or(|b| {
            (out.timings.prefill + out.timings.vision + out.timings.decode)
                < (b.timings.prefill + b.timings.vision + b.timings.decode)
        });
        if better {
            best = Some(out);
        }
    }
    let out = best.expect("at least one run");
    let prefill_s = (out.timings.vision + out.timings.prefill).as_secs_f64();
    let decode_s = out.timings.decode.as_secs_f64();
    let report = serde_json::json!({
        "runtime": "rust",
        "model_id": model.manifest().model_id,
        "threads": threads,
        "load_s": load_s,
        "prompt_ids": prompt_ids,
        "with_image": model.manifest().vision.is_some(),
        "prompt_tokens": out.prompt_tokens,
        "new_tokens": out.token_ids.len(),
        "generated_ids": out.token_ids,
        "vision_s": out.timings.vision.as_secs_f64(),
        "prefill_s": prefill_s,
        "decode_s": decode_s,
        "wall_s": wall,
        "prefill_tok_per_s": out.prompt_tokens as f64 / prefill_s,
        "decode_tok_per_s": out.timings.decode_steps as f64 / decode_s,
        "peak_rss_mib": peak_rss_mib(),
    });
    println!("{report}");
}

/// VmHWM from /proc/self/status: the process's peak resident memory.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
