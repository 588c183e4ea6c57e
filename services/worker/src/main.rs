//! `radraft-worker`: for now one command, `draft`, which takes DICOM files or folders and a
//! model directory and prints a draft per study with the time each stage took.

mod cli;
mod report;

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use radraft_medgemma::MedGemma;
use radraft_worker::{draft_study, inputs};
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command, DraftArgs};

fn main() -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .init();
    match Cli::parse().command {
        Command::Draft(args) => draft(args),
    }
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
    let options = args.draft_options();
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
