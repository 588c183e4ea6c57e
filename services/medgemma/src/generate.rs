//! Generation: vision encoder, image features merged into the token embeddings, prefill,
//! then greedy decoding one token at a time with the KV cache, until a stop token, the token
//! budget or the context limit. Tokens stream to a callback; thinking traces are stripped.

use std::time::{Duration, Instant};

use crate::error::GenerateError;
use crate::mask;
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
    /// Generates greedily for `request`, calling `on_token` for each new token.
    pub fn generate(
        &mut self,
        request: &Request,
        mut on_token: impl FnMut(&TokenEvent),
    ) -> Result<Generation, GenerateError> {
        let ids = self.prompt_ids(request)?;
        let limit = self.context_limit;
        if ids.len() >= limit {
            return Err(GenerateError::PromptTooLong {
                tokens: ids.len(),
                limit,
            });
        }
        let budget = request.max_new_tokens.min(limit - ids.len());
        let mut timings = Timings::default();

        let started = Instant::now();
        let features = self.image_features(request)?;
        timings.vision = started.elapsed();

        let started = Instant::now();
        let soft = self.manifest.special_tokens.image_soft_token.id;
        let mut embeds = self.embed(&ids)?;
        let hidden = self.manifest.text.hidden_size;
        let mut next_feature = features.chunks_exact(hidden);
        for (row, _) in ids.iter().enumerate().filter(|(_, id)| **id == soft) {
            let feature = next_feature.next().ok_or(GenerateError::ImageTokens {
                found: ids.iter().filter(|&&i| i == soft).count(),
                images: request.images().count(),
                expected: features.len() / hidden,
            })?;
            embeds[row * hidden..(row + 1) * hidden].copy_from_slice(feature);
        }
        let mut groups = mask::image_groups(&ids, soft);
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
            // A trailing U+FFFD is usually a character whose bytes have not all arrived; it is
            // held back unless this is the last token.
            let last = stops.contains(&token) || generated.len() == budget;
            let delta = match text.strip_prefix(shown.as_str()) {
                Some(rest) if last || !rest.ends_with('\u{FFFD}') => rest.to_owned(),
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

    fn decode_text(&self, ids: &[u32]) -> Result<String, GenerateError> {
        self.tokenizer
            .decode(ids, true)
            .map_err(|e| GenerateError::Tokenize {
                reason: e.to_string(),
            })
    }
}
