"""The three ONNX graphs of a Gemma 3 multimodal model, as torch modules ready to export.

- VisionGraph:  pixel_values [n, 3, S, S] -> image_features [n, tokens_per_image, hidden]
                (SigLIP tower + multimodal projector; features are merged unscaled).
- EmbedGraph:   input_ids [1, s] -> inputs_embeds [1, s, hidden] (already x sqrt(hidden)).
- DecoderGraph: inputs_embeds, position_ids, full_attention_mask, sliding_attention_mask,
                past_key_values.{i}.key/value -> logits (last position only),
                present.{i}.key/value.

The decoder takes its two additive masks as inputs and builds none itself: transformers'
Gemma 3 accepts a dict {"full_attention", "sliding_attention"} as attention_mask, and the
runtime builds them exactly as HF does (causal OR same-image block; sliding also AND
kv > q - window). That is what makes the export match HF `generate` bit for bit in token ids.

All graph inputs and outputs are float32 whatever the compute dtype: with --dtype bfloat16 the
casts sit at the graph edges, so one runtime code path serves both.
"""

from __future__ import annotations

import inspect

import torch
from torch import nn


class ConcatCache:
    """The smallest KV cache transformers' attention accepts: update() appends the step's keys
    and values to the past ones and keeps the result as the layer's present."""

    def __init__(self, past: list[tuple[torch.Tensor, torch.Tensor]]):
        self.layers = list(past)

    def update(self, key_states, value_states, layer_idx, *args, **kwargs):
        past_k, past_v = self.layers[layer_idx]
        k = torch.cat([past_k, key_states], dim=2)
        v = torch.cat([past_v, value_states], dim=2)
        self.layers[layer_idx] = (k, v)
        return k, v

    def get_seq_length(self, layer_idx: int = 0) -> int:
        return self.layers[layer_idx][0].shape[2]


class VisionGraph(nn.Module):
    def __init__(self, model, dtype: torch.dtype):
        super().__init__()
        self.model = model
        self.dtype = dtype

    def forward(self, pixel_values):
        out = self.model.model.get_image_features(pixel_values.to(self.dtype), return_dict=True)
        return out.pooler_output.to(torch.float32)


class EmbedGraph(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.embed = model.model.language_model.embed_tokens

    def forward(self, input_ids):
        return self.embed(input_ids).to(torch.float32)


class DecoderGraph(nn.Module):
    def __init__(self, model, dtype: torch.dtype):
        super().__init__()
        self.language_model = model.model.language_model
        self.lm_head = model.lm_head
        self.dtype = dtype
        self.num_layers = model.config.text_config.num_hidden_layers
        # transformers 5.x calls the cache argument `cache`, 4.x `past_key_values`.
        params = inspect.signature(self.language_model.forward).parameters
        self.cache_arg = "cache" if "cache" in params else "past_key_values"

    def forward(self, inputs_embeds, position_ids, full_attention_mask, sliding_attention_mask, *past):
        past_pairs = [
            (past[2 * i].to(self.dtype), past[2 * i + 1].to(self.dtype)) for i in range(self.num_layers)
        ]
        cache = ConcatCache(past_pairs)
        masks = {
            "full_attention": full_attention_mask.to(self.dtype),
            "sliding_attention": sliding_attention_mask.to(self.dtype),
        }
        out = self.language_model(
            inputs_embeds=inputs_embeds.to(self.dtype),
            attention_mask=masks,
            position_ids=position_ids,
            use_cache=True,
            return_dict=True,
            **{self.cache_arg: cache},
        )
        hidden = out.last_hidden_state[:, -1:, :]
        logits = self.lm_head(hidden).to(torch.float32)
        presents = []
        for k, v in cache.layers:
            presents += [k.to(torch.float32), v.to(torch.float32)]
        return (logits, *presents)


def decoder_io_names(num_layers: int) -> tuple[list[str], list[str]]:
    inputs = ["inputs_embeds", "position_ids", "full_attention_mask", "sliding_attention_mask"]
    outputs = ["logits"]
    for i in range(num_layers):
        inputs += [f"past_key_values.{i}.key", f"past_key_values.{i}.value"]
        outputs += [f"present.{i}.key", f"present.{i}.value"]
    return inputs, outputs


def additive_masks(block_ids: list[int], past: int, length: int, window: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Reference implementation of the masks (the Rust runtime has its own): block_ids[i] is -1
    for text and the image's index for an image soft token, over positions 0..past+length."""
    total = past + length
    neg = torch.finfo(torch.float32).min
    full = torch.full((1, 1, length, total), neg)
    sliding = torch.full((1, 1, length, total), neg)
    for row in range(length):
        q = past + row
        for kv in range(total):
            same = block_ids[q] >= 0 and block_ids[kv] == block_ids[q]
            if kv <= q or same:
                full[0, 0, row, kv] = 0.0
                if kv > q - window:
                    sliding[0, 0, row, kv] = 0.0
    return full, sliding
