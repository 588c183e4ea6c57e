//! Image features computed once per study and reused by every prompt about its images (the
//! draft and the triage question), and the prefill inputs built from them: token embeddings
//! with the image soft tokens' rows replaced by the features, plus the image groups the masks
//! need.

use std::time::{Duration, Instant};

use crate::error::GenerateError;
use crate::mask;
use crate::model::MedGemma;
use crate::prompt::Request;

/// The projected vision-encoder features of a request's images, in order. Opaque: only the
/// model that computed them can use them, for requests with the same number of images.
#[derive(Debug, Clone)]
pub struct ImageFeatures {
    /// `images x tokens_per_image x hidden` values, image after image.
    values: Vec<f32>,
    images: usize,
    elapsed: Duration,
}

impl ImageFeatures {
    /// How many images these features describe.
    pub fn images(&self) -> usize {
        self.images
    }

    /// How long the vision encoder took to compute them.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }
}

/// What the first decoder run over a prompt takes.
pub(crate) struct Prefill {
    /// `[ids.len() * hidden]`, image rows already replaced.
    pub(crate) embeds: Vec<f32>,
    /// Per position: 0 for text, the image's number (from 1) for its soft tokens.
    pub(crate) groups: Vec<u32>,
}

impl MedGemma {
    /// Runs the vision encoder over `request`'s images (none is fine: the features are then
    /// empty). The result serves any later request with the same images, so a study's
    /// images go through the encoder once however many prompts are asked about them.
    pub fn encode_images(&mut self, request: &Request) -> Result<ImageFeatures, GenerateError> {
        let started = Instant::now();
        let values = self.image_features(request)?;
        Ok(ImageFeatures {
            values,
            images: request.images().count(),
            elapsed: started.elapsed(),
        })
    }

    /// Embeds `ids` (the rendered `request`) and puts `features` in place of the image soft
    /// tokens, checking first that the features were computed for as many images.
    pub(crate) fn prefill_inputs(
        &mut self,
        ids: &[u32],
        request: &Request,
        features: &ImageFeatures,
    ) -> Result<Prefill, GenerateError> {
        let images = request.images().count();
        if features.images != images {
            return Err(GenerateError::FeatureCount {
                features: features.images,
                images,
            });
        }
        let soft = self.manifest.special_tokens.image_soft_token.id;
        let hidden = self.manifest.text.hidden_size;
        let found = ids.iter().filter(|&&id| id == soft).count();
        // Every soft token takes exactly one feature row and every row is used: features from
        // another model (another hidden size or tokens per image) fail here, not silently.
        if features.values.len() != found * hidden {
            return Err(GenerateError::ImageTokens {
                found,
                images,
                expected: features.values.len() / hidden.max(1),
            });
        }
        let mut embeds = self.embed(ids)?;
        if embeds.len() != ids.len() * hidden {
            return Err(GenerateError::Output {
                graph: "embed_tokens",
                output: "inputs_embeds".to_owned(),
                reason: format!(
                    "{} values for {} tokens of hidden size {hidden}",
                    embeds.len(),
                    ids.len()
                ),
            });
        }
        let rows = embeds
            .chunks_exact_mut(hidden)
            .zip(ids)
            .filter(|(_, id)| **id == soft);
        for ((row, _), feature) in rows.zip(features.values.chunks_exact(hidden)) {
            row.copy_from_slice(feature);
        }
        Ok(Prefill {
            embeds,
            groups: mask::image_groups(ids, soft),
        })
    }
}
