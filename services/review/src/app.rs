//! Start-up and routing: the store, the listener, and the routes. Every route but the
//! sign-in form and `/metrics` (a bearer token, see [`crate::metrics`]) takes a
//! [`crate::auth::Signed`] user, so nothing answers without a session.

use std::net::SocketAddr;

use axum::Router;
use axum::routing::{get, post};
use radraft_store::{Store, StoreError};
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::config::ReviewConfig;
use crate::{
    amendment, api, controls, critical, export, governance, images, metrics, pages, report,
    session, study,
};

#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub config: ReviewConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database is not usable")]
    Store(#[from] StoreError),
    #[error("could not listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/login", get(session::login_page).post(session::login))
        .route("/logout", post(session::logout))
        .route("/", get(pages::worklist))
        .route("/api/me", get(api::me))
        .route("/api/worklist", get(api::worklist))
        .route("/api/users", get(api::users))
        .route("/api/governance", get(governance::api))
        .route("/admin/governance", get(governance::page_view))
        .route("/admin/models/mode", post(controls::set_mode))
        .route("/admin/drafting", post(controls::set_drafting))
        .route("/metrics", get(metrics::metrics))
        .route("/studies/{study_uid}", get(study::study))
        .route("/studies/{study_uid}/decision", post(study::decide))
        .route("/studies/{study_uid}/audit", get(study::audit))
        .route("/studies/{study_uid}/amend", post(amendment::amend))
        .route(
            "/api/studies/{study_uid}/fhir/DiagnosticReport",
            get(report::diagnostic_report),
        )
        .route(
            "/api/studies/{study_uid}/fhir/DiagnosticReport/_history",
            get(report::diagnostic_report_history),
        )
        .route("/studies/{study_uid}/critical", post(critical::confirm))
        .route(
            "/studies/{study_uid}/critical/communication",
            post(critical::communicate),
        )
        .route("/studies/{study_uid}/images/{number}", get(images::image))
        .with_state(state)
}

/// A review service that has connected and bound its port.
#[derive(Debug)]
pub struct App {
    state: AppState,
    listener: TcpListener,
}

impl App {
    pub async fn build(config: ReviewConfig) -> Result<Self, StartError> {
        let store = Store::connect(config.database_url.expose_secret()).await?;
        store.migrate().await?;
        Self::with_store(store, config).await
    }

    /// With a store already connected and migrated (tests use a fresh database each).
    pub async fn with_store(store: Store, config: ReviewConfig) -> Result<Self, StartError> {
        let listener = TcpListener::bind(config.http_addr)
            .await
            .map_err(|source| StartError::Bind {
                addr: config.http_addr,
                source,
            })?;
        Ok(App {
            state: AppState { store, config },
            listener,
        })
    }

    pub fn http_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub async fn run(self, shutdown: CancellationToken) -> std::io::Result<()> {
        info!(addr = ?self.listener.local_addr().ok(), "review service listening");
        let exporter = tokio::spawn(export::run(
            self.state.store.clone(),
            self.state.config.clone(),
            shutdown.clone(),
        ));
        let served = axum::serve(self.listener, router(self.state))
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        // The exporter stops at the same signal; an export in flight finishes first.
        let _ = exporter.await;
        served
    }
}
