//! The JSON API: who am I (with the CSRF token scripts send back), the worklist with its
//! filters, and the user list (admins only).

use axum::Json;
use axum::extract::{Query, State};
use chrono::NaiveDate;
use radraft_store::{WorklistFilter, WorklistRow};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::{ADMIN, ROLES, Signed};
use crate::error::ApiError;

/// The worklist's query string: `?modality=CT&review=pending&date=2026-11-30`.
#[derive(Debug, Default, Deserialize)]
pub struct WorklistQuery {
    pub modality: Option<String>,
    pub review: Option<String>,
    pub date: Option<String>,
}

const REVIEW_STATES: [&str; 4] = ["pending", "accepted", "edited", "rejected"];
/// Lines returned at most; the worklist is for working, not for reports.
const WORKLIST_LIMIT: i64 = 500;

impl WorklistQuery {
    pub fn filter(&self) -> Result<WorklistFilter, ApiError> {
        let blank = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let review = blank(&self.review);
        if let Some(r) = &review
            && !REVIEW_STATES.contains(&r.as_str())
        {
            return Err(ApiError::BadRequest(format!(
                "review must be one of {}",
                REVIEW_STATES.join(", ")
            )));
        }
        let received_on = blank(&self.date)
            .map(|d| {
                NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                    .map_err(|_| ApiError::BadRequest("date must be YYYY-MM-DD".to_owned()))
            })
            .transpose()?;
        Ok(WorklistFilter {
            modality: blank(&self.modality).map(|m| m.to_ascii_uppercase()),
            review,
            received_on,
        })
    }
}

pub async fn worklist_rows(
    state: &AppState,
    query: &WorklistQuery,
) -> Result<Vec<WorklistRow>, ApiError> {
    let filter = query.filter()?;
    Ok(state
        .store
        .worklist(&filter, state.config.max_wait, WORKLIST_LIMIT)
        .await?)
}

pub fn row_json(row: &WorklistRow) -> Value {
    json!({
        "study_uid": row.study_uid,
        "version": row.version,
        "accession_number": row.accession_number,
        "description": row.description,
        "modalities": row.modalities,
        "ai_state": row.ai_state,
        "failure_reason": row.failure_reason,
        "draft_id": row.draft_id,
        "triage_score": row.triage_score,
        "triage_flag": row.triage_flag,
        "review": row.review,
        "waiting_seconds": row.waiting.as_secs(),
        "overdue": row.overdue,
    })
}

pub async fn me(signed: Signed) -> Json<Value> {
    Json(json!({
        "username": signed.user.username,
        "display_name": signed.user.display_name,
        "role": signed.user.role,
        "csrf_token": signed.csrf_token,
    }))
}

pub async fn worklist(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<WorklistQuery>,
) -> Result<Json<Value>, ApiError> {
    signed.require(&ROLES)?;
    let rows = worklist_rows(&state, &query).await?;
    Ok(Json(
        json!({ "studies": rows.iter().map(row_json).collect::<Vec<_>>() }),
    ))
}

pub async fn users(State(state): State<AppState>, signed: Signed) -> Result<Json<Value>, ApiError> {
    signed.require(&[ADMIN])?;
    let users = state.store.users().await?;
    Ok(Json(json!({
        "users": users.iter().map(|u| json!({
            "username": u.username, "display_name": u.display_name,
            "role": u.role, "disabled": u.disabled,
        })).collect::<Vec<_>>()
    })))
}
