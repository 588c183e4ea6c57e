//! `manifest.json`, written by the exporter beside the graphs: which files, their checksums,
//! the model's dimensions, special token ids, stop tokens and prompt settings.

use std::path::Path;

use serde::Deserialize;

use crate::error::LoadError;

/// The manifest format this runtime reads.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    pub model_id: String,
    pub revision: String,
    pub dtype: String,
    pub files: Files,
    pub text: TextDims,
    #[serde(default)]
    pub vision: Option<VisionDims>,
    #[serde(default)]
    pub preprocessing: Option<serde_json::Value>,
    pub special_tokens: SpecialTokens,
    pub stop_token_ids: Vec<u32>,
    #[serde(default)]
    pub thinking: Option<Thinking>,
    #[serde(default)]
    pub chat_template: String,
    #[serde(default)]
    pub image_expansion: Option<ImageExpansion>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Files {
    #[serde(default)]
    pub vision_encoder: Option<FileEntry>,
    pub embed_tokens: FileEntry,
    pub decoder: FileEntry,
    pub tokenizer: FileEntry,
}

impl Files {
    /// Every file with the name the manifest gives it.
    pub(crate) fn entries(&self) -> Vec<(&'static str, &FileEntry)> {
        let mut out = Vec::with_capacity(4);
        if let Some(v) = &self.vision_encoder {
            out.push(("vision_encoder", v));
        }
        out.push(("embed_tokens", &self.embed_tokens));
        out.push(("decoder", &self.decoder));
        out.push(("tokenizer", &self.tokenizer));
        out
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
    #[serde(default)]
    pub external_data: Vec<DataFile>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DataFile {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TextDims {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_layers: usize,
    pub num_attention_heads: usize,
    pub num_kv_heads: usize,
    pub head_dim: usize,
    pub max_position_embeddings: usize,
    pub sliding_window: usize,
    pub layer_types: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct VisionDims {
    pub image_size: usize,
    pub patch_size: usize,
    pub hidden_size: usize,
    pub tokens_per_image: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Token {
    pub id: u32,
    pub text: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SpecialTokens {
    pub pad: Token,
    pub eos: Token,
    pub bos: Token,
    pub start_of_turn: Token,
    pub end_of_turn: Token,
    pub start_of_image: Token,
    pub end_of_image: Token,
    pub image_soft_token: Token,
}

impl SpecialTokens {
    pub(crate) fn all(&self) -> [(&'static str, &Token); 8] {
        [
            ("pad", &self.pad),
            ("eos", &self.eos),
            ("bos", &self.bos),
            ("start_of_turn", &self.start_of_turn),
            ("end_of_turn", &self.end_of_turn),
            ("start_of_image", &self.start_of_image),
            ("end_of_image", &self.end_of_image),
            ("image_soft_token", &self.image_soft_token),
        ]
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Thinking {
    pub start: Token,
    pub end: Token,
}

/// What surrounds each image's soft tokens (the HF processor's `full_image_sequence`).
#[derive(Debug, Clone, Deserialize)]
pub struct ImageExpansion {
    pub prefix: String,
    pub suffix: String,
}

impl Manifest {
    /// Reads and parses `dir/manifest.json`.
    pub fn read(dir: &Path) -> Result<Self, LoadError> {
        let path = dir.join("manifest.json");
        let fail = |reason: String| LoadError::Manifest {
            path: path.clone(),
            reason,
        };
        let bytes = std::fs::read(&path).map_err(|e| fail(e.to_string()))?;
        let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| fail(e.to_string()))?;
        if manifest.format_version != FORMAT_VERSION {
            return Err(fail(format!(
                "format_version {} is not {FORMAT_VERSION}",
                manifest.format_version
            )));
        }
        Ok(manifest)
    }

    /// Dimension problems that need no graph: inconsistent numbers within the manifest.
    pub(crate) fn self_check(&self, problems: &mut Vec<String>) {
        let t = &self.text;
        if t.layer_types.len() != t.num_layers {
            problems.push(format!(
                "manifest: {} layer_types for {} layers",
                t.layer_types.len(),
                t.num_layers
            ));
        }
        if let Some(bad) = t
            .layer_types
            .iter()
            .find(|l| *l != "full_attention" && *l != "sliding_attention")
        {
            problems.push(format!("manifest: unknown layer type {bad:?}"));
        }
        if t.num_kv_heads == 0 || !t.num_attention_heads.is_multiple_of(t.num_kv_heads) {
            problems.push(format!(
                "manifest: {} attention heads are not a multiple of {} KV heads",
                t.num_attention_heads, t.num_kv_heads
            ));
        }
        if t.sliding_window == 0 {
            problems.push("manifest: sliding_window is 0".to_owned());
        }
        if self.vision.is_some() != self.files.vision_encoder.is_some() {
            problems.push(
                "manifest: vision dims and vision_encoder file must come together".to_owned(),
            );
        }
        for (name, token) in self.special_tokens.all() {
            if token.id as usize >= t.vocab_size {
                problems.push(format!(
                    "manifest: special token {name} id {} is outside the vocabulary ({})",
                    token.id, t.vocab_size
                ));
            }
        }
    }
}
