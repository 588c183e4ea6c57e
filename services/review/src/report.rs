//! A study's report as the hospital receives it: the stored revisions turned into
//! [`radraft_results::Revision`]s, and served as FHIR R4 DiagnosticReports (the current
//! revision, and the whole history as a Bundle).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use radraft_results::{Algorithm, ReportStatus, Revision, Signer, fhir};
use radraft_store::{ReportHistory, ReportRevision, RevisionKind};
use serde_json::Value;

use crate::app::AppState;
use crate::auth::{ROLES, Signed};
use crate::error::ApiError;

/// The algorithm recorded in a draft's provenance.
pub fn algorithm(provenance: &Value) -> Algorithm {
    let text = |v: &Value| v.as_str().unwrap_or("unknown").to_owned();
    Algorithm {
        name: text(&provenance["model"]["model_id"]),
        version: text(&provenance["model"]["revision"]),
        software_version: text(&provenance["worker_version"]),
        prompt_template: text(&provenance["prompt"]["template_id"]),
    }
}

/// Revision `stored` of `history` as the results builders take it.
pub fn revision(history: &ReportHistory, stored: &ReportRevision) -> Revision {
    let status = match stored.kind {
        RevisionKind::Draft => ReportStatus::Draft,
        RevisionKind::Signed => ReportStatus::Final,
        RevisionKind::Amended => ReportStatus::Amended,
        RevisionKind::Rejected => ReportStatus::Rejected,
    };
    let signer = match (status.is_signed(), &stored.by) {
        (true, Some((username, display_name))) => Some(Signer {
            username: username.clone(),
            display_name: display_name.clone(),
            signed_at: stored.at,
        }),
        _ => None,
    };
    let drafted_at = history.revisions.first().map_or(stored.at, |r| r.at);
    Revision {
        report_id: history.draft_id,
        revision: u32::try_from(stored.revision).unwrap_or(0),
        status,
        study_uid: history.study_uid.clone(),
        accession_number: history.accession_number.clone(),
        findings: stored.findings.clone(),
        impression: stored.impression.clone(),
        text: stored.text.clone(),
        algorithm: algorithm(&history.provenance),
        drafted_at,
        signer,
        amendment_reason: (stored.kind == RevisionKind::Amended)
            .then(|| stored.reason.clone())
            .flatten(),
        rejection_reason: (stored.kind == RevisionKind::Rejected)
            .then(|| stored.reason.clone())
            .flatten(),
        issued_at: stored.at,
    }
}

/// The report history of the study's current draft, if it may be shown.
async fn current_history(state: &AppState, study_uid: &str) -> Result<ReportHistory, ApiError> {
    let draft = state
        .store
        .current_draft(study_uid)
        .await?
        .ok_or(ApiError::NotFound)?;
    let history = state
        .store
        .report_history(draft.draft_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    // A shadow-mode draft is never shown outside governance.
    if history.shadow {
        return Err(ApiError::NotFound);
    }
    Ok(history)
}

fn fhir_json(value: Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/fhir+json")],
        Json(value),
    )
        .into_response()
}

/// `GET /api/studies/{uid}/fhir/DiagnosticReport`: the current revision.
pub async fn diagnostic_report(
    State(state): State<AppState>,
    signed: Signed,
    Path(study_uid): Path<String>,
) -> Result<Response, ApiError> {
    signed.require(&ROLES)?;
    let history = current_history(&state, &study_uid).await?;
    let latest = history.latest().ok_or(ApiError::NotFound)?;
    Ok(fhir_json(fhir::diagnostic_report(&revision(
        &history, latest,
    ))))
}

/// `GET /api/studies/{uid}/fhir/DiagnosticReport/_history`: every revision, newest first.
pub async fn diagnostic_report_history(
    State(state): State<AppState>,
    signed: Signed,
    Path(study_uid): Path<String>,
) -> Result<Response, ApiError> {
    signed.require(&ROLES)?;
    let history = current_history(&state, &study_uid).await?;
    let revisions: Vec<Revision> = history
        .revisions
        .iter()
        .map(|r| revision(&history, r))
        .collect();
    Ok(fhir_json(fhir::history_bundle(&revisions)))
}
