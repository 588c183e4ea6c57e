//! Errors at the model boundary: loading (every problem found at start-up, listed at once)
//! and generation (bad request, inference failure).

use std::path::PathBuf;

use thiserror::Error;

/// Why a model directory could not be loaded.
#[derive(Debug, Error)]
pub enum LoadError {
    /// ONNX Runtime's shared library is not configured or could not be loaded.
    #[error("ONNX Runtime library: {reason}")]
    Runtime { reason: String },
    /// The manifest could not be read or parsed; nothing else can be checked without it.
    #[error("model manifest {path}: {reason}")]
    Manifest { path: PathBuf, reason: String },
    /// The model directory has problems; every one found is listed.
    #[error("model directory {dir} is not usable:\n  - {}", problems.join("\n  - "))]
    Invalid { dir: PathBuf, problems: Vec<String> },
    /// `require_gpu` is set and no GPU execution provider could be registered.
    #[error("a GPU execution provider is required but none could be used:\n  - {}", reasons.join("\n  - "))]
    NoGpu { reasons: Vec<String> },
}

/// Why a generation request failed.
#[derive(Debug, Error)]
pub enum GenerateError {
    /// The rendered prompt does not fit in the context with room for one new token.
    #[error(
        "prompt is {tokens} tokens; the context holds {limit} (including at least one new token)"
    )]
    PromptTooLong { tokens: usize, limit: usize },
    /// An image's pixel values do not have the shape the vision encoder takes.
    #[error("image {index} has shape {got:?}; the model takes {want:?}")]
    ImageShape {
        index: usize,
        got: Vec<usize>,
        want: Vec<usize>,
    },
    /// The prompt's text could not be tokenized.
    #[error("tokenizing the prompt: {reason}")]
    Tokenize { reason: String },
    /// The tokenized prompt does not hold the image tokens expected (a tokenizer defect, or
    /// a literal image marker inside user text).
    #[error("prompt has {found} image soft tokens; {images} image(s) need {expected}")]
    ImageTokens {
        found: usize,
        images: usize,
        expected: usize,
    },
    /// Image features (from `encode_images`) were given for a request with another number of
    /// images.
    #[error("image features are for {features} image(s); the request has {images}")]
    FeatureCount { features: usize, images: usize },
    /// A yes/no answer word tokenizes to no token at all, so it has no logit to read.
    #[error("answer word {word:?} tokenizes to nothing")]
    EmptyAnswer { word: String },
    /// The yes and no answer words start with the same token, so their logits cannot tell
    /// them apart.
    #[error("answer words {yes:?} and {no:?} both start with token {id}")]
    SameAnswerToken { yes: String, no: String, id: u32 },
    /// ONNX Runtime failed while running one of the graphs.
    #[error("running {graph}: {reason}")]
    Inference { graph: &'static str, reason: String },
    /// A graph returned an output of an unexpected shape or type.
    #[error("{graph} output {output}: {reason}")]
    Output {
        graph: &'static str,
        output: String,
        reason: String,
    },
}

impl GenerateError {
    pub(crate) fn inference(graph: &'static str, error: impl std::fmt::Display) -> Self {
        Self::Inference {
            graph,
            reason: error.to_string(),
        }
    }
}
