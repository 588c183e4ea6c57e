//! One error type for every route, with stable snake_case codes. Internal causes are logged
//! once and never sent to the client; pages get a redirect to sign in instead of a 401.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use radraft_store::StoreError;
use serde_json::json;
use tracing::error;

use crate::auth::AuthError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("sign in first")]
    Unauthenticated,
    /// A page asked for without a session: answered with a redirect to the sign-in page.
    #[error("sign in first")]
    SignIn,
    #[error("your role does not allow this")]
    Forbidden,
    #[error("the form's CSRF token is missing or wrong; reload the page")]
    Csrf,
    #[error("wrong username or password")]
    BadCredentials,
    #[error("too many failed sign-ins; wait a few minutes")]
    RateLimited,
    #[error("{0}")]
    BadRequest(String),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("the images could not be rendered")]
    Render(String),
    #[error("storage failed")]
    Store(#[from] StoreError),
    #[error("authentication failed")]
    Auth(#[from] AuthError),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Unauthenticated | Self::SignIn => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            Self::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            Self::Csrf => (StatusCode::FORBIDDEN, "csrf"),
            Self::BadCredentials => (StatusCode::UNAUTHORIZED, "bad_credentials"),
            Self::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::Render(_) => (StatusCode::INTERNAL_SERVER_ERROR, "render_failed"),
            Self::Store(_) | Self::Auth(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::SignIn = self {
            return (StatusCode::SEE_OTHER, [(header::LOCATION, "/login")]).into_response();
        }
        let (status, code) = self.status_and_code();
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            error!(error = ?self, "request failed");
        }
        (
            status,
            Json(json!({ "error": code, "message": self.to_string() })),
        )
            .into_response()
    }
}
