//! The administrators' view of whether the model helps, per model version and modality:
//! review, acceptance, edit and rejection rates, how much edited drafts changed, the median
//! time to a decision, and the commonest rejection reasons; as a page and as JSON.

use std::fmt::Write;

use axum::Json;
use axum::extract::State;
use axum::response::Html;
use radraft_store::GovernanceRow;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::{ADMIN, Signed};
use crate::error::ApiError;
use crate::pages::{escape, page};

fn rate(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn row_json(r: &GovernanceRow) -> Value {
    json!({
        "model_id": r.model_id, "model_revision": r.model_revision, "modality": r.modality,
        "drafts": r.drafts, "reviewed": r.reviewed,
        "accepted": r.accepted, "edited": r.edited, "rejected": r.rejected,
        "acceptance_rate": rate(r.accepted, r.reviewed),
        "edit_rate": rate(r.edited, r.reviewed),
        "rejection_rate": rate(r.rejected, r.reviewed),
        "mean_edit_distance": r.mean_edit_distance,
        "median_seconds_to_decision": r.median_seconds_to_decision,
    })
}

pub async fn api(State(state): State<AppState>, signed: Signed) -> Result<Json<Value>, ApiError> {
    signed.require(&[ADMIN])?;
    let rows = state.store.governance().await?;
    let reasons = state.store.rejection_reasons().await?;
    Ok(Json(json!({
        "models": rows.iter().map(row_json).collect::<Vec<_>>(),
        "rejection_reasons": reasons.iter().map(|r| json!({
            "model_id": r.model_id, "reason": r.reason, "count": r.count })).collect::<Vec<_>>(),
    })))
}

pub async fn page_view(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Html<String>, ApiError> {
    signed.require(&[ADMIN])?;
    let percent = |v: Option<f64>| v.map_or("—".to_owned(), |v| format!("{:.0}%", v * 100.0));
    let number = |v: Option<f64>| v.map_or("—".to_owned(), |v| format!("{v:.0}"));
    let mut rows = String::new();
    for r in state.store.governance().await? {
        let _ = write!(
            rows,
            "<tr><td>{} ({})</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&r.model_id),
            escape(&r.model_revision),
            escape(&r.modality),
            r.drafts,
            r.reviewed,
            percent(rate(r.accepted, r.reviewed)),
            percent(rate(r.edited, r.reviewed)),
            percent(rate(r.rejected, r.reviewed)),
            number(r.mean_edit_distance),
            number(r.median_seconds_to_decision),
        );
    }
    let mut reasons = String::new();
    for r in state.store.rejection_reasons().await? {
        let _ = write!(
            reasons,
            "<li>{}: {} ({})</li>",
            escape(&r.model_id),
            escape(&r.reason),
            r.count
        );
    }
    Ok(page(
        "Governance",
        &format!(
            "<p><a href=\"/\">← Worklist</a></p><h1>Does the model help?</h1>
<table><thead><tr><th>Model</th><th>Modality</th><th>Drafts</th><th>Reviewed</th>
<th>Accepted</th><th>Edited</th><th>Rejected</th><th>Mean chars changed</th>
<th>Median s to decision</th></tr></thead><tbody>{rows}</tbody></table>
<h2>Rejection reasons</h2><ul>{reasons}</ul>"
        ),
    ))
}
