//! The prompt for a study, after Google's MedGemma notebooks: the radiologist persona as the
//! system turn, the instruction first, then the images in order. CT and MR slices are
//! labelled so the model can refer to them; the CT instruction says what the three colour
//! channels hold, since each is a different Hounsfield window.

use ndarray::Array3;
use radraft_imaging::{CT_WINDOWS, Recipe};
use radraft_medgemma::{Part, Request};

/// The system instruction.
pub const SYSTEM: &str = "You are an expert radiologist.";

/// The default instruction for a study prepared with `recipe` from `images` images.
pub fn instruction(recipe: Recipe, images: usize) -> String {
    const ASK: &str = "Write a draft radiology report: findings, then an impression. \
        Say whether anything needs urgent attention.";
    match recipe {
        Recipe::Projection => format!("Here are {images} radiograph image(s) of one study. {ASK}"),
        Recipe::Ct => {
            let [r, g, b] = CT_WINDOWS.map(|w| format!("{} to {} HU", w.lo, w.hi));
            format!(
                "Here are {images} axial slices of one CT study, in order along the patient. \
                 Each slice shows three windows as colours: red {r}, green {g}, blue {b}. {ASK}"
            )
        }
        Recipe::Mr => format!("Here are {images} slices of one MR series, in order. {ASK}"),
    }
}

/// The request: system turn, the instruction, then each image (CT and MR slices numbered).
pub fn request(
    recipe: Recipe,
    instruction: String,
    images: Vec<Array3<f32>>,
    max_new_tokens: usize,
) -> Request {
    let mut parts = vec![Part::Text(instruction)];
    let numbered = recipe != Recipe::Projection;
    for (i, image) in images.into_iter().enumerate() {
        if numbered {
            parts.push(Part::Text(format!("Slice {}:", i + 1)));
        }
        parts.push(Part::Image(image));
    }
    Request {
        system: Some(SYSTEM.to_owned()),
        parts,
        max_new_tokens,
    }
}
