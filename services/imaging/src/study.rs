//! Study → images, after Google's MedGemma recipes: CR/DX (and other projection images)
//! frontal first then lateral, each padded to a centred square; CT sorted along the slice
//! normal, K evenly spaced slices, three HU windows into R, G, B; MR min-max over the whole
//! series. Objects that give no image are skipped with a recorded reason.

use crate::error::ImagingError;
use crate::image8::Image8;
use crate::object::Instance;
use crate::pixels::{self, FramePixels, Frames};
use crate::series::{ct_images, mr_images, select_series};
use crate::window::{GrayFrame, Window};

/// Options for [`prepare_study`].
#[derive(Debug, Clone)]
pub struct StudyOptions {
    /// Most CT/MR slices kept, evenly spaced (Google's CT recipe uses 85).
    pub max_slices: usize,
    /// Size guard: rows x columns x frames x samples per object.
    pub max_samples: u64,
    /// Decode projection images stored as JPEG 2000 at the smallest resolution level whose
    /// longer side is still at least this many pixels (say 896, the model's input), instead
    /// of at full size: several times faster on 2k-4k films; the model input then differs
    /// slightly from the reference (docs/benchmarks.md). `None`: full resolution.
    pub j2k_reduce_to: Option<usize>,
}

impl Default for StudyOptions {
    fn default() -> Self {
        StudyOptions {
            max_slices: 85,
            max_samples: pixels::DEFAULT_MAX_SAMPLES,
            j2k_reduce_to: None,
        }
    }
}

/// The recipe a study was prepared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipe {
    Projection,
    Ct,
    Mr,
}

/// One image chosen for the model.
#[derive(Debug, Clone)]
pub struct SelectedImage {
    pub sop_instance_uid: String,
    /// 0-based frame within the object.
    pub frame: usize,
    pub image: Image8,
}

/// An object (or frame) left out, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    pub sop_instance_uid: String,
    pub reason: String,
}

/// The images of a study, in the order the prompt shows them.
#[derive(Debug, Clone)]
pub struct StudyImages {
    pub recipe: Recipe,
    pub images: Vec<SelectedImage>,
    pub skipped: Vec<Skipped>,
}

fn recipe_for(modality: &str) -> Recipe {
    match modality {
        "CT" => Recipe::Ct,
        "MR" => Recipe::Mr,
        _ => Recipe::Projection,
    }
}

/// Frontal views first (PA, then AP), then laterals, then the rest; stable otherwise.
fn view_rank(view: &str) -> u8 {
    match view {
        "PA" => 0,
        "AP" => 1,
        "LL" | "RL" | "LATERAL" | "LAT" | "RLD" | "LLD" => 2,
        _ => 3,
    }
}

/// Turns a study's objects into model images. A study with CT prefers CT, then MR, then
/// projection images; objects of the other recipes are skipped with a reason.
pub fn prepare_study(
    instances: &[Instance],
    options: &StudyOptions,
) -> Result<StudyImages, ImagingError> {
    let mut skipped = Vec::new();
    let mut usable: Vec<&Instance> = Vec::new();
    for inst in instances {
        match pixels::check_size(inst, options.max_samples) {
            Ok(()) => usable.push(inst),
            Err(e) => skipped.push(Skipped {
                sop_instance_uid: inst.sop_instance_uid.clone(),
                reason: e.to_string(),
            }),
        }
    }
    let recipe = [Recipe::Ct, Recipe::Mr, Recipe::Projection]
        .into_iter()
        .find(|r| usable.iter().any(|i| recipe_for(&i.modality) == *r))
        .unwrap_or(Recipe::Projection);
    let mut chosen = Vec::new();
    for inst in usable {
        if recipe_for(&inst.modality) == recipe {
            chosen.push(inst);
        } else {
            skipped.push(Skipped {
                sop_instance_uid: inst.sop_instance_uid.clone(),
                reason: format!(
                    "modality {} not used: study prepared as {recipe:?}",
                    inst.modality
                ),
            });
        }
    }
    let images = match recipe {
        Recipe::Projection => projection_images(chosen, options, &mut skipped),
        Recipe::Ct | Recipe::Mr => {
            let series = select_series(chosen, &mut skipped);
            if recipe == Recipe::Ct {
                ct_images(&series, options, &mut skipped)
            } else {
                mr_images(&series, options, &mut skipped)
            }
        }
    };
    if images.is_empty() {
        return Err(ImagingError::NoUsableImage {
            reasons: skipped
                .iter()
                .map(|s| format!("{}: {}", s.sop_instance_uid, s.reason))
                .collect(),
        });
    }
    Ok(StudyImages {
        recipe,
        images,
        skipped,
    })
}

/// Renders one grey frame with the file's window, falling back to the frame's min-max.
pub fn render_gray_frame(
    frame: &GrayFrame<'_>,
    window: Option<pixels::FileWindow>,
    monochrome1: bool,
) -> Image8 {
    let w = window
        .map(Window::from_center_width)
        .or_else(|| frame.modality_range())
        .unwrap_or(Window { lo: 0.0, hi: 0.0 });
    frame.to_image(w, monochrome1)
}

/// Every frame of an object, rendered to 8 bits by its own window (or min-max).
pub fn render_frames(frames: &Frames) -> Vec<Image8> {
    let n = frames.frame_len();
    match &frames.pixels {
        FramePixels::Gray {
            stored,
            slope,
            intercept,
            monochrome1,
            window,
        } => stored
            .chunks_exact(n)
            .map(|s| {
                let f = GrayFrame {
                    rows: frames.rows,
                    columns: frames.columns,
                    stored: s,
                    slope: *slope,
                    intercept: *intercept,
                };
                render_gray_frame(&f, *window, *monochrome1)
            })
            .collect(),
        FramePixels::Rgb { rgb } => rgb
            .chunks_exact(3 * n)
            .map(|f| Image8::from_interleaved(frames.columns, frames.rows, f))
            .collect(),
    }
}

fn projection_images(
    mut chosen: Vec<&Instance>,
    options: &StudyOptions,
    skipped: &mut Vec<Skipped>,
) -> Vec<SelectedImage> {
    chosen.sort_by_key(|i| {
        (
            view_rank(&i.view_position),
            i.instance_number.unwrap_or(i64::MAX),
        )
    });
    let mut images = Vec::new();
    for inst in chosen {
        match pixels::decode_reduced(inst, options.max_samples, options.j2k_reduce_to)
            .and_then(|f| padded_size(f, options))
        {
            Ok(frames) => {
                // Multi-frame projection objects: each frame is its own image.
                for (frame, image) in render_frames(&frames).into_iter().enumerate() {
                    images.push(SelectedImage {
                        sop_instance_uid: inst.sop_instance_uid.clone(),
                        frame,
                        image: image.pad_to_square(),
                    });
                }
            }
            Err(e) => skipped.push(Skipped {
                sop_instance_uid: inst.sop_instance_uid.clone(),
                reason: e.to_string(),
            }),
        }
    }
    images
}

/// Padding to a square can need far more memory than the decoded pixels (a 15624 x 268
/// frame, under the sample limit, becomes 15624 x 15624: found by fuzzing), so the padded
/// size is held to the same limit.
fn padded_size(frames: Frames, options: &StudyOptions) -> Result<Frames, ImagingError> {
    let side = frames.rows.max(frames.columns) as u64;
    let samples = match frames.pixels {
        FramePixels::Gray { .. } => 1,
        FramePixels::Rgb { .. } => 3,
    };
    let total = side * side * frames.count as u64 * samples;
    if total > options.max_samples {
        let side = u32::try_from(side).unwrap_or(u32::MAX);
        return Err(ImagingError::TooLarge {
            rows: side,
            columns: side,
            frames: u32::try_from(frames.count).unwrap_or(u32::MAX),
            samples: samples as u32,
            total,
            limit: options.max_samples,
        });
    }
    Ok(frames)
}
