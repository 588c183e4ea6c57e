//! The images the model saw, rendered from the archive with the imaging crate: the draft's
//! version's objects, prepared with the options its provenance records, so the page shows
//! exactly the images (before resizing to the model's input) the draft was made from.

use std::path::PathBuf;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use radraft_imaging::{StudyOptions, open_path, png, prepare_study};
use radraft_store::ReviewDraft;

use crate::app::AppState;
use crate::auth::{ROLES, Signed};
use crate::error::ApiError;

/// The preparation options recorded in the draft's provenance.
fn options(draft: &ReviewDraft) -> StudyOptions {
    let p = &draft.provenance["preprocessing"];
    let defaults = StudyOptions::default();
    StudyOptions {
        max_slices: p["max_slices"]
            .as_u64()
            .map_or(defaults.max_slices, |v| v as usize),
        max_samples: p["max_samples"].as_u64().unwrap_or(defaults.max_samples),
        j2k_reduce_to: p["j2k_reduce_to"].as_u64().map(|v| v as usize),
    }
}

/// How many images the model saw, from the provenance.
pub fn image_count(draft: &ReviewDraft) -> usize {
    draft.provenance["inputs"]["images"]
        .as_array()
        .map_or(0, Vec::len)
}

pub async fn image(
    State(state): State<AppState>,
    signed: Signed,
    Path((study_uid, number)): Path<(String, usize)>,
) -> Result<Response, ApiError> {
    signed.require(&ROLES)?;
    let draft = state
        .store
        .current_draft(&study_uid)
        .await?
        .ok_or(ApiError::NotFound)?;
    if number == 0 || number > image_count(&draft) {
        return Err(ApiError::NotFound);
    }
    let members = state
        .store
        .version_instances(&study_uid, draft.study_version)
        .await?;
    let paths: Vec<PathBuf> = members
        .iter()
        .map(|m| state.config.archive_dir.join(&m.archive_key))
        .collect();
    let options = options(&draft);
    // Decoding is CPU work: off the async runtime.
    let bytes = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
        let instances = paths
            .iter()
            .map(|p| open_path(p).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let study = prepare_study(&instances, &options).map_err(|e| e.to_string())?;
        let selected = study
            .images
            .get(number - 1)
            .ok_or_else(|| "the study now gives fewer images".to_owned())?;
        png(&selected.image).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| ApiError::Render(e.to_string()))?
    .map_err(ApiError::Render)?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        bytes,
    )
        .into_response())
}
