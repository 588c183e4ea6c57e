"""A small Gemma-style tokenizer for the tiny test model, built deterministically.

Same shape as Gemma 3's tokenizer.json: BPE with byte fallback (<0x00>..<0xFF> as ordinary,
non-special tokens, so decoding keeps them), spaces normalised to U+2581, <bos> added by the
post-processor, and the chat / image tokens as added special tokens. Only the vocabulary is
small (a few hundred entries learned from a fixed corpus), and ids differ from the real ones:
the runtime takes every special id from the manifest.
"""

from __future__ import annotations

import json

from tokenizers import Tokenizer, models, normalizers, trainers

# Order fixes the ids: 0 pad, 1 eos, 2 bos, 3 unk like Gemma; the rest follow.
SPECIAL_TOKENS = [
    "<pad>",
    "<eos>",
    "<bos>",
    "<unk>",
    "<mask>",
    "<start_of_turn>",
    "<end_of_turn>",
    "<start_of_image>",
    "<end_of_image>",
    "<unused94>",  # MedGemma 1.5's thinking-trace start
    "<unused95>",  # ... and end
]
IMAGE_SOFT_TOKEN = "<image_soft_token>"

CORPUS = [
    "You are an expert radiologist.",
    "Describe this X-ray. Describe this CT. Describe this MRI.",
    "Findings: The lungs are clear. No pleural effusion or pneumothorax.",
    "The cardiomediastinal silhouette is within normal limits.",
    "Impression: No acute cardiopulmonary process.",
    "There is a small left pleural effusion with adjacent atelectasis.",
    "SLICE 1 SLICE 2 SLICE 3 SLICE 4 SLICE 5 SLICE 6 SLICE 7 SLICE 8 SLICE 9",
    "Comparison: none. Technique: PA and lateral views of the chest.",
    "Bones and soft tissues are unremarkable. Degenerative changes of the spine.",
    "thought The patient is a adult; consider pneumonia versus atelectasis.",
    "Summarize the findings of this report for the referring physician.",
    # Triage questions read the logits of the answer words' first tokens; repeated here so
    # that "Yes" and "No" (no leading space, as encoded alone) are single tokens, as in Gemma 3.
    "Is there a pneumothorax? Answer yes or no: Yes, No, Yes, No.",
]


def build(vocab_target: int = 160) -> Tokenizer:
    """Trains the merges on CORPUS, then lays out specials, byte tokens and merges in fixed order."""
    trainer_tok = Tokenizer(models.BPE(unk_token="<unk>"))
    trainer_tok.normalizer = normalizers.Replace(" ", "\u2581")
    trainer = trainers.BpeTrainer(vocab_size=vocab_target, show_progress=False, special_tokens=[])
    trainer_tok.train_from_iterator(["\u2581" + line.replace(" ", "\u2581") for line in CORPUS] * 3, trainer)
    learned = json.loads(trainer_tok.to_str())["model"]

    vocab: dict[str, int] = {}
    for tok in SPECIAL_TOKENS:
        vocab[tok] = len(vocab)
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for tok, _ in sorted(learned["vocab"].items(), key=lambda kv: kv[1]):
        if tok not in vocab:
            vocab[tok] = len(vocab)
    vocab[IMAGE_SOFT_TOKEN] = len(vocab)
    merges = learned["merges"]

    spec = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {
                "id": vocab[t],
                "content": t,
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": False,
                "special": True,
            }
            for t in SPECIAL_TOKENS + [IMAGE_SOFT_TOKEN]
        ],
        "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"},
        "pre_tokenizer": None,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [
                {"SpecialToken": {"id": "<bos>", "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "<bos>", "type_id": 1}},
                {"Sequence": {"id": "B", "type_id": 1}},
            ],
            "special_tokens": {"<bos>": {"id": "<bos>", "ids": [vocab["<bos>"]], "tokens": ["<bos>"]}},
        },
        "decoder": {
            "type": "Sequence",
            "decoders": [
                {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
                {"type": "ByteFallback"},
                {"type": "Fuse"},
            ],
        },
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": "<unk>",
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": True,
            "byte_fallback": True,
            "ignore_merges": False,
            "vocab": vocab,
            "merges": merges,
        },
    }
    tok = Tokenizer.from_str(json.dumps(spec))
    # Round trip through a decoder check: byte fallback must survive decoding.
    probe = "Ärzte: 5 mm \u2013 ok"
    assert tok.decode(tok.encode(probe, add_special_tokens=False).ids) == probe, "byte fallback broken"
    return tok
