//! Start-up checks of a model directory: files present, whole and unchanged; tokenizer
//! consistent with the manifest; graphs' inputs and outputs consistent with its dimensions.
//! Each check appends to one list, so a bad directory is reported in one error.

use std::io::Read;
use std::path::Path;

use ort::session::Session;
use ort::value::{Outlet, TensorElementType, ValueType};
use sha2::{Digest, Sha256};
use tokenizers::Tokenizer;

use crate::manifest::Manifest;

/// Checks every file of the manifest (and its external data) for presence, size and, when
/// `verify` is set, sha256.
pub(crate) fn files(dir: &Path, manifest: &Manifest, verify: bool, problems: &mut Vec<String>) {
    for (name, entry) in manifest.files.entries() {
        let data = entry
            .external_data
            .iter()
            .map(|d| (d.path.as_str(), d.bytes, d.sha256.as_str()));
        let all =
            std::iter::once((entry.path.as_str(), entry.bytes, entry.sha256.as_str())).chain(data);
        for (path, bytes, sha) in all {
            let full = dir.join(path);
            match std::fs::metadata(&full) {
                Err(e) => problems.push(format!("{name}: {path} is missing or unreadable ({e})")),
                Ok(meta) if meta.len() != bytes => problems.push(format!(
                    "{name}: {path} is {} bytes, the manifest says {bytes} (truncated or replaced?)",
                    meta.len()
                )),
                Ok(_) if verify => match sha256(&full) {
                    Ok(got) if got.eq_ignore_ascii_case(sha) => {}
                    Ok(got) => problems.push(format!(
                        "{name}: {path} has sha256 {got}, the manifest says {sha} (corrupt or replaced)"
                    )),
                    Err(e) => problems.push(format!("{name}: reading {path}: {e}")),
                },
                Ok(_) => {}
            }
        }
    }
}

fn sha256(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// The tokenizer must give every special token the manifest's id and fit the vocabulary.
pub(crate) fn tokenizer(tokenizer: &Tokenizer, manifest: &Manifest, problems: &mut Vec<String>) {
    let mut tokens: Vec<(&str, &crate::manifest::Token)> = manifest.special_tokens.all().to_vec();
    if let Some(t) = &manifest.thinking {
        tokens.push(("thinking start", &t.start));
        tokens.push(("thinking end", &t.end));
    }
    for (name, token) in tokens {
        match tokenizer.token_to_id(&token.text) {
            Some(id) if id == token.id => {}
            Some(id) => problems.push(format!(
                "tokenizer: {name} {:?} is id {id}, the manifest says {}",
                token.text, token.id
            )),
            None => problems.push(format!("tokenizer: has no {name} token {:?}", token.text)),
        }
    }
    let size = tokenizer.get_vocab_size(true);
    if size > manifest.text.vocab_size {
        problems.push(format!(
            "tokenizer: {size} entries, more than the model's vocabulary of {}",
            manifest.text.vocab_size
        ));
    }
    for id in &manifest.stop_token_ids {
        if tokenizer.id_to_token(*id).is_none() {
            problems.push(format!(
                "tokenizer: stop token id {id} is not in the vocabulary"
            ));
        }
    }
}

/// Expected dimension: a number, or any (dynamic or not checked).
type Dim = Option<usize>;

fn check(
    graph: &str,
    outlets: &[Outlet],
    name: &str,
    ty: TensorElementType,
    dims: &[Dim],
    problems: &mut Vec<String>,
) {
    let Some(outlet) = outlets.iter().find(|o| o.name() == name) else {
        problems.push(format!("{graph}: has no {name:?}"));
        return;
    };
    let ValueType::Tensor { ty: got, shape, .. } = outlet.dtype() else {
        problems.push(format!("{graph}: {name} is not a tensor"));
        return;
    };
    if *got != ty {
        problems.push(format!("{graph}: {name} is {got:?}, expected {ty:?}"));
    }
    if shape.len() != dims.len() {
        problems.push(format!(
            "{graph}: {name} has rank {}, expected {}",
            shape.len(),
            dims.len()
        ));
        return;
    }
    for (axis, (&have, want)) in shape.iter().zip(dims).enumerate() {
        if let Some(want) = want
            && have >= 0
            && have as usize != *want
        {
            problems.push(format!(
                "{graph}: {name} axis {axis} is {have}, the manifest implies {want}"
            ));
        }
    }
}

/// Compares each graph's inputs and outputs with the manifest's dimensions.
pub(crate) fn graphs(
    manifest: &Manifest,
    vision: Option<&Session>,
    embed: &Session,
    decoder: &Session,
    problems: &mut Vec<String>,
) {
    use TensorElementType::{Float32, Int64};
    let t = &manifest.text;
    if let (Some(s), Some(v)) = (vision, &manifest.vision) {
        let side = Some(v.image_size);
        check(
            "vision_encoder",
            s.inputs(),
            "pixel_values",
            Float32,
            &[None, Some(3), side, side],
            problems,
        );
        let dims = [None, Some(v.tokens_per_image), Some(t.hidden_size)];
        check(
            "vision_encoder",
            s.outputs(),
            "image_features",
            Float32,
            &dims,
            problems,
        );
    }
    check(
        "embed_tokens",
        embed.inputs(),
        "input_ids",
        Int64,
        &[None, None],
        problems,
    );
    let hidden = [None, None, Some(t.hidden_size)];
    check(
        "embed_tokens",
        embed.outputs(),
        "inputs_embeds",
        Float32,
        &hidden,
        problems,
    );
    let d = "decoder";
    check(
        d,
        decoder.inputs(),
        "inputs_embeds",
        Float32,
        &hidden,
        problems,
    );
    check(
        d,
        decoder.inputs(),
        "position_ids",
        Int64,
        &[None, None],
        problems,
    );
    for mask in ["full_attention_mask", "sliding_attention_mask"] {
        check(
            d,
            decoder.inputs(),
            mask,
            Float32,
            &[None, None, None, None],
            problems,
        );
    }
    check(
        d,
        decoder.outputs(),
        "logits",
        Float32,
        &[None, None, Some(t.vocab_size)],
        problems,
    );
    let kv = [None, Some(t.num_kv_heads), None, Some(t.head_dim)];
    for i in 0..t.num_layers {
        for part in ["key", "value"] {
            check(
                d,
                decoder.inputs(),
                &format!("past_key_values.{i}.{part}"),
                Float32,
                &kv,
                problems,
            );
            check(
                d,
                decoder.outputs(),
                &format!("present.{i}.{part}"),
                Float32,
                &kv,
                problems,
            );
        }
    }
    let layers_in_graph = decoder
        .inputs()
        .iter()
        .filter(|o| o.name().starts_with("past_key_values.") && o.name().ends_with(".key"))
        .count();
    if layers_in_graph != t.num_layers {
        problems.push(format!(
            "decoder: has a KV cache for {layers_in_graph} layers, the manifest says {}",
            t.num_layers
        ));
    }
}
