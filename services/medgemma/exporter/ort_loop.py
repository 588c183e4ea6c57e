"""A minimal Python onnxruntime loop over the exported graphs: the same steps as the Rust
runtime (embed, merge image features, two masks, prefill, greedy decode with the KV cache).

make_tiny.py uses it to prove an export matches HF before keeping it, and bench.py uses it as
the baseline the Rust runtime is measured against.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

NEG = np.finfo(np.float32).min


def sessions(model_dir: Path, threads: int = 0) -> dict:
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    names = {"vision_encoder": "vision_encoder.onnx", "embed_tokens": "embed_tokens.onnx", "decoder": "decoder_model.onnx"}
    return {k: ort.InferenceSession(str(model_dir / v), opts, providers=["CPUExecutionProvider"])
            for k, v in names.items() if (model_dir / v).exists()}


def masks(groups: np.ndarray, past: int, length: int, window: int, variant: str = "exact"):
    """variant "no_image_block" / "no_window" build deliberately wrong masks (make_tiny.py
    checks that each changes the output, so the parity test would catch either mistake)."""
    if variant == "no_image_block":
        groups = np.zeros_like(groups)
    if variant == "no_window":
        window = past + length + 1
    q = np.arange(past, past + length)[:, None]
    kv = np.arange(past + length)[None, :]
    gq = groups[past:past + length][:, None]
    gk = groups[None, :past + length]
    allowed = (kv <= q) | ((gq > 0) & (gq == gk))
    sliding = allowed & (kv > q - window)
    full = np.where(allowed, 0.0, NEG).astype(np.float32)[None, None]
    slid = np.where(sliding, 0.0, NEG).astype(np.float32)[None, None]
    return full, slid


def generate(model_dir: Path, manifest: dict, prompt_ids: list[int], pixel_values, max_new: int,
             sess: dict | None = None, timings: dict | None = None, variant: str = "exact"):
    """Returns (new token ids, first-step logits)."""
    sess = sess or sessions(model_dir)
    text = manifest["text"]
    st = manifest["special_tokens"]
    image_id, pad_id = st["image_soft_token"]["id"], st["pad"]["id"]
    stop = set(manifest["stop_token_ids"])
    ids = np.array(prompt_ids, dtype=np.int64)
    is_image = ids == image_id
    groups = np.cumsum(is_image & ~np.concatenate([[False], is_image[:-1]])) * is_image

    t0 = time.perf_counter()
    embeds = sess["embed_tokens"].run(None, {"input_ids": np.where(is_image, pad_id, ids)[None]})[0]
    if pixel_values is not None:
        feats = sess["vision_encoder"].run(None, {"pixel_values": pixel_values.astype(np.float32)})[0]
        embeds[0, is_image] = feats.reshape(-1, feats.shape[-1])
    n_layers, kvh, hd = text["num_layers"], text["num_kv_heads"], text["head_dim"]
    past = {}
    for i in range(n_layers):
        past[f"past_key_values.{i}.key"] = np.zeros((1, kvh, 0, hd), np.float32)
        past[f"past_key_values.{i}.value"] = np.zeros((1, kvh, 0, hd), np.float32)
    seen, out, first = 0, [], None
    length = len(prompt_ids)
    groups = np.concatenate([groups, np.zeros(max_new, dtype=groups.dtype)])
    t_prefill = None
    for step in range(max_new):
        full, slid = masks(groups, seen, length, text["sliding_window"], variant)
        feeds = {"inputs_embeds": embeds, "position_ids": np.arange(seen, seen + length, dtype=np.int64)[None],
                 "full_attention_mask": full, "sliding_attention_mask": slid, **past}
        results = sess["decoder"].run(None, feeds)
        logits = results[0][0, -1]
        if first is None:
            first = logits.copy()
            t_prefill = time.perf_counter()
        for i in range(n_layers):
            past[f"past_key_values.{i}.key"] = results[1 + 2 * i]
            past[f"past_key_values.{i}.value"] = results[2 + 2 * i]
        seen += length
        token = int(np.argmax(logits))
        out.append(token)
        if token in stop:
            break
        embeds = sess["embed_tokens"].run(None, {"input_ids": np.array([[token]], dtype=np.int64)})[0]
        length = 1
    if timings is not None:
        end = time.perf_counter()
        timings.update({"prefill_s": t_prefill - t0, "decode_s": end - t_prefill,
                        "prompt_tokens": len(prompt_ids), "new_tokens": len(out)})
    return out, first
