//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use radraft_imaging::StudyOptions;
use radraft_medgemma::{Provider, RuntimeConfig};
use radraft_worker::prompt::{TemplateError, Templates};
use radraft_worker::triage::TriageConfig;
use radraft_worker::{DEFAULT_MAX_NEW_TOKENS, DraftOptions};

#[derive(Debug, Parser)]
#[command(name = "radraft-worker", version, about = "radraft's drafting worker")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Draft a report for each study found in DICOM files or folders, printing timings.
    Draft(DraftArgs),
    /// Consume study.ready from RabbitMQ and write each study's draft to Postgres
    /// (configured by RADRAFT_WORKER__* variables; see the README).
    Serve,
    /// Inspect or replay the dead-letter queue (RADRAFT_WORKER__AMQP_URL, __QUEUE_PREFIX).
    Dead {
        #[command(subcommand)]
        command: DeadCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum DeadCommand {
    /// Every dead-lettered message, with its study, version, attempt and reason; none is lost.
    List,
    /// Sends every dead-lettered message of a study back to the work queue.
    Replay {
        /// Study Instance UID.
        study_uid: String,
    },
}

#[derive(Debug, Args)]
pub struct DraftArgs {
    /// DICOM files or folders (walked recursively); objects are grouped by study.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Model directory written by the exporter (manifest.json, ONNX graphs, tokenizer).
    #[arg(long)]
    pub model: PathBuf,
    /// Execution providers in order of preference.
    #[arg(long, value_delimiter = ',', default_value = "tensorrt,cuda,cpu")]
    pub provider: Vec<Provider>,
    /// Fail rather than fall back to the CPU when no GPU provider can be used.
    #[arg(long)]
    pub require_gpu: bool,
    /// CUDA device for the GPU providers.
    #[arg(long, default_value_t = 0)]
    pub device_id: i32,
    /// Where TensorRT caches its engines.
    #[arg(long)]
    pub trt_engine_cache: Option<PathBuf>,
    /// Intra-op threads per ONNX Runtime session (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Most CT/MR slices shown to the model, evenly spaced.
    #[arg(long, default_value_t = StudyOptions::default().max_slices)]
    pub max_slices: usize,
    /// Decode JPEG 2000 films at the smallest resolution level still this many pixels on
    /// their longer side (e.g. 896): much faster on large films, slightly different input.
    #[arg(long)]
    pub j2k_reduce_to: Option<usize>,
    /// New-token budget per draft.
    #[arg(long, default_value_t = DEFAULT_MAX_NEW_TOKENS)]
    pub max_new_tokens: usize,
    /// Instruction replacing the template's for the study's modality.
    #[arg(long)]
    pub prompt: Option<String>,
    /// A folder of prompt templates replacing the built-in ones (same file names).
    #[arg(long)]
    pub prompt_dir: Option<PathBuf>,
    /// Skip the triage question.
    #[arg(long)]
    pub no_triage: bool,
    /// Write the selected images as PNGs under this folder (study-N/image-NNN.png).
    #[arg(long)]
    pub png_dir: Option<PathBuf>,
    /// One JSON object per study on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

impl DraftArgs {
    pub fn runtime_config(&self) -> RuntimeConfig {
        RuntimeConfig {
            providers: self.provider.clone(),
            require_gpu: self.require_gpu,
            device_id: self.device_id,
            trt_engine_cache: self.trt_engine_cache.clone(),
            intra_threads: self.threads,
            ..RuntimeConfig::default()
        }
    }

    pub fn draft_options(&self) -> Result<DraftOptions, TemplateError> {
        let templates = match &self.prompt_dir {
            Some(dir) => Templates::load_dir(dir)?,
            None => Templates::builtin()?,
        };
        Ok(DraftOptions {
            study: StudyOptions {
                max_slices: self.max_slices,
                j2k_reduce_to: self.j2k_reduce_to,
                ..StudyOptions::default()
            },
            instruction: self.prompt.clone(),
            max_new_tokens: self.max_new_tokens,
            png_dir: self.png_dir.clone(),
            triage: (!self.no_triage).then(TriageConfig::default),
            templates,
        })
    }
}
