//! One run of each graph: vision encoder per image, token embedding, and a decoder step that
//! takes the KV cache in and hands the new one back.

use std::borrow::Cow;

use ort::session::SessionInputValue;
use ort::value::{DynValue, Tensor};

use crate::error::GenerateError;
use crate::mask;
use crate::model::MedGemma;
use crate::prompt::Request;

type Inputs<'a> = Vec<(Cow<'a, str>, SessionInputValue<'a>)>;

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
            let data: Vec<f32> = image.iter().copied().collect();
            let pixels = tensor(
                "vision_encoder",
                vec![1, 3, dims.image_size, dims.image_size],
                data,
            )?;
            let outputs = session
                .run(ort::inputs!["pixel_values" => pixels])
                .map_err(|e| GenerateError::inference("vision_encoder", e))?;
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

    pub(crate) fn empty_cache(&self) -> Result<Vec<DynValue>, GenerateError> {
        let t = &self.manifest.text;
        (0..2 * t.num_layers)
            .map(|_| {
                tensor(
                    "decoder",
                    vec![1, t.num_kv_heads, 0, t.head_dim],
                    Vec::<f32>::new(),
                )
            })
            .collect()
    }

    /// One decoder run over `len` new embeddings at positions `past_len..`; replaces `past`
    /// with the presents and returns the last position's logits.
    pub(crate) fn decode_step(
        &mut self,
        embeds: Vec<f32>,
        groups: &[u32],
        past_len: usize,
        len: usize,
        past: &mut Vec<DynValue>,
    ) -> Result<Vec<f32>, GenerateError> {
        let t = &self.manifest.text;
        let masks = mask::build(groups, past_len, len, t.sliding_window);
        let positions: Vec<i64> = (past_len..past_len + len).map(|p| p as i64).collect();
        let g = "decoder";
        let mut inputs: Inputs<'_> = Vec::with_capacity(4 + past.len());
        inputs.push((
            "inputs_embeds".into(),
            tensor(g, vec![1, len, t.hidden_size], embeds)?.into(),
        ));
        inputs.push((
            "position_ids".into(),
            tensor(g, vec![1, len], positions)?.into(),
        ));
        let full = Tensor::from_array(masks.full).map_err(|e| GenerateError::inference(g, e))?;
        let sliding =
            Tensor::from_array(masks.sliding).map_err(|e| GenerateError::inference(g, e))?;
        inputs.push(("full_attention_mask".into(), full.into()));
        inputs.push(("sliding_attention_mask".into(), sliding.into()));
        for (i, value) in past.iter().enumerate() {
            let part = if i % 2 == 0 { "key" } else { "value" };
            inputs.push((
                format!("past_key_values.{}.{part}", i / 2).into(),
                value.into(),
            ));
        }
        let mut outputs = self
            .decoder
            .run(inputs)
            .map_err(|e| GenerateError::inference(g, e))?;
        let logits = extract(&outputs, g, "logits")?;
        let vocab = t.vocab_size;
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
            })?
            .to_vec();
        let mut presents = Vec::with_capacity(past.len());
        for i in 0..past.len() {
            let part = if i % 2 == 0 { "key" } else { "value" };
            let name = format!("present.{}.{part}", i / 2);
            let value = outputs.remove(&name).ok_or_else(|| GenerateError::Output {
                graph: g,
                output: name.clone(),
                reason: "missing".to_owned(),
            })?;
            presents.push(value);
        }
        drop(outputs);
        *past = presents;
        Ok(last)
    }
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
