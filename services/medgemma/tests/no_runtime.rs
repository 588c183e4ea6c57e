//! Without ONNX Runtime's library the load fails with a clear error (its own test binary:
//! once a process has loaded the library, it keeps it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use radraft_medgemma::{LoadError, MedGemma, RuntimeConfig};

#[test]
fn missing_library_is_a_clear_error() {
    let cfg = RuntimeConfig {
        ort_dylib_path: Some(PathBuf::from("/nonexistent/libonnxruntime.so.1.31.1")),
        ..RuntimeConfig::default()
    };
    let err = MedGemma::load("../../fixtures/medgemma-tiny".as_ref(), &cfg).unwrap_err();
    assert!(matches!(err, LoadError::Runtime { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("/nonexistent/libonnxruntime.so.1.31.1 does not exist"),
        "{err}"
    );
}
