//! After sign-off: the report's revisions on the study page (each with what changed from the
//! one before), where each went (the PACS exports and their state), and the amendment form.
//! An amendment is a new signed revision; the earlier ones stay as they were signed, and its
//! SR supersedes the previous one at the PACS.

use std::fmt::Write;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use radraft_store::{Amended, ReportHistory, ReviewDraft, RevisionKind};
use serde::Deserialize;

use crate::app::AppState;
use crate::auth::{RADIOLOGIST, Signed};
use crate::diff::line_diff;
use crate::error::ApiError;
use crate::export::new_request;
use crate::pages::escape;

fn kind_label(kind: RevisionKind) -> &'static str {
    match kind {
        RevisionKind::Draft => "AI draft (preliminary, unverified)",
        RevisionKind::Signed => "Signed (final)",
        RevisionKind::Rejected => "Rejected",
        RevisionKind::Amended => "Amended",
    }
}

/// The revisions, exports and (for a radiologist, on a signed report) the amendment form.
pub async fn section(
    state: &AppState,
    draft: &ReviewDraft,
    signed: &Signed,
) -> Result<String, ApiError> {
    let Some(history) = state.store.report_history(draft.draft_id).await? else {
        return Ok(String::new());
    };
    if history.revisions.len() < 2 {
        return Ok(String::new());
    }
    let mut out = String::from("<section id=\"revisions\"><h2>Report history</h2><ol start=\"0\">");
    let mut previous: Option<&str> = None;
    for r in &history.revisions {
        let by =
            r.by.as_ref()
                .map(|(_, name)| format!(" by {}", escape(name)))
                .unwrap_or_default();
        let _ = write!(
            out,
            "<li><strong>{}</strong>{by} at {}",
            kind_label(r.kind),
            r.at.format("%Y-%m-%d %H:%M UTC")
        );
        if let Some(reason) = &r.reason {
            let _ = write!(out, " — reason: {}", escape(reason));
        }
        if r.kind == RevisionKind::Amended {
            out.push_str("<pre class=\"diff\">");
            for (sign, line) in line_diff(previous.unwrap_or(""), &r.text) {
                let _ = writeln!(out, "{sign} {}", escape(line));
            }
            out.push_str("</pre>");
        }
        out.push_str("</li>");
        if r.kind != RevisionKind::Rejected {
            previous = Some(&r.text);
        }
    }
    out.push_str("</ol>");
    out.push_str(&exports(state, &history).await?);
    out.push_str(&amend_form(&history, draft, signed));
    out.push_str("</section>");
    Ok(out)
}

async fn exports(state: &AppState, history: &ReportHistory) -> Result<String, ApiError> {
    let exports = state.store.study_exports(&history.study_uid).await?;
    if exports.is_empty() {
        return Ok(String::new());
    }
    let mut out = String::from(
        "<h3>Sent to the PACS (DICOM SR)</h3><table id=\"exports\"><thead><tr><th>Revision</th>\
         <th>Destination</th><th>State</th><th>Attempts</th><th>SOP Instance UID</th></tr></thead><tbody>",
    );
    for e in exports {
        let state = match (&e.state[..], &e.last_error, e.sent_at) {
            ("sent", _, Some(at)) => format!("sent {}", at.format("%Y-%m-%d %H:%M:%S UTC")),
            (s, Some(err), _) => format!("{s}: {}", escape(err)),
            (s, None, _) => s.to_owned(),
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{state}</td><td>{}</td><td><code>{}</code></td></tr>",
            e.revision,
            escape(&e.destination),
            e.attempts,
            escape(&e.sop_instance_uid)
        );
    }
    out.push_str("</tbody></table>");
    Ok(out)
}

fn amend_form(history: &ReportHistory, draft: &ReviewDraft, signed: &Signed) -> String {
    let signed_report = history
        .latest()
        .filter(|r| matches!(r.kind, RevisionKind::Signed | RevisionKind::Amended));
    let (Some(latest), true) = (signed_report, signed.user.role == RADIOLOGIST) else {
        return String::new();
    };
    format!(
        "<form method=\"post\" action=\"/studies/{uid}/amend\" id=\"amend\">
           <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">
           <input type=\"hidden\" name=\"draft_id\" value=\"{draft_id}\">
           <h3>Amend the signed report</h3>
           <label>Findings <textarea name=\"findings\" rows=\"6\" cols=\"80\">{findings}</textarea></label>
           <label>Impression <textarea name=\"impression\" rows=\"3\" cols=\"80\">{impression}</textarea></label>
           <label>Reason for the amendment <input name=\"reason\" required size=\"60\"></label>
           <button>Sign amendment</button></form>",
        uid = escape(&draft.study_uid),
        csrf = escape(&signed.csrf_token),
        draft_id = draft.draft_id,
        findings = escape(latest.findings.as_deref().unwrap_or(&latest.text)),
        impression = escape(latest.impression.as_deref().unwrap_or("")),
    )
}

#[derive(Debug, Deserialize)]
pub struct AmendForm {
    pub csrf: Option<String>,
    pub draft_id: i64,
    pub findings: Option<String>,
    pub impression: Option<String>,
    pub reason: Option<String>,
}

/// `POST /studies/{uid}/amend`: a radiologist amends a signed report.
pub async fn amend(
    State(state): State<AppState>,
    signed: Signed,
    Path(study_uid): Path<String>,
    Form(form): Form<AmendForm>,
) -> Result<Response, ApiError> {
    signed.require(&[RADIOLOGIST])?;
    signed.check_csrf(form.csrf.as_deref())?;
    let text = |v: Option<String>| v.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
    let impression = text(form.impression)
        .ok_or_else(|| ApiError::BadRequest("an amended report needs an impression".into()))?;
    let reason = text(form.reason)
        .ok_or_else(|| ApiError::BadRequest("an amendment needs a reason".into()))?;
    let findings = text(form.findings).unwrap_or_default();
    let export = state
        .config
        .pacs
        .as_ref()
        .map(|p| new_request(p.destination()));
    let user = &signed.user;
    match state
        .store
        .amend(
            &study_uid,
            form.draft_id,
            &findings,
            &impression,
            &reason,
            user.id,
            &user.username,
            export.as_ref(),
        )
        .await?
    {
        Amended::Recorded { .. } => Ok((
            StatusCode::SEE_OTHER,
            [(header::LOCATION, format!("/studies/{study_uid}"))],
        )
            .into_response()),
        Amended::NotSigned => Err(ApiError::Conflict(
            "only a signed report can be amended".into(),
        )),
        Amended::NoSuchDraft => Err(ApiError::NotFound),
    }
}
