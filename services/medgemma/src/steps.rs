//! One run of each graph: vision encoder per image, token embedding, and a decoder step that
//! extends the KV cache (see kv_cache.rs) and picks the greedy token.

use ort::session::SessionInputValue;
use ort::value::{DynValue, Tensor, TensorRef};

use crate::error::GenerateError;
use crate::kv_cache::KvCache;
use crate::mask;
use crate::model::MedGemma;
use crate::prompt::Request;
use crate::runtime::{self, Provider};

fn tensor<T: ort::value::PrimitiveTensorElementType + Clone + std::fmt::Debug + 'static>(
    graph: &'static str,
    shape: Vec<usize>,
    data: Vec<T>,
) -> Result<DynValue, GenerateError> {
    Tensor::from_array((shape, data))
        .map(|t| t.into_dyn())
        .map_err(|e| GenerateError::inference(graph, e))
}

impl MedGemma {
    /// Runs the vision encoder on each image; returns all features, image after image.
    pub(crate) fn image_features(&mut self, request: &Request) -> Result<Vec<f32>, GenerateError> {
        let mut out = Vec::new();
        let Some(dims) = self.manifest.vision.clone() else {
            return match request.images().count() {
                0 => Ok(out),
                n => Err(GenerateError::ImageTokens {
                    found: 0,
                    images: n,
                    expected: 0,
                }),
            };
        };
        let want = vec![3, dims.image_size, dims.image_size];
        for (index, image) in request.images().enumerate() {
            if image.shape() != want.as_slice() {
                return Err(GenerateError::ImageShape {
                    index,
                    got: image.shape().to_vec(),
                    want,
                });
            }
            let Some(session) = self.vision.as_mut() else {
                return Err(GenerateError::inference(
                    "vision_encoder",
                    "no vision graph",
                ));
            };
            let shape = vec![1, 3, dims.image_size, dims.image_size];
            let g = "vision_encoder";
            // The pixels are borrowed, not copied, when the array is contiguous (as
            // radraft-imaging's `model_input` makes it).
            let pixels: SessionInputValue<'_> = match image.as_slice() {
                Some(data) => TensorRef::from_array_view((shape, data))
                    .map_err(|e| GenerateError::inference(g, e))?
                    .into(),
                None => tensor(g, shape, image.iter().copied().collect())?.into(),
            };
            let outputs = session
                .run(ort::inputs!["pixel_values" => pixels])
                .map_err(|e| GenerateError::inference(g, e))?;
            out.extend_from_slice(extract(&outputs, "vision_encoder", "image_features")?);
        }
        Ok(out)
    }

    /// Token embeddings (already scaled), `[len * hidden]`. Image soft tokens are embedded as
    /// padding: their rows are replaced by image features anyway, and their id may lie
    /// outside the embedding table.
    pub(crate) fn embed(&mut self, ids: &[u32]) -> Result<Vec<f32>, GenerateError> {
        let soft = self.manifest.special_tokens.image_soft_token.id;
        let pad = self.manifest.special_tokens.pad.id;
        let data: Vec<i64> = ids
            .iter()
            .map(|&id| i64::from(if id == soft { pad } else { id }))
            .collect();
        let input = tensor("embed_tokens", vec![1, ids.len()], data)?;
        let outputs = self
            .embed
            .run(ort::inputs!["input_ids" => input])
            .map_err(|e| GenerateError::inference("embed_tokens", e))?;
        Ok(extract(&outputs, "embed_tokens", "inputs_embeds")?.to_vec())
    }

    /// An empty KV cache for one generation, kept where the provider computes.
    pub(crate) fn kv_cache(&self) -> Result<KvCache, GenerateError> {
        let memory = |provider| {
            runtime::kv_memory(provider, self.device_id)
                .map_err(|e| GenerateError::inference("decoder", e))
        };
        KvCache::new(
            &self.decoder,
            &self.manifest.text,
            memory(self.provider)?,
            memory(Provider::Cpu)?,
        )
    }

    /// One decoder run over `len` new embeddings at positions `past_len..`, which extends
    /// `cache`; returns the greedy token and, when `keep_logits`, the last position's logits.
    pub(crate) fn decode_step(
        &mut self,
        embeds: Vec<f32>,
        groups: &[u32],
        past_len: usize,
        len: usize,
        cache: &mut KvCache,
        keep_logits: bool,
    ) -> Result<(u32, Option<Vec<f32>>), GenerateError> {
        let t = &self.manifest.text;
        let masks = mask::build(groups, past_len, len, t.sliding_window);
        let positions: Vec<i64> = (past_len..past_len + len).map(|p| p as i64).collect();
        let g = "decoder";
        let inputs = [
            (
                "inputs_embeds",
                tensor(g, vec![1, len, t.hidden_size], embeds)?,
            ),
            ("position_ids", tensor(g, vec![1, len], positions)?),
            ("full_attention_mask", array(masks.full)?),
            ("sliding_attention_mask", array(masks.sliding)?),
        ];
        for (name, value) in &inputs {
            cache.bind_input(name, value)?;
        }
        let vocab = t.vocab_size;
        cache.run(&mut self.decoder, |logits| {
            let last = logits
                .get(logits.len().saturating_sub(vocab)..)
                .filter(|l| l.len() == vocab)
                .ok_or_else(|| GenerateError::Output {
                    graph: g,
                    output: "logits".to_owned(),
                    reason: format!(
                        "{} values, fewer than the vocabulary ({vocab})",
                        logits.len()
                    ),
                })?;
            Ok((argmax(last), keep_logits.then(|| last.to_vec())))
        })
    }
}

fn array(mask: ndarray::Array4<f32>) -> Result<DynValue, GenerateError> {
    Tensor::from_array(mask)
        .map(|t| t.into_dyn())
        .map_err(|e| GenerateError::inference("decoder", e))
}

/// Index of the largest logit; the first one on ties, as torch.argmax.
fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0usize;
    for (i, &v) in logits.iter().enumerate() {
        if v > logits[best] {
            best = i;
        }
    }
    best as u32
}

fn extract<'a>(
    outputs: &'a ort::session::SessionOutputs<'_>,
    graph: &'static str,
    name: &str,
) -> Result<&'a [f32], GenerateError> {
    let fail = |reason: String| GenerateError::Output {
        graph,
        output: name.to_owned(),
        reason,
    };
    let value = outputs
        .get(name)
        .ok_or_else(|| fail("missing".to_owned()))?;
    let (_, data) = value
        .try_extract_tensor::<f32>()
        .map_err(|e| fail(e.to_string()))?;
    Ok(data)
}
