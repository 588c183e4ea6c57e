//! Signing in and out. A sign-in is refused for a while after too many failures for the
//! same username; an unknown username costs the same hash check as a wrong password. The
//! session cookie is HttpOnly, SameSite=Strict and (unless configured off) Secure; signing
//! out needs the session's CSRF token. Both are audit events.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use radraft_store::AuditEvent;
use serde::Deserialize;
use serde_json::json;

use crate::app::AppState;
use crate::auth::{
    SESSION_COOKIE, Signed, decoy_hash, new_token, session_token, token_digest, verify_password,
};
use crate::error::ApiError;
use crate::pages::{escape, page};

#[derive(Debug, Deserialize)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    pub csrf: Option<String>,
}

pub async fn login_page() -> Html<String> {
    login_form(None)
}

fn login_form(message: Option<&str>) -> Html<String> {
    let message = message
        .map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(m)))
        .unwrap_or_default();
    page(
        "Sign in",
        &format!(
            "<h1>radraft review</h1>{message}
             <form method=\"post\" action=\"/login\">
               <label>Username <input name=\"username\" autocomplete=\"username\" autofocus required></label>
               <label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label>
               <button type=\"submit\">Sign in</button>
             </form>"
        ),
    )
}

pub async fn login(
    State(state): State<AppState>,
    Form(credentials): Form<Credentials>,
) -> Result<Response, ApiError> {
    let username = credentials.username.trim().to_ascii_lowercase();
    let config = &state.config;
    let failures = state
        .store
        .recent_login_failures(&username, config.login_window)
        .await?;
    if failures >= config.login_attempts {
        return Err(ApiError::RateLimited);
    }
    let found = state.store.user_for_login(&username).await?;
    let hash = found
        .as_ref()
        .map_or(decoy_hash(), |(_, h)| h.as_str())
        .to_owned();
    let password = credentials.password;
    // argon2 takes tens of milliseconds of CPU: off the async runtime.
    let matches = tokio::task::spawn_blocking(move || verify_password(&hash, &password))
        .await
        .unwrap_or(false);
    let user = match found {
        Some((user, _)) if matches && !user.disabled => user,
        _ => {
            state.store.record_login_failure(&username).await?;
            let page = login_form(Some("Wrong username or password."));
            return Ok((StatusCode::UNAUTHORIZED, page).into_response());
        }
    };
    let (token, digest) = new_token()?;
    let (csrf, _) = new_token()?;
    state
        .store
        .create_session(&digest, user.id, &csrf, config.session_lifetime)
        .await?;
    state
        .store
        .append_audit(&AuditEvent {
            actor: user.username.clone(),
            kind: "user.signed_in".into(),
            study_uid: None,
            detail: json!({ "role": user.role }),
        })
        .await?;
    let secure = if config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        config.session_lifetime.as_secs()
    );
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, cookie),
            (header::LOCATION, "/".to_owned()),
        ],
    )
        .into_response())
}

pub async fn logout(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    let sent = form.csrf.or_else(|| header_value(&headers, "x-csrf-token"));
    signed.check_csrf(sent.as_deref())?;
    if let Some(token) = session_token(&headers) {
        state.store.revoke_session(&token_digest(&token)).await?;
    }
    state
        .store
        .append_audit(&AuditEvent {
            actor: signed.user.username.clone(),
            kind: "user.signed_out".into(),
            study_uid: None,
            detail: json!({}),
        })
        .await?;
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, clear),
            (header::LOCATION, "/login".to_owned()),
        ],
    )
        .into_response())
}

pub fn header_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}
