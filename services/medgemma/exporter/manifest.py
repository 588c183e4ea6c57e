"""Writes manifest.json: what the Rust runtime needs to check and drive the exported graphs.

Every special token id is read from the checkpoint's own tokenizer.json, never assumed, and
each file carries its sha256 and size (external data files too) so start-up can tell a
truncated or swapped file from a good one.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tokenizers import Tokenizer

FORMAT_VERSION = 1

# Gemma 3's chat template (the jinja shipped with the instruction-tuned checkpoints),
# used when the checkpoint folder carries none.
GEMMA3_CHAT_TEMPLATE = (Path(__file__).with_name("gemma3_chat_template.jinja")).read_text()

SPECIAL_TEXTS = {
    "pad": "<pad>",
    "eos": "<eos>",
    "bos": "<bos>",
    "start_of_turn": "<start_of_turn>",
    "end_of_turn": "<end_of_turn>",
    "start_of_image": "<start_of_image>",
    "end_of_image": "<end_of_image>",
    "image_soft_token": "<image_soft_token>",
}
THINKING = {"start": "<unused94>", "end": "<unused95>"}


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 24), b""):
            h.update(chunk)
    return h.hexdigest()


def file_entry(out: Path, name: str) -> dict:
    path = out / name
    entry = {"path": name, "sha256": sha256(path), "bytes": path.stat().st_size}
    data = out / (name + ".data")
    if data.exists():
        entry["external_data"] = [{"path": data.name, "sha256": sha256(data), "bytes": data.stat().st_size}]
    return entry


def _json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def chat_template(checkpoint: Path) -> str:
    jinja = checkpoint / "chat_template.jinja"
    if jinja.exists():
        return jinja.read_text()
    for name in ["chat_template.json", "processor_config.json", "tokenizer_config.json"]:
        value = _json(checkpoint / name).get("chat_template")
        if isinstance(value, str):
            return value
    return GEMMA3_CHAT_TEMPLATE


def special_tokens(tokenizer: Tokenizer) -> dict:
    out = {}
    for key, text in SPECIAL_TEXTS.items():
        token_id = tokenizer.token_to_id(text)
        if token_id is None:
            raise SystemExit(f"tokenizer.json has no {text}")
        out[key] = {"id": token_id, "text": text}
    return out


def write(checkpoint: Path, out: Path, cfg, files: dict, dtype: str, model_id: str | None,
          revision: str | None, quantize: str = "none") -> dict:
    tokenizer = Tokenizer.from_file(str(out / "tokenizer.json"))
    text = cfg.text_config
    specials = special_tokens(tokenizer)
    generation = _json(checkpoint / "generation_config.json")
    stop = generation.get("eos_token_id") or [specials["eos"]["id"], specials["end_of_turn"]["id"]]
    stop = sorted(set(stop if isinstance(stop, list) else [stop]) | {specials["end_of_turn"]["id"]})
    thinking = None
    if all(tokenizer.token_to_id(t) is not None for t in THINKING.values()):
        thinking = {k: {"id": tokenizer.token_to_id(t), "text": t} for k, t in THINKING.items()}

    manifest = {
        "format_version": FORMAT_VERSION,
        "model_id": model_id or checkpoint.name,
        "revision": revision or "unknown",
        "architecture": "Gemma3ForConditionalGeneration" if "vision_encoder" in files else "Gemma3ForCausalLM",
        "dtype": dtype,
        "io_dtype": "float32",
        "weight_quantization": "none" if quantize == "none" else f"{quantize} MatMulNBits, symmetric, block 32 (decoder)",
        "files": {key: file_entry(out, name) for key, name in files.items()},
        "text": {
            "vocab_size": text.vocab_size,
            "hidden_size": text.hidden_size,
            "num_layers": text.num_hidden_layers,
            "num_attention_heads": text.num_attention_heads,
            "num_kv_heads": text.num_key_value_heads,
            "head_dim": text.head_dim,
            "max_position_embeddings": text.max_position_embeddings,
            "sliding_window": text.sliding_window,
            "layer_types": list(text.layer_types),
        },
        "special_tokens": specials,
        "stop_token_ids": stop,
        "thinking": thinking,
        "chat_template": chat_template(checkpoint),
    }
    if "vision_encoder" in files:
        vision = cfg.vision_config
        pre = _json(checkpoint / "preprocessor_config.json")
        pre = pre.get("image_processor", pre)
        size = pre.get("size", {}).get("height", vision.image_size)
        manifest["vision"] = {
            "dtype": "float32",
            "image_size": vision.image_size,
            "patch_size": vision.patch_size,
            "hidden_size": vision.hidden_size,
            "num_layers": vision.num_hidden_layers,
            "tokens_per_image": cfg.mm_tokens_per_image,
        }
        manifest["preprocessing"] = {
            "image_size": size,
            "resample": "bilinear (PIL)",
            "do_convert_rgb": True,
            "rescale_factor": pre.get("rescale_factor", 1 / 255),
            "image_mean": pre.get("image_mean", [0.5, 0.5, 0.5]),
            "image_std": pre.get("image_std", [0.5, 0.5, 0.5]),
            "layout": "CHW",
        }
        # The processor replaces each <start_of_image> of the rendered template with this.
        manifest["image_expansion"] = {"prefix": "\n\n", "suffix": "\n\n"}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    return manifest
