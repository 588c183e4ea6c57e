//! `radraft-gateway`: reads its configuration from the environment and runs until SIGTERM
//! or Ctrl-C, then drains (see `RADRAFT_GATEWAY__DRAIN_GRACE_MS`).

use anyhow::Context;
use radraft_gateway::{App, GatewayConfig};
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,lapin=warn")),
        )
        .init();
    // Before the configuration is read: it builds the TLS configurations.
    radraft_gateway::tls::install_crypto_provider();
    let config = GatewayConfig::from_env()?;
    // Installed before start-up, so a SIGTERM during it is not the default (immediate) exit.
    let mut terminate = signal(SignalKind::terminate()).context("could not watch SIGTERM")?;
    let app = App::build(config)
        .await
        .context("gateway could not start")?;
    let shutdown = CancellationToken::new();
    let on_signal = shutdown.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        on_signal.cancel();
    });
    app.run(shutdown)
        .await
        .context("gateway stopped with an error")
}
