//! One study to one draft: select and prepare the images (radraft-imaging), size them for
//! the loaded model, run the vision encoder once, generate the draft from the recipe's
//! template, and ask the recipe's triage question on the same image features; each stage
//! timed. The command line's `draft` and the queue consumer share this path.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ndarray::Array3;
use radraft_imaging::{
    Image8, Instance, Recipe, Skipped, StudyOptions, model_input, png, prepare_study,
};
use radraft_medgemma::{Generation, MedGemma, Part, TokenEvent};
use sha2::{Digest, Sha256};

use crate::error::DraftError;
use crate::prompt::{PromptTemplate, Templates};
use crate::sections::{self, Sections};
use crate::triage::{Triage, TriageConfig};

/// New-token budget per draft unless configured.
pub const DEFAULT_MAX_NEW_TOKENS: usize = 512;

/// How a study is drafted.
#[derive(Debug, Clone)]
pub struct DraftOptions {
    pub study: StudyOptions,
    pub templates: Templates,
    /// Replaces the template's instructions (the command line's `--prompt`).
    pub instruction: Option<String>,
    pub max_new_tokens: usize,
    /// Write each selected image as an 8-bit PNG here (what the model saw, before resizing).
    pub png_dir: Option<PathBuf>,
    /// The critical-finding question per recipe; no triage when `None`.
    pub triage: Option<TriageConfig>,
}

impl DraftOptions {
    /// The built-in templates and triage questions, default budgets.
    pub fn new(templates: Templates) -> Self {
        DraftOptions {
            study: StudyOptions::default(),
            templates,
            instruction: None,
            max_new_tokens: DEFAULT_MAX_NEW_TOKENS,
            png_dir: None,
            triage: Some(TriageConfig::default()),
        }
    }
}

/// A selected image, by reference: which object and frame, and the SHA-256 of the exact
/// model input made from it (little-endian f32 `[3, side, side]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub sop_instance_uid: String,
    pub frame: usize,
    pub input_sha256: String,
}

/// Wall-clock time of each stage.
#[derive(Debug, Clone, Default)]
pub struct StageTimings {
    /// Decode, window and select (`prepare_study`).
    pub prepare: Duration,
    /// Resize and normalise to the model's input (and hash it).
    pub preprocess: Duration,
    /// The vision encoder, once for the draft and the triage question.
    pub vision: Duration,
    /// The triage question's prefill.
    pub triage: Duration,
}

/// A drafted study.
#[derive(Debug)]
pub struct StudyDraft {
    pub recipe: Recipe,
    /// The template that produced the prompt (id and file hash in provenance).
    pub template: PromptTemplate,
    pub images: Vec<ImageRef>,
    pub skipped: Vec<Skipped>,
    pub generation: Generation,
    pub sections: Sections,
    pub triage: Option<Triage>,
    pub timings: StageTimings,
    /// The review renderings written, in image order (empty without `png_dir`).
    pub pngs: Vec<PathBuf>,
    /// The model input side the images were resized to.
    pub input_side: usize,
}

/// Drafts one study with `model`, streaming the draft's tokens to `on_token`.
pub fn draft_study(
    model: &mut MedGemma,
    instances: &[Instance],
    options: &DraftOptions,
    on_token: impl FnMut(&TokenEvent<'_>),
) -> Result<StudyDraft, DraftError> {
    let side = input_side(model)?;
    let started = Instant::now();
    let study = prepare_study(instances, &options.study)?;
    let prepare = started.elapsed();

    let started = Instant::now();
    let inputs: Vec<Array3<f32>> = study
        .images
        .iter()
        .map(|i| model_input(&i.image, side))
        .collect();
    let images = study
        .images
        .iter()
        .zip(&inputs)
        .map(|(i, input)| ImageRef {
            sop_instance_uid: i.sop_instance_uid.clone(),
            frame: i.frame,
            input_sha256: input_sha256(input),
        })
        .collect();
    let preprocess = started.elapsed();

    let pngs = match &options.png_dir {
        Some(dir) => write_pngs(dir, study.images.iter().map(|i| &i.image))?,
        None => Vec::new(),
    };
    let base = options.templates.for_recipe(study.recipe);
    let template = match &options.instruction {
        Some(instruction) => base.with_instruction(instruction),
        None => base.clone(),
    };
    let request = template.request(inputs, options.max_new_tokens);

    let started = Instant::now();
    let features = model.encode_images(&request)?;
    let vision = started.elapsed();
    let generation = model.generate_with_features(&request, &features, on_token)?;

    let started = Instant::now();
    let triage = match &options.triage {
        Some(config) => {
            // The draft's request gives its pixel arrays to the question: no copy, and the
            // features computed above stand for them.
            let images = request
                .parts
                .into_iter()
                .filter_map(|p| match p {
                    Part::Image(image) => Some(image),
                    Part::Text(_) => None,
                })
                .collect();
            Some(crate::triage::ask(
                model,
                &template,
                study.recipe,
                images,
                &features,
                config,
            )?)
        }
        None => None,
    };
    let triage_time = started.elapsed();
    Ok(StudyDraft {
        recipe: study.recipe,
        template,
        images,
        skipped: study.skipped,
        sections: sections::split(&generation.text),
        generation,
        triage,
        timings: StageTimings {
            prepare,
            preprocess,
            vision,
            triage: triage_time,
        },
        pngs,
        input_side: side,
    })
}

/// SHA-256 of the model input as little-endian f32, the bytes the vision encoder reads.
fn input_sha256(input: &Array3<f32>) -> String {
    const BLOCK: usize = 16 * 1024;
    let mut hasher = Sha256::new();
    let mut buffer = Vec::with_capacity(BLOCK + 4);
    for value in input.iter() {
        buffer.extend_from_slice(&value.to_le_bytes());
        if buffer.len() >= BLOCK {
            hasher.update(&buffer);
            buffer.clear();
        }
    }
    hasher.update(&buffer);
    hex::encode(hasher.finalize())
}

/// The side of the model's square input image, from its manifest.
fn input_side(model: &MedGemma) -> Result<usize, DraftError> {
    let manifest = model.manifest();
    let model_id = manifest.model_id.clone();
    let Some(vision) = &manifest.vision else {
        return Err(DraftError::TextOnlyModel { model_id });
    };
    match vision.image_size {
        0 => Err(DraftError::NoImageSize { model_id }),
        side => Ok(side),
    }
}

fn write_pngs<'a>(
    dir: &Path,
    images: impl Iterator<Item = &'a Image8>,
) -> Result<Vec<PathBuf>, DraftError> {
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DraftError::WritePng { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let mut written = Vec::new();
    for (i, image) in images.enumerate() {
        let path = dir.join(format!("image-{:03}.png", i + 1));
        let bytes = png(image)?;
        std::fs::write(&path, bytes).map_err(io_error(&path))?;
        written.push(path);
    }
    Ok(written)
}
