//! `radraft-gateway`: reads its configuration from the environment and runs until Ctrl-C.

use anyhow::Context;
use radraft_gateway::{App, GatewayConfig};
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
    let config = GatewayConfig::from_env()?;
    let app = App::build(config)
        .await
        .context("gateway could not start")?;
    let shutdown = CancellationToken::new();
    let on_signal = shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        on_signal.cancel();
    });
    app.run(shutdown)
        .await
        .context("gateway stopped with an error")
}
