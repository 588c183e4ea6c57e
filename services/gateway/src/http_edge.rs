//! The HTTP server's edge: every endpoint but `/health` sits behind a request timeout,
//! bearer-token authentication, a concurrency limit and a total body limit, so that an
//! anonymous or slow peer can neither store nor hold the gateway's resources.
//!
//! The layers, outermost first: timeout (408 once `HTTP_TIMEOUT_MS` has passed since the
//! headers, upload included), authentication (401), concurrency (503 with Retry-After
//! when `HTTP_MAX_CONCURRENT` requests are already in hand: waiting would queue an
//! unbounded number of open uploads), body limit (413 before the handler runs when the
//! Content-Length is over `HTTP_MAX_BODY_BYTES`, a read error once a chunked body passes
//! it). `/health` is added after the layers, so probes work without a token and under load.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::load_shed::LoadShedLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tracing::warn;

use crate::api_error::ApiError;
use crate::config::HttpLimits;
use crate::ingest::Ingestor;
use crate::stow;

/// How long a client refused for load is told to wait before it retries.
const RETRY_AFTER_SECONDS: &str = "5";

/// The gateway's whole HTTP surface, guarded as described above.
pub fn router(ingestor: Ingestor, limits: &HttpLimits) -> Router {
    let tokens = Arc::new(Tokens::new(limits));
    let body_limit = usize::try_from(limits.max_body_bytes).unwrap_or(usize::MAX);
    let semaphore = Arc::new(Semaphore::new(limits.max_concurrent));
    // `Router::layer` wraps each route on its own: the semaphore is shared explicitly so the
    // limit counts requests across every route.
    let guarded = stow::router(ingestor)
        .layer(RequestBodyLimitLayer::new(body_limit))
        // One layer: the router needs each of its layers to answer without an error.
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(overloaded))
                .layer(LoadShedLayer::new())
                .layer(GlobalConcurrencyLimitLayer::with_semaphore(semaphore)),
        )
        .layer(middleware::from_fn_with_state(tokens, authenticate))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.timeout,
        ));
    guarded.route("/health", get(|| async { "ok" }))
}

/// The configured tokens, kept only as SHA-256 digests: comparing digests takes the same
/// time whatever the presented token shares with a configured one, and its length.
#[derive(Debug)]
struct Tokens {
    digests: Vec<[u8; 32]>,
}

impl Tokens {
    fn new(limits: &HttpLimits) -> Self {
        Self {
            digests: limits
                .tokens
                .iter()
                .map(|token| digest(token.expose_secret()))
                .collect(),
        }
    }

    /// No tokens configured: the gateway runs open (warned at start-up).
    fn open(&self) -> bool {
        self.digests.is_empty()
    }

    /// Whether `presented` is one of the tokens; every configured token is compared, so the
    /// time taken does not tell which one matched.
    fn accepts(&self, presented: &str) -> bool {
        let presented = digest(presented);
        self.digests.iter().fold(false, |found, known| {
            found | constant_time_eq(known, &presented)
        })
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(difference) == 0
}

/// Why a request was refused, for the log and the `WWW-Authenticate` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Missing,
    Invalid,
}

async fn authenticate(State(tokens): State<Arc<Tokens>>, request: Request, next: Next) -> Response {
    if tokens.open() {
        return next.run(request).await;
    }
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer);
    let refusal = match presented {
        Some(token) if tokens.accepts(token) => return next.run(request).await,
        Some(_) => Refusal::Invalid,
        None => Refusal::Missing,
    };
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(
            || "unknown".to_owned(),
            |ConnectInfo(addr)| addr.to_string(),
        );
    // Neither the token nor the path is logged: both come from the client.
    warn!(%peer, method = %request.method(), reason = ?refusal, "refused unauthenticated HTTP request");
    unauthorized(refusal)
}

/// The token of an `Authorization: Bearer <token>` header (the scheme is case-insensitive).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn unauthorized(refusal: Refusal) -> Response {
    let (challenge, message) = match refusal {
        Refusal::Missing => (
            "Bearer realm=\"radraft\"",
            "this endpoint needs an Authorization: Bearer token",
        ),
        Refusal::Invalid => (
            "Bearer realm=\"radraft\", error=\"invalid_token\"",
            "the bearer token is not valid",
        ),
    };
    let mut response =
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    response
}

/// The answer when the concurrency limit is reached (the load shedder's only error).
async fn overloaded(_: tower::BoxError) -> Result<Response, Infallible> {
    warn!("refused HTTP request: concurrency limit reached");
    let mut response = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "overloaded",
        "too many requests in progress; retry later",
    )
    .into_response();
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_static(RETRY_AFTER_SECONDS),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn tokens(list: &[&str]) -> Tokens {
        Tokens::new(&HttpLimits {
            tokens: list.iter().map(|t| SecretString::from(*t)).collect(),
            max_body_bytes: 1,
            timeout: std::time::Duration::from_secs(1),
            max_concurrent: 1,
            header_timeout: std::time::Duration::from_secs(1),
        })
    }

    #[test]
    fn accepts_only_configured_tokens() {
        let set = tokens(&["first-token-0123456789", "second-token-0123456789"]);
        assert!(set.accepts("second-token-0123456789"));
        assert!(!set.accepts("second-token-012345678"));
        assert!(!set.accepts(""));
        assert!(!set.open());
        assert!(tokens(&[]).open());
    }

    #[test]
    fn reads_bearer_headers() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("Bearer"), None);
    }
}
