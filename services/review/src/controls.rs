//! The administrators' controls on the governance page: a model version's mode (shadow: it
//! drafts, its drafts are never shown; or active) and the drafting kill switch (off parks
//! every study in the retry queue until it is on again). Each change is an audit event with
//! the administrator as actor; both forms need the session's CSRF token.

use axum::Form;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use radraft_store::DraftingSwitch;
use serde::Deserialize;

use crate::app::AppState;
use crate::auth::{ADMIN, Signed};
use crate::error::ApiError;
use crate::pages::escape;

/// Longest model id, revision or reason accepted (they are labels and audit details).
const MAX_LEN: usize = 200;

fn back() -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, "/admin/governance")],
    )
        .into_response()
}

fn required(value: Option<&str>, what: &str) -> Result<String, ApiError> {
    let value = value.map(str::trim).unwrap_or_default();
    if value.is_empty() || value.len() > MAX_LEN {
        return Err(ApiError::BadRequest(format!(
            "{what} must be 1 to {MAX_LEN} characters"
        )));
    }
    Ok(value.to_owned())
}

fn hidden_csrf(csrf: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        escape(csrf)
    )
}

/// A button that puts the model version in the other mode.
pub fn mode_button(model_id: &str, revision: &str, shadow: bool, csrf: &str) -> String {
    let (to, label) = if shadow {
        ("active", "Make active (show drafts)")
    } else {
        ("shadow", "Shadow mode (withhold drafts)")
    };
    format!(
        "<form method=\"post\" action=\"/admin/models/mode\" style=\"display:inline\">{}
         <input type=\"hidden\" name=\"model_id\" value=\"{}\">
         <input type=\"hidden\" name=\"model_revision\" value=\"{}\">
         <input type=\"hidden\" name=\"mode\" value=\"{to}\"><button>{label}</button></form>",
        hidden_csrf(csrf),
        escape(model_id),
        escape(revision),
    )
}

/// A form for a model version that has not drafted yet, so it can start in shadow mode.
pub fn new_mode_form(csrf: &str) -> String {
    format!(
        "<form method=\"post\" action=\"/admin/models/mode\">{}
         <label>Model id <input name=\"model_id\" required></label>
         <label>Revision <input name=\"model_revision\" required></label>
         <label>Mode <select name=\"mode\"><option value=\"shadow\">shadow</option>
           <option value=\"active\">active</option></select></label>
         <button>Set mode</button></form>",
        hidden_csrf(csrf)
    )
}

pub fn drafting_form(switch: &DraftingSwitch, csrf: &str) -> String {
    let state = if switch.enabled {
        "<strong>on</strong>".to_owned()
    } else {
        format!(
            "<strong class=\"error\">OFF</strong>: {}",
            escape(switch.reason.as_deref().unwrap_or("no reason recorded"))
        )
    };
    let form = if switch.enabled {
        "<input type=\"hidden\" name=\"action\" value=\"off\">
         <label>Reason <input name=\"reason\" size=\"60\" required></label>
         <button>Switch drafting off</button>"
    } else {
        "<input type=\"hidden\" name=\"action\" value=\"on\">
         <label>Note <input name=\"reason\" size=\"60\"></label>
         <button>Switch drafting on</button>"
    };
    format!(
        "<p>Drafting is {state} (set by {} at {}).</p>
         <form method=\"post\" action=\"/admin/drafting\">{}{form}</form>",
        escape(&switch.changed_by),
        switch.changed_at.format("%Y-%m-%d %H:%M UTC"),
        hidden_csrf(csrf),
    )
}

#[derive(Debug, Deserialize)]
pub struct ModeForm {
    pub csrf: Option<String>,
    pub model_id: Option<String>,
    pub model_revision: Option<String>,
    /// `shadow` or `active`.
    pub mode: Option<String>,
}

pub async fn set_mode(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<ModeForm>,
) -> Result<Response, ApiError> {
    signed.require(&[ADMIN])?;
    signed.check_csrf(form.csrf.as_deref())?;
    let model_id = required(form.model_id.as_deref(), "model_id")?;
    let revision = required(form.model_revision.as_deref(), "model_revision")?;
    let shadow = match form.mode.as_deref() {
        Some("shadow") => true,
        Some("active") => false,
        _ => {
            return Err(ApiError::BadRequest("mode must be shadow or active".into()));
        }
    };
    state
        .store
        .set_model_mode(&model_id, &revision, shadow, &signed.user.username)
        .await?;
    Ok(back())
}

#[derive(Debug, Deserialize)]
pub struct DraftingForm {
    pub csrf: Option<String>,
    /// `off` or `on`.
    pub action: Option<String>,
    /// Required to switch off; a note when switching on.
    pub reason: Option<String>,
}

pub async fn set_drafting(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<DraftingForm>,
) -> Result<Response, ApiError> {
    signed.require(&[ADMIN])?;
    signed.check_csrf(form.csrf.as_deref())?;
    let reason = form
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if reason.is_some_and(|r| r.len() > MAX_LEN) {
        return Err(ApiError::BadRequest(format!(
            "the reason must be at most {MAX_LEN} characters"
        )));
    }
    let enabled = match form.action.as_deref() {
        Some("on") => true,
        Some("off") if reason.is_some() => false,
        Some("off") => {
            return Err(ApiError::BadRequest(
                "switching drafting off needs a reason".into(),
            ));
        }
        _ => return Err(ApiError::BadRequest("action must be on or off".into())),
    };
    state
        .store
        .set_drafting(enabled, reason, &signed.user.username)
        .await?;
    Ok(back())
}
