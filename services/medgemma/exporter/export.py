"""Exports a Hugging Face Gemma 3 / MedGemma checkpoint directory to radraft's ONNX layout.

    python export.py --checkpoint DIR --out DIR [--dtype float32|bfloat16]
                     [--model-id google/medgemma-4b-it --revision SHA] [--external-data auto|yes|no]

Writes vision_encoder.onnx (multimodal checkpoints only), embed_tokens.onnx,
decoder_model.onnx (+ .data files when external), tokenizer.json and manifest.json (see
manifest.py and docs/medgemma.md). The checkpoint directory is what `save_pretrained` writes
for the model plus the tokenizer's tokenizer.json (and tokenizer_config.json /
chat_template.jinja / preprocessor_config.json when present). Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import onnx
import torch

import graphs
import manifest as manifest_mod

OPSET = 17
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def load_model(checkpoint: Path, dtype: torch.dtype, device: str = "cpu"):
    from transformers import AutoConfig, AutoModelForImageTextToText, Gemma3ForCausalLM

    config = AutoConfig.from_pretrained(checkpoint)
    if getattr(config, "vision_config", None) is not None:
        model = AutoModelForImageTextToText.from_pretrained(checkpoint, dtype=dtype, attn_implementation="eager")
    else:
        # Text-only checkpoints (medgemma-27b-text-it) are Gemma3ForCausalLM: wrap them so the
        # graphs see the multimodal attribute layout.
        model = _TextOnly(Gemma3ForCausalLM.from_pretrained(checkpoint, dtype=dtype, attn_implementation="eager"))
    # Explicit cast: older transformers ignore `dtype=` (they call it `torch_dtype`).
    return model.to(device=device, dtype=dtype).eval()


class _TextOnly(torch.nn.Module):
    """Gives Gemma3ForCausalLM the attribute paths of Gemma3ForConditionalGeneration."""

    def __init__(self, causal_lm):
        super().__init__()
        self.inner = causal_lm
        self.model = torch.nn.Module()
        self.model.language_model = causal_lm.model
        self.lm_head = causal_lm.lm_head
        self.config = causal_lm.config
        self.config.text_config = causal_lm.config


def _export(module, args, path: Path, input_names, output_names, dynamic_axes, external: bool,
            static_dims: dict | None = None):
    """Exports with the TorchScript exporter into a scratch folder, then rewrites the model so
    that external weights, if any, sit in one `<name>.data` file beside it. `static_dims`
    ({output: {axis: size}}) pins output axes the tracer left symbolic, so the runtime can
    check them against the manifest."""
    with tempfile.TemporaryDirectory(dir=path.parent) as scratch:
        tmp = Path(scratch) / path.name
        with torch.no_grad():
            torch.onnx.export(
                module,
                args,
                str(tmp),
                input_names=input_names,
                output_names=output_names,
                dynamic_axes=dynamic_axes,
                opset_version=OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
        model = onnx.load(str(tmp), load_external_data=True)
        for output in model.graph.output:
            for axis, size in (static_dims or {}).get(output.name, {}).items():
                dim = output.type.tensor_type.shape.dim[axis]
                dim.Clear()
                dim.dim_value = size
        for stale in [path, path.with_name(path.name + ".data")]:
            if stale.exists():
                stale.unlink()
        if external:
            onnx.save_model(
                model,
                str(path),
                save_as_external_data=True,
                all_tensors_to_one_file=True,
                location=path.name + ".data",
                size_threshold=1024,
            )
        else:
            onnx.save_model(model, str(path))
        del model


def quantize_weights(path: Path, bits: int, external: bool) -> None:
    """Weight-only quantisation of every MatMul with a constant weight (the decoder's linear
    layers and tied LM head) to ONNX Runtime's MatMulNBits: int4 or int8, symmetric, blocks of
    32 along the input dimension; activations stay float32. ONNX Runtime's CPU and CUDA
    providers run MatMulNBits."""
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    model = onnx.load(str(path), load_external_data=True)
    quantizer = MatMulNBitsQuantizer(model, block_size=32, is_symmetric=True, bits=bits)
    quantizer.process()
    for stale in [path, path.with_name(path.name + ".data")]:
        if stale.exists():
            stale.unlink()
    onnx.save_model(quantizer.model.model, str(path), save_as_external_data=external, all_tensors_to_one_file=True,
                    location=path.name + ".data", size_threshold=1024)


def export(checkpoint: Path, out: Path, dtype_name: str = "float32", model_id: str | None = None,
           revision: str | None = None, external: str = "auto", device: str = "cpu",
           quantize: str = "none") -> dict:
    if quantize != "none" and dtype_name != "float32":
        raise SystemExit("--quantize needs --dtype float32 (MatMulNBits takes float32 activations, not bfloat16)")
    dtype = DTYPES[dtype_name]
    out.mkdir(parents=True, exist_ok=True)
    timings = {}
    started = time.time()
    model = load_model(checkpoint, dtype, device)
    timings["load_s"] = round(time.time() - started, 2)
    cfg = model.config
    text = cfg.text_config
    params = sum(p.numel() * p.element_size() for p in model.parameters())
    use_external = params > 1_500_000_000 if external == "auto" else external == "yes"
    multimodal = getattr(cfg, "vision_config", None) is not None
    hidden, layers = text.hidden_size, text.num_hidden_layers

    files = {}
    if multimodal:
        t = time.time()
        side = cfg.vision_config.image_size
        pixel = torch.zeros(1, 3, side, side, device=device)
        # The vision tower stays float32 whatever --dtype says: ONNX's Conv takes no bfloat16
        # before opset 22, and the tower is small (0.4B parameters for MedGemma 4B).
        model.model.vision_tower.float()
        model.model.multi_modal_projector.float()
        _export(graphs.VisionGraph(model, torch.float32), (pixel,), out / "vision_encoder.onnx", ["pixel_values"],
                ["image_features"], {"pixel_values": {0: "images"}, "image_features": {0: "images"}}, use_external,
                {"image_features": {1: cfg.mm_tokens_per_image}})
        files["vision_encoder"] = "vision_encoder.onnx"
        timings["vision_export_s"] = round(time.time() - t, 2)

    t = time.time()
    ids = torch.tensor([[2, 3, 4]], dtype=torch.int64, device=device)
    _export(graphs.EmbedGraph(model), (ids,), out / "embed_tokens.onnx", ["input_ids"], ["inputs_embeds"],
            {"input_ids": {0: "batch", 1: "sequence"}, "inputs_embeds": {0: "batch", 1: "sequence"}}, use_external)
    files["embed_tokens"] = "embed_tokens.onnx"
    timings["embed_export_s"] = round(time.time() - t, 2)

    # Trace with distinct, non-trivial lengths so no dimension is specialised to a constant.
    t = time.time()
    new, past = 5, 3
    embeds = torch.randn(1, new, hidden, device=device)
    positions = torch.arange(past, past + new, device=device).unsqueeze(0)
    full, sliding = (m.to(device) for m in graphs.additive_masks([-1] * (past + new), past, new, text.sliding_window))
    kv = []
    for _ in range(layers):
        kv += [torch.randn(1, text.num_key_value_heads, past, text.head_dim, device=device) for _ in range(2)]
    inputs, outputs = graphs.decoder_io_names(layers)
    axes = {
        "inputs_embeds": {0: "batch", 1: "sequence"},
        "position_ids": {0: "batch", 1: "sequence"},
        "full_attention_mask": {0: "batch", 2: "sequence", 3: "total_sequence"},
        "sliding_attention_mask": {0: "batch", 2: "sequence", 3: "total_sequence"},
        "logits": {0: "batch"},
    }
    for name in inputs[4:]:
        axes[name] = {0: "batch", 2: "past_sequence"}
    for name in outputs[1:]:
        axes[name] = {0: "batch", 2: "total_sequence"}
    _export(graphs.DecoderGraph(model, dtype), (embeds, positions, full, sliding, *kv), out / "decoder_model.onnx",
            inputs, outputs, axes, use_external, {"logits": {1: 1}})
    files["decoder"] = "decoder_model.onnx"
    timings["decoder_export_s"] = round(time.time() - t, 2)
    if quantize != "none":
        t = time.time()
        quantize_weights(out / "decoder_model.onnx", {"int8": 8, "int4": 4}[quantize], use_external)
        timings["quantize_s"] = round(time.time() - t, 2)

    shutil.copyfile(checkpoint / "tokenizer.json", out / "tokenizer.json")
    files["tokenizer"] = "tokenizer.json"
    del model
    manifest = manifest_mod.write(checkpoint, out, cfg, files, dtype_name, model_id, revision, quantize)
    timings["total_s"] = round(time.time() - started, 2)
    return {"manifest": manifest, "timings": timings, "external_data": use_external, "param_bytes": params}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--dtype", choices=sorted(DTYPES), default="float32")
    ap.add_argument("--model-id", default=None, help="recorded in the manifest (default: the folder name)")
    ap.add_argument("--revision", default=None, help="recorded in the manifest, e.g. the hub commit")
    ap.add_argument("--external-data", choices=["auto", "yes", "no"], default="auto")
    ap.add_argument("--device", default="cpu", help="where to trace: cpu, or cuda (faster for 4B+ models)")
    ap.add_argument("--quantize", choices=["none", "int8", "int4"], default="none",
                    help="weight-only quantisation of the decoder's MatMuls (float32 exports only)")
    args = ap.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    result = export(args.checkpoint, args.out, args.dtype, args.model_id, args.revision, args.external_data,
                    args.device, args.quantize)
    print(f"exported to {args.out} in {result['timings']['total_s']} s (external data: {result['external_data']})")


if __name__ == "__main__":
    main()
