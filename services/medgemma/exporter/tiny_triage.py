"""The tiny fixture's triage reference: a yes/no question about the image, scored as the Rust
runtime's `MedGemma::yes_no` scores it, P(yes) / (P(yes) + P(no)) over the next-token logits
at the last prompt position, with yes and no the first token ids of the answer words.
make_tiny.py writes it into reference.json as "triage".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

SYSTEM = "You are an expert radiologist."
# Image first, then the question, like a recipe's critical-finding question.
CASE = {"name": "pneumothorax", "system": SYSTEM,
        "parts": [{"image": "image0"}, {"text": "Is there a pneumothorax? Answer yes or no."}],
        "yes": "Yes", "no": "No"}
# A score within MIN_SCORE of 0 or 1 is saturated: a wrong logit would barely move it.
MIN_SCORE = 0.01


def answer_id(tokenizer, word: str) -> int:
    """The first token of `word` encoded alone, as the Rust runtime resolves it; the tiny
    tokenizer is built so that each answer word is exactly one token, as in Gemma 3."""
    ids = tokenizer.encode(word, add_special_tokens=False)
    if len(ids) != 1:
        raise SystemExit(f"answer word {word!r} is {len(ids)} tokens in the tiny tokenizer; expected 1")
    return ids[0]


def reference(model, ckpt: Path, chat: list) -> dict:
    """HF's Gemma3Processor prompt ids for `chat` (CASE rendered by make_tiny.messages) and one
    forward pass of Gemma3ForConditionalGeneration for the next-token logits."""
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(ckpt)
    inputs = processor.apply_chat_template(chat, add_generation_prompt=True, tokenize=True,
                                           return_dict=True, return_tensors="pt")
    with torch.no_grad():
        logits = model(**inputs).logits[0, -1].float()
    yes_id, no_id = (answer_id(processor.tokenizer, CASE[w]) for w in ("yes", "no"))
    if yes_id == no_id:
        raise SystemExit(f"answer words {CASE['yes']!r} and {CASE['no']!r} share token {yes_id}")
    yes_logit, no_logit = float(logits[yes_id]), float(logits[no_id])
    return {
        "name": CASE["name"],
        "system": CASE["system"],
        "parts": CASE["parts"],
        "prompt": processor.apply_chat_template(chat, add_generation_prompt=True, tokenize=False),
        "prompt_ids": inputs["input_ids"][0].tolist(),
        "answers": {"yes": CASE["yes"], "no": CASE["no"]},
        "yes_id": yes_id,
        "no_id": no_id,
        "yes_logit": yes_logit,
        "no_logit": no_logit,
        # The softmax over the two answer tokens, in float64 from the float32 logits, written
        # as a logistic of the difference (as the runtime computes it).
        "score": float(1.0 / (1.0 + np.exp(np.float64(no_logit) - np.float64(yes_logit)))),
        "next_logits": [round(v, 7) for v in logits.tolist()],
        "pixel_values": inputs["pixel_values"],
    }


def decisive(triage: dict, min_margin: float) -> bool:
    """Neither saturated (near 0 or 1) nor a coin toss (yes and no logits within min_margin,
    where swapped ids would still give about 0.5)."""
    return (MIN_SCORE <= triage["score"] <= 1 - MIN_SCORE
            and abs(triage["yes_logit"] - triage["no_logit"]) >= min_margin)
