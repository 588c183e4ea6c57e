//! Shared test helpers: the committed tiny model, its HF references, and a runtime config
//! that insists on ONNX Runtime's library being configured.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use ndarray::Array3;
use radraft_medgemma::{ORT_DYLIB_ENV, Part, Provider, Request, RuntimeConfig};
use serde_json::Value;

pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/medgemma-tiny")
}

/// CPU-only config. Fails the test, never skips it, when ORT_DYLIB_PATH is unset: CI sets it
/// from deploy/fetch-onnxruntime.sh.
pub fn cpu_config() -> RuntimeConfig {
    let path = std::env::var_os(ORT_DYLIB_ENV).unwrap_or_else(|| {
        panic!(
            "{ORT_DYLIB_ENV} is not set: run `export {ORT_DYLIB_ENV}=$(bash deploy/fetch-onnxruntime.sh | tail -n 1)` \
             (or `source deploy/setup.sh`) before `cargo test -p radraft-medgemma`"
        )
    });
    RuntimeConfig {
        ort_dylib_path: Some(PathBuf::from(path)),
        providers: vec![Provider::Cpu],
        intra_threads: Some(1),
        ..RuntimeConfig::default()
    }
}

pub fn reference() -> Value {
    let text =
        std::fs::read_to_string(fixture_dir().join("reference.json")).expect("reference.json");
    serde_json::from_str(&text).expect("reference.json parses")
}

pub fn image(reference: &Value, name: &str) -> Array3<f32> {
    let info = &reference["images"][name];
    let file = info["file"].as_str().expect("image file");
    let bytes = std::fs::read(fixture_dir().join(file)).expect("image bytes");
    let values: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let shape: Vec<usize> = info["shape"]
        .as_array()
        .expect("shape")
        .iter()
        .map(|d| d.as_u64().expect("dim") as usize)
        .collect();
    Array3::from_shape_vec((shape[1], shape[2], shape[3]), values).expect("image shape")
}

/// The request a reference case describes.
pub fn request(reference: &Value, case: &Value) -> Request {
    let parts = case["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .map(|p| match (p.get("text"), p.get("image")) {
            (Some(t), _) => Part::Text(t.as_str().expect("text").to_owned()),
            (_, Some(i)) => Part::Image(image(reference, i.as_str().expect("image name"))),
            _ => panic!("bad part {p}"),
        })
        .collect();
    Request {
        system: case["system"].as_str().map(str::to_owned),
        parts,
        // The triage case generates nothing, so it has no budget.
        max_new_tokens: case["max_new_tokens"].as_u64().unwrap_or(0) as usize,
    }
}

pub fn ids(value: &Value) -> Vec<u32> {
    value
        .as_array()
        .expect("id list")
        .iter()
        .map(|v| v.as_u64().expect("id") as u32)
        .collect()
}

/// Copies the tiny model into a temporary directory that a test may break.
pub fn scratch_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for entry in std::fs::read_dir(fixture_dir()).expect("fixture dir") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy");
    }
    dir
}
