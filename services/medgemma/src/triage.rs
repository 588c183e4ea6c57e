//! Triage: how strongly the model answers "yes" to a yes/no question about a study's images,
//! read from the next-token logits after the prompt (one prefill, no decoding), with image
//! features computed once per study and shared with the draft.

use std::time::{Duration, Instant};

use crate::error::GenerateError;
use crate::features::{ImageFeatures, Prefill};
use crate::model::MedGemma;
use crate::prompt::Request;

/// The model's answer to a yes/no question, from its next-token logits.
#[derive(Debug, Clone, PartialEq)]
pub struct YesNo {
    /// P(yes) / (P(yes) + P(no)): the softmax over the two answer tokens only, in [0, 1].
    pub score: f64,
    /// First token of the yes word.
    pub yes_id: u32,
    /// First token of the no word.
    pub no_id: u32,
    pub yes_logit: f32,
    pub no_logit: f32,
    pub prompt_tokens: usize,
    /// Embedding, merging the image features and the decoder run over the prompt.
    pub prefill: Duration,
}

impl MedGemma {
    /// Scores `request` (a yes/no question, with the images `features` were computed for) as
    /// P(yes) / (P(yes) + P(no)) over the next token after the prompt, where yes and no are
    /// the first tokens of the answer words `yes` and `no` (as the tokenizer encodes them
    /// alone, without special tokens). `request.max_new_tokens` is not used: nothing is
    /// generated.
    pub fn yes_no(
        &mut self,
        request: &Request,
        features: &ImageFeatures,
        yes: &str,
        no: &str,
    ) -> Result<YesNo, GenerateError> {
        let yes_id = self.answer_id(yes)?;
        let no_id = self.answer_id(no)?;
        if yes_id == no_id {
            return Err(GenerateError::SameAnswerToken {
                yes: yes.to_owned(),
                no: no.to_owned(),
                id: yes_id,
            });
        }
        let ids = self.fitting_prompt_ids(request)?;

        let started = Instant::now();
        let Prefill { embeds, groups } = self.prefill_inputs(&ids, request, features)?;
        let mut cache = self.kv_cache()?;
        let (_, logits) = self.decode_step(embeds, &groups, 0, ids.len(), &mut cache, true)?;
        let prefill = started.elapsed();

        let logits = logits.unwrap_or_default();
        let logit = |id: u32| {
            logits
                .get(id as usize)
                .copied()
                .filter(|l| l.is_finite())
                .ok_or_else(|| GenerateError::Output {
                    graph: "decoder",
                    output: "logits".to_owned(),
                    reason: format!(
                        "no finite logit for answer token {id} among {} values",
                        logits.len()
                    ),
                })
        };
        let (yes_logit, no_logit) = (logit(yes_id)?, logit(no_id)?);
        Ok(YesNo {
            score: two_way_softmax(yes_logit, no_logit),
            yes_id,
            no_id,
            yes_logit,
            no_logit,
            prompt_tokens: ids.len(),
            prefill,
        })
    }

    /// The first token of `word` encoded alone: what the model would emit to start that answer.
    fn answer_id(&self, word: &str) -> Result<u32, GenerateError> {
        let encoding = self
            .tokenizer
            .encode(word, false)
            .map_err(|e| GenerateError::Tokenize {
                reason: format!("answer word {word:?}: {e}"),
            })?;
        encoding
            .get_ids()
            .first()
            .copied()
            .ok_or_else(|| GenerateError::EmptyAnswer {
                word: word.to_owned(),
            })
    }
}

/// e^yes / (e^yes + e^no), written as a logistic of the difference in f64 so that neither
/// exponential can overflow: a gap of thousands still gives exactly 0 or 1, never NaN.
fn two_way_softmax(yes: f32, no: f32) -> f64 {
    1.0 / (1.0 + (f64::from(no) - f64::from(yes)).exp())
}

#[cfg(test)]
mod tests {
    use super::two_way_softmax;

    #[test]
    fn two_way_softmax_is_stable_and_symmetric() {
        assert_eq!(two_way_softmax(0.3, 0.3), 0.5);
        let (a, b) = (1.25f32, -0.5f32);
        let (ea, eb) = (f64::from(a).exp(), f64::from(b).exp());
        let direct = ea / (ea + eb);
        assert!((two_way_softmax(a, b) - direct).abs() < 1e-12);
        assert!((two_way_softmax(a, b) + two_way_softmax(b, a) - 1.0).abs() < 1e-15);
        assert_eq!(two_way_softmax(f32::MAX, f32::MIN), 1.0);
        assert_eq!(two_way_softmax(-1e4, 1e4), 0.0);
    }
}
