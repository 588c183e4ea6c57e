//! Triage from the model itself: the recipe's yes/no critical-finding question asked about
//! the same images (the vision encoder's features are reused), scored as
//! P(yes) / (P(yes) + P(no)) from the next-token logits, and flagged above a threshold.

use ndarray::Array3;
use radraft_imaging::Recipe;
use radraft_medgemma::{ImageFeatures, MedGemma};

use crate::error::DraftError;
use crate::prompt::PromptTemplate;

/// The question per recipe, the answer words whose first tokens are compared, and the
/// score above which a study is flagged.
#[derive(Debug, Clone, PartialEq)]
pub struct TriageConfig {
    pub projection_question: String,
    pub ct_question: String,
    pub mr_question: String,
    pub yes: String,
    pub no: String,
    /// A study whose score is above this is flagged (worklist first).
    pub threshold: f64,
}

impl Default for TriageConfig {
    fn default() -> Self {
        TriageConfig {
            projection_question: "Is there a pneumothorax? Answer yes or no.".to_owned(),
            ct_question: "Is there free air or intracranial haemorrhage? Answer yes or no."
                .to_owned(),
            mr_question: "Is there intracranial haemorrhage? Answer yes or no.".to_owned(),
            yes: "Yes".to_owned(),
            no: "No".to_owned(),
            threshold: 0.5,
        }
    }
}

impl TriageConfig {
    pub fn question(&self, recipe: Recipe) -> &str {
        match recipe {
            Recipe::Projection => &self.projection_question,
            Recipe::Ct => &self.ct_question,
            Recipe::Mr => &self.mr_question,
        }
    }
}

/// A study's triage answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Triage {
    pub question: String,
    /// P(yes) / (P(yes) + P(no)), in [0, 1].
    pub score: f64,
    pub flag: bool,
    pub threshold: f64,
    pub prompt_tokens: usize,
}

/// Asks the recipe's question about `images`, whose vision features are `features`.
pub(crate) fn ask(
    model: &mut MedGemma,
    template: &PromptTemplate,
    recipe: Recipe,
    images: Vec<Array3<f32>>,
    features: &ImageFeatures,
    config: &TriageConfig,
) -> Result<Triage, DraftError> {
    let question = config.question(recipe);
    let request = template.question(images, question);
    let answer = model.yes_no(&request, features, &config.yes, &config.no)?;
    Ok(Triage {
        question: question.to_owned(),
        score: answer.score,
        flag: answer.score > config.threshold,
        threshold: config.threshold,
        prompt_tokens: answer.prompt_tokens,
    })
}
