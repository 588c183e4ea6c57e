//! Generation: vision encoder, image features merged into the token embeddings, prefill,
//! then greedy decoding one token at a time with the KV cache, until a stop token, the token
//! budget or the context limit. Tokens stream to a callback; thinking traces are stripped.

use std::time::{Duration, Instant};

use crate::error::GenerateError;
use crate::features::{ImageFeatures, Prefill};
use crate::model::MedGemma;
use crate::prompt::Request;
use crate::thinking;

/// One generated token, as it streams.
#[derive(Debug)]
pub struct TokenEvent<'a> {
    pub id: u32,
    /// Text this token adds to the visible draft (empty inside a thinking trace, for special
    /// tokens, or while a multi-byte character is still incomplete).
    pub text: &'a str,
    /// The token is part of a thinking trace.
    pub thinking: bool,
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// A stop token (kept as the last of `token_ids`).
    StopToken(u32),
    /// The request's `max_new_tokens`.
    Budget,
    /// The context limit.
    Context,
}

#[derive(Debug, Clone, Default)]
pub struct Timings {
    /// The vision encoder, over every image (for `generate_with_features`, the time the
    /// features it was given took to compute, not spent again).
    pub vision: Duration,
    /// Embedding, merging and the first decoder run (prompt tokens at once).
    pub prefill: Duration,
    /// All later decoder runs.
    pub decode: Duration,
    pub decode_steps: usize,
}

/// A finished generation.
#[derive(Debug, Clone)]
pub struct Generation {
    /// The draft: generated text without thinking traces or special tokens, trimmed.
    pub text: String,
    /// Every generated id, thinking and stop token included.
    pub token_ids: Vec<u32>,
    pub prompt_tokens: usize,
    pub stop: StopReason,
    /// Logits for the first generated token (what parity checks compare).
    pub first_logits: Vec<f32>,
    pub timings: Timings,
    /// The execution provider that ran it.
    pub provider: &'static str,
}

impl MedGemma {
    /// Generates greedily for `request`, calling `on_token` for each new token: the vision
    /// encoder over its images ([`MedGemma::encode_images`]), then
    /// [`MedGemma::generate_with_features`].
    pub fn generate(
        &mut self,
        request: &Request,
        on_token: impl FnMut(&TokenEvent),
    ) -> Result<Generation, GenerateError> {
        // The prompt is checked before the encoder runs, so a request that cannot fit costs
        // no vision time.
        let ids = self.fitting_prompt_ids(request)?;
        let features = self.encode_images(request)?;
        self.generate_from(&ids, request, &features, on_token)
    }

    /// Like [`MedGemma::generate`], with `features` computed earlier by
    /// [`MedGemma::encode_images`] for the same images (a [`GenerateError::FeatureCount`] if
    /// their number differs). `Timings::vision` reports the time those features took.
    pub fn generate_with_features(
        &mut self,
        request: &Request,
        features: &ImageFeatures,
        on_token: impl FnMut(&TokenEvent),
    ) -> Result<Generation, GenerateError> {
        let ids = self.fitting_prompt_ids(request)?;
        self.generate_from(&ids, request, features, on_token)
    }

    /// Prefill and greedy decoding over `ids`, the rendered `request`, already known to fit.
    fn generate_from(
        &mut self,
        ids: &[u32],
        request: &Request,
        features: &ImageFeatures,
        mut on_token: impl FnMut(&TokenEvent),
    ) -> Result<Generation, GenerateError> {
        let budget = request
            .max_new_tokens
            .min(self.context_limit.saturating_sub(ids.len()));
        let mut timings = Timings {
            vision: features.elapsed(),
            ..Timings::default()
        };

        let started = Instant::now();
        let Prefill {
            mut embeds,
            mut groups,
        } = self.prefill_inputs(ids, request, features)?;
        let mut cache = self.kv_cache()?;
        let mut seen = 0usize;
        let mut chunk = ids.len();

        let stops = self.manifest.stop_token_ids.clone();
        let thinking = self
            .manifest
            .thinking
            .as_ref()
            .map(|t| (t.start.id, t.end.id));
        let mut generated: Vec<u32> = Vec::new();
        let mut first_logits = Vec::new();
        let mut shown = String::new();
        let mut stop = StopReason::Budget;
        let mut inside_trace = false;
        while generated.len() < budget {
            let step_started = Instant::now();
            let first = generated.is_empty();
            let (token, logits) =
                self.decode_step(embeds, &groups, seen, chunk, &mut cache, first)?;
            seen += chunk;
            if first {
                first_logits = logits.unwrap_or_default();
                timings.prefill = started.elapsed();
            } else {
                timings.decode += step_started.elapsed();
                timings.decode_steps += 1;
            }
            generated.push(token);
            groups.push(0);

            // A trace runs from its start marker to its end marker, both included.
            let in_trace = match thinking {
                Some((start, end)) => {
                    let was = inside_trace;
                    if token == start {
                        inside_trace = true;
                    } else if token == end {
                        inside_trace = false;
                    }
                    was || inside_trace
                }
                None => false,
            };
            let visible = match thinking {
                Some((start, end)) => thinking::strip(&generated, start, end),
                None => generated.clone(),
            };
            let text = self.decode_text(&visible)?;
            // Text is held back while the newest token is a byte token: a run of byte tokens
            // decodes as one UTF-8 sequence, so its characters (a multi-byte character, or
            // the U+FFFD of an invalid run) may still change. A run ends at the next
            // ordinary token, and what came before it never changes again; the last token
            // flushes whatever is left.
            let last = stops.contains(&token) || generated.len() == budget;
            let delta = match text.strip_prefix(shown.as_str()) {
                Some(rest) if last || !self.is_byte_token(token) => rest.to_owned(),
                _ => String::new(),
            };
            shown.push_str(&delta);
            on_token(&TokenEvent {
                id: token,
                text: &delta,
                thinking: in_trace,
            });

            if stops.contains(&token) {
                stop = StopReason::StopToken(token);
                break;
            }
            embeds = self.embed(&[token])?;
            chunk = 1;
        }
        if stop == StopReason::Budget && generated.len() < request.max_new_tokens {
            stop = StopReason::Context;
        }
        let visible = match thinking {
            Some((start, end)) => thinking::strip(&generated, start, end),
            None => generated.clone(),
        };
        Ok(Generation {
            text: self.decode_text(&visible)?.trim().to_owned(),
            token_ids: generated,
            prompt_tokens: ids.len(),
            stop,
            first_logits,
            timings,
            provider: self.provider.ort_name(),
        })
    }

    /// The prompt's ids, refused if they leave no room for one new token.
    pub(crate) fn fitting_prompt_ids(&self, request: &Request) -> Result<Vec<u32>, GenerateError> {
        let ids = self.prompt_ids(request)?;
        let limit = self.context_limit;
        if ids.len() >= limit {
            return Err(GenerateError::PromptTooLong {
                tokens: ids.len(),
                limit,
            });
        }
        Ok(ids)
    }

    /// Whether `id` is a byte-fallback token (`<0xNN>`).
    fn is_byte_token(&self, id: u32) -> bool {
        self.tokenizer
            .id_to_token(id)
            .is_some_and(|t| t.len() == 6 && t.starts_with("<0x") && t.ends_with('>'))
    }

    fn decode_text(&self, ids: &[u32]) -> Result<String, GenerateError> {
        self.tokenizer
            .decode(ids, true)
            .map_err(|e| GenerateError::Tokenize {
                reason: e.to_string(),
            })
    }
}
