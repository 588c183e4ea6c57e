//! The administrators' view of whether the model helps, per model version and modality:
//! drafts shown and kept in shadow, review, acceptance, edit and rejection rates, how much
//! edited drafts changed, the median time to a decision, and rejections by reason code;
//! with the controls (model modes, the drafting switch, see [`crate::controls`]) and the
//! open critical-finding loops. As a page and as JSON; `/metrics` reads the same queries.

use std::collections::BTreeMap;
use std::fmt::Write;

use axum::Json;
use axum::extract::State;
use axum::response::Html;
use radraft_core::review::REJECTION_REASONS;
use radraft_store::{GovernanceRow, ModelMode};
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::{ADMIN, Signed};
use crate::controls::{drafting_form, mode_button, new_mode_form};
use crate::error::ApiError;
use crate::pages::{escape, page};

fn rate(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn row_json(r: &GovernanceRow) -> Value {
    json!({
        "model_id": r.model_id, "model_revision": r.model_revision, "modality": r.modality,
        "drafts": r.drafts, "shadow_drafts": r.shadow_drafts, "reviewed": r.reviewed,
        "accepted": r.accepted, "edited": r.edited, "rejected": r.rejected,
        "acceptance_rate": rate(r.accepted, r.reviewed),
        "edit_rate": rate(r.edited, r.reviewed),
        "rejection_rate": rate(r.rejected, r.reviewed),
        "mean_edit_distance": r.mean_edit_distance,
        "median_seconds_to_decision": r.median_seconds_to_decision,
    })
}

/// The reject form's fields: a reason code (what governance counts) and the radiologist's
/// own words (required for "other").
pub fn reason_fields() -> String {
    let mut options = String::from("<option value=\"\">Choose a reason…</option>");
    for (code, label) in REJECTION_REASONS {
        let _ = write!(
            options,
            "<option value=\"{code}\">{}</option>",
            escape(label)
        );
    }
    format!(
        "<label>Reason <select name=\"reason_code\" required>{options}</select></label>
         <label>Details <input name=\"reason\" size=\"60\"></label>"
    )
}

fn reason_label(code: &str) -> &str {
    REJECTION_REASONS
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(code, |(_, label)| label)
}

/// Every model version that drafted or had a mode set, with its mode (active if never set).
fn model_versions(
    rows: &[GovernanceRow],
    modes: &[ModelMode],
) -> BTreeMap<(String, String), Option<ModelMode>> {
    let mut versions = BTreeMap::new();
    for r in rows {
        versions.insert((r.model_id.clone(), r.model_revision.clone()), None);
    }
    for m in modes {
        versions.insert(
            (m.model_id.clone(), m.model_revision.clone()),
            Some(m.clone()),
        );
    }
    versions
}

pub async fn api(State(state): State<AppState>, signed: Signed) -> Result<Json<Value>, ApiError> {
    signed.require(&[ADMIN])?;
    let store = &state.store;
    let rows = store.governance().await?;
    let reasons = store.rejection_reasons().await?;
    let modes = store.model_modes().await?;
    let switch = store.drafting_switch().await?;
    let status = store.governance_status().await?;
    let open = store.open_critical_findings().await?;
    Ok(Json(json!({
        "models": rows.iter().map(row_json).collect::<Vec<_>>(),
        "rejection_reasons": reasons.iter().map(|r| json!({
            "model_id": r.model_id, "model_revision": r.model_revision,
            "modality": r.modality, "reason": r.reason, "count": r.count })).collect::<Vec<_>>(),
        "model_modes": model_versions(&rows, &modes).into_iter().map(|((id, revision), m)| json!({
            "model_id": id, "model_revision": revision,
            "mode": if m.as_ref().is_some_and(|m| m.shadow) { "shadow" } else { "active" },
            "changed_by": m.as_ref().map(|m| &m.changed_by),
            "changed_at": m.as_ref().map(|m| m.changed_at) })).collect::<Vec<_>>(),
        "drafting": { "enabled": switch.enabled, "reason": switch.reason,
                      "changed_by": switch.changed_by, "changed_at": switch.changed_at },
        "awaiting_draft": status.awaiting_draft,
        "critical_findings": {
            "open": status.open_critical_findings, "closed": status.closed_critical_findings,
            "open_loops": open.iter().map(|c| json!({
                "study_uid": c.study_uid, "draft_id": c.draft_id,
                "confirmed_by": c.confirmed_by, "confirmed_at": c.confirmed_at })).collect::<Vec<_>>(),
        },
    })))
}

pub async fn page_view(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Html<String>, ApiError> {
    signed.require(&[ADMIN])?;
    let store = &state.store;
    let csrf = &signed.csrf_token;
    let percent = |v: Option<f64>| v.map_or("—".to_owned(), |v| format!("{:.0}%", v * 100.0));
    let number = |v: Option<f64>| v.map_or("—".to_owned(), |v| format!("{v:.0}"));
    let governance = store.governance().await?;
    let mut rows = String::new();
    for r in &governance {
        let _ = write!(
            rows,
            "<tr><td>{} ({})</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&r.model_id),
            escape(&r.model_revision),
            escape(&r.modality),
            r.drafts,
            r.shadow_drafts,
            r.reviewed,
            percent(rate(r.accepted, r.reviewed)),
            percent(rate(r.edited, r.reviewed)),
            percent(rate(r.rejected, r.reviewed)),
            number(r.mean_edit_distance),
            number(r.median_seconds_to_decision),
        );
    }
    let mut versions = String::new();
    let modes = store.model_modes().await?;
    for ((id, revision), mode) in model_versions(&governance, &modes) {
        let shadow = mode.as_ref().is_some_and(|m| m.shadow);
        let set = mode.as_ref().map_or("never set".to_owned(), |m| {
            format!(
                "{} at {}",
                escape(&m.changed_by),
                m.changed_at.format("%Y-%m-%d %H:%M UTC")
            )
        });
        let _ = write!(
            versions,
            "<tr><td>{} ({})</td><td>{}</td><td>{set}</td><td>{}</td></tr>",
            escape(&id),
            escape(&revision),
            if shadow {
                "<strong>shadow</strong>"
            } else {
                "active"
            },
            mode_button(&id, &revision, shadow, csrf),
        );
    }
    let mut reasons = String::new();
    for r in store.rejection_reasons().await? {
        let _ = write!(
            reasons,
            "<tr><td>{} ({})</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&r.model_id),
            escape(&r.model_revision),
            escape(&r.modality),
            escape(reason_label(&r.reason)),
            r.count
        );
    }
    let mut open = String::new();
    for c in store.open_critical_findings().await? {
        let uid = escape(&c.study_uid);
        let _ = write!(
            open,
            "<tr><td><a href=\"/studies/{uid}\">{uid}</a></td><td>{}</td><td>{}</td></tr>",
            escape(&c.confirmed_by),
            c.confirmed_at.format("%Y-%m-%d %H:%M UTC"),
        );
    }
    let status = store.governance_status().await?;
    let switch = drafting_form(&store.drafting_switch().await?, csrf);
    Ok(page(
        "Governance",
        &format!(
            "<p><a href=\"/\">← Worklist</a></p><h1>Governance</h1>
<h2>Drafting</h2>{switch}<p>{awaiting} studies waiting for a draft.</p>
<h2>Open critical-finding loops</h2><p>{open_count} confirmed critical findings with nobody
recorded as told ({closed} closed).</p>
<table><thead><tr><th>Study</th><th>Confirmed by</th><th>Confirmed at</th></tr></thead>
<tbody id=\"open-loops\">{open}</tbody></table>
<h2>Does the model help?</h2>
<table><thead><tr><th>Model</th><th>Modality</th><th>Drafts shown</th><th>Shadow drafts</th>
<th>Reviewed</th><th>Accepted</th><th>Edited</th><th>Rejected</th><th>Mean chars changed</th>
<th>Median s to decision</th></tr></thead><tbody>{rows}</tbody></table>
<h2>Model versions</h2><p>A model version in shadow mode drafts as usual, but its drafts are
never shown: only counted here. Drafts keep the mode they were made in.</p>
<table><thead><tr><th>Model</th><th>Mode</th><th>Set by</th><th></th></tr></thead>
<tbody>{versions}</tbody></table>{new_mode}
<h2>Rejection reasons</h2>
<table><thead><tr><th>Model</th><th>Modality</th><th>Reason</th><th>Rejections</th></tr></thead>
<tbody>{reasons}</tbody></table>",
            awaiting = status.awaiting_draft,
            open_count = status.open_critical_findings,
            closed = status.closed_critical_findings,
            new_mode = new_mode_form(csrf),
        ),
    ))
}
