//! The Gemma 3 chat prompt, rendered as the checkpoint's chat template and Hugging Face's
//! Gemma3Processor render it: `<bos><start_of_turn>user\n{system}\n\n{parts}<end_of_turn>\n
//! <start_of_turn>model\n`, text parts trimmed, each image replaced by
//! `\n\n<start_of_image>` + N x `<image_soft_token>` + `<end_of_image>\n\n`. Token texts come
//! from the manifest.

use ndarray::Array3;
use tokenizers::Tokenizer;

use crate::error::GenerateError;
use crate::manifest::Manifest;

/// One piece of the user's turn, in order.
#[derive(Debug, Clone)]
pub enum Part {
    Text(String),
    /// `pixel_values` for one image, `[3, side, side]`, already preprocessed (radraft-imaging's
    /// `model_input`).
    Image(Array3<f32>),
}

/// One generation request: a system instruction and one user turn.
#[derive(Debug, Clone)]
pub struct Request {
    pub system: Option<String>,
    pub parts: Vec<Part>,
    /// New-token budget, stop token included; also bounded by the context.
    pub max_new_tokens: usize,
}

impl Request {
    pub fn images(&self) -> impl Iterator<Item = &Array3<f32>> {
        self.parts.iter().filter_map(|p| match p {
            Part::Image(image) => Some(image),
            Part::Text(_) => None,
        })
    }
}

/// The prompt's text, ready to tokenize without adding special tokens.
pub(crate) fn render(manifest: &Manifest, request: &Request) -> String {
    let st = &manifest.special_tokens;
    let mut out = String::new();
    out.push_str(&st.bos.text);
    out.push_str(&st.start_of_turn.text);
    out.push_str("user\n");
    if let Some(system) = &request.system {
        out.push_str(system);
        out.push_str("\n\n");
    }
    let tokens_per_image = manifest.vision.as_ref().map_or(0, |v| v.tokens_per_image);
    let (prefix, suffix) = manifest
        .image_expansion
        .as_ref()
        .map_or(("\n\n", "\n\n"), |e| (e.prefix.as_str(), e.suffix.as_str()));
    for part in &request.parts {
        match part {
            Part::Text(text) => out.push_str(text.trim()),
            Part::Image(_) => {
                out.push_str(prefix);
                out.push_str(&st.start_of_image.text);
                for _ in 0..tokens_per_image {
                    out.push_str(&st.image_soft_token.text);
                }
                out.push_str(&st.end_of_image.text);
                out.push_str(suffix);
            }
        }
    }
    out.push_str(&st.end_of_turn.text);
    out.push('\n');
    out.push_str(&st.start_of_turn.text);
    out.push_str("model\n");
    out
}

/// Renders and tokenizes `request`, and checks that the image soft tokens came out as
/// expected (a literal marker in user text would add some).
pub fn token_ids(
    manifest: &Manifest,
    tokenizer: &Tokenizer,
    request: &Request,
) -> Result<Vec<u32>, GenerateError> {
    let text = render(manifest, request);
    let encoding = tokenizer
        .encode(text, false)
        .map_err(|e| GenerateError::Tokenize {
            reason: e.to_string(),
        })?;
    let ids = encoding.get_ids().to_vec();
    let soft = manifest.special_tokens.image_soft_token.id;
    let found = ids.iter().filter(|&&id| id == soft).count();
    let images = request.images().count();
    let expected = images * manifest.vision.as_ref().map_or(0, |v| v.tokens_per_image);
    if found != expected {
        return Err(GenerateError::ImageTokens {
            found,
            images,
            expected,
        });
    }
    Ok(ids)
}
