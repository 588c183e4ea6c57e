//! `radraft-review`: `serve` (the worklist and API), `user add|list` (local accounts) and
//! `audit verify` (the audit trail's hash chains; exit 1 at the first break).

use std::io::BufRead;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use radraft_review::config::ReviewConfig;
use radraft_review::{App, audit, users};
use radraft_store::Store;
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(name = "radraft-review", version, about = "radraft's review service")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the worklist and API (RADRAFT_REVIEW__* variables; see the README).
    Serve,
    /// Local accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user; the password is read from the first line of standard input.
    Add {
        username: String,
        #[arg(long)]
        role: String,
        /// The name shown in the UI and on signed reports.
        #[arg(long)]
        name: String,
    },
    /// Every user with role and state.
    List,
    /// Stop a user from signing in; their open sessions end at once.
    Disable { username: String },
    /// Let a disabled user sign in again.
    Enable { username: String },
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
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .init();
    let command = Cli::parse().command;
    let config = ReviewConfig::from_env()?;
    if let Command::Serve = command {
        let app = App::build(config)
            .await
            .context("review service could not start")?;
        let shutdown = CancellationToken::new();
        let on_signal = shutdown.clone();
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            on_signal.cancel();
        });
        app.run(shutdown).await.context("review service stopped")?;
        return Ok(ExitCode::SUCCESS);
    }
    let store = Store::connect(config.database_url.expose_secret())
        .await
        .context("connecting to Postgres")?;
    store
        .migrate()
        .await
        .context("bringing the schema up to date")?;
    match command {
        Command::Serve => Ok(ExitCode::SUCCESS),
        Command::User {
            command:
                UserCommand::Add {
                    username,
                    role,
                    name,
                },
        } => {
            let mut password = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut password)
                .context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']);
            let user = users::add(&store, &username, &name, &role, password, "console").await?;
            println!("added {} ({})", user.username, user.role);
            Ok(ExitCode::SUCCESS)
        }
        Command::User {
            command: UserCommand::List,
        } => {
            for u in store.users().await? {
                let state = if u.disabled { " (disabled)" } else { "" };
                println!("{}\t{}\t{}{state}", u.username, u.role, u.display_name);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::User {
            command: UserCommand::Disable { username },
        } => set_disabled(&store, &username, true).await,
        Command::User {
            command: UserCommand::Enable { username },
        } => set_disabled(&store, &username, false).await,
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
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

async fn set_disabled(store: &Store, username: &str, disabled: bool) -> anyhow::Result<ExitCode> {
    if store
        .set_user_disabled(username, disabled, "console")
        .await?
    {
        let state = if disabled { "disabled" } else { "enabled" };
        println!("{username} {state}");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("no user {username:?}");
        Ok(ExitCode::FAILURE)
    }
}
