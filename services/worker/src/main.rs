//! `radraft-worker`: `draft` takes DICOM files or folders and a model directory and prints
//! a draft per study with the time each stage took; `serve` is the queue consumer that
//! writes drafts to Postgres; `dead list` and `dead replay` tend the dead-letter queue.

mod cli;
mod report;

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use radraft_medgemma::MedGemma;
use radraft_queue::Topology;
use radraft_worker::serve::{App, QueueSettings, WorkerConfig};
use radraft_worker::{draft_study, inputs};
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command, DeadCommand, DraftArgs};

fn main() -> anyhow::Result<ExitCode> {
    let command = Cli::parse().command;
    let filter = |default: &str| {
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default))
    };
    match command {
        Command::Draft(args) => {
            tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .with_env_filter(filter("warn"))
                .init();
            draft(args)
        }
        Command::Serve => {
            // JSON lines for log shippers; fields are UIDs and ids only, never patient data.
            tracing_subscriber::fmt()
                .json()
                .with_current_span(true)
                .with_writer(std::io::stderr)
                .with_env_filter(filter("info,sqlx=warn,lapin=warn,ort=warn"))
                .init();
            runtime()?.block_on(serve())
        }
        Command::Dead { command } => {
            tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .with_env_filter(filter("warn"))
                .init();
            runtime()?.block_on(dead(command))
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

async fn serve() -> anyhow::Result<ExitCode> {
    let config = WorkerConfig::from_env()?;
    let app = App::build(config).await.context("worker could not start")?;
    let shutdown = CancellationToken::new();
    let on_signal = shutdown.clone();
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen for SIGTERM");
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::info!("stopping: draining the studies in hand");
        on_signal.cancel();
    });
    app.run(shutdown)
        .await
        .context("worker stopped with an error")?;
    Ok(ExitCode::SUCCESS)
}

async fn dead(command: DeadCommand) -> anyhow::Result<ExitCode> {
    let config = QueueSettings::from_env()?;
    let topology = Topology::with_prefix(&config.queue_prefix).with_retry_delay(config.retry_delay);
    let connection =
        radraft_queue::connect_trusting(config.amqp_url.expose_secret(), &config.amqp_trust)
            .await
            .context("connecting to RabbitMQ")?;
    match command {
        DeadCommand::List => {
            let dead = radraft_queue::dead::list(&connection, &topology)
                .await
                .context("listing the dead-letter queue")?;
            println!(
                "{} dead-lettered message(s) in {}",
                dead.len(),
                topology.dead_letter_queue
            );
            for d in dead {
                println!(
                    "study {} version {} attempt {}: {}",
                    d.study_uid.as_deref().unwrap_or("(unreadable body)"),
                    d.study_version.map_or("?".to_owned(), |v| v.to_string()),
                    d.attempt,
                    d.reason.as_deref().unwrap_or("(no reason recorded)")
                );
            }
        }
        DeadCommand::Replay { study_uid } => {
            let moved = radraft_queue::dead::replay(&connection, &topology, &study_uid)
                .await
                .context("replaying from the dead-letter queue")?;
            println!(
                "{moved} message(s) of study {study_uid} sent back to {}",
                topology.work_queue
            );
            if moved == 0 {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn draft(args: DraftArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let found = inputs::collect(&args.paths);
    let open = started.elapsed();
    for rejected in &found.rejected {
        eprintln!("skipped {}: {}", rejected.path.display(), rejected.reason);
    }
    if found.studies.is_empty() {
        anyhow::bail!("no DICOM object found in the given paths");
    }

    let started = Instant::now();
    let mut model = MedGemma::load(&args.model, &args.runtime_config())
        .with_context(|| format!("loading the model from {}", args.model.display()))?;
    let load = started.elapsed();
    let options = args.draft_options()?;
    let mut report = report::Report::new(args.json, open, load);

    let mut failed = 0;
    for (n, study) in found.studies.iter().enumerate() {
        let mut options = options.clone();
        // Each study's renderings in its own folder, so several studies do not overwrite.
        options.png_dir = options.png_dir.map(|d| d.join(format!("study-{}", n + 1)));
        report.study_header(&study.study_uid, study.instances.len());
        let result = draft_study(&mut model, &study.instances, &options, |t| {
            report.token(t.text)
        });
        match result {
            Ok(draft) => report.drafted(&study.study_uid, &draft),
            Err(e) => {
                failed += 1;
                report.failed(&study.study_uid, &e);
            }
        }
    }
    std::io::stdout().flush().context("writing to stdout")?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
