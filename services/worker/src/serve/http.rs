//! The worker's operations endpoints: `/healthz` (the process answers), `/readyz` (model
//! loaded and warmed, broker channel open, database answering) and `/metrics` (Prometheus).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use radraft_store::Store;
use serde_json::json;

use crate::serve::metrics::Metrics;

#[derive(Debug, Clone)]
pub struct HttpState {
    pub metrics: Arc<Metrics>,
    pub store: Store,
}

pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn ready(State(state): State<HttpState>) -> impl IntoResponse {
    let model = state.metrics.model_ready.load(Ordering::Relaxed);
    let broker = state.metrics.broker_connected.load(Ordering::Relaxed);
    let database = tokio::time::timeout(Duration::from_secs(2), state.store.ping())
        .await
        .is_ok_and(|r| r.is_ok());
    let status = if model && broker && database {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({ "model": model, "broker": broker, "database": database });
    (status, axum::Json(body))
}

async fn metrics(State(state): State<HttpState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
