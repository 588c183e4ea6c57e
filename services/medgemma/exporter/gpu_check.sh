#!/usr/bin/env bash
# GPU scale check, meant for the lent GPU machine (torch + transformers + onnx installed,
# no onnxruntime-gpu, no internet). Builds a random-weight model with MedGemma 4B's exact
# shapes, times HF `generate` on the GPU (64 new tokens, one 896x896 image: the baseline),
# saves it as a checkpoint, exports it with export.py (bf16 decoder/embeddings, fp32 vision,
# external data) and writes summary.json + manifest to $OUT (the ONNX files stay on the
# machine: ~9 GB). Runs in ~5 minutes on an H100.
#
#   bash services/medgemma/exporter/gpu_check.sh            # on the GPU machine, OUT set
#   OUT=/tmp/x bash services/medgemma/exporter/gpu_check.sh --shrink   # rehearsal on a CPU
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out="${OUT:-$PWD/gpu-check-out}"
mkdir -p "$out"
python=${PYTHON:-python3}
work="${GPU_CHECK_WORK:-${TMPDIR:-/tmp}/radraft-gpu-check}"
{
    date -u +"start %FT%TZ"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
    "$python" -c 'import torch, transformers, onnx; print("torch", torch.__version__, "cuda", torch.version.cuda, "transformers", transformers.__version__, "onnx", onnx.__version__)' || true
    nproc; free -g | head -2; df -h "$(dirname "$work")" | tail -1
} 2>&1 | tee "$out/environment.txt" || true
started=$(date +%s)
# /usr/bin/time -v gives the peak RSS of the whole run, when it exists.
if [[ -x /usr/bin/time ]]; then
    /usr/bin/time -v -o "$out/time.txt" "$python" "$here/gpu_check.py" --out "$out" --work "$work" "$@" 2>&1 | tee "$out/log.txt"
else
    "$python" "$here/gpu_check.py" --out "$out" --work "$work" "$@" 2>&1 | tee "$out/log.txt"
fi
echo "gpu_check finished in $(( $(date +%s) - started )) s" | tee -a "$out/environment.txt"
rm -rf "$work"
