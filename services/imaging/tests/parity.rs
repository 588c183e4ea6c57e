//! Parity with the Python reference (pydicom + numpy + Hugging Face's Gemma3ImageProcessorPil):
//! every case written by `services/imaging/reference/run.sh` must give the same images, and
//! each model input must match within 1/255 before normalisation (in practice: to the bit).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use radraft_imaging::{MODEL_SIDE, StudyOptions, model_input, open_path, prepare_study};

/// Documented tolerance: one 8-bit level, before the processor's normalisation.
const TOLERANCE: f32 = 1.0 / 255.0;

fn reference_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("RADRAFT_IMAGING_REFERENCE") {
        return PathBuf::from(dir);
    }
    let cache = std::env::var("RADRAFT_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/radraft")
        });
    cache.join("imaging-reference")
}

fn load_expected(dir: &Path, name: &str) -> Vec<u8> {
    let bytes = std::fs::read(dir.join(name)).unwrap();
    let plane = MODEL_SIDE * MODEL_SIDE;
    match bytes.len() {
        n if n == plane => bytes.repeat(3),
        n if n == 3 * plane => bytes,
        n => panic!("{name}: unexpected size {n}"),
    }
}

#[test]
fn model_inputs_match_the_python_reference() {
    let dir = reference_dir();
    let manifest = dir.join("manifest.tsv");
    let text = std::fs::read_to_string(&manifest).unwrap_or_else(|e| {
        panic!(
            "parity references missing ({}: {e}). Run services/imaging/reference/run.sh first \
             (CI does it before cargo test), or set RADRAFT_IMAGING_REFERENCE to its output.",
            manifest.display()
        )
    });
    let (mut cases, mut images, mut exact, mut worst) = (0, 0usize, 0usize, 0f32);
    let mut failures = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = line.split('\t').collect();
        let (case, expected) = (fields[0], fields[1]);
        let files = &fields[2..];
        let instances: Vec<_> = files
            .iter()
            .map(|f| open_path(Path::new(f)).unwrap())
            .collect();
        let study = prepare_study(&instances, &StudyOptions::default())
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        let expected: Vec<&str> = expected.split(',').filter(|s| !s.is_empty()).collect();
        if study.images.len() != expected.len() {
            failures.push(format!(
                "{case}: {} images, reference has {}",
                study.images.len(),
                expected.len()
            ));
            continue;
        }
        cases += 1;
        for (i, (img, name)) in study.images.iter().zip(&expected).enumerate() {
            let want = load_expected(&dir, name);
            let got = model_input(&img.image, MODEL_SIDE);
            let mut max = 0f32;
            let mut differing = 0usize;
            for (&g, &w) in got.iter().zip(&want) {
                let d = ((g * 0.5 + 0.5) - f32::from(w) / 255.0).abs();
                if d > 1e-6 {
                    differing += 1;
                }
                max = max.max(d);
            }
            images += 1;
            if differing == 0 {
                exact += 1;
            }
            worst = worst.max(max);
            if max > TOLERANCE + 1e-6 {
                failures.push(format!(
                    "{case} image {i}: max diff {max} ({differing} values differ)"
                ));
            } else if differing > 0 {
                eprintln!("{case} image {i}: {differing} values differ by up to {max}");
            }
        }
    }
    eprintln!("parity: {cases} cases, {images} images, {exact} bit-identical, worst diff {worst}");
    assert!(
        failures.is_empty(),
        "parity failures:\n{}",
        failures.join("\n")
    );
    assert!(cases > 0, "no parity cases in {}", manifest.display());
}
