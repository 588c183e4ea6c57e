//! The study page: the images the model saw, the draft's Findings and Impression labelled
//! as a preliminary AI draft, its provenance and triage answer, and the radiologist's
//! actions (accept, edit and accept, reject with a reason) with keyboard shortcuts. Opening
//! it is an audit event; a draft superseded by newer images cannot be signed.

use std::fmt::Write;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use radraft_store::{Decided, Decision, ReviewDraft};
use serde::Deserialize;

use crate::app::AppState;
use crate::auth::{RADIOLOGIST, ROLES, Signed};
use crate::diff::{edit_distance, line_diff};
use crate::error::ApiError;
use crate::images::image_count;
use crate::pages::{escape, page};

/// The draft's findings: its Findings section, or its whole text when it had no sections.
fn ai_findings(draft: &ReviewDraft) -> &str {
    draft.findings.as_deref().unwrap_or(&draft.report_text)
}

/// A report as one text (findings, then impression), as drafts and signed reports are
/// compared: the edit's diff and its edit distance read the same text.
fn report_text(findings: &str, impression: &str) -> String {
    format!("{findings}\n{impression}")
}

fn ai_report(draft: &ReviewDraft) -> String {
    report_text(
        ai_findings(draft),
        draft.impression.as_deref().unwrap_or(""),
    )
}

fn text_or_dash(text: Option<&str>) -> String {
    escape(text.filter(|t| !t.trim().is_empty()).unwrap_or("—"))
}

fn provenance(draft: &ReviewDraft) -> String {
    let p = &draft.provenance;
    let field = |v: &serde_json::Value| escape(v.as_str().unwrap_or("?"));
    format!(
        "<dl class=\"ai\"><dt>Model</dt><dd>{model} ({revision})</dd>
         <dt>Execution provider</dt><dd>{provider}</dd>
         <dt>Prompt template</dt><dd>{template}</dd>
         <dt>Worker</dt><dd>{worker}</dd><dt>Study version</dt><dd>{version}</dd></dl>",
        model = field(&p["model"]["model_id"]),
        revision = field(&p["model"]["revision"]),
        provider = field(&p["execution_provider"]),
        template = field(&p["prompt"]["template_id"]),
        worker = field(&p["worker_version"]),
        version = draft.study_version,
    )
}

fn actions(draft: &ReviewDraft, signed: &Signed, keys: &crate::config::Keys) -> String {
    if signed.user.role != RADIOLOGIST {
        return "<p>Read only: only radiologists sign reports.</p>".to_owned();
    }
    if draft.newer_version_pending {
        return "<p class=\"error\">New images arrived for this study: a newer draft is being \
                made, and this one can no longer be signed.</p>"
            .to_owned();
    }
    if draft.review != "pending" {
        return String::new();
    }
    let uid = escape(&draft.study_uid);
    let hidden = format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"draft_id\" value=\"{}\">",
        escape(&signed.csrf_token),
        draft.draft_id
    );
    format!(
        "<form method=\"post\" action=\"/studies/{uid}/decision\" id=\"accept\">{hidden}
           <input type=\"hidden\" name=\"action\" value=\"accept\">
           <button>Accept as is [{a}]</button></form>
         <form method=\"post\" action=\"/studies/{uid}/decision\" id=\"edit\">{hidden}
           <input type=\"hidden\" name=\"action\" value=\"edit\">
           <label>Findings <textarea name=\"findings\" rows=\"6\" cols=\"80\">{findings}</textarea></label>
           <label>Impression <textarea name=\"impression\" rows=\"3\" cols=\"80\">{impression}</textarea></label>
           <button>Edit and accept [{e}]</button></form>
         <form method=\"post\" action=\"/studies/{uid}/decision\" id=\"reject\">{hidden}
           <input type=\"hidden\" name=\"action\" value=\"reject\">
           {reasons}
           <button>Reject [{r}]</button></form>
         <script>
         document.addEventListener('keydown', e => {{
           if (['INPUT', 'TEXTAREA', 'SELECT'].includes(e.target.tagName)) return;
           if (e.key === '{a}') document.getElementById('accept').submit();
           if (e.key === '{e}') {{
             e.preventDefault();
             const box = document.querySelector('#edit textarea');
             box.focus();
             box.selectionStart = box.selectionEnd = box.value.length;
           }}
           if (e.key === '{r}') {{ e.preventDefault(); document.querySelector('#reject select').focus(); }}
           if (e.key === '{n}') location.href = '/';
         }});
         </script>",
        findings = escape(ai_findings(draft)),
        impression = escape(draft.impression.as_deref().unwrap_or("")),
        a = keys.accept,
        e = keys.edit,
        r = keys.reject,
        n = keys.next,
        reasons = crate::governance::reason_fields(),
    )
}

pub async fn study(
    State(state): State<AppState>,
    signed: Signed,
    Path(study_uid): Path<String>,
) -> Result<Html<String>, ApiError> {
    signed.require(&ROLES)?;
    let draft = state
        .store
        .current_draft(&study_uid)
        .await?
        .ok_or(ApiError::NotFound)?;
    state
        .store
        .record_view(&draft, &signed.user.username)
        .await?;
    let uid = escape(&draft.study_uid);
    let mut images = String::new();
    for n in 1..=image_count(&draft) {
        let _ = write!(
            images,
            "<img src=\"/studies/{uid}/images/{n}\" alt=\"image {n} the model saw\" width=\"384\">"
        );
    }
    let status = match draft.review.as_str() {
        "pending" => "PRELIMINARY AI-GENERATED DRAFT — not reviewed by a radiologist".to_owned(),
        other => format!("AI-generated draft, reviewed: {other}"),
    };
    let triage = match (draft.triage_score, &draft.triage_question) {
        (Some(score), Some(q)) => format!(
            "<p class=\"ai\">Triage (AI): {} → {score:.3}{}</p>",
            escape(q),
            if draft.triage_flag {
                " — FLAGGED"
            } else {
                ""
            }
        ),
        _ => String::new(),
    };
    let decision = decision_view(&state, &draft).await?;
    let critical = crate::critical::section(&state, &draft, &signed).await?;
    let revisions = crate::amendment::section(&state, &draft, &signed).await?;
    let body = format!(
        "<p><a href=\"/\">← Worklist</a> · <a href=\"/studies/{uid}/audit\">Audit trail</a></p>
<h1>Study {uid}</h1><p class=\"ai\"><strong>{status}</strong></p>
<section>{images}</section>{triage}
<h2>Findings</h2><pre>{findings}</pre><h2>Impression</h2><pre>{impression}</pre>
{decision}{critical}{revisions}
<details><summary>Provenance</summary>{provenance}</details>
{actions}",
        findings = text_or_dash(Some(ai_findings(&draft))),
        impression = text_or_dash(draft.impression.as_deref()),
        provenance = provenance(&draft),
        actions = actions(&draft, &signed, &state.config.keys),
    );
    Ok(page(&format!("Study {}", draft.study_uid), &body))
}

/// For an edited draft, what the radiologist changed.
async fn decision_view(state: &AppState, draft: &ReviewDraft) -> Result<String, ApiError> {
    let Some(d) = state.store.decision(draft.draft_id).await? else {
        return Ok(String::new());
    };
    let mut out = format!(
        "<p><strong>{}</strong> by {} at {}</p>",
        escape(&d.decision),
        escape(&d.display_name),
        d.decided_at.format("%Y-%m-%d %H:%M UTC")
    );
    if let Some(reason) = &d.reason {
        let _ = write!(out, "<p>Reason: {}</p>", escape(reason));
    }
    if d.decision == "edited" {
        let before = ai_report(draft);
        let after = report_text(
            d.findings.as_deref().unwrap_or(""),
            d.impression.as_deref().unwrap_or(""),
        );
        out.push_str("<h2>What the radiologist changed</h2><pre class=\"diff\">");
        for (sign, line) in line_diff(&before, &after) {
            let _ = writeln!(out, "{sign} {}", escape(line));
        }
        out.push_str("</pre>");
    }
    Ok(out)
}

#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    pub csrf: Option<String>,
    pub draft_id: i64,
    pub action: String,
    pub findings: Option<String>,
    pub impression: Option<String>,
    pub reason: Option<String>,
    /// One of `radraft_core::review::REJECTION_REASONS`; `reason` adds the details.
    pub reason_code: Option<String>,
}

pub async fn decide(
    State(state): State<AppState>,
    signed: Signed,
    Path(study_uid): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Result<Response, ApiError> {
    signed.require(&[RADIOLOGIST])?;
    signed.check_csrf(form.csrf.as_deref())?;
    let text = |v: Option<String>| v.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
    let decision = match form.action.as_str() {
        "accept" => Decision::Accept,
        "edit" => {
            let findings = text(form.findings).unwrap_or_default();
            let impression = text(form.impression).ok_or_else(|| {
                ApiError::BadRequest("an edited report needs an impression".into())
            })?;
            let draft = state
                .store
                .current_draft(&study_uid)
                .await?
                .ok_or(ApiError::NotFound)?;
            let edit_distance =
                edit_distance(&ai_report(&draft), &report_text(&findings, &impression));
            Decision::Edit {
                findings,
                impression,
                edit_distance,
            }
        }
        "reject" => Decision::Reject {
            reason: radraft_core::review::compose_reason(
                form.reason_code.as_deref(),
                form.reason.as_deref(),
            )
            .map_err(|e| ApiError::BadRequest(e.to_string()))?,
        },
        other => return Err(ApiError::BadRequest(format!("unknown action {other:?}"))),
    };
    // A signed report goes to the PACS; the store queues it with the decision.
    let export = state
        .config
        .pacs
        .as_ref()
        .map(|p| crate::export::new_request(p.destination()));
    let user = &signed.user;
    match state
        .store
        .decide(
            &study_uid,
            form.draft_id,
            &decision,
            user.id,
            &user.username,
            export.as_ref(),
        )
        .await?
    {
        Decided::Recorded => Ok((
            StatusCode::SEE_OTHER,
            [(header::LOCATION, format!("/studies/{study_uid}"))],
        )
            .into_response()),
        Decided::Superseded => Err(ApiError::Conflict(
            "a newer draft of this study exists; review that one".into(),
        )),
        Decided::AlreadyDecided(how) => {
            Err(ApiError::Conflict(format!("this draft was already {how}")))
        }
        Decided::NoSuchDraft => Err(ApiError::NotFound),
    }
}

pub async fn audit(
    State(state): State<AppState>,
    signed: Signed,
    Path(study_uid): Path<String>,
) -> Result<Html<String>, ApiError> {
    signed.require(&ROLES)?;
    let events = state.store.audit_page(&study_uid).await?;
    if events.is_empty() {
        return Err(ApiError::NotFound);
    }
    let mut rows = String::new();
    for (id, at, actor, kind, detail) in events {
        let _ = write!(
            rows,
            "<tr><td>{id}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            at.format("%Y-%m-%d %H:%M:%S%.3f UTC"),
            escape(&actor),
            escape(&kind),
            escape(&detail.to_string())
        );
    }
    let uid = escape(&study_uid);
    Ok(page(
        &format!("Audit {study_uid}"),
        &format!(
            "<p><a href=\"/studies/{uid}\">← Study</a></p><h1>Audit trail of {uid}</h1>
             <table><thead><tr><th>#</th><th>When</th><th>Who</th><th>What</th><th>Detail</th></tr></thead>
             <tbody>{rows}</tbody></table>"
        ),
    ))
}
