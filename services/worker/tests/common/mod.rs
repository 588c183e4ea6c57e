//! Shared test helpers: the committed tiny model, the generated fixture studies, and a CPU
//! runtime config that insists on ONNX Runtime's library being configured.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use radraft_medgemma::{MedGemma, ORT_DYLIB_ENV, Provider, RuntimeConfig};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn model_dir() -> PathBuf {
    root().join("fixtures/medgemma-tiny")
}

/// A folder of the generated fixtures; fails (never skips) when they are missing.
pub fn fixture(relative: &str) -> PathBuf {
    let path = root().join("fixtures/generated").join(relative);
    assert!(
        path.exists(),
        "{} missing: run fixtures/generate.sh (or source deploy/setup.sh)",
        path.display()
    );
    path
}

pub fn cpu_config() -> RuntimeConfig {
    let path = std::env::var_os(ORT_DYLIB_ENV)
        .unwrap_or_else(|| panic!("{ORT_DYLIB_ENV} is not set: `source deploy/setup.sh` first"));
    RuntimeConfig {
        ort_dylib_path: Some(PathBuf::from(path)),
        providers: vec![Provider::Cpu],
        intra_threads: Some(1),
        ..RuntimeConfig::default()
    }
}

pub fn tiny_model() -> MedGemma {
    MedGemma::load(&model_dir(), &cpu_config()).expect("tiny model loads")
}
