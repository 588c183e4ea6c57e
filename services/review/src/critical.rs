//! The critical-finding closed loop on the study page: on a signed draft (prominently when
//! the model flagged it) a radiologist confirms a critical finding and records who was told,
//! when and how, at once or later. A confirmation without its communication is an open loop
//! (listed on the governance page). Radiologists only; each step an audit event.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use radraft_core::review::{COMMUNICATION_METHODS, is_communication_method};
use radraft_store::{Communication, CriticalFinding, CriticalRecorded, ReviewDraft};
use serde::Deserialize;

use crate::app::AppState;
use crate::auth::{RADIOLOGIST, Signed};
use crate::error::ApiError;
use crate::pages::escape;

/// Longest recipient or note accepted.
const MAX_TEXT: usize = 2000;

fn signed_off(draft: &ReviewDraft) -> bool {
    matches!(draft.review.as_str(), "accepted" | "edited")
}

fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The communication fields; the browser's local time is sent as UTC by the page's script.
fn communication_fields(required: bool) -> String {
    let req = if required { " required" } else { "" };
    let mut methods = String::from("<option value=\"\">How…</option>");
    for (value, label) in COMMUNICATION_METHODS {
        methods.push_str(&format!("<option value=\"{value}\">{label}</option>"));
    }
    format!(
        "<label>Told (name, role) <input name=\"recipient\" size=\"40\"{req}></label>
         <label>How <select name=\"method\"{req}>{methods}</select></label>
         <label>When (blank: now) <input type=\"datetime-local\" name=\"communicated_local\"></label>
         <input type=\"hidden\" name=\"communicated_at\">"
    )
}

/// Sends the local time as UTC (RFC 3339), so the record does not depend on the server's zone.
const TO_UTC: &str = "<script>
document.querySelectorAll('form.critical').forEach(f => f.addEventListener('submit', () => {
  const local = f.querySelector('[name=communicated_local]');
  if (local && local.value) f.querySelector('[name=communicated_at]').value = new Date(local.value).toISOString();
}));
</script>";

fn form(draft: &ReviewDraft, csrf: &str, action: &str, fields: &str, button: &str) -> String {
    format!(
        "<form method=\"post\" class=\"critical\" action=\"/studies/{uid}/critical{action}\">
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">
         <input type=\"hidden\" name=\"draft_id\" value=\"{id}\">{fields}
         <label>Note <input name=\"note\" size=\"60\"></label><button>{button}</button></form>{TO_UTC}",
        uid = escape(&draft.study_uid),
        csrf = escape(csrf),
        id = draft.draft_id,
    )
}

fn recorded(finding: &CriticalFinding) -> String {
    let mut out = format!(
        "<p><strong>Critical finding confirmed</strong> by {} at {}.</p>",
        escape(&finding.confirmed_by),
        time(finding.confirmed_at)
    );
    if let Some(note) = &finding.note {
        out.push_str(&format!("<p>Note: {}</p>", escape(note)));
    }
    match (&finding.recipient, &finding.method, finding.communicated_at) {
        (Some(recipient), Some(method), Some(at)) => out.push_str(&format!(
            "<p>Communicated to {} by {} at {} (recorded by {}).</p>",
            escape(recipient),
            escape(&method.replace('_', " ")),
            time(at),
            escape(finding.recorded_by.as_deref().unwrap_or("?")),
        )),
        _ => out.push_str(
            "<p class=\"error\"><strong>Open loop:</strong> nobody is recorded as told yet.</p>",
        ),
    }
    out
}

/// The study page's critical-finding section: nothing until the draft is signed.
pub async fn section(
    state: &AppState,
    draft: &ReviewDraft,
    signed: &Signed,
) -> Result<String, ApiError> {
    if !signed_off(draft) {
        return Ok(String::new());
    }
    let radiologist = signed.user.role == RADIOLOGIST;
    let csrf = &signed.csrf_token;
    let body = match state.store.critical_finding(draft.draft_id).await? {
        Some(finding) => {
            let mut out = recorded(&finding);
            if finding.recipient.is_none() && radiologist {
                out.push_str(&form(
                    draft,
                    csrf,
                    "/communication",
                    &communication_fields(true),
                    "Record communication",
                ));
            }
            out
        }
        None if !radiologist => return Ok(String::new()),
        None => form(
            draft,
            csrf,
            "",
            &communication_fields(false),
            "Confirm critical finding",
        ),
    };
    // A flagged draft asks for an answer; an unflagged one offers the form folded away.
    Ok(if draft.triage_flag {
        format!(
            "<section id=\"critical\" style=\"border:3px solid #c00;padding:.5rem\">
             <h2>Critical finding (the AI flagged this study)</h2>{body}</section>"
        )
    } else {
        format!("<details id=\"critical\"><summary>Critical finding</summary>{body}</details>")
    })
}

#[derive(Debug, Deserialize)]
pub struct CriticalForm {
    pub csrf: Option<String>,
    pub draft_id: i64,
    pub note: Option<String>,
    pub recipient: Option<String>,
    pub method: Option<String>,
    /// RFC 3339; blank means now.
    pub communicated_at: Option<String>,
    /// The page's local-time field, converted by its script into `communicated_at`.
    pub communicated_local: Option<String>,
}

fn text(value: Option<&str>, what: &str) -> Result<Option<String>, ApiError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) if v.len() > MAX_TEXT => Err(ApiError::BadRequest(format!(
            "{what} must be at most {MAX_TEXT} characters"
        ))),
        v => Ok(v.map(str::to_owned)),
    }
}

impl CriticalForm {
    /// The communication the form describes, if any; `None` when no recipient was given.
    /// Its note is left to the caller: a confirmation keeps the note as its own.
    fn communication(&self, now: DateTime<Utc>) -> Result<Option<Communication>, ApiError> {
        let Some(recipient) = text(self.recipient.as_deref(), "recipient")? else {
            return Ok(None);
        };
        let method = self.method.as_deref().map(str::trim).unwrap_or_default();
        if !is_communication_method(method) {
            return Err(ApiError::BadRequest(
                "method must be phone, in_person, secure_message or pager".into(),
            ));
        }
        let at = self
            .communicated_at
            .as_deref()
            .map(str::trim)
            .unwrap_or_default();
        let local = self
            .communicated_local
            .as_deref()
            .map(str::trim)
            .unwrap_or_default();
        let communicated_at = match (at.is_empty(), local.is_empty()) {
            (true, true) => now,
            // Without the page's script the local time's zone is unknown: refuse, rather
            // than record a time hours off.
            (true, false) => {
                return Err(ApiError::BadRequest(
                    "communicated_at must be RFC 3339 (with its offset)".into(),
                ));
            }
            (false, _) => DateTime::parse_from_rfc3339(at)
                .map_err(|_| {
                    ApiError::BadRequest(
                        "communicated_at must be RFC 3339 (with its offset)".into(),
                    )
                })?
                .with_timezone(&Utc),
        };
        // A little clock skew is fine; a communication in the future is a typing error.
        if communicated_at > now + Duration::minutes(5) {
            return Err(ApiError::BadRequest(
                "communicated_at is in the future".into(),
            ));
        }
        Ok(Some(Communication {
            recipient,
            method: method.to_owned(),
            communicated_at,
            note: None,
        }))
    }
}

fn answer(study_uid: &str, outcome: CriticalRecorded) -> Result<Response, ApiError> {
    let conflict = |m: &str| Err(ApiError::Conflict(m.to_owned()));
    match outcome {
        CriticalRecorded::Recorded => Ok((
            StatusCode::SEE_OTHER,
            [(header::LOCATION, format!("/studies/{study_uid}#critical"))],
        )
            .into_response()),
        CriticalRecorded::NoSuchDraft => Err(ApiError::NotFound),
        CriticalRecorded::NotSigned => {
            conflict("sign the report before confirming a critical finding")
        }
        CriticalRecorded::AlreadyConfirmed => {
            conflict("a critical finding is already confirmed on this draft")
        }
        CriticalRecorded::NotConfirmed => conflict("confirm the critical finding first"),
        CriticalRecorded::AlreadyCommunicated => conflict("the communication is already recorded"),
    }
}

/// Confirms a critical finding, with its communication when the form names a recipient.
pub async fn confirm(
    State(state): State<AppState>,
    signed: Signed,
    Path(study_uid): Path<String>,
    Form(form): Form<CriticalForm>,
) -> Result<Response, ApiError> {
    signed.require(&[RADIOLOGIST])?;
    signed.check_csrf(form.csrf.as_deref())?;
    let communication = form.communication(Utc::now())?;
    let note = text(form.note.as_deref(), "note")?;
    let user = &signed.user;
    let outcome = state
        .store
        .confirm_critical(
            &study_uid,
            form.draft_id,
            note.as_deref(),
            communication.as_ref(),
            user.id,
            &user.username,
        )
        .await?;
    answer(&study_uid, outcome)
}

/// Records who was told of a confirmed critical finding, closing its loop.
pub async fn communicate(
    State(state): State<AppState>,
    signed: Signed,
    Path(study_uid): Path<String>,
    Form(form): Form<CriticalForm>,
) -> Result<Response, ApiError> {
    signed.require(&[RADIOLOGIST])?;
    signed.check_csrf(form.csrf.as_deref())?;
    let mut communication = form
        .communication(Utc::now())?
        .ok_or_else(|| ApiError::BadRequest("say who was told (recipient)".into()))?;
    communication.note = text(form.note.as_deref(), "note")?;
    let user = &signed.user;
    let outcome = state
        .store
        .record_communication(
            &study_uid,
            form.draft_id,
            &communication,
            user.id,
            &user.username,
        )
        .await?;
    answer(&study_uid, outcome)
}
