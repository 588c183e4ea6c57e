//! MedGemma through ONNX Runtime: loads a model directory written by the exporter
//! (`services/medgemma/exporter`), checks it at start-up, renders Gemma 3 chat prompts with
//! images, and generates greedily with the KV cache on the configured execution provider.
//! Image features can be computed once ([`MedGemma::encode_images`]) and shared by the draft
//! ([`MedGemma::generate_with_features`]) and a triage question ([`MedGemma::yes_no`]: P(yes)
//! from the next-token logits, no decoding).
//!
//! ```no_run
//! use radraft_medgemma::{MedGemma, Part, Request, RuntimeConfig};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut model = MedGemma::load("models/medgemma-4b-it".as_ref(), &RuntimeConfig::default())?;
//! let request = Request {
//!     system: Some("You are an expert radiologist.".into()),
//!     parts: vec![Part::Text("Describe this X-ray".into())],
//!     max_new_tokens: 300,
//! };
//! let draft = model.generate(&request, |t| print!("{}", t.text))?;
//! println!("\n[{:?} on {}]", draft.stop, draft.provider);
//! # Ok(())
//! # }
//! ```

mod error;
mod features;
mod generate;
mod kv_cache;
mod manifest;
mod mask;
mod model;
mod prompt;
mod runtime;
mod steps;
mod thinking;
mod triage;
mod validate;

pub use error::{GenerateError, LoadError};
pub use features::ImageFeatures;
pub use generate::{Generation, StopReason, Timings, TokenEvent};
pub use manifest::{FORMAT_VERSION, Manifest};
pub use model::MedGemma;
pub use prompt::{Part, Request, token_ids};
pub use runtime::{ORT_DYLIB_ENV, Provider, RuntimeConfig, environment};
pub use triage::YesNo;
