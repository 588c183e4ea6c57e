//! A loaded model directory: manifest, tokenizer and the three ONNX Runtime sessions, checked
//! against each other at start-up.

use std::path::{Path, PathBuf};

use ort::session::Session;
use tokenizers::Tokenizer;

use crate::error::{GenerateError, LoadError};
use crate::manifest::Manifest;
use crate::prompt::{self, Request};
use crate::runtime::{self, Provider, RuntimeConfig};
use crate::validate;

/// MedGemma (or any Gemma 3 export in radraft's layout), ready to generate.
pub struct MedGemma {
    pub(crate) dir: PathBuf,
    pub(crate) manifest: Manifest,
    pub(crate) tokenizer: Tokenizer,
    pub(crate) vision: Option<Session>,
    pub(crate) embed: Session,
    pub(crate) decoder: Session,
    pub(crate) provider: Provider,
    /// The CUDA device the GPU providers run on (where the KV cache lives).
    pub(crate) device_id: i32,
    pub(crate) context_limit: usize,
}

impl std::fmt::Debug for MedGemma {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MedGemma")
            .field("dir", &self.dir)
            .field("model_id", &self.manifest.model_id)
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

impl MedGemma {
    /// Loads and checks `dir`. Every problem found (missing or corrupt files, a tokenizer that
    /// disagrees with the manifest, graphs whose shapes disagree with its dimensions) comes
    /// back in one [`LoadError::Invalid`].
    pub fn load(dir: &Path, cfg: &RuntimeConfig) -> Result<Self, LoadError> {
        let env = runtime::environment(cfg.ort_dylib_path.as_deref())?;
        let manifest = Manifest::read(dir)?;
        let mut problems = Vec::new();
        validate::files(dir, &manifest, cfg.verify_checksums, &mut problems);
        let files_whole = problems.is_empty();
        manifest.self_check(&mut problems);
        let tokenizer = match Tokenizer::from_file(dir.join(&manifest.files.tokenizer.path)) {
            Ok(tokenizer) => Some(tokenizer),
            Err(e) => {
                problems.push(format!(
                    "tokenizer: cannot load {}: {e}",
                    manifest.files.tokenizer.path
                ));
                None
            }
        };
        if let Some(t) = &tokenizer {
            validate::tokenizer(t, &manifest, &mut problems);
        }
        let invalid = |problems| LoadError::Invalid {
            dir: dir.to_path_buf(),
            problems,
        };
        // Graphs are opened only when every file is whole: ONNX Runtime's own messages about
        // a truncated protobuf say less than the checks above. Other problems wait, so the
        // graphs' own disagreements join them in the same error.
        let (Some(tokenizer), true) = (tokenizer, files_whole) else {
            return Err(invalid(problems));
        };

        let mut graphs = Vec::with_capacity(3);
        if let Some(v) = &manifest.files.vision_encoder {
            graphs.push(dir.join(&v.path));
        }
        graphs.push(dir.join(&manifest.files.embed_tokens.path));
        graphs.push(dir.join(&manifest.files.decoder.path));
        let (mut sessions, provider) = runtime::sessions(&env, cfg, &graphs)?;
        let (Some(decoder), Some(embed)) = (sessions.pop(), sessions.pop()) else {
            return Err(invalid(vec!["internal: sessions missing".to_owned()]));
        };
        let vision = sessions.pop();
        validate::graphs(&manifest, vision.as_ref(), &embed, &decoder, &mut problems);
        if !problems.is_empty() {
            return Err(invalid(problems));
        }

        let context_limit = cfg
            .max_context
            .map_or(manifest.text.max_position_embeddings, |m| {
                m.min(manifest.text.max_position_embeddings)
            });
        tracing::info!(
            model_id = %manifest.model_id,
            provider = provider.ort_name(),
            context_limit,
            "model loaded"
        );
        let mut model = Self {
            dir: dir.to_path_buf(),
            manifest,
            tokenizer,
            vision,
            embed,
            decoder,
            provider,
            device_id: cfg.device_id,
            context_limit,
        };
        if cfg.warm_up {
            model.warm_up()?;
        }
        Ok(model)
    }

    /// The execution provider the sessions run on (for each draft's provenance).
    pub fn provider(&self) -> Provider {
        self.provider
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Prompt plus generated tokens may not exceed this.
    pub fn context_limit(&self) -> usize {
        self.context_limit
    }

    /// The rendered prompt's token ids, as the model will see them.
    pub fn prompt_ids(&self, request: &Request) -> Result<Vec<u32>, GenerateError> {
        prompt::token_ids(&self.manifest, &self.tokenizer, request)
    }

    /// One short text-only generation, so lazy initialisation happens before the first request.
    fn warm_up(&mut self) -> Result<(), LoadError> {
        let request = Request {
            system: None,
            parts: vec![prompt::Part::Text(String::new())],
            max_new_tokens: 1,
        };
        self.generate(&request, |_| {})
            .map(|_| ())
            .map_err(|e| LoadError::Invalid {
                dir: self.dir.clone(),
                problems: vec![format!("warm-up generation failed: {e}")],
            })
    }
}
