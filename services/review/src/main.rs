//! `radraft-review`: today `audit verify`, which checks the audit trail's hash chains and
//! exits 1 at the first break.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use radraft_review::audit;
use radraft_review::config::ReviewConfig;
use radraft_store::Store;
use secrecy::ExposeSecret;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(name = "radraft-review", version, about = "radraft's review service")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The audit trail (RADRAFT_REVIEW__DATABASE_URL).
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute every hash chain; exit 1 and name the first broken link if one is found.
    Verify,
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .init();
    match Cli::parse().command {
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let config = ReviewConfig::from_env()?;
            let store = Store::connect(config.database_url.expose_secret())
                .await
                .context("connecting to Postgres")?;
            let verdict = audit::verify(&store)
                .await
                .context("reading the audit trail")?;
            println!("{verdict}");
            Ok(if verdict.intact() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}
