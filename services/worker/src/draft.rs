//! One study to one draft: select and prepare the images (radraft-imaging), size them for
//! the loaded model, render the prompt, generate (radraft-medgemma), and time each stage.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use radraft_imaging::{
    Image8, Instance, Recipe, Skipped, StudyOptions, model_input, png, prepare_study,
};
use radraft_medgemma::{Generation, MedGemma, TokenEvent};

use crate::error::DraftError;
use crate::prompt;

/// How a study is drafted.
#[derive(Debug, Clone)]
pub struct DraftOptions {
    pub study: StudyOptions,
    /// The instruction; the recipe's default ([`prompt::instruction`]) when `None`.
    pub instruction: Option<String>,
    pub max_new_tokens: usize,
    /// Write each selected image as an 8-bit PNG here (what the model saw, before resizing).
    pub png_dir: Option<PathBuf>,
}

impl Default for DraftOptions {
    fn default() -> Self {
        DraftOptions {
            study: StudyOptions::default(),
            instruction: None,
            max_new_tokens: 512,
            png_dir: None,
        }
    }
}

/// A selected image, by reference: which object and frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub sop_instance_uid: String,
    pub frame: usize,
}

/// Wall-clock time of the stages before the model's own (whose times are in
/// [`Generation::timings`]).
#[derive(Debug, Clone, Default)]
pub struct StageTimings {
    /// Decode, window and select (`prepare_study`).
    pub prepare: Duration,
    /// Resize and normalise to the model's input.
    pub preprocess: Duration,
}

/// A drafted study.
#[derive(Debug)]
pub struct StudyDraft {
    pub recipe: Recipe,
    pub images: Vec<ImageRef>,
    pub skipped: Vec<Skipped>,
    pub generation: Generation,
    pub timings: StageTimings,
    /// The review renderings written, in image order (empty without `png_dir`).
    pub pngs: Vec<PathBuf>,
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
    let inputs = study
        .images
        .iter()
        .map(|i| model_input(&i.image, side))
        .collect();
    let preprocess = started.elapsed();

    let pngs = match &options.png_dir {
        Some(dir) => write_pngs(dir, study.images.iter().map(|i| &i.image))?,
        None => Vec::new(),
    };
    let instruction = options
        .instruction
        .clone()
        .unwrap_or_else(|| prompt::instruction(study.recipe, study.images.len()));
    let request = prompt::request(study.recipe, instruction, inputs, options.max_new_tokens);
    let generation = model.generate(&request, on_token)?;
    Ok(StudyDraft {
        recipe: study.recipe,
        images: study
            .images
            .iter()
            .map(|i| ImageRef {
                sop_instance_uid: i.sop_instance_uid.clone(),
                frame: i.frame,
            })
            .collect(),
        skipped: study.skipped,
        generation,
        timings: StageTimings {
            prepare,
            preprocess,
        },
        pngs,
    })
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
