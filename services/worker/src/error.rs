//! Why a study could not be drafted. Each variant says which stage failed and why, so the
//! reason can be recorded against the study as it is.

use std::path::PathBuf;

use radraft_imaging::ImagingError;
use radraft_medgemma::GenerateError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum DraftError {
    /// Imaging failed: no usable image in the study (every object skipped, with reasons),
    /// or a review rendering could not be encoded.
    #[error("imaging: {0}")]
    Imaging(#[from] ImagingError),
    /// The model has no vision encoder (a text-only export such as MedGemma 27B text).
    #[error("model {model_id} is text-only: it cannot draft from images")]
    TextOnlyModel { model_id: String },
    /// The model's manifest gives no usable input image size.
    #[error("model {model_id}: manifest gives no vision image size")]
    NoImageSize { model_id: String },
    /// Generation failed (prompt over the context, inference error, ...).
    #[error("generating the draft: {0}")]
    Generate(#[from] GenerateError),
    /// A review rendering could not be written.
    #[error("writing {path}: {source}")]
    WritePng {
        path: PathBuf,
        source: std::io::Error,
    },
}
