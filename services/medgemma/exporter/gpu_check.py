"""Scale check on a GPU host: a random-weight model with MedGemma 4B's exact shapes, timed in HF
`generate` on the GPU (the baseline to beat), saved as a checkpoint and exported by export.py
(bf16, external data). Writes summary.json (and the manifest without its template) to --out.

    python gpu_check.py --out "$OUT" [--shrink] [--work /tmp/gpu-check]

--shrink keeps the real vocabulary and special ids but cuts layers and widths, so the whole
path can be rehearsed on a CPU machine in a minute. Needs torch, transformers, onnx,
tokenizers; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import export  # noqa: E402

# Gemma 3 / MedGemma special ids (STACK-FACTS, and google/medgemma-4b-it's tokenizer).
IDS = {"<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3, "<mask>": 4, "<start_of_turn>": 105,
       "<end_of_turn>": 106, "<start_of_image>": 255999, "<end_of_image>": 256000, "<image_soft_token>": 262144}
VOCAB = 262208


def config(shrink: bool):
    from transformers import Gemma3Config

    layers = 6 if shrink else 34
    text = {
        "vocab_size": VOCAB, "hidden_size": 256 if shrink else 2560,
        "intermediate_size": 512 if shrink else 10240, "num_hidden_layers": layers,
        "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 32 if shrink else 256,
        "query_pre_attn_scalar": 32 if shrink else 256, "max_position_embeddings": 131072,
        "sliding_window": 1024,
        "layer_types": ["full_attention" if (i + 1) % 6 == 0 else "sliding_attention" for i in range(layers)],
        "rope_parameters": {
            "full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1_000_000.0},
            "sliding_attention": {"rope_type": "default", "rope_theta": 10_000.0},
        },
        "pad_token_id": 0, "bos_token_id": 2, "eos_token_id": [1, 106],
        # The same RoPE in transformers 4.x's keys (5.x reads rope_parameters).
        "rope_theta": 1_000_000.0, "rope_local_base_freq": 10_000.0,
        "rope_scaling": {"rope_type": "linear", "factor": 8.0},
    }
    vision = {
        "model_type": "siglip_vision_model", "hidden_size": 64 if shrink else 1152,
        "intermediate_size": 128 if shrink else 4304, "num_hidden_layers": 2 if shrink else 27,
        "num_attention_heads": 4 if shrink else 16, "image_size": 896, "patch_size": 14,
        "vision_use_head": False,
    }
    return Gemma3Config(text_config=text, vision_config=vision, mm_tokens_per_image=256,
                        boi_token_index=IDS["<start_of_image>"], eoi_token_index=IDS["<end_of_image>"],
                        image_token_index=IDS["<image_soft_token>"], tie_word_embeddings=True)


def tokenizer_json(path: Path) -> None:
    """A word-level tokenizer with the real vocabulary size and special ids (the real one is
    checked separately; see check_real_tokenizer.py)."""
    names = {v: k for k, v in IDS.items()}
    vocab = {names.get(i, f"<tok{i}>"): i for i in range(IDS["<image_soft_token>"] + 1)}
    spec = {"version": "1.0", "truncation": None, "padding": None,
            "added_tokens": [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                              "normalized": False, "special": True} for t, i in IDS.items()],
            "normalizer": None, "pre_tokenizer": {"type": "Whitespace"}, "post_processor": None,
            "decoder": None, "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "<unk>"}}
    path.write_text(json.dumps(spec))


def peak() -> dict:
    out = {"host_peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)}
    if torch.cuda.is_available():
        out["gpu_peak_allocated_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    return out


def hf_generate(model, device: str, new_tokens: int) -> dict:
    """Greedy generate with one 896x896 image, as transformers would run MedGemma."""
    ids = [2, 105, 7, 8, 9, 10, 108, 255999] + [262144] * 256 + [256000, 108, 106, 107, 105, 11, 107]
    input_ids = torch.tensor([ids], device=device)
    token_type_ids = (input_ids == 262144).long()
    pixel_values = torch.randn(1, 3, 896, 896, device=device, dtype=model.dtype)
    inputs = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids),
              "token_type_ids": token_type_ids, "pixel_values": pixel_values}

    def run(n: int) -> float:
        if device == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        with torch.no_grad():
            out = model.generate(**inputs, max_new_tokens=n, min_new_tokens=n, do_sample=False)
        if device == "cuda":
            torch.cuda.synchronize()
        assert out.shape[1] == len(ids) + n
        return time.perf_counter() - t

    run(4)  # warm-up (kernels, allocator)
    one = min(run(1) for _ in range(2))
    full = min(run(new_tokens) for _ in range(2))
    return {"prompt_tokens": len(ids), "new_tokens": new_tokens, "time_to_first_token_s": round(one, 4),
            "total_s": round(full, 3),
            "decode_tok_per_s": round((new_tokens - 1) / (full - one), 1) if full > one else None,
            "attn_implementation": model.config._attn_implementation, "dtype": str(model.dtype)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--work", type=Path, default=Path("/tmp/radraft-gpu-check"))
    ap.add_argument("--shrink", action="store_true")
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--dtype", choices=["bfloat16", "float32"], default="bfloat16",
                    help="export dtype (float32 makes a model the CPU benchmark can run)")
    ap.add_argument("--quantize", choices=["none", "int8", "int4"], default="none")
    args = ap.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    summary: dict = {"device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
                     "torch": torch.__version__, "shrink": args.shrink, "phases": {}}
    import transformers
    summary["transformers"] = transformers.__version__
    shutil.rmtree(args.work, ignore_errors=True)
    ckpt, onnx_dir = args.work / "checkpoint", args.work / "onnx"
    args.out.mkdir(parents=True, exist_ok=True)

    def save() -> None:
        (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")

    from transformers import Gemma3ForConditionalGeneration

    t = time.perf_counter()
    torch.manual_seed(0)
    with torch.device(device):
        model = Gemma3ForConditionalGeneration(config(args.shrink)).to(torch.bfloat16).eval()
        with torch.no_grad():
            for p in model.parameters():
                p.normal_(0.0, 0.02)
    summary["params"] = sum(p.numel() for p in model.parameters())
    summary["phases"]["build_random_model"] = {"s": round(time.perf_counter() - t, 1), **peak()}
    save()

    try:
        summary["hf_generate"] = hf_generate(model, device, args.new_tokens)
    except Exception as e:  # record and go on to the export
        summary["hf_generate"] = {"error": repr(e)}
    summary["phases"]["hf_generate"] = peak()
    save()

    t = time.perf_counter()
    model.save_pretrained(ckpt)
    tokenizer_json(ckpt / "tokenizer.json")
    (ckpt / "generation_config.json").write_text(json.dumps({"eos_token_id": [1, 106]}))
    summary["phases"]["save_checkpoint"] = {"s": round(time.perf_counter() - t, 1), **peak()}
    del model
    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    save()

    t = time.perf_counter()
    result = export.export(ckpt, onnx_dir, args.dtype, model_id="random/medgemma-4b-shaped",
                           revision="gpu-check", external="yes", device=device,
                           quantize=args.quantize)
    summary["phases"]["export"] = {"s": round(time.perf_counter() - t, 1), **result["timings"], **peak()}
    summary["export_files"] = {p.name: p.stat().st_size for p in sorted(onnx_dir.iterdir())}
    manifest = dict(result["manifest"])
    manifest.pop("chat_template", None)
    summary["manifest"] = manifest
    save()
    print(json.dumps({k: v for k, v in summary.items() if k != "manifest"}, indent=1))


if __name__ == "__main__":
    main()
